"""El límite de tiempo de cada intento (``HealthPolicy.task_time_limit``): no solo avisar, también rescatar.

Detectar una tarea colgada es fácil (``health()`` lo dice); rescatarla depende de qué se puede
hacer con el intento que no vuelve. ``TimeLimit.check`` lo mira en cada latido (``heartbeat.py``):

- **Siempre**: la concesión (*lease*) de esa tarea deja de renovarse. Tras ``lease_timeout`` la
  cola la da por perdida y se la entrega a otro worker (una entrega nueva, con un *fencing token*
  mayor); si el intento colgado termina después, la cola rechaza su resultado por su token viejo.
  Sin concesiones (``lease_timeout=None``) nadie puede recogerla: solo se avisa.
- **Con procesos** (``ProcessWorker``): además se mata el proceso hijo (SIGTERM y, si no sale,
  SIGKILL). El intento falla con ``WorkerProcessError``, un error pasajero, y ``RetryPolicy``
  decide si se reintenta (antes de reintentar, el worker renueva la concesión: si otro worker
  ya tiene la tarea, no la reintenta).
- **Con hilos** (``SimpleWorker``, ``AsyncWorker``): Python no puede matar un hilo desde fuera;
  el hilo sigue ocupado hasta que la llamada vuelva. Lo que sí se cancela: los reintentos de una
  entrega que ya tiene otro worker, y el resultado tardío, que la cola rechaza.

Así lo hacen las bibliotecas de colas: RQ mata el proceso de la tarea al pasar su ``job_timeout``,
Celery mata el hijo con ``time_limit`` (y con ``soft_time_limit`` lanza una excepción dentro) y
Dramatiq lanza ``TimeLimitExceeded`` en el hilo de la tarea al pasar su ``time_limit``.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from lab.workers.inflight import InFlight


class TimeLimit:
    """Vigila que ningún intento pase de ``limit`` segundos; al pasar, avisa una vez y lo rescata.

    ``leases``: si la cola tiene concesiones (entonces otro worker puede recoger la tarea).
    ``kill``: cómo matar el intento de una tarea (``kill(job, motivo)``); ``None`` si no se puede
    (hilos). ``ProcessWorker`` lo pone al crear su proceso hijo.
    """

    def __init__(self, limit: float, clock: Callable[[], float], logger: logging.Logger, leases: bool):
        self.limit, self.clock, self.logger, self.leases = limit, clock, logger, leases
        self.kill: Callable[[InFlight, str], None] | None = None

    def action(self) -> str:
        """Qué se hace con un intento que pasa del límite, en una frase (los motivos de ``health()``)."""
        parts = ["se mata su proceso hijo"] if self.kill else []
        if self.leases:
            parts.append("su concesión ya no se renueva y otro worker la recogerá")
        elif not self.kill:
            parts.append("la cola no tiene concesiones y un hilo no se puede matar: nadie la puede recoger")
        return " y ".join(parts)

    def check(self, jobs: Iterable[InFlight]) -> list[InFlight]:
        """Marca ``overdue`` los intentos que pasan del límite (avisa y los mata, si se puede, una sola vez).

        Devuelve los que siguen dentro del límite: los únicos cuya concesión se renueva.
        """
        now, within = self.clock(), []
        for job in jobs:
            if not job.overdue and job.age(now) > self.limit:
                job.overdue = True
                self._rescue(job, job.age(now))
            if not job.overdue:
                within.append(job)
        return within

    def _rescue(self, job: InFlight, age: float) -> None:
        task_id = job.task.id
        self.logger.warning(f"⏰ La tarea {task_id} (entrega {job.delivery}, intento {job.attempt}) lleva "
                            f"{age:.1f} s y su límite es {self.limit:g} s: {self.action()}.",
                            extra={"task_id": task_id})
        if self.kill is not None:
            self.kill(job, f"superó su límite de {self.limit:g} s")
