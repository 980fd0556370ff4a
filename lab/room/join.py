"""Unirse al aula (``python -m lab room join URL --name NOMBRE``): registrarse, medir una vez y trabajar.

1. Conectar con la URL que imprimió ``room serve`` (un error claro si la contraseña no es la buena).
2. Publicar la ficha del portátil (``machine.machine_info``): nombre, núcleos, CPU, sistema, versiones.
3. Medir el speedup con 1…K procesos (``measure.measure_speedup``) y publicarlo. Si el portátil ya
   se había unido con ese nombre y los mismos núcleos, se reutiliza la medida de entonces.
4. Trabajar en la cola del aula (``laptop.Laptop``) hasta Ctrl-C o hasta que el profesorado lo saque.
"""

from __future__ import annotations

from typing import Any, Callable

from lab.room.laptop import Laptop
from lab.room.machine import check_name, limit_cpus, machine_info
from lab.room.measure import MAX_MEASURED, measure_speedup
from lab.room.room import Room, new_session

__all__ = ["join_room", "RECONNECT_TIMEOUT"]

RECONNECT_TIMEOUT = 300.0    # lo que esperan los workers: el portátil del profesorado puede dormirse unos minutos
PRESENCE_RECONNECT = 5.0     # lo que espera cada señal de vida del proceso principal antes de avisar


def _reusable(previous: dict[str, Any] | None, info: dict[str, Any]) -> list[dict[str, Any]]:
    """La medida de una sesión anterior con el mismo nombre, si era de una máquina igual."""
    if not previous or not previous["measurement"]:
        return []
    same = all(previous[key] == info[key] for key in ("cores", "physical_cores", "cpu_model", "limited_to"))
    return [{k: p[k] for k in ("workers", "tasks", "wall_time")} for p in previous["measurement"]] if same else []


def join_room(url: str, name: str, *, workers: int | None = None, measure: int | None = None,
              cpus: int | None = None, say: Callable[[str], Any] = print,
              reconnect_timeout: float = RECONNECT_TIMEOUT) -> int:
    """Une este portátil al aula de ``url`` como ``name`` y trabaja hasta Ctrl-C; devuelve el código de salida.

    ``workers``: procesos que trabajan (por defecto, los núcleos físicos); ``measure``: medir con 1…K
    workers (por defecto, los núcleos lógicos, hasta ``MAX_MEASURED``; 0: no medir); ``cpus``: limitar
    el portátil a esos núcleos (solo Linux, para simular portátiles distintos en una máquina).
    Lanza ``ValueError`` si una opción no vale, ``QueueConnectionError`` si no llega al aula y
    ``NameInUse`` si otro portátil activo usa ese nombre.
    """
    name = check_name(name)
    if workers is not None and not 1 <= workers <= 256:
        raise ValueError(f"--workers debe estar entre 1 y 256 y recibió {workers}.")
    if measure is not None and not 0 <= measure <= MAX_MEASURED:
        raise ValueError(f"--measure debe estar entre 0 (no medir) y {MAX_MEASURED} y recibió {measure}.")
    if cpus is not None:
        cpus = limit_cpus(cpus)
    room = Room(url, reconnect_timeout=PRESENCE_RECONNECT)   # las señales no esperan: los workers sí
    session = new_session()
    info = machine_info(name, cpus)
    previous = room.published(name)
    room.register(info, session)
    limited = f", limitado a {cpus}" if cpus else ""
    say(f"✅ {name} se ha unido al aula de {room.description}: {info['physical_cores']} núcleos físicos, {info['cores']} "
        f"lógicos{limited} ({info['cpu_model']}; {info['os']}; Python {info['python']}, Pillow {info['pillow']})")
    try:
        info["measurement"] = _reusable(previous, info)
        steps = min(info["cores"], MAX_MEASURED) if measure is None else measure
        if info["measurement"]:
            say("📏 Speedup ya medido en una sesión anterior con este nombre: se reutiliza.")
        elif steps:
            say(f"📏 Midiendo el speedup de este portátil con 1…{steps} procesos (unos segundos)…")
            points = measure_speedup(steps, on_step=lambda p: say(
                f"   {p['workers']:>2} workers: {p['tasks_per_second']:6.1f} tareas/s  (speedup {p['speedup']:.2f}×)"))
            info["measurement"] = [{k: p[k] for k in ("workers", "tasks", "wall_time")} for p in points]
        room.publish(info)
    except KeyboardInterrupt:
        room.touch(name, session, "left")
        raise
    laptop = Laptop(room, name, workers or info["physical_cores"], session, say=say,
                    reconnect_timeout=reconnect_timeout)
    return laptop.run()
