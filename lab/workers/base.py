"""``BaseWorker``: el bucle de un worker, pedir tarea → procesar → marcar → repetir, entero en ``_work``.

``SimpleWorker`` ejecuta el bucle en el hilo de ``start()``; ``AsyncWorker``, varias copias a la vez.
Alrededor, por composición: ``inflight.py`` (las tareas en curso), ``heartbeat.py`` (latidos),
``lifecycle.py`` (arranque y parada), ``timelimit.py`` (rescatar un intento que pasa de su límite),
``retry.py``, ``health.py``, ``logs.py``, ``stats.py`` y ``payload.py``.
Dos contadores distintos: la **entrega** de la cola (``task.attempts``, el *fencing token* de cada
marca) y el **intento** de este worker (sus reintentos dentro de una misma entrega).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from lab.checks import is_real
from lab.core import process_image
from lab.errors import InvalidTransitionError, LabError, UnknownTaskError
from lab.workers.health import HealthPolicy
from lab.workers.heartbeat import Heartbeat
from lab.workers.inflight import InFlight, InFlightTasks
from lab.workers.lifecycle import Lifecycle
from lab.workers.logs import get_worker_logger, task_context
from lab.workers.payload import as_result, describe_error, failure_message, parse_payload, read_pipeline
from lab.workers.queue_api import QueueAPI
from lab.workers.retry import RetryPolicy
from lab.workers.stats import WorkerStats
from lab.workers.task import Task
from lab.workers.timelimit import TimeLimit


class BaseWorker:
    """Un worker que procesa tareas de ``queue`` con ``pipeline`` (o el que traiga cada payload).

    ``retry``: un ``RetryPolicy`` o un número de reintentos (por defecto, ninguno); ``health_policy``:
    cuándo ``is_healthy()`` dice que no y, con ``task_time_limit``, cuándo se rescata un intento
    (``timelimit.py``); ``sleep`` y ``clock``, inyectables; ``heartbeat_interval``: cada cuánto late
    (y renueva las concesiones de la cola). Lanza ``TypeError``/``ValueError`` si
    algún argumento no es válido y ``FilterSpecError`` si ``pipeline`` es una spec errónea.
    """

    def __init__(self, worker_id: str, pipeline: Any, queue: QueueAPI, *,
                 logger: logging.Logger | None = None, retry: RetryPolicy | int | None = None,
                 health_policy: HealthPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.perf_counter,
                 heartbeat_interval: float | None = None, poll_interval: float = 0.2, quality: int = 90,
                 history: int = 100):
        if not isinstance(worker_id, str) or not worker_id.strip():
            raise ValueError(f"worker_id debe ser un texto no vacío y recibió {worker_id!r}.")
        if not isinstance(queue, QueueAPI):
            raise TypeError(f"queue debe ser una cola de lab.workers (QueueAPI) y es {type(queue).__name__}.")
        for name, value in (("poll_interval", poll_interval), ("heartbeat_interval", heartbeat_interval)):
            if value is not None and not (is_real(value) and 0 < value < float("inf")):
                raise ValueError(f"{name} debe ser un número de segundos > 0 y finito (con 0 el worker daría "
                                 f"vueltas en vacío al 100 % de CPU) y recibió {value!r:.40}.")
        self.worker_id, self.queue = worker_id, queue
        self.pipeline = None if pipeline is None else read_pipeline(pipeline, f"El worker {worker_id}")
        self.retry, self.health_policy = RetryPolicy.coerce(retry), HealthPolicy.coerce(health_policy)
        self.sleep, self.clock, self.quality, self.poll_interval = sleep, clock, quality, poll_interval
        lease, limit = queue.lease_timeout, self.health_policy.task_time_limit   # late 3 veces por cada uno
        by_limit = limit / 3 if limit else float("inf")
        self.heartbeat_interval = heartbeat_interval or min(lease / 3 if lease else 1.0, by_limit)
        self.stale_after = self.health_policy.stale_limit(lease, self.heartbeat_interval)
        self.logger = get_worker_logger(worker_id, logger)
        self.stats = WorkerStats(history=history, window=self.health_policy.failure_window)
        self._in_flight = InFlightTasks(clock)   # un registro (InFlight) por tarea en curso
        self._time_limit = None if limit is None else TimeLimit(limit, clock, self.logger, leases=lease is not None)
        self._beats = Heartbeat(queue, worker_id, self._in_flight, self.logger, self.heartbeat_interval, clock,
                                self._time_limit)
        self._life = Lifecycle(worker_id, queue, self.logger, self.stats, self._beats)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.worker_id} state={self.state}>"

    def start(self, forever: bool = False) -> None:
        """Procesa tareas hasta que no quede ninguna pendiente (la guía: "Procesa automáticamente").

        Con ``forever=True`` espera tareas nuevas hasta ``stop()`` o el cierre de la cola; puede ir en
        un ``threading.Thread``. ``RuntimeError`` si ya está en marcha.
        """
        with self._life.running_loop():
            self._work(forever)

    def _work(self, forever: bool) -> None:
        """El bucle: pedir una tarea, procesarla (con reintentos), marcarla en la cola y repetir.

        Una tarea interrumpida a medias (Ctrl-C, la cola caída al marcar) se marca como fallida.
        """
        while (task := self._get_task(forever)) is not None:                      # 1. pedir
            job = self._in_flight.add(task)
            try:
                with task_context(task.id, job.attempt):
                    redelivered = f" (entrega {job.delivery})" if task.attempts > 1 else ""
                    self.logger.info(f"📝 Procesando tarea {task.id}{redelivered}")
                    try:
                        result, error = self._process(job), None                   # 2. procesar
                    except Exception as exc:
                        result, error = None, exc
                    self._mark(job, result, error)                                 # 3. marcar
            except BaseException as exc:
                self._life.abort(task, exc, job.attempt)
                raise
            finally:
                self._in_flight.discard(job)
                                                                                   # 4. repetir

    def _get_task(self, forever: bool) -> Task | None:
        """La siguiente tarea; ``None`` si toca parar: ``stop()``, cola cerrada o, sin ``forever``, vacía."""
        while not self.stopping:
            self._beats.touch()
            task = self.queue.get_task(self.worker_id, timeout=self.poll_interval if forever else None)
            if task is not None or not forever or self.queue.is_shutdown:
                return task
        return None

    def process_task(self, task: Task) -> dict[str, Any]:
        """Un intento de la tarea: el resultado con el desglose de tiempos.

        Se puede sobrescribir y llamar a ``self._do_process(task)`` (ejercicio 2 de la guía).
        """
        return self._do_process(task)

    def _do_process(self, task: Task) -> dict[str, Any]:
        """Un intento: valida el payload, carga, aplica el pipeline y guarda con ``lab.core``.

        Lanza ``InvalidTaskError``/``FilterSpecError`` (payload) o ``ImageTaskError`` (la imagen).
        """
        job = parse_payload(task.id, task.payload, self.pipeline, self.quality)
        result = process_image(job.image_path, job.output_path, job.pipeline, quality=job.quality, clock=self.clock)
        return result.to_dict()

    def _process(self, job: InFlight) -> dict[str, Any]:
        """Llama a ``process_task`` hasta que sale bien o ``self.retry`` dice que no se reintenta más.

        Tampoco reintenta un intento interrumpido para parar (``job.cancelled``) ni una entrega que la
        cola ya dio a otro worker (antes de cada reintento renueva la concesión: ``Heartbeat.renew``).
        """
        task, retry = job.task, self.retry
        while True:
            with task_context(task.id, job.attempt):
                if job.attempt > 1:
                    self.logger.info(f"🔄 Reintentando tarea {task.id} (intento {job.attempt}/{retry.max_attempts})")
                try:
                    return as_result(self.process_task(task))
                except Exception as exc:
                    if job.cancelled or not retry.should_retry(exc, job.attempt):
                        if job.attempt <= retry.max_retries and not job.cancelled:   # el error es permanente
                            self.logger.warning(f"⛔ Tarea {task.id}: no se reintenta: error permanente "
                                                f"({type(exc).__name__}: {describe_error(exc)})")
                        raise
                    job.pause()
                    if not self._beats.renew(job):   # la entrega ya es de otro worker: no se reintenta
                        raise
                    delay = retry.delay(job.attempt)
                    self.logger.warning(f"🔁 Intento {job.attempt}/{retry.max_attempts} de la tarea {task.id} "
                                        f"fallido ({describe_error(exc)}); reintento en {delay:.1f}s")
            self.stats.record_retry()
            self.sleep(delay)
            job.next_attempt(self.clock())

    def _mark(self, job: InFlight, result: dict[str, Any] | None, error: Exception | None) -> None:
        """Marca la tarea con su entrega como *fencing token* y lo anota; si ya no es la vigente, la descarta."""
        task, duration = job.task, self.clock() - job.started
        job.marking = True   # desde aquí el latido ya no la renueva (ver heartbeat.py)
        extra = {"duration": duration, "attempt": job.attempt}
        message = None if error is None else failure_message(task.id, error, job.attempt)
        try:
            if error is None:
                self._complete(task, result)
            else:
                self.queue.mark_failed(task.id, error=message, worker_id=self.worker_id, attempt=job.delivery)
        except (InvalidTransitionError, UnknownTaskError) as exc:  # LeaseLostError: la tarea la tiene otra entrega
            self.stats.record_lease_lost(task.id, duration)
            failed = "" if error is None else f" (el fallo «{describe_error(error)}»)"
            self.logger.warning(f"⚠️ Resultado de la tarea {task.id} (entrega {job.delivery}) descartado{failed}: "
                                f"{describe_error(exc)}", extra=extra)
        else:
            if error is None:
                self.stats.record_success(task.id, duration, result or {}, job.attempt)
                self.logger.info(f"✅ Tarea completada en {duration:.3f}s", extra=extra)
            else:
                self.stats.record_failure(task.id, duration, message, job.attempt)
                self.logger.error(f"❌ {message}", extra=extra)
                if not isinstance(error, LabError):  # un bug: la traza, solo en DEBUG
                    self.logger.debug(f"Traza del error de la tarea {task.id}", exc_info=error, extra=extra)

    def _complete(self, task: Task, result: dict[str, Any] | None) -> None:
        """Marca ``task`` como completada en la cola (``QueueWorker`` pide aquí también la siguiente)."""
        self.queue.mark_completed(task.id, result=result, worker_id=self.worker_id, attempt=task.token)

    def stop(self) -> None:
        """Parada ordenada: termina (y marca) la tarea en curso y no pide más (``lifecycle.py``)."""
        self._life.stop()

    @property
    def stopping(self) -> bool:
        """``True`` si se pidió ``stop()`` y el bucle aún no ha terminado."""
        return self._life.stopping

    @property
    def state(self) -> str:
        """``"busy"`` con tareas en curso, ``"idle"`` esperando o sin arrancar, ``"stopped"`` al terminar."""
        return self._life.state(busy=bool(self._in_flight.jobs()))

    def heartbeat(self) -> None:
        """Late ahora: anota que el worker vive y renueva la concesión de sus tareas en curso."""
        self._beats.beat()

    @property
    def peak_concurrency(self) -> int:
        """Cuántas tareas tuvo en curso a la vez como mucho (1 en un ``SimpleWorker``)."""
        return self._in_flight.peak

    def get_stats(self) -> dict[str, Any]:
        """Estadísticas del worker: las claves de la guía, tiempos por etapa, estado y último latido."""
        current = [job.task.id for job in self._in_flight.jobs()]
        return {**self.stats.snapshot(), "worker_id": self.worker_id, "state": self.state,
                "current_task": current[0] if current else None, "current_tasks": current,
                "peak_concurrency": self.peak_concurrency, "last_heartbeat": self._beats.last,
                "last_heartbeat_age": self._beats.age()}

    def health(self) -> dict[str, Any]:
        """Diagnóstico para paneles (en marcha, latido, edad de cada tarea, fallos, motivos): ``HealthPolicy.report``.

        ``alive``: el bucle está en marcha ahora (arrancado, sin terminar y sin caerse); ``crashed``: la
        última ejecución terminó por un error; ``progressing``: ninguna tarea pasa de ``task_time_limit``
        (un worker puede latir y estar colgado).
        """
        rescue = None if self._time_limit is None else self._time_limit.action()
        return self.health_policy.report(self.worker_id, state=self.state, running=self._life.running,
                                         crash=self._life.crash, heartbeat_age=self._beats.age(),
                                         stale_limit=self.stale_after, task_ages=self._in_flight.ages(),
                                         failures=self.stats.recent_failure_rate(), rescue=rescue)

    def is_healthy(self) -> bool:
        """``True`` si ``health()`` no encuentra ningún problema."""
        return self.health()["healthy"]
