"""Las tareas en curso de un worker: un registro (``InFlight``) por tarea, con sus dos contadores.

La **entrega** (``task.attempts``) la cuenta la cola: cuántas veces ha entregado la tarea; es su
*fencing token*, y va con cada latido y cada marca. El **intento** lo cuenta el worker: sus
reintentos dentro de una misma entrega («intento 2/4»).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from lab.workers.task import Task


@dataclass(eq=False)
class InFlight:
    """Una tarea en curso en un worker: qué entrega es, en qué intento local va y desde cuándo.

    ``attempt`` es el intento local (los reintentos del propio worker: 1, 2... hasta
    ``retry.max_attempts``); ``delivery`` es la entrega de la cola. ``lost`` se pone a ``True``
    cuando la cola dice que esta entrega ya no es la vigente.
    """

    task: Task
    started: float
    attempt: int = 1
    lost: bool = False

    @property
    def delivery(self) -> int | None:
        """La entrega de la cola (``task.attempts``: 1, 2...), que es su *fencing token*."""
        return self.task.token


class InFlightTasks:
    """Los registros de las tareas en curso de un worker (seguro entre hilos) y cuántas hubo a la vez como mucho."""

    def __init__(self, clock: Callable[[], float]):
        self.clock, self.peak = clock, 0
        self._jobs: dict[str, InFlight] = {}
        self._lock = threading.Lock()

    def add(self, task: Task) -> InFlight:
        """Registra ``task`` al empezarla y devuelve su registro."""
        job = InFlight(task, self.clock())
        with self._lock:
            self._jobs[task.id] = job
            self.peak = max(self.peak, len(self._jobs))
        return job

    def discard(self, job: InFlight) -> None:
        """Quita ``job`` al terminarla (si la misma tarea se volvió a entregar a este worker, ya es otro registro)."""
        with self._lock:
            if self._jobs.get(job.task.id) is job:
                del self._jobs[job.task.id]

    def jobs(self) -> list[InFlight]:
        """Los registros en curso, en el orden en que empezaron."""
        with self._lock:
            return list(self._jobs.values())

    def ages(self) -> dict[str, float]:
        """Cuántos segundos lleva cada tarea en curso."""
        now = self.clock()
        return {job.task.id: max(now - job.started, 0.0) for job in self.jobs()}
