"""La contabilidad de las colas: estadísticas, historial, retención y auditoría de ``TaskQueue``.

``TaskQueue`` crea un ``QueueLedger`` y le anota cada transición (``record``); de ahí salen
``get_stats()``, ``timeline()``, ``audit()`` y ``memory_usage()``. El ledger no tiene cerrojo: la
cola lo llama siempre con el suyo tomado. Con ``Retention`` descarta del dict de tareas de la
cola (el que recibe al crearse) las terminadas más antiguas y guarda solo los últimos eventos.
``build_stats`` hace las cuentas de ``get_stats`` para las dos colas (la de Redis guarda sus
contadores y sumas en el servidor).
"""

from __future__ import annotations

import collections
from typing import Any, Iterable, Mapping

from lab.workers.queue_api import Retention, audit_tasks
from lab.workers.task import Task, TaskEvent, TaskState

PENDING, PROCESSING = TaskState.PENDING, TaskState.PROCESSING


class QueueLedger:
    """Lo que una cola en memoria anota de sus tareas, aparte de las tareas mismas.

    ``tasks`` es el dict ``id → Task`` de la cola: el ledger lo lee para auditar y, con
    ``retention``, borra de él las terminadas que ya no se guardan (las estadísticas las
    siguen contando). Lanza ``TypeError`` si ``retention`` no es un ``Retention`` ni ``None``.
    """

    def __init__(self, tasks: dict[str, Task], retention: Retention | None):
        if retention is not None and not isinstance(retention, Retention):
            raise TypeError(f"retention debe ser un Retention o None y es {type(retention).__name__}.")
        self._tasks, self.retention = tasks, retention
        self.counts = {state: 0 for state in TaskState}
        self.sums = {"wait": 0.0, "started": 0, "processing": 0.0, "finished": 0, "requeued": 0}
        max_events = None if retention is None else retention.max_events
        self.events: list[TaskEvent] | collections.deque[TaskEvent] = (
            [] if max_events is None else collections.deque(maxlen=max_events))
        self._finished: collections.deque[str] = collections.deque()   # ids terminados, del más antiguo
        self._trimmed = {TaskState.COMPLETED: 0, TaskState.FAILED: 0}  # terminadas ya descartadas

    def record(self, before: Task | None, after: Task, now: float, reason: str | None = None) -> None:
        """Anota que una tarea pasó de ``before`` (``None`` si es nueva) a ``after`` en el instante ``now``.

        Actualiza los contadores por estado y las sumas de ``get_stats`` (espera en cola, tiempo
        en proceso, recuperadas), añade el evento (``reason``: su motivo) y aplica la retención.
        """
        if before is not None:
            self.counts[before.state] -= 1
        self.counts[after.state] += 1
        if after.state is PROCESSING:
            self.sums["wait"] += now - after.created_at
            self.sums["started"] += 1
        elif before is not None and before.state is PROCESSING:
            if after.state is PENDING:
                self.sums["requeued"] += 1
            else:
                self.sums["processing"] += now - before.started_at
                self.sums["finished"] += 1
        # Quien la tenía: el worker nuevo o, si la tarea lo pierde (concesión caducada), el anterior.
        worker = after.worker_id if after.worker_id is not None or before is None else before.worker_id
        self.events.append(TaskEvent(now, after.id, after.state, worker, after.attempts, reason))
        if after.is_finished and self.retention is not None:
            self._retain(after.id, now)

    def _retain(self, task_id: str, now: float) -> None:
        """Anota una tarea terminada y descarta las más antiguas que ``retention`` ya no guarda."""
        finished, keep, age = self._finished, self.retention.max_finished, self.retention.max_age
        finished.append(task_id)
        while finished and ((keep is not None and len(finished) > keep) or
                            (age is not None and self._tasks[finished[0]].finished_at <= now - age)):
            task = self._tasks.pop(finished.popleft())
            self._trimmed[task.state] += 1

    def stats(self) -> dict[str, Any]:
        """Las estadísticas de ``get_stats`` (``build_stats``, las mismas cuentas que en Redis)."""
        return build_stats(self.counts, self.sums)

    def timeline(self) -> list[TaskEvent]:
        """Una copia del historial guardado, en orden."""
        return list(self.events)

    def audit(self, pending: Iterable[str], processing: Iterable[str]) -> list[str]:
        """Los problemas de coherencia de la cola (``audit_tasks``); vacía si está sana.

        ``pending`` y ``processing`` son las listas de ids de la cola. Los contadores se comparan
        solo con las tareas que siguen guardadas (sin las descartadas por la retención).
        """
        counts = {state: n - self._trimmed.get(state, 0) for state, n in self.counts.items()}
        truncated = isinstance(self.events, collections.deque) and len(self.events) == self.events.maxlen
        return audit_tasks(list(self._tasks.values()), list(self.events), counts=counts, pending_ids=list(pending),
                           processing_ids=set(processing), events_truncated=truncated)

    def memory_usage(self) -> dict[str, int]:
        """Tareas y eventos guardados ahora mismo (lo que crece sin ``retention``)."""
        return {"tasks": len(self._tasks), "events": len(self.events)}


def build_stats(counts: Mapping[TaskState, int], sums: Mapping[str, float]) -> dict[str, Any]:
    """Las estadísticas de una cola a partir de sus contadores por estado y sus sumas de tiempos.

    ``sums`` tiene ``wait`` (segundos en cola de las tareas entregadas), ``started``,
    ``processing`` (segundos en proceso de las terminadas), ``finished`` y ``requeued``.
    """
    by_state = {state.value: int(counts.get(state, 0)) for state in TaskState}
    started, finished = sums.get("started", 0), sums.get("finished", 0)
    return {
        "total": sum(by_state.values()),
        **by_state,
        "retried": int(sums.get("requeued", 0)),
        "avg_wait_time": sums.get("wait", 0.0) / started if started else 0.0,
        "avg_processing_time": sums.get("processing", 0.0) / finished if finished else 0.0,
    }
