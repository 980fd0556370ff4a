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
    ``retry.max_attempts``) y ``attempt_started``, cuándo empezó (``None`` mientras espera para
    reintentar: esa espera no cuenta para el límite de tiempo); ``delivery`` es la entrega de la
    cola. ``lost`` se pone a ``True`` cuando la cola dice que esta entrega ya no es la vigente;
    ``overdue``, cuando el intento pasa de ``task_time_limit`` (``timelimit.py``: su concesión deja
    de renovarse); ``cancelled``, cuando se interrumpe para parar (no se reintenta); ``marking``, cuando
    el worker ya la está marcando en la cola (un latido a la vez no la renueva ni avisa de nada).
    """

    task: Task
    started: float
    attempt_started: float | None
    attempt: int = 1
    lost: bool = False
    overdue: bool = False
    cancelled: bool = False
    marking: bool = False

    def pause(self) -> None:
        """El intento falló y se va a reintentar: hasta el siguiente no corre el límite y se renueva la concesión."""
        self.attempt_started, self.overdue = None, False

    def next_attempt(self, now: float) -> None:
        """Empieza el intento siguiente, con su propio reloj para el límite de tiempo."""
        self.attempt, self.attempt_started, self.overdue = self.attempt + 1, now, False

    def age(self, now: float) -> float:
        """Segundos que lleva el intento en curso (0 mientras espera para reintentar)."""
        return 0.0 if self.attempt_started is None else max(now - self.attempt_started, 0.0)

    @property
    def delivery(self) -> int | None:
        """La entrega de la cola (``task.attempts``: 1, 2...), que es su *fencing token*."""
        return self.task.token


class InFlightTasks:
    """Los registros de las tareas en curso de un worker (seguro entre hilos) y cuántas hubo a la vez como mucho."""

    def __init__(self, clock: Callable[[], float]):
        self.clock, self.peak = clock, 0
        self._jobs: dict[tuple[str, int | None], InFlight] = {}   # (id, entrega) → registro
        self._lock = threading.Lock()

    def add(self, task: Task) -> InFlight:
        """Registra ``task`` al empezarla y devuelve su registro."""
        now = self.clock()
        job = InFlight(task, now, now)
        with self._lock:
            self._jobs[task.id, job.delivery] = job
            self.peak = max(self.peak, len(self._jobs))
        return job

    def discard(self, job: InFlight) -> None:
        """Quita ``job`` al terminarla (otra entrega de la misma tarea a este worker es otro registro)."""
        with self._lock:
            self._jobs.pop((job.task.id, job.delivery), None)

    def jobs(self) -> list[InFlight]:
        """Los registros en curso, en el orden en que empezaron."""
        with self._lock:
            return list(self._jobs.values())

    def ages(self) -> dict[str, float]:
        """Cuántos segundos lleva cada tarea en curso en su intento actual (lo que mide ``task_time_limit``).

        Si una tarea está en curso dos veces (una entrega colgada y la siguiente), cuenta la más vieja.
        """
        now, ages = self.clock(), {}
        for job in self.jobs():
            ages[job.task.id] = max(ages.get(job.task.id, 0.0), job.age(now))
        return ages
