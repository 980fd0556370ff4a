"""La interfaz común de las colas de tareas y las piezas que comparten sus implementaciones.

``TaskQueue`` (en memoria) y ``RedisTaskQueue`` heredan de ``QueueAPI``: los workers solo
conocen estos métodos, y una misma batería de tests de conformidad se ejecuta contra las
dos. Aquí viven también la retención (``Retention``) y la auditoría (``audit_tasks``), para
que ambas colas respondan exactamente igual (el payload se comprueba en ``jsonpayload``, las
concesiones en ``leases`` y las estadísticas se calculan en ``ledger``).
"""

from __future__ import annotations

import abc
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from lab.checks import check_int, is_real
from lab.workers.jsonpayload import check_payloads
from lab.workers.task import STATES, TRANSITIONS, Task, TaskEvent, TaskState


class QueueAPI(abc.ABC):
    """Lo que todo worker puede pedir a una cola de tareas: el contrato, que las dos colas cumplen igual.

    *Fencing tokens* (Kleppmann): cada entrega de una tarea lleva su número de intento
    (``task.attempts``: 1, 2, 3...), que solo crece. ``heartbeat``, ``mark_completed``,
    ``mark_failed`` y ``complete_and_get_next`` aceptan ``attempt=``: si se indica, tiene que
    ser el de la entrega vigente; un intento viejo (su concesión caducó y la tarea se volvió
    a entregar, aunque sea al mismo worker) recibe ``LeaseLostError`` y su resultado no se
    guarda. Los workers lo envían siempre; sin ``attempt`` (los ejemplos de la guía) se
    comprueba solo el estado y, si se indica, el ``worker_id``.
    """

    lease_timeout: float | None
    max_attempts: int

    @staticmethod
    def _validate_options(lease_timeout: float | None, max_attempts: int) -> None:
        if lease_timeout is not None and not (is_real(lease_timeout) and 0 < lease_timeout < float("inf")):
            raise ValueError(f"lease_timeout debe ser None o un número de segundos > 0 y recibió {lease_timeout!r}.")
        check_int(max_attempts, "max_attempts")

    @abc.abstractmethod
    def add_task(self, payload: dict[str, Any]) -> str:
        """Añade una tarea pendiente con una copia de ``payload`` y devuelve su id (``task-0001``...).

        Lanza ``InvalidTaskError`` si el payload no es un dict JSON (``check_payload``) y
        ``QueueShutDown`` si la cola está cerrada."""

    @abc.abstractmethod
    def get_task(self, worker_id: str, timeout: float | None = None) -> Task | None:
        """Entrega la siguiente tarea pendiente a ``worker_id`` y la pasa a ``processing``.

        Sin ``timeout`` no espera: ``None`` si no hay nada pendiente. Con ``timeout`` espera hasta
        ese número de segundos (``inf``: sin límite). Tras ``shutdown()`` entrega lo que quede
        pendiente y después ``None`` sin esperar. El payload de la tarea es una copia."""

    @abc.abstractmethod
    def heartbeat(self, task_id: str, worker_id: str, attempt: int | None = None) -> float | None:
        """Renueva la concesión de ``task_id`` para ``worker_id``; devuelve el nuevo vencimiento.

        Lanza ``LeaseLostError`` si la tarea ya no está en proceso por ese worker o, con
        ``attempt``, si ese intento ya no es el vigente."""

    @abc.abstractmethod
    def mark_completed(self, task_id: str, result: dict[str, Any] | None = None,
                       worker_id: str | None = None, attempt: int | None = None) -> None:
        """Marca como completada una tarea en proceso, guardando ``result``.

        Lanza ``UnknownTaskError`` si el id no existe, ``InvalidTransitionError`` si no está en
        proceso y ``LeaseLostError`` si ``worker_id`` ya no la tiene o ``attempt`` ya no es el vigente."""

    @abc.abstractmethod
    def mark_failed(self, task_id: str, error: str = "error desconocido",
                    worker_id: str | None = None, attempt: int | None = None) -> None:
        """Marca como fallida una tarea en proceso, guardando el texto de ``error`` (errores: ``mark_completed``)."""

    @abc.abstractmethod
    def requeue_expired(self) -> list[str]:
        """Recupera las tareas cuya concesión caducó y devuelve sus ids, ordenados.

        Cada una vuelve a ``pending`` o, si ya agotó ``max_attempts`` entregas, a ``failed``."""

    @abc.abstractmethod
    def join(self, timeout: float | None = None) -> bool:
        """Espera a que no quede nada pendiente ni en proceso; ``False`` si vence ``timeout``."""

    @abc.abstractmethod
    def shutdown(self, immediate: bool = False) -> None:
        """Cierra la cola: no acepta tareas nuevas y despierta a quien espera.

        Las pendientes se siguen entregando; con ``immediate=True`` se marcan como fallidas
        ("cola cerrada") y los workers no reciben nada más."""

    @property
    @abc.abstractmethod
    def is_shutdown(self) -> bool:
        """``True`` tras ``shutdown()``."""

    @abc.abstractmethod
    def get_stats(self) -> dict[str, Any]:
        """Instantánea coherente: total, pending, processing, completed, failed, retried y medias."""

    @abc.abstractmethod
    def task_info(self, task_id: str) -> Task:
        """Instantánea de una tarea (con una copia del payload); ``UnknownTaskError`` si no existe."""

    @abc.abstractmethod
    def tasks(self) -> list[Task]:
        """Instantáneas de todas las tareas guardadas, en orden de llegada."""

    @abc.abstractmethod
    def timeline(self) -> list[TaskEvent]:
        """Todas las transiciones guardadas, en orden: tiempo, tarea, estado, worker, intento y motivo."""

    @abc.abstractmethod
    def audit(self) -> list[str]:
        """Comprueba la coherencia de la cola; devuelve los problemas encontrados (vacío si está bien)."""

    def worker_stopped(self, worker_id: str, retry: bool = True) -> bool:
        """Anota que ``worker_id`` terminó de forma ordenada; ``True`` si se pudo anotar.

        La cola en memoria no lleva registro de workers y no hace nada; la de Redis lo usa
        para que ``python -m lab stats`` lo muestre como parado y no como perdido.
        """
        return True

    def stop_reconnecting(self) -> None:
        """Deja de esperar a que vuelva una conexión caída (la de Redis; la cola en memoria no tiene)."""

    def complete_and_get_next(self, task_id: str, worker_id: str, result: dict[str, Any] | None = None,
                              timeout: float | None = None, attempt: int | None = None) -> Task | None:
        """Marca ``task_id`` como completada por ``worker_id`` y le entrega la siguiente tarea.

        Equivale a ``mark_completed(task_id, result, worker_id, attempt)`` seguido de
        ``get_task(worker_id, timeout)``; una cola puede hacerlo en una sola operación (la de
        Redis, en una ida y vuelta). Lanza lo mismo que ``mark_completed`` y, entonces, no
        entrega ninguna tarea.
        """
        self.mark_completed(task_id, result=result, worker_id=worker_id, attempt=attempt)
        return self.get_task(worker_id, timeout=timeout)

    def add_tasks(self, payloads: Iterable[dict[str, Any]]) -> list[str]:
        """Añade varias tareas; devuelve sus ids en el mismo orden.

        Comprueba todos los payloads antes de encolar ninguno (``InvalidTaskError`` sin haber
        añadido nada); las colas de lab lo hacen además en una sola operación atómica.
        """
        return [self.add_task(payload) for payload in check_payloads(payloads)]

    def __repr__(self) -> str:
        stats = self.get_stats()
        counts = ", ".join(f"{state}={stats[state]}" for state in STATES)
        return f"<{type(self).__name__} total={stats['total']} {counts}>"


