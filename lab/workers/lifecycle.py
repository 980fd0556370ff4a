"""Arrancar, parar e interrumpir un worker sin carreras entre hilos (lo usa ``BaseWorker``).

Las reglas: un worker no arranca dos veces a la vez; un ``stop()`` antes de arrancar hace que el
próximo ``start()`` vuelva enseguida y uno después de terminar no afecta a la próxima ejecución;
si el bucle cae por un error, ``crash`` guarda por qué; al salir, los latidos se paran y el
worker se despide de la cola; y una tarea que se interrumpe a medias (Ctrl-C) se marca como
fallida para que no quede en ``processing``.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from lab.errors import QueueStateLostError
from lab.workers.heartbeat import Heartbeat
from lab.workers.payload import describe_error
from lab.workers.queue_api import QueueAPI
from lab.workers.stats import WorkerStats
from lab.workers.task import Task


class Lifecycle:
    """El estado de marcha de un worker: ``running()`` rodea su bucle y ``stop()`` pide que pare."""

    def __init__(self, worker_id: str, queue: QueueAPI, logger: logging.Logger, stats: WorkerStats,
                 heartbeat: Heartbeat):
        self.worker_id, self.queue, self.logger, self.stats, self.heartbeat = worker_id, queue, logger, stats, heartbeat
        self.running = self.ran = False
        self.crash: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @contextmanager
    def running_loop(self) -> Iterator[None]:
        """Rodea el bucle: arranca los latidos, anota el error si cae y, al salir, para y se despide.

        Lanza ``RuntimeError`` si el worker ya estaba en marcha.
        """
        with self._lock:
            if self.running:
                raise RuntimeError(f"El worker {self.worker_id} ya está en marcha.")
            self.running, self.ran, self.crash = True, True, None
        self.heartbeat.start()
        try:
            yield
        except Exception as exc:
            self.crash = describe_error(exc)
            self.logger.error(f"💥 El worker {self.worker_id} se detuvo por un error: {self.crash}")
            raise
        finally:
            self.heartbeat.stop()
            with self._lock:
                self.running = False
                self._stop.clear()
            try:  # despedirse de la cola (registro de workers en Redis); sin reintentos al salir
                self.queue.worker_stopped(self.worker_id, retry=False)
            except Exception as exc:
                self.logger.debug(f"No se pudo anotar la parada de {self.worker_id}: {describe_error(exc)}")

    def stop(self) -> None:
        """Pide parar: vale si está en marcha o aún no arrancó; después de terminar se ignora."""
        with self._lock:
            if self.running or not self.ran:
                self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def state(self, busy: bool) -> str:
        """``"busy"`` con tareas en curso, ``"idle"`` esperando o sin arrancar, ``"stopped"`` al terminar."""
        if busy:
            return "busy"
        return "idle" if self.running or not self.ran else "stopped"

    def abort(self, task: Task, exc: BaseException, attempt: int = 1) -> None:
        """Marca como fallida una tarea interrumpida por ``exc`` (Ctrl-C) para que no quede en ``processing``.

        No hace nada si la cola perdió su estado (``QueueStateLostError``): no hay nada que marcar.
        """
        if isinstance(exc, QueueStateLostError):
            return
        message = f"La tarea {task.id} se interrumpió ({type(exc).__name__}) antes de terminar."
        try:
            self.queue.mark_failed(task.id, error=message, worker_id=self.worker_id, attempt=task.token)
        except Exception as error:  # p. ej. Redis caído: con concesiones, la tarea se recuperará sola
            self.logger.warning(f"⚠️ No se pudo marcar como fallida la tarea {task.id}: {describe_error(error)}")
        self.stats.record_failure(task.id, 0.0, message, attempt)
        self.logger.warning(f"⏹ {message}")
