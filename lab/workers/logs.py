"""Logging de los workers: el formato de la guía o líneas JSON, sin líneas duplicadas.

Cada worker tiene un logger estándar ``lab.worker.<worker_id>`` (``worker.logger``). Todos cuelgan
de ``lab.worker``, el único con manejador (``logstream.py``): crear muchos workers (o volver a
ejecutar una celda) nunca duplica líneas, y no propaga a la raíz salvo ``configure_logging(propagate=True)``.
Formato por defecto, el de la guía (``worker-1`` → ``[Worker-1]``)::

    2024-11-20 18:30:15,123 - [Worker-1] - INFO - 📝 Procesando tarea task-0001

Todo registro lleva además ``worker_id``, ``task_id``, ``attempt`` (el intento local, si hay
reintentos) y ``duration`` (``None`` si no aplican); ``use_json_logs()`` da una línea JSON con ellos.
"""

from __future__ import annotations

import contextvars
import json
import logging
from contextlib import contextmanager
from typing import Any, Iterator

from lab.workers.logstream import console_handler

ROOT_LOGGER = "lab.worker"
GUIDE_FORMAT = "%(asctime)s - [%(worker_name)s] - %(levelname)s - %(message)s"
FIELDS = ("worker_id", "task_id", "attempt", "duration")

# Tarea e intento (local) que el hilo (o la corrutina) está procesando ahora mismo.
_task_context: contextvars.ContextVar[tuple[str | None, int | None]] = contextvars.ContextVar(
    "lab_worker_task", default=(None, None))


def display_name(worker_id: str) -> str:
    """El nombre que aparece entre corchetes: el id con la inicial en mayúscula (``Worker-1``)."""
    text = str(worker_id)
    return text[:1].upper() + text[1:]


@contextmanager
def task_context(task_id: str | None, attempt: int | None = None) -> Iterator[None]:
    """Hace que los registros emitidos dentro del bloque lleven ``task_id`` y ``attempt``."""
    token = _task_context.set((task_id, attempt))
    try:
        yield
    finally:
        _task_context.reset(token)


class WorkerContextFilter(logging.Filter):
    """Rellena ``worker_id``, ``worker_name``, ``task_id``, ``attempt`` y ``duration`` si faltan."""

    def __init__(self, worker_id: str):
        super().__init__()
        self.worker_id, self.worker_name = worker_id, display_name(worker_id)

    def filter(self, record: logging.LogRecord) -> bool:
        task_id, attempt = _task_context.get()
        defaults = {"worker_id": self.worker_id, "task_id": task_id, "attempt": attempt, "duration": None}
        for key, value in defaults.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if not hasattr(record, "worker_name"):
            record.worker_name = display_name(record.worker_id) if record.worker_id else self.worker_name
        return True


class GuideFormatter(logging.Formatter):
    """El formato de la guía: ``fecha,ms - [Worker-1] - NIVEL - mensaje``."""

    def __init__(self) -> None:
        super().__init__(GUIDE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "worker_name"):
            record.worker_name = display_name(getattr(record, "worker_id", None) or record.name)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """Una línea JSON por registro: hora, nivel, logger, mensaje y los campos del worker."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"time": self.formatTime(record), "timestamp": record.created,
                                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                                **{key: getattr(record, key, None) for key in FIELDS}}
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(*, json: bool | None = None, level: int | str | None = None,
                      stream: str | None = None, propagate: bool | None = None) -> logging.Logger:
    """Configura (de forma idempotente) el logger ``lab.worker`` del que cuelgan todos los workers.

    ``json=True`` cambia a líneas JSON y ``json=False`` vuelve al formato de la guía; ``level`` fija el
    nivel (``"DEBUG"`` muestra las trazas de los errores inesperados); ``stream`` es ``"stdout"`` o
    ``"stderr"``; ``propagate=True`` envía además los registros al logger raíz. Lo que no se indica
    se deja como estaba. Devuelve el logger; ``ValueError`` si ``stream`` no es uno de esos dos nombres.
    """
    root = logging.getLogger(ROOT_LOGGER)
    handler = console_handler(root, stream, GuideFormatter)
    if root.level == logging.NOTSET:  # sin nivel propio heredaría WARNING del raíz y callaría los INFO
        root.setLevel(logging.INFO)
    if json is not None:
        handler.setFormatter(JsonFormatter() if json else GuideFormatter())
    if level is not None:
        root.setLevel(level)
    if propagate is not None:
        root.propagate = propagate
    return root


def use_json_logs(enabled: bool = True) -> None:
    """Cambia todos los workers a una línea JSON por registro (``False`` vuelve al formato de la guía)."""
    configure_logging(json=enabled)


def get_worker_logger(worker_id: str, logger: logging.Logger | None = None) -> logging.Logger:
    """El logger ``lab.worker.<worker_id>`` (u otro dado), con su filtro de contexto puesto una sola vez."""
    configure_logging()
    logger = logger or logging.getLogger(f"{ROOT_LOGGER}.{worker_id}")
    if not any(getattr(f, "_lab_worker_filter", False) for f in logger.filters):
        context = WorkerContextFilter(worker_id)
        context._lab_worker_filter = True  # type: ignore[attr-defined]
        logger.addFilter(context)
    return logger