@dataclass(frozen=True)
class Retention:
    """Cuánto historial guarda una cola, para que su memoria no crezca sin fin.

    ``max_finished``: tareas terminadas (completadas o fallidas) que se guardan, las más
    recientes; ``max_age``: segundos que se guarda una terminada; ``max_events``: eventos del
    historial (``timeline``). ``None`` = sin límite. Las pendientes y en proceso no se
    recortan nunca, y las estadísticas (``get_stats``) siguen contando todo desde el principio.
    Por defecto, ``Retention()`` en las dos colas; guardarlo todo se elige: ``retention=None``.
    """

    max_finished: int | None = 10_000
    max_age: float | None = None
    max_events: int | None = 50_000

    def __post_init__(self) -> None:
        for name in ("max_finished", "max_events"):
            value = getattr(self, name)
            if value is not None:
                check_int(value, f"Retention.{name}", minimum=0)
        if self.max_age is not None and not (is_real(self.max_age) and 0 <= self.max_age < math.inf):
            raise ValueError(f"Retention.max_age debe ser None o segundos >= 0 y recibió {self.max_age!r}.")


def check_timeout(timeout: Any, name: str = "timeout") -> float | None:
    """``timeout`` validado: ``None`` o segundos >= 0 (``float('inf')`` = sin límite).

    Lanza ``ValueError`` con NaN, negativos o algo que no es un número: un NaN haría girar la
    espera al 100 % de CPU y un ``inf`` sin tratar desborda ``Condition.wait``.
    """
    if timeout is None:
        return None
    if not is_real(timeout) or math.isnan(timeout) or timeout < 0:
        raise ValueError(f"{name} debe ser None o un número de segundos >= 0 (inf = sin límite) "
                         f"y recibió {timeout!r:.40}.")
    return float(timeout)


