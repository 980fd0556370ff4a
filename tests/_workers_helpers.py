"""Piezas comunes de los tests de workers: reloj falso, workers sin imágenes e imágenes diminutas."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PIL import Image

from lab.workers import SimpleWorker

GOOD_RESULT = {"load": 0.1, "pipeline": 0.2, "save": 0.01, "total": 0.31, "filters": [["blur", 0.2]]}


class FakeClock:
    """Reloj que solo avanza cuando el test lo pide (seguro entre hilos)."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class NoOpWorker(SimpleWorker):
    """Worker que no toca imágenes: devuelve tiempos fijos y anota las tareas que procesa."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []

    def process_task(self, task):
        self.seen.append(task.id)
        return dict(GOOD_RESULT)


def tiny_image(path: Path, size=(32, 24), color=(200, 80, 40)) -> Path:
    """Escribe un JPEG diminuto de un color (y crea la carpeta)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


class RecordingHandler(logging.Handler):
    """Manejador que guarda los registros para inspeccionar sus campos."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)
