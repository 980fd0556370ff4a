"""El aula como clúster: cada portátil de la clase, un worker de la cola del profesorado.

Órdenes (``lab.room.commands``): ``python -m lab room serve``, ``join``, ``enqueue`` y ``status``.
Módulos, de abajo arriba:

- ``synthetic``: las tareas del aula (semilla y tamaño; cada portátil genera su imagen) y sus tiempos.
- ``machine``: el nombre y la ficha de un portátil (núcleos, CPU, sistema, versiones).
- ``published``: validar lo que publica un portátil (no es de fiar) antes de usarlo.
- ``room``: ``Room``, el aula en un Redis (la cola ``aula`` y el registro de portátiles).
- ``state``: de lo leído a un resumen por portátil y del aula (``status --json``).
- ``measure``: el speedup de un portátil con 1…K procesos, medido una vez al unirse.
- ``laptop`` y ``join``: un portátil trabajando (un proceso por worker) hasta Ctrl-C.
- ``server``: el Redis del aula (contraseña, red, órdenes peligrosas desactivadas).
- ``report``: la tabla de ``room status``.
- ``dashboard``, ``charts``, ``panel``, ``practice`` y ``recorded``: el cuaderno del profesorado
  (``notebooks/profesorado/Aula.ipynb``), también sin aula: portátiles simulados o un aula grabada.

Lo que importa el cuaderno está en ``__all__`` y se carga al pedirlo (``import lab.room`` no carga
Redis, Pillow ni matplotlib: la CLI importa este paquete al arrancar).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Room", "open_room", "PracticeRoom", "RecordedRoom", "RoomPanel", "room_html", "summarize",
           "plot_room_throughput", "plot_room_timeline", "plot_room_speedup"]

_WHERE = {"Room": "lab.room.room", "open_room": "lab.room.practice", "PracticeRoom": "lab.room.practice",
          "RecordedRoom": "lab.room.recorded", "RoomPanel": "lab.room.panel", "room_html": "lab.room.dashboard",
          "summarize": "lab.room.state", "plot_room_throughput": "lab.room.charts",
          "plot_room_timeline": "lab.room.charts", "plot_room_speedup": "lab.room.charts"}


def __getattr__(name: str) -> Any:
    """Carga al pedirlo el módulo que define ``name`` (los de ``__all__``)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'lab.room' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