def audit_tasks(tasks: list[Task], events: list[TaskEvent], *, counts: Mapping[TaskState, int] | None = None,
                pending_ids: list[str] | None = None, processing_ids: set[str] | None = None,
                events_truncated: bool = False) -> list[str]:
    """Revisa una cola y devuelve los problemas encontrados, en español (lista vacía si está sana).

    Comprueba que cada id está en exactamente un estado, que los contadores cuadran, que
    las transiciones del historial son legales y que nada se completó dos veces. Con
    retención (``Retention``), ``counts`` son los de las tareas que siguen guardadas y
    ``events_truncated`` dice que el historial perdió su principio: entonces el primer
    evento que queda de una tarea puede no ser ``pending``.
    """
    problems: list[str] = []
    by_state = Counter(task.state for task in tasks)
    if counts is not None:
        for state in TaskState:
            if counts.get(state, 0) != by_state.get(state, 0):
                problems.append(f"El contador de '{state.value}' dice {counts.get(state, 0)} "
                                f"pero hay {by_state.get(state, 0)} tareas en ese estado.")
    ids = [task.id for task in tasks]
    for task_id, n in Counter(ids).items():
        if n > 1:
            problems.append(f"La tarea {task_id} aparece {n} veces.")
    for label, members, state in (("pendientes", pending_ids, TaskState.PENDING),
                                  ("en proceso", processing_ids, TaskState.PROCESSING)):
        if members is None:
            continue
        for task_id, n in Counter(members).items():
            if n > 1:
                problems.append(f"La tarea {task_id} está {n} veces en la lista de {label}.")
        expected = {task.id for task in tasks if task.state is state}
        if set(members) != expected:
            extra, missing = sorted(set(members) - expected), sorted(expected - set(members))
            problems.append(f"La lista de {label} no cuadra con los estados: sobran {extra}, faltan {missing}.")
    last: dict[str, TaskState] = {}
    finished: Counter[str] = Counter()
    for event in events:
        previous = last.get(event.task_id)
        if previous is None:
            if event.state is not TaskState.PENDING and not events_truncated:
                problems.append(f"La tarea {event.task_id} empezó en '{event.state.value}' en vez de 'pending'.")
        elif event.state not in TRANSITIONS[previous]:
            problems.append(f"La tarea {event.task_id} pasó de '{previous.value}' a '{event.state.value}', "
                            f"un cambio no permitido.")
        if event.state in (TaskState.COMPLETED, TaskState.FAILED):
            finished[event.task_id] += 1
        last[event.task_id] = event.state
    for task_id, n in finished.items():
        if n > 1:
            problems.append(f"La tarea {task_id} terminó {n} veces.")
    for task in tasks:
        if task.id in last and last[task.id] is not task.state:
            problems.append(f"La tarea {task.id} está en '{task.state.value}' pero su historial acaba en "
                            f"'{last[task.id].value}'.")
    return problems
