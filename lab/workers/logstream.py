"""Adónde escriben los logs de los workers: un solo manejador, la consola *actual*, en Jupyter ``stdout``.

``console_handler`` pone (una sola vez, aunque se llame mil veces) un ``ConsoleHandler`` en el logger
``lab.worker``. Escribe en el ``sys.stdout``/``sys.stderr`` de cada momento, no en el que había al
crearlo: pytest y Jupyter los cambian, y un manejador con el flujo antiguo escribiría donde ya nadie
mira. Dentro de un kernel de Jupyter va a ``stdout`` para no verse con el fondo rojo de los errores.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable


class ConsoleHandler(logging.StreamHandler):
    """Escribe en ``sys.stdout`` o ``sys.stderr`` *actuales* (sirve aunque pytest o Jupyter los cambien)."""

    def __init__(self, stream_name: str = "stderr"):
        super().__init__()
        self.stream_name = stream_name

    @property
    def stream(self):  # type: ignore[override]
        return getattr(sys, self.stream_name)

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ lo asigna; se ignora
        pass


def default_stream() -> str:
    """``stdout`` dentro de un kernel de Jupyter (se lee mejor) y ``stderr`` en cualquier otro caso."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return "stdout" if type(shell).__name__ == "ZMQInteractiveShell" else "stderr"


def console_handler(logger: logging.Logger, stream: str | None,
                    formatter: Callable[[], logging.Formatter]) -> logging.Handler:
    """El manejador de ``logger``: el que ya tenía (cambiando su ``stream`` si se indica) o uno nuevo.

    Uno nuevo lleva ``formatter()`` y deja de propagar a la raíz. ``ValueError`` si ``stream`` no es
    ``"stdout"`` ni ``"stderr"``.
    """
    if stream is not None and stream not in ("stdout", "stderr"):
        raise ValueError(f"stream debe ser 'stdout' o 'stderr' y recibió {stream!r}.")
    handler = next((h for h in logger.handlers if getattr(h, "_lab_worker_handler", False)), None)
    if handler is None:
        handler = ConsoleHandler(stream or default_stream())
        handler._lab_worker_handler = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter())
        logger.addHandler(handler)
        logger.propagate = False
    elif stream is not None and isinstance(handler, ConsoleHandler):
        handler.stream_name = stream
    return handler
