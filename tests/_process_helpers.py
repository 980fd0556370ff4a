"""Filtros de prueba para ``ProcessWorkerPool``: viven en un módulo importable para que el hijo los encuentre."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from lab.filters import Filter


@dataclass(frozen=True)
class PidLogFilter(Filter):
    """No cambia la imagen; registra en el log el pid del proceso que la procesa."""

    name = "test_pid_log"

    def apply(self, image):
        logging.getLogger("tests.hijo").warning(f"procesada en pid={os.getpid()}")
        return image


@dataclass(frozen=True)
class ExitProcessFilter(Filter):
    """Termina el proceso de golpe (simula un hijo que muere a mitad de tarea)."""

    name = "test_exit_process"

    def apply(self, image):
        os._exit(3)


@dataclass(frozen=True)
class BlockFilter(Filter):
    """Se queda bloqueado (simula una tarea muy larga) hasta que matan el proceso."""

    name = "test_block"

    def apply(self, image):
        import threading

        threading.Event().wait()
        return image


@dataclass(frozen=True)
class HangOnceFilter(Filter):
    """La primera vez (sin el fichero ``marker``) anota en él su pid y se queda bloqueado; después no hace nada.

    Con ``ignore_sigterm`` el proceso ignora SIGTERM antes de bloquearse: solo SIGKILL lo para.
    """

    name = "test_hang_once"
    marker: str = ""
    ignore_sigterm: bool = False

    def apply(self, image):
        import signal
        import threading
        from pathlib import Path

        path = Path(self.marker)
        if not path.exists():
            if self.ignore_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            path.write_text(str(os.getpid()))
            threading.Event().wait()
        return image
