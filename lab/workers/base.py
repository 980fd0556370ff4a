"""``BaseWorker``: el único bucle de worker (pedir tarea → procesar → marcar → repetir).

``SimpleWorker`` lo usa tal cual y ``AsyncWorker`` solo cambia *cómo* se ejecuta cada tarea
(varias a la vez en hilos); el código de una tarea (``_handle``: log, reintentos, latidos,
marcar, estadísticas) es el mismo para los dos. Los workers solo usan métodos de
``QueueAPI``, así que sirven igual con la cola en memoria que con la de Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterator

from lab.checks import is_real
from lab.core import process_image
from lab.errors import InvalidTransitionError, LabError, QueueStateLostError, UnknownTaskError
from lab.workers.health import HealthPolicy
from lab.workers.logs import get_worker_logger, task_context
from lab.workers.payload import describe_error, failure_message, parse_payload, read_pipeline
from lab.workers.queue_api import QueueAPI
from lab.workers.retry import RetryPolicy
from lab.workers.stats import WorkerStats
from lab.workers.task import Task


class _TaskFailed(Exception):
    """Uso interno: la tarea falló definitivamente tras ``attempts`` intentos."""

    def __init__(self, error: Exception, attempts: int):
        super().__init__(error)
        self.error, self.attempts = error, attempts


class BaseWorker:
    """Un worker que procesa tareas de ``queue`` con ``pipeline`` (o el que traiga cada payload).

    ``retry`` es un ``RetryPolicy`` o un número de reintentos (por defecto ninguno) y
    ``health_policy`` un ``HealthPolicy`` (cuándo ``is_healthy()`` dice que no); ``sleep`` y
    ``clock`` son inyectables. Con una cola con concesiones (``lease_timeout``) un hilo de
    latidos las renueva cada ``heartbeat_interval`` segundos mientras hay tareas en curso.
    Lanza ``TypeError``/``ValueError`` si algún argumento no es válido y ``FilterSpecError``
    si ``pipeline`` es una spec errónea.
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
        self.worker_id, self.queue = worker_id, queue
        self.pipeline = None if pipeline is None else read_pipeline(pipeline, f"El worker {worker_id}")
        for name, value in (("poll_interval", poll_interval), ("heartbeat_interval", heartbeat_interval)):
            if value is not None and not (is_real(value) and 0 < value < float("inf")):
                raise ValueError(f"{name} debe ser un número de segundos > 0 y finito (con 0 el worker daría "
                                 f"vueltas en vacío al 100 % de CPU) y recibió {value!r:.40}.")
        self.retry = RetryPolicy.coerce(retry)
        self.health_policy = HealthPolicy.coerce(health_policy)
        self.sleep, self.clock, self.quality, self.poll_interval = sleep, clock, quality, poll_interval
        lease = queue.lease_timeout
        self.heartbeat_interval = heartbeat_interval or (lease / 3 if lease else 1.0)
        self.stale_after = self.health_policy.stale_limit(lease, self.heartbeat_interval)
        self.logger = get_worker_logger(worker_id, logger)
        self.stats = WorkerStats(history=history, window=self.health_policy.failure_window)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._in_flight: dict[str, int] = {}      # tarea en curso -> intento (reintentos locales del worker)
        self._leases: dict[str, int | None] = {}       # tarea en curso -> intento de la cola (su *fencing token*)
        self._started: dict[str, float] = {}      # tarea en curso -> cuándo empezó (para el límite por tarea)
        self._lost: set[str] = set()
        self._running = False
        self._ran = False
        self._crash: str | None = None
        self._last_beat: float | None = None
        self._beats_stop = threading.Event()
        self._beats: threading.Thread | None = None
        self.peak_concurrency = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.worker_id} state={self.state}>"

    # --- ciclo de vida -------------------------------------------------------------------

    def start(self, forever: bool = False) -> None:
        """Procesa tareas hasta que no quede ninguna pendiente (la guía: "Procesa automáticamente").

        Con ``forever=True`` espera tareas nuevas hasta ``stop()`` o hasta que la cola se
        cierre. Puede ejecutarse en un ``threading.Thread``. Lanza ``RuntimeError`` si el
        worker ya está en marcha.
        """
        self._begin()
        try:
            for task in self._tasks(forever):
                self._handle(task)
        except Exception as exc:
            self._crash = describe_error(exc)
            self.logger.error(f"💥 El worker {self.worker_id} se detuvo por un error: {self._crash}")
            raise
        finally:
            self._end()

    def stop(self) -> None:
        """Parada ordenada: termina (y marca) la tarea en curso y no pide más.

        Si el worker aún no ha arrancado, su próximo ``start()`` vuelve enseguida; si ya
        terminó, no hace nada.
        """
        with self._lock:
            if self._running or not self._ran:
                self._stop.set()

    @property
    def stopping(self) -> bool:
        """``True`` si se pidió ``stop()`` y el bucle aún no ha terminado."""
        return self._stop.is_set()

    @property
    def state(self) -> str:
        """``"busy"`` con tareas en curso, ``"idle"`` esperando o sin arrancar, ``"stopped"`` al terminar."""
        with self._lock:
            if self._in_flight:
                return "busy"
            return "idle" if self._running or not self._ran else "stopped"

    def _begin(self) -> None:
        with self._lock:
            if self._running:
                raise RuntimeError(f"El worker {self.worker_id} ya está en marcha.")
            self._running, self._ran, self._crash = True, True, None
        self._touch()
        self._beats_stop.clear()
        self._beats = threading.Thread(target=self._beat_loop, name=f"{self.worker_id}-latidos", daemon=True)
        self._beats.start()

    def _end(self) -> None:
        self._beats_stop.set()
        if self._beats is not None and self._beats is not threading.current_thread():
            self._beats.join()
        with self._lock:
            self._running = False
            self._stop.clear()
        try:  # despedirse de la cola (registro de workers en Redis); sin reintentos al salir
            self.queue.worker_stopped(self.worker_id, retry=False)
        except Exception as exc:
            self.logger.debug(f"No se pudo anotar la parada de {self.worker_id}: {describe_error(exc)}")

    def _tasks(self, forever: bool) -> Iterator[Task]:
        """Las tareas que este worker va obteniendo de la cola, hasta que toque parar."""
        while True:
            task = self._claim(self.poll_interval if forever else None)
            if task is not None:
                yield task
            elif not self._keep_waiting(forever):
                return

    def _claim(self, timeout: float | None = None) -> Task | None:
        """Pide una tarea a la cola (sin esperar, o hasta ``timeout`` segundos); ``None`` si no hay o toca parar."""
        self._touch()
        if self.stopping:
            return None
        return self.queue.get_task(self.worker_id, timeout=timeout)

    def _keep_waiting(self, forever: bool) -> bool:
        """Si, sin tareas pendientes, el bucle debe seguir esperando otras nuevas."""
        return forever and not self.stopping and not self.queue.is_shutdown

    # --- una tarea -----------------------------------------------------------------------

    def process_task(self, task: Task) -> dict[str, Any]:
        """Procesa una tarea (un intento) y devuelve el resultado con el desglose de tiempos.

        Las subclases pueden sobrescribirlo (ejercicio 2 de la guía) y llamar a
        ``self._do_process(task)``. Los reintentos del worker (``retry``) lo envuelven.
        """
        return self._do_process(task)

    def _do_process(self, task: Task) -> dict[str, Any]:
        """Un intento: valida el payload, carga, aplica el pipeline y guarda con ``lab.core``.

        Lanza ``InvalidTaskError``/``FilterSpecError`` si el payload no es válido y los
        ``ImageTaskError`` de ``lab.core`` si la imagen no existe, está corrupta o no se guarda.
        """
        job = parse_payload(task.id, task.payload, self.pipeline, self.quality)
        result = process_image(job.image_path, job.output_path, job.pipeline, quality=job.quality, clock=self.clock)
        return result.to_dict()

    def _handle(self, task: Task) -> None:
        """Todo lo de una tarea: log, intentos con espera, marcar en la cola y estadísticas."""
        start = self.clock()
        with self._lock:
            self._in_flight[task.id] = 1
            self._leases[task.id] = task.token
            self._started[task.id] = start
            self.peak_concurrency = max(self.peak_concurrency, len(self._in_flight))
        try:
            with task_context(task.id, 1):
                self.logger.info(f"📝 Procesando tarea {task.id}")
                try:
                    result, attempts = self._execute(task)
                except _TaskFailed as failed:
                    self._finish(task, start, failed.attempts, error=failed.error)
                else:
                    self._finish(task, start, attempts, result=result)
        except BaseException as exc:  # Ctrl-C o SystemExit a mitad de tarea: que no quede en processing
            if not isinstance(exc, QueueStateLostError):   # sin estado en la cola no hay nada que marcar
                self._abort(task, exc)
            raise
        finally:
            with self._lock:
                # Si la misma tarea se volvió a entregar a este worker (su concesión caducó), la
                # entrada es ya la de la entrega nueva: no se toca.
                if self._leases.get(task.id) == task.token:
                    self._in_flight.pop(task.id, None)
                    self._leases.pop(task.id, None)
                    self._started.pop(task.id, None)
                    self._lost.discard(task.id)

    def _execute(self, task: Task) -> tuple[dict[str, Any], int]:
        """Llama a ``process_task`` con los reintentos de ``self.retry``; devuelve (resultado, intentos)."""
        attempt = 1
        while True:
            try:
                with task_context(task.id, attempt):
                    return _as_result(self.process_task(task)), attempt
            except Exception as exc:
                if not self.retry.should_retry(exc, attempt):
                    if attempt <= self.retry.max_retries:   # quedaban reintentos: el error es permanente
                        with task_context(task.id, attempt):
                            self.logger.warning(f"⛔ Tarea {task.id}: no se reintenta: error permanente "
                                                f"({type(exc).__name__}: {describe_error(exc)})")
                    raise _TaskFailed(exc, attempt) from exc
                delay = self.retry.delay(attempt)
                with task_context(task.id, attempt):
                    self.logger.warning(f"🔁 Intento {attempt}/{self.retry.max_attempts} de la tarea {task.id} "
                                        f"fallido ({describe_error(exc)}); reintento en {delay:.1f}s")
                self.stats.record_retry()
                self.sleep(delay)
                attempt += 1
                with self._lock:
                    self._in_flight[task.id] = attempt
                with task_context(task.id, attempt):
                    self.logger.info(f"🔄 Reintentando tarea {task.id} (intento {attempt}/{self.retry.max_attempts})")

    def _finish(self, task: Task, start: float, attempts: int, *, result: dict[str, Any] | None = None,
                error: Exception | None = None) -> None:
        """Marca la tarea (completada o fallida), actualiza estadísticas y lo registra en el log."""
        duration = self.clock() - start
        extra = {"duration": duration, "attempt": attempts}
        message = None if error is None else failure_message(task.id, error, attempts)
        try:
            if error is None:
                self._complete(task, result)
            else:
                self.queue.mark_failed(task.id, error=message, worker_id=self.worker_id,
                                       attempt=task.token)
        except (InvalidTransitionError, UnknownTaskError) as exc:  # LeaseLostError: un intento caducado
            self.stats.record_lease_lost(task.id, duration)
            self.logger.warning(f"⚠️ Resultado de la tarea {task.id} (intento {task.attempts}) descartado: "
                                f"{describe_error(exc)}", extra=extra)
            return
        if error is None:
            self.stats.record_success(task.id, duration, result or {}, attempts)
            self.logger.info(f"✅ Tarea completada en {duration:.3f}s", extra=extra)
        else:
            self.stats.record_failure(task.id, duration, message, attempts)
            self.logger.error(f"❌ {message}", extra=extra)
            if not isinstance(error, LabError):  # un bug: la traza, solo en DEBUG
                self.logger.debug(f"Traza del error de la tarea {task.id}", exc_info=error, extra=extra)

    def _complete(self, task: Task, result: dict[str, Any] | None) -> None:
        """Marca ``task`` como completada en la cola (``QueueWorker`` pide aquí también la siguiente)."""
        self.queue.mark_completed(task.id, result=result, worker_id=self.worker_id,
                                  attempt=task.token)

    def _abort(self, task: Task, exc: BaseException) -> None:
        """Marca como fallida una tarea interrumpida (Ctrl-C) para que no quede en ``processing``."""
        message = f"La tarea {task.id} se interrumpió ({type(exc).__name__}) antes de terminar."
        try:
            self.queue.mark_failed(task.id, error=message, worker_id=self.worker_id,
                                   attempt=task.token)
        except Exception as mark_error:  # p. ej. Redis caído: con concesiones, la tarea se recuperará sola
            self.logger.warning(f"⚠️ No se pudo marcar como fallida la tarea {task.id}: {describe_error(mark_error)}")
        self.stats.record_failure(task.id, 0.0, message, self._in_flight.get(task.id, 1))
        self.logger.warning(f"⏹ {message}")

    # --- latidos y salud ---------------------------------------------------------------

    def _touch(self) -> None:
        self._last_beat = self.clock()

    def heartbeat(self) -> None:
        """Late ahora: anota que el worker vive y renueva la concesión de sus tareas en curso."""
        self._touch()
        if self.queue.lease_timeout is None:
            return
        with self._lock:
            leases = list(self._leases.items())
        for task_id, attempt in leases:
            try:
                self.queue.heartbeat(task_id, self.worker_id, attempt=attempt)
            except (InvalidTransitionError, UnknownTaskError) as exc:
                if task_id not in self._lost:  # avisar una vez por tarea, no en cada latido
                    self._lost.add(task_id)
                    self.logger.warning(f"⚠️ {describe_error(exc)}", extra={"task_id": task_id})
            except Exception as exc:  # p. ej. Redis caído: se reintentará en el próximo latido
                self.logger.warning(f"⚠️ No se pudo renovar la concesión de {task_id}: {describe_error(exc)}",
                                    extra={"task_id": task_id})

    def _beat_loop(self) -> None:
        while not self._beats_stop.wait(self.heartbeat_interval):
            self.heartbeat()

    def get_stats(self) -> dict[str, Any]:
        """Estadísticas del worker: las claves de la guía, tiempos por etapa, estado y último latido."""
        snapshot = self.stats.snapshot()
        with self._lock:
            current = list(self._in_flight)
        last = self._last_beat
        snapshot.update({
            "worker_id": self.worker_id,
            "state": self.state,
            "current_task": current[0] if current else None,
            "current_tasks": current,
            "peak_concurrency": self.peak_concurrency,
            "last_heartbeat": last,
            "last_heartbeat_age": None if last is None else max(self.clock() - last, 0.0),
        })
        return snapshot

    def health(self) -> dict[str, Any]:
        """Diagnóstico para paneles: vivo, edad del último latido, cuánto lleva cada tarea, fallos y motivos.

        ``alive`` dice si el bucle sigue en marcha; ``progressing`` si, además, ninguna tarea
        pasa de ``health_policy.task_time_limit`` (un worker puede latir y estar colgado).
        """
        state, last, now = self.state, self._last_beat, self.clock()
        age = None if last is None else max(now - last, 0.0)
        with self._lock:
            task_ages = {task_id: max(now - began, 0.0) for task_id, began in self._started.items()}
        rate, recent = self.stats.recent_failure_rate()
        policy = self.health_policy
        reasons = policy.reasons(crash=self._crash, busy=state == "busy", heartbeat_age=age,
                                 stale_limit=self.stale_after, task_ages=task_ages, failure_rate=rate, recent=recent)
        limit = policy.task_time_limit
        return {"worker_id": self.worker_id, "healthy": not reasons, "alive": self._crash is None,
                "progressing": limit is None or all(a <= limit for a in task_ages.values()),
                "state": state, "heartbeat_age": age, "stale_after": self.stale_after,
                "task_ages": task_ages, "task_time_limit": limit,
                "recent_failure_rate": rate, "recent_tasks": recent, "reasons": reasons}

    def is_healthy(self) -> bool:
        """``True`` si ``health()`` no encuentra ningún problema."""
        return self.health()["healthy"]


def _as_result(value: Any) -> dict[str, Any]:
    """El resultado de ``process_task`` como dict (``None`` → ``{}``; objetos con ``to_dict``)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"process_task debe devolver un dict y devolvió {type(value).__name__}.")

