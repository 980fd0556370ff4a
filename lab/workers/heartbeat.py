"""Los latidos de un worker: el hilo que anota que sigue vivo y renueva las concesiones de sus tareas.

Mientras procesa, un worker *late*: cada ``heartbeat_interval`` segundos anota que sigue vivo y
renueva la concesión (*lease*) de cada tarea que tiene en curso (``inflight.py``), para que la cola
no se la dé a otro. Cada renovación lleva la **entrega** de la tarea (``task.attempts``, su *fencing
token*): si la cola ya la entregó otra vez, esta entrega no renueva nada y el worker lo avisa una vez.
Con un límite de tiempo (``timelimit.py``), un intento que lo pasa deja de renovarse: así otro
worker puede recoger la tarea tras ``lease_timeout``.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable

from lab.errors import InvalidTransitionError, UnknownTaskError
from lab.workers.inflight import InFlight, InFlightTasks
from lab.workers.payload import describe_error
from lab.workers.queue_api import QueueAPI
from lab.workers.timelimit import TimeLimit


def renew_leases(queue: QueueAPI, worker_id: str, jobs: Iterable[InFlight], logger: logging.Logger) -> None:
    """Renueva la concesión de cada tarea de ``jobs`` con su entrega como *fencing token*.

    Si la cola responde que la entrega ya no es la vigente (caducó y se volvió a entregar), lo
    avisa una sola vez por tarea y marca ``job.lost``. Cualquier otro error (p. ej. Redis caído)
    se avisa y se reintenta en el latido siguiente.
    """
    for job in jobs:
        if job.marking:   # ya se está marcando: la cola la tendrá terminada enseguida (no es un aviso)
            continue
        task_id = job.task.id
        try:
            queue.heartbeat(task_id, worker_id, attempt=job.delivery)
        except (InvalidTransitionError, UnknownTaskError) as exc:
            if not job.lost:
                job.lost = True
                logger.warning(f"⚠️ {describe_error(exc)}", extra={"task_id": task_id})
        except Exception as exc:
            logger.warning(f"⚠️ No se pudo renovar la concesión de {task_id} (entrega {job.delivery}): "
                           f"{describe_error(exc)}", extra={"task_id": task_id})


class Heartbeat:
    """El latido de un worker: ``beat()`` anota la hora y renueva las concesiones de ``in_flight``.

    ``start()`` arranca un hilo en segundo plano que llama a ``beat()`` cada ``interval`` segundos
    hasta ``stop()``. ``last`` es la hora del último latido (o de la última señal de vida, ``touch()``).
    ``time_limit`` (o ``None``): el ``TimeLimit`` que decide qué intentos ya no se renuevan.
    """

    def __init__(self, queue: QueueAPI, worker_id: str, in_flight: InFlightTasks, logger: logging.Logger,
                 interval: float, clock: Callable[[], float], time_limit: TimeLimit | None = None):
        self.queue, self.worker_id, self.in_flight, self.logger = queue, worker_id, in_flight, logger
        self.interval, self.clock, self.time_limit = interval, clock, time_limit
        self.last: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch(self) -> None:
        """Anota una señal de vida sin renovar nada (p. ej. al pedir una tarea)."""
        self.last = self.clock()

    def age(self) -> float | None:
        """Segundos desde el último latido (``None`` si aún no ha latido)."""
        return None if self.last is None else max(self.clock() - self.last, 0.0)

    def beat(self) -> None:
        """Late ahora: anota la hora y, si la cola tiene concesiones, renueva las de las tareas en curso.

        Con ``time_limit``, antes rescata los intentos que pasan del límite y no renueva los suyos.
        """
        self.touch()
        jobs = self.in_flight.jobs()
        if self.time_limit is not None:
            jobs = self.time_limit.check(jobs)
        if self.queue.lease_timeout is not None:
            renew_leases(self.queue, self.worker_id, jobs, self.logger)

    def renew(self, job: InFlight) -> bool:
        """Renueva ya la concesión de ``job`` (sin concesiones, nada); ``False`` si la entrega ya no es suya."""
        if self.queue.lease_timeout is not None:
            renew_leases(self.queue, self.worker_id, [job], self.logger)
        return not job.lost

    def start(self) -> None:
        self.touch()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.worker_id}-latidos", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Para el hilo y espera a que salga (salvo que lo llame el propio hilo de latidos)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()
