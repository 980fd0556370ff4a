"""``TaskQueue``: la cola de tareas en memoria, segura entre hilos.

Sigue el modelo de ``queue.py`` de CPython: un único cerrojo y condiciones con nombre
sobre él, bucles ``while`` alrededor de cada ``wait()`` y plazos monótonos. Además de
``pending → processing → completed | failed`` añade concesiones (*leases*): con
``lease_timeout`` una tarea cuyo worker deja de latir vuelve a ``pending`` para otro
intento, y tras ``max_attempts`` entregas queda ``failed`` como abandonada.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, Iterable

from lab.errors import QueueShutDown, UnknownTaskError
from lab.workers.jsonpayload import check_payload, check_payloads, copy_json
from lab.workers.leases import check_attempt, ownership_error, ownership_problem
from lab.workers.queue_api import QueueAPI, Retention, audit_tasks, build_stats, check_timeout
from lab.workers.task import Task, TaskEvent, TaskState, format_task_id

PENDING, PROCESSING = TaskState.PENDING, TaskState.PROCESSING
COMPLETED, FAILED = TaskState.COMPLETED, TaskState.FAILED

# Mientras haya concesiones en juego, quien espera se despierta como mucho cada tanto
# para recuperar tareas caducadas (con un reloj inyectado el tiempo real no avanza solo).
_LEASE_POLL = 0.05

_new = object.__new__
_INF = float("inf")


class _Record:
    """Estado mutable de una tarea dentro de la cola; fuera solo salen instantáneas ``Task``."""

    __slots__ = ("id", "payload", "state", "attempts", "worker_id", "created_at", "started_at",
                 "finished_at", "lease_expires_at", "result", "error")

    def __init__(self, task_id: str, payload: dict[str, Any], now: float):
        self.id, self.payload, self.state, self.attempts = task_id, payload, PENDING, 0
        self.worker_id = self.started_at = self.finished_at = self.lease_expires_at = None
        self.result = self.error = None
        self.created_at = now

    def snapshot(self, copy: bool = True) -> Task:
        # Como Task(...) pero sin el __init__ de una dataclass congelada (un object.__setattr__
        # por campo): 0,7 µs en vez de 2,7 µs, y el mismo objeto. Importa: la sección ``queue`` de
        # ``python -m lab bench`` pasaría de ~7 a ~9 µs por tarea, al borde de su objetivo (10 µs).
        # El payload sale copiado (``copy_json``): quien lo cambie no cambia la tarea guardada;
        # solo ``audit()``, que no lo enseña, se ahorra la copia.
        task = _new(Task)
        task.__dict__.update(id=self.id, payload=copy_json(self.payload) if copy else self.payload,
                             state=self.state, attempts=self.attempts,
                             worker_id=self.worker_id, created_at=self.created_at, started_at=self.started_at,
                             finished_at=self.finished_at, lease_expires_at=self.lease_expires_at,
                             result=self.result, error=self.error)
        return task


class TaskQueue(QueueAPI):
    """Cola de tareas en memoria para varios workers (hilos) a la vez.

    ``lease_timeout`` (segundos, ``None`` = sin concesiones, como en la guía) es el tiempo
    que un worker puede pasar sin ``heartbeat()`` antes de perder su tarea.
    ``max_attempts`` limita cuántas veces se entrega una misma tarea. ``clock`` da el
    tiempo de los sellos y de las concesiones (inyectable en los tests). ``retention``
    (``Retention``; ``None`` = guardarlo todo, como en la guía) acota las tareas terminadas y
    los eventos que se guardan, para que un proceso de larga duración no crezca sin fin.
    """

    def __init__(self, lease_timeout: float | None = None, max_attempts: int = 3,
                 clock: Callable[[], float] = time.monotonic, retention: Retention | None = None):
        self._validate_options(lease_timeout, max_attempts)
        if retention is not None and not isinstance(retention, Retention):
            raise TypeError(f"retention debe ser un Retention o None y es {type(retention).__name__}.")
        self.lease_timeout, self.max_attempts, self.clock = lease_timeout, max_attempts, clock
        self.retention = retention
        self._lock = threading.Lock()
        # not_empty: se avisa cuando entra una tarea en ``pending`` (nueva o recuperada) o al
        # cerrar la cola; quien espera en get_task() vuelve a mirar la cola.
        self.not_empty = threading.Condition(self._lock)
        # all_done: se avisa cuando ya no queda nada pendiente ni en proceso, o al cerrar;
        # quien espera en join() comprueba si ha terminado.
        self.all_done = threading.Condition(self._lock)
        # Cuántos hilos esperan en cada condición, para no avisar si no hay nadie. Importa: cada
        # notify() comprueba el cerrojo aunque no haya nadie esperando, y sin este atajo la sección
        # ``queue`` de ``python -m lab bench`` pasa de ~9 a ~12 µs por tarea (objetivo: 10 µs).
        self._get_waiters = self._join_waiters = 0
        self._tasks: dict[str, _Record] = {}
        self._pending: collections.deque[str] = collections.deque()
        self._processing: set[str] = set()
        self._counts = {state: 0 for state in TaskState}
        max_events = None if retention is None else retention.max_events
        self._events: list[tuple] | collections.deque[tuple] = (
            [] if max_events is None else collections.deque(maxlen=max_events))
        self._finished: collections.deque[str] = collections.deque()   # solo con retención
        self._trimmed = {COMPLETED: 0, FAILED: 0}                     # terminadas descartadas
        self._sums = {"wait": 0.0, "started": 0, "processing": 0.0, "finished": 0, "requeued": 0}
        self._next_number = 0
        self._shutdown = False

    # --- producir ---------------------------------------------------------------------

    def add_task(self, payload: dict[str, Any]) -> str:
        """Añade una tarea pendiente y devuelve su id (``task-0001``, ``task-0002``...).

        La cola guarda una copia del payload (``check_payload``): cambiar el dict después no
        cambia la tarea. Lanza ``InvalidTaskError`` si el payload no es un dict JSON y
        ``QueueShutDown`` si la cola ya está cerrada.
        """
        payload = check_payload(payload)
        with self._lock:
            if self._shutdown:
                raise QueueShutDown("La cola está cerrada (shutdown) y no acepta tareas nuevas.")
            task_id = self._add_locked(payload, self.clock())
            if self._get_waiters:
                self.not_empty.notify()
            return task_id

    def add_tasks(self, payloads: Iterable[dict[str, Any]]) -> list[str]:
        """Añade varias tareas de una vez (todo o nada); devuelve sus ids en el mismo orden.

        Si un payload no vale, lanza ``InvalidTaskError`` sin encolar ninguna (así, repetir la
        llamada no duplica tareas).
        """
        checked = check_payloads(payloads)
        with self._lock:
            if self._shutdown:
                raise QueueShutDown("La cola está cerrada (shutdown) y no acepta tareas nuevas.")
            now = self.clock()
            ids = [self._add_locked(payload, now) for payload in checked]
            self.not_empty.notify(len(ids))
            return ids

    def _add_locked(self, payload: dict[str, Any], now: float) -> str:
        self._next_number += 1
        task_id = format_task_id(self._next_number)
        self._tasks[task_id] = _Record(task_id, payload, now)
        self._counts[PENDING] += 1
        self._pending.append(task_id)
        self._events.append((now, task_id, PENDING, None, 0, None))
        return task_id

    # --- consumir ---------------------------------------------------------------------

    def get_task(self, worker_id: str, timeout: float | None = None) -> Task | None:
        """Entrega la siguiente tarea pendiente a ``worker_id`` y la pasa a ``processing``.

        Sin ``timeout`` no espera: devuelve ``None`` si no hay nada pendiente. Con
        ``timeout`` espera hasta ese número de segundos a que llegue una. Tras
        ``shutdown()`` entrega lo que quede pendiente y después ``None`` sin esperar.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        deadline = None if not timeout else time.monotonic() + timeout   # inf: sin límite
        with self.not_empty:
            if self.lease_timeout is not None:
                self._requeue_expired_locked()
            while not self._pending:
                if self._shutdown or deadline is None:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if self._processing and self.lease_timeout is not None:
                    remaining = min(remaining, _LEASE_POLL)
                self._get_waiters += 1
                try:
                    self.not_empty.wait(None if remaining == _INF else remaining)
                finally:
                    self._get_waiters -= 1
                self._requeue_expired_locked()
            record = self._tasks[self._pending.popleft()]
            now = self.clock()
            record.state, record.worker_id, record.started_at = PROCESSING, worker_id, now
            record.attempts += 1
            if self.lease_timeout is not None:
                record.lease_expires_at = now + self.lease_timeout
            self._counts[PENDING] -= 1
            self._counts[PROCESSING] += 1
            self._processing.add(record.id)
            self._sums["wait"] += now - record.created_at
            self._sums["started"] += 1
            self._events.append((now, record.id, PROCESSING, worker_id, record.attempts, None))
            return record.snapshot()

    def heartbeat(self, task_id: str, worker_id: str, attempt: int | None = None) -> float | None:
        """Renueva la concesión de ``task_id`` para ``worker_id``; devuelve el nuevo vencimiento.

        Lanza ``LeaseLostError`` si la tarea ya no está en proceso por ese worker o, con
        ``attempt`` (el *fencing token* de la entrega), si ese intento ya no es el vigente.
        """
        attempt = check_attempt(attempt)
        with self._lock:
            record = self._owned(task_id, worker_id, "renovar la concesión de", attempt)
            if self.lease_timeout is not None:
                record.lease_expires_at = self.clock() + self.lease_timeout
            return record.lease_expires_at

    def mark_completed(self, task_id: str, result: dict[str, Any] | None = None,
                       worker_id: str | None = None, attempt: int | None = None) -> None:
        """Marca como completada una tarea en proceso, guardando ``result``.

        Lanza ``UnknownTaskError`` si el id no existe, ``InvalidTransitionError`` si la
        tarea no está en proceso y ``LeaseLostError`` si ``worker_id`` ya no la tiene o si
        ``attempt`` (el *fencing token* de la entrega) ya no es el intento vigente.
        """
        self._finish(task_id, COMPLETED, worker_id, attempt, result=result)

    def mark_failed(self, task_id: str, error: str = "error desconocido",
                    worker_id: str | None = None, attempt: int | None = None) -> None:
        """Marca como fallida una tarea en proceso, guardando el texto de ``error``.

        Mismos errores que ``mark_completed``.
        """
        self._finish(task_id, FAILED, worker_id, attempt, error=str(error))

    def _finish(self, task_id: str, state: TaskState, worker_id: str | None, attempt: int | None, *,
                result: dict[str, Any] | None = None, error: str | None = None) -> None:
        verb = "completar" if state is COMPLETED else "marcar como fallida"
        if attempt is not None:
            attempt = check_attempt(attempt)
        with self._lock:
            record = self._owned(task_id, worker_id, verb, attempt)
            now = self.clock()
            record.state, record.finished_at, record.lease_expires_at = state, now, None
            record.result, record.error = result, error
            self._counts[PROCESSING] -= 1
            self._counts[state] += 1
            self._processing.discard(task_id)
            self._sums["processing"] += now - record.started_at
            self._sums["finished"] += 1
            self._events.append((now, task_id, state, record.worker_id, record.attempts, error))
            if self.retention is not None:
                self._retain(task_id, now)
            if self._join_waiters and not self._pending and not self._processing:
                self.all_done.notify_all()

    def _retain(self, task_id: str, now: float) -> None:
        """Anota una tarea terminada y descarta las más antiguas que ``retention`` ya no guarda."""
        finished, keep, age = self._finished, self.retention.max_finished, self.retention.max_age
        finished.append(task_id)
        while finished and ((keep is not None and len(finished) > keep) or
                            (age is not None and self._tasks[finished[0]].finished_at <= now - age)):
            record = self._tasks.pop(finished.popleft())
            self._trimmed[record.state] += 1

    def _owned(self, task_id: str, worker_id: str | None, verb: str, attempt: int | None) -> _Record:
        """El registro de una tarea en proceso (por ``worker_id`` y en el intento ``attempt``, si se
        indican); si no, un error claro (``ownership_problem``, la misma regla que en Redis)."""
        record = self._tasks.get(task_id)
        if record is None:
            raise UnknownTaskError(f"No se puede {verb} la tarea {task_id}: no existe en la cola.")
        if (record.state is not PROCESSING or attempt is not None
                or (worker_id is not None and record.worker_id != worker_id)):
            kind = ownership_problem(record.state.value, record.worker_id, record.attempts, worker_id, attempt)
            if kind is not None:
                raise ownership_error(kind, verb, task_id, state=record.state.value, owner=record.worker_id,
                                      attempts=record.attempts, worker_id=worker_id, attempt=attempt)
        return record

    # --- concesiones ------------------------------------------------------------------

    def requeue_expired(self) -> list[str]:
        """Recupera las tareas cuya concesión caducó; devuelve sus ids.

        Cada una vuelve a ``pending`` o, si ya agotó ``max_attempts`` entregas, pasa a
        ``failed`` como abandonada.
        """
        with self._lock:
            return self._requeue_expired_locked()

    def _requeue_expired_locked(self) -> list[str]:
        if self.lease_timeout is None or not self._processing:
            return []
        now = self.clock()
        expired = sorted(t for t in self._processing if self._tasks[t].lease_expires_at <= now)
        for task_id in expired:
            record = self._tasks[task_id]
            self._processing.discard(task_id)
            self._counts[PROCESSING] -= 1
            lost_by, record.lease_expires_at = record.worker_id, None
            if record.attempts >= self.max_attempts:
                record.state, record.finished_at = FAILED, now
                record.error = (f"Tarea {task_id} abandonada: el worker {lost_by} dejó de renovar su "
                                f"concesión y ya se intentó {record.attempts} veces (máximo {self.max_attempts}).")
                self._counts[FAILED] += 1
                self._sums["processing"] += now - record.started_at
                self._sums["finished"] += 1
                self._events.append((now, task_id, FAILED, lost_by, record.attempts, record.error))
                if self.retention is not None:
                    self._retain(task_id, now)
            else:
                record.state, record.worker_id = PENDING, None
                self._counts[PENDING] += 1
                self._pending.appendleft(task_id)
                self._sums["requeued"] += 1
                reason = f"concesión caducada: {lost_by} dejó de latir"
                self._events.append((now, task_id, PENDING, lost_by, record.attempts, reason))
                self.not_empty.notify()
        if expired and not self._pending and not self._processing:
            self.all_done.notify_all()
        return expired

    # --- esperar y cerrar ----------------------------------------------------------------

    def join(self, timeout: float | None = None) -> bool:
        """Espera a que no quede nada pendiente ni en proceso; ``False`` si vence ``timeout``."""
        timeout = check_timeout(timeout)
        deadline = None if timeout is None or timeout == _INF else time.monotonic() + timeout
        with self.all_done:
            self._requeue_expired_locked()
            while self._pending or self._processing:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if self._processing and self.lease_timeout is not None:
                    remaining = _LEASE_POLL if remaining is None else min(remaining, _LEASE_POLL)
                self._join_waiters += 1
                try:
                    self.all_done.wait(remaining)
                finally:
                    self._join_waiters -= 1
                self._requeue_expired_locked()
            return True

    def shutdown(self, immediate: bool = False) -> None:
        """Cierra la cola: no acepta tareas nuevas y despierta a quien espera.

        Las pendientes se siguen entregando; con ``immediate=True`` se marcan como
        fallidas ("cola cerrada") y los workers no reciben nada más.
        """
        with self._lock:
            self._shutdown = True
            if immediate:
                now = self.clock()
                while self._pending:
                    record = self._tasks[self._pending.popleft()]
                    record.state, record.finished_at = FAILED, now
                    record.error = f"Tarea {record.id} cancelada: la cola se cerró antes de procesarla."
                    self._counts[PENDING] -= 1
                    self._counts[FAILED] += 1
                    self._events.append((now, record.id, FAILED, None, record.attempts, record.error))
                    if self.retention is not None:
                        self._retain(record.id, now)
            self.not_empty.notify_all()
            self.all_done.notify_all()

    @property
    def is_shutdown(self) -> bool:
        """``True`` tras ``shutdown()``."""
        return self._shutdown

    # --- observar -----------------------------------------------------------------------

    def get_stats(self) -> dict[str, Any]:
        """Instantánea coherente: total, pending, processing, completed, failed, retried y medias."""
        with self._lock:
            return build_stats(self._counts, self._sums)

    def task_info(self, task_id: str) -> Task:
        """Instantánea de una tarea; ``UnknownTaskError`` si no existe."""
        with self._lock:
            record = self._tasks.get(task_id)
            if record is None:
                raise UnknownTaskError(f"La tarea {task_id} no existe en la cola"
                                       + (" (o ya se descartó por la retención)." if self.retention else "."))
            return record.snapshot()

    def tasks(self) -> list[Task]:
        """Instantáneas de todas las tareas, en orden de llegada."""
        with self._lock:
            return [record.snapshot() for record in self._tasks.values()]

    def timeline(self) -> list[TaskEvent]:
        """Todas las transiciones, en orden: tiempo, tarea, estado, worker, intento y motivo."""
        with self._lock:
            events = list(self._events)
        return [TaskEvent(*event) for event in events]

    def audit(self) -> list[str]:
        """Comprueba la coherencia de la cola; devuelve los problemas encontrados (vacío si está bien)."""
        with self._lock:
            tasks = [record.snapshot(copy=False) for record in self._tasks.values()]
            pending, processing = list(self._pending), set(self._processing)
            counts = dict(self._counts)
            for state, n in self._trimmed.items():     # se comparan solo las tareas que siguen guardadas
                counts[state] -= n
            events = list(self._events)
            truncated = isinstance(self._events, collections.deque) and len(self._events) == self._events.maxlen
        return audit_tasks(tasks, [TaskEvent(*e) for e in events], counts=counts,
                           pending_ids=pending, processing_ids=processing, events_truncated=truncated)

    def memory_usage(self) -> dict[str, int]:
        """Tareas y eventos guardados ahora mismo (lo que crece sin ``retention``)."""
        with self._lock:
            return {"tasks": len(self._tasks), "events": len(self._events)}
