"""``TaskQueue``: la cola de tareas en memoria, segura entre hilos.

El esqueleto de ``Lib/queue.py`` de CPython: un solo cerrojo, condiciones con nombre sobre él
(``not_empty``, ``all_done``), un ``while`` alrededor de cada ``wait()`` y plazos monótonos. La
cola guarda instantáneas ``Task`` inmutables y cambia una por otra en cada transición.

Qué hace cada método público (y qué errores lanza) lo dice ``QueueAPI``; aquí está el cómo. Lo que
se puede saltar vive aparte y la cola solo lo llama: el payload JSON (``jsonpayload``), concesiones
y *fencing* (``leases``) y estadísticas, historial, retención y auditoría (``ledger``).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Any, Callable, Iterable

from lab.errors import QueueShutDown, UnknownTaskError
from lab.workers.jsonpayload import check_payload, check_payloads, copy_json
from lab.workers.leases import check_attempt, expire, owned_task
from lab.workers.ledger import QueueLedger
from lab.workers.queue_api import QueueAPI, Retention, check_timeout
from lab.workers.task import Task, TaskEvent, TaskState, format_task_id

CLOSED = "La cola está cerrada (shutdown) y no acepta tareas nuevas."
LEASE_POLL = 0.05   # nadie avisa cuando vence una concesión: con alguna en juego, quien espera mira así de a menudo


class TaskQueue(QueueAPI):
    """Cola de tareas en memoria para varios workers (hilos) a la vez.

    ``lease_timeout`` (s; ``None``: sin concesiones, como en la guía): lo que un worker puede pasar sin
    ``heartbeat()`` antes de perder su tarea (vuelve a ``pending``; tras ``max_attempts`` entregas, a
    ``failed``). ``clock``: reloj de sellos y concesiones. ``retention``: cuánto historial se guarda; por
    defecto ``Retention()`` (memoria acotada); ``None`` lo guarda todo, sin límite."""

    def __init__(self, lease_timeout: float | None = None, max_attempts: int = 3,
                 clock: Callable[[], float] = time.monotonic, retention: Retention | None = Retention()):
        self._validate_options(lease_timeout, max_attempts)
        self.lease_timeout, self.max_attempts = lease_timeout, max_attempts
        self.clock, self.retention = clock, retention
        self._lock = threading.Lock()
        # not_empty: se avisa cada vez que una tarea entra en _pending (nueva o recuperada) y al
        # cerrar la cola. Garantiza que quien espera en get_task() vuelve a mirar _pending.
        self.not_empty = threading.Condition(self._lock)
        # all_done: se avisa cuando ya no queda nada pendiente ni en proceso, y al cerrar.
        # Garantiza que quien espera en join() vuelve a comprobar si se ha terminado todo.
        self.all_done = threading.Condition(self._lock)
        self._tasks: dict[str, Task] = {}                            # id → su instantánea actual
        self._pending: collections.deque[str] = collections.deque()  # ids pendientes, en orden
        self._processing: set[str] = set()                           # ids en proceso
        self._ledger = QueueLedger(self._tasks, retention)           # contadores, historial, retención
        self._last_number, self._shutdown = 0, False

    # --- producir: la tarea entra en _pending y se avisa a not_empty -------------------------
    def add_task(self, payload: dict[str, Any]) -> str:
        payload = check_payload(payload)         # una copia: cambiar el dict después no cambia la tarea
        with self._lock:
            if self._shutdown:
                raise QueueShutDown(CLOSED)
            task_id = self._new_task(payload)
            self.not_empty.notify()              # despierta a un worker que espere en get_task()
            return task_id

    def add_tasks(self, payloads: Iterable[dict[str, Any]]) -> list[str]:
        checked = check_payloads(payloads)
        with self._lock:
            if self._shutdown:
                raise QueueShutDown(CLOSED)
            ids = [self._new_task(payload) for payload in checked]
            self.not_empty.notify(len(ids))
            return ids

    def _new_task(self, payload: dict[str, Any]) -> str:
        self._last_number += 1
        now = self.clock()
        task = Task(format_task_id(self._last_number), payload, created_at=now)
        self._pending.append(task.id)
        self._save(None, task, now)
        return task.id

    # --- consumir: esperar en not_empty, pasar a processing y, al terminar, avisar a all_done --
    def get_task(self, worker_id: str, timeout: float | None = None) -> Task | None:
        timeout = check_timeout(timeout)
        deadline = None if timeout in (None, math.inf) else time.monotonic() + timeout
        with self.not_empty:
            self._requeue_expired()
            while not self._pending:
                if self._shutdown or not timeout or not self._wait(self.not_empty, deadline):
                    return None
            task = self._tasks[self._pending.popleft()]
            now = self.clock()
            lease = None if self.lease_timeout is None else now + self.lease_timeout
            started = task.evolve(state=TaskState.PROCESSING, worker_id=worker_id, attempts=task.attempts + 1,
                                  started_at=now, lease_expires_at=lease)
            self._processing.add(task.id)
            self._save(task, started, now)
        return started.evolve(payload=copy_json(started.payload))   # el worker recibe su propia copia

    def heartbeat(self, task_id: str, worker_id: str, attempt: int | None = None) -> float | None:
        attempt = check_attempt(attempt)
        with self._lock:
            task = owned_task(self._tasks.get(task_id), task_id, "renovar la concesión de", worker_id, attempt)
            if self.lease_timeout is not None:
                task = self._tasks[task_id] = task.evolve(lease_expires_at=self.clock() + self.lease_timeout)
            return task.lease_expires_at

    def mark_completed(self, task_id: str, result: dict[str, Any] | None = None,
                       worker_id: str | None = None, attempt: int | None = None) -> None:
        self._finish(task_id, TaskState.COMPLETED, "completar", worker_id, attempt, result=result)

    def mark_failed(self, task_id: str, error: str = "error desconocido",
                    worker_id: str | None = None, attempt: int | None = None) -> None:
        self._finish(task_id, TaskState.FAILED, "marcar como fallida", worker_id, attempt, error=str(error))

    def _finish(self, task_id: str, state: TaskState, verb: str, worker_id: str | None, attempt: int | None,
                **outcome: Any) -> None:
        attempt = check_attempt(attempt)
        with self._lock:
            task = owned_task(self._tasks.get(task_id), task_id, verb, worker_id, attempt)
            now = self.clock()
            self._processing.discard(task_id)
            self._save(task, task.evolve(state=state, finished_at=now, lease_expires_at=None, **outcome), now)
            if not self._pending and not self._processing:
                self.all_done.notify_all()

    # --- concesiones: una tarea cuyo worker deja de latir vuelve a _pending ------------------
    def requeue_expired(self) -> list[str]:
        with self._lock:
            return self._requeue_expired()

    def _requeue_expired(self) -> list[str]:
        if self.lease_timeout is None or not self._processing:
            return []
        now = self.clock()
        expired = sorted(t for t in self._processing if self._tasks[t].lease_expires_at <= now)
        for task_id in expired:
            task = self._tasks[task_id]
            after, reason = expire(task, now, self.max_attempts)
            self._processing.discard(task_id)
            if after.state is TaskState.PENDING:
                self._pending.appendleft(task_id)
                self.not_empty.notify()
            self._save(task, after, now, reason)
        if expired and not self._pending and not self._processing:
            self.all_done.notify_all()
        return expired

    # --- esperar y cerrar ---------------------------------------------------------------------
    def join(self, timeout: float | None = None) -> bool:
        timeout = check_timeout(timeout)
        deadline = None if timeout in (None, math.inf) else time.monotonic() + timeout
        with self.all_done:
            self._requeue_expired()
            while self._pending or self._processing:
                if not self._wait(self.all_done, deadline):
                    return False
            return True

    def _wait(self, condition: threading.Condition, deadline: float | None) -> bool:
        """Duerme en ``condition`` (con el cerrojo tomado) hasta un aviso o ``deadline``; ``False`` si ya venció."""
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        if self._processing and self.lease_timeout is not None:
            remaining = LEASE_POLL if remaining is None else min(remaining, LEASE_POLL)
        condition.wait(remaining)
        self._requeue_expired()
        return True

    def shutdown(self, immediate: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            now = self.clock() if immediate else 0.0
            while immediate and self._pending:
                task = self._tasks[self._pending.popleft()]
                error = f"Tarea {task.id} cancelada: la cola se cerró antes de procesarla."
                self._save(task, task.evolve(state=TaskState.FAILED, finished_at=now, error=error), now, error)
            self.not_empty.notify_all()
            self.all_done.notify_all()

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown

    # --- observar (las cuentas las lleva self._ledger) ----------------------------------------
    def _save(self, before: Task | None, after: Task, now: float, reason: str | None = None) -> None:
        """Guarda la nueva instantánea de una tarea y anota la transición en el ledger."""
        self._tasks[after.id] = after
        self._ledger.record(before, after, now, reason)

    def get_stats(self) -> dict[str, Any]:
        with self._lock:
            return self._ledger.stats()

    def task_info(self, task_id: str) -> Task:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            raise UnknownTaskError(f"La tarea {task_id} no existe en la cola"
                                   + (" (o ya se descartó por la retención)." if self.retention else "."))
        return task.evolve(payload=copy_json(task.payload))

    def tasks(self) -> list[Task]:
        with self._lock:
            return [task.evolve(payload=copy_json(task.payload)) for task in self._tasks.values()]

    def timeline(self) -> list[TaskEvent]:
        with self._lock:
            return self._ledger.timeline()

    def audit(self) -> list[str]:
        with self._lock:
            return self._ledger.audit(self._pending, self._processing)

    def memory_usage(self) -> dict[str, int]:
        """Tareas y eventos guardados ahora mismo (lo que crece sin ``retention``)."""
        with self._lock:
            return self._ledger.memory_usage()
