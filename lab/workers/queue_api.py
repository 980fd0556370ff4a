"""La interfaz común de las colas de tareas y las piezas que comparten sus implementaciones.

``TaskQueue`` (en memoria) y ``RedisTaskQueue`` heredan de ``QueueAPI``: los workers solo
conocen estos métodos, y una misma batería de tests de conformidad se ejecuta contra las
dos. Aquí viven también la validación del payload, el cálculo de estadísticas y la
auditoría, para que ambas colas respondan exactamente igual.
"""

from __future__ import annotations

import abc
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from lab.checks import check_int, is_integer, is_real
from lab.errors import InvalidTaskError, InvalidTransitionError, LeaseLostError
from lab.workers.task import STATES, TRANSITIONS, Task, TaskEvent, TaskState


class QueueAPI(abc.ABC):
    """Lo que todo worker puede pedir a una cola de tareas.

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
    def add_task(self, payload: dict[str, Any]) -> str: ...

    @abc.abstractmethod
    def get_task(self, worker_id: str, timeout: float | None = None) -> Task | None: ...

    @abc.abstractmethod
    def heartbeat(self, task_id: str, worker_id: str, attempt: int | None = None) -> float | None: ...

    @abc.abstractmethod
    def mark_completed(self, task_id: str, result: dict[str, Any] | None = None,
                       worker_id: str | None = None, attempt: int | None = None) -> None: ...

    @abc.abstractmethod
    def mark_failed(self, task_id: str, error: str = "error desconocido",
                    worker_id: str | None = None, attempt: int | None = None) -> None: ...

    @abc.abstractmethod
    def requeue_expired(self) -> list[str]: ...

    @abc.abstractmethod
    def join(self, timeout: float | None = None) -> bool: ...

    @abc.abstractmethod
    def shutdown(self, immediate: bool = False) -> None: ...

    @property
    @abc.abstractmethod
    def is_shutdown(self) -> bool: ...

    @abc.abstractmethod
    def get_stats(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def task_info(self, task_id: str) -> Task: ...

    @abc.abstractmethod
    def tasks(self) -> list[Task]: ...

    @abc.abstractmethod
    def timeline(self) -> list[TaskEvent]: ...

    @abc.abstractmethod
    def audit(self) -> list[str]: ...

    def worker_stopped(self, worker_id: str, retry: bool = True) -> bool:
        """Anota que ``worker_id`` terminó de forma ordenada; ``True`` si se pudo anotar.

        La cola en memoria no lleva registro de workers y no hace nada; la de Redis lo usa
        para que ``python -m lab stats`` lo muestre como parado y no como perdido.
        """
        return True

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

    def to_fields(self) -> dict[str, str]:
        """Los campos que guarda la cola en Redis (texto vacío = sin límite)."""
        return {"keep_finished": "" if self.max_finished is None else str(self.max_finished),
                "keep_seconds": "" if self.max_age is None else repr(float(self.max_age)),
                "keep_events": "" if self.max_events is None else str(self.max_events)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> "Retention | None":
        """Lo contrario de ``to_fields``; ``None`` si la cola no tiene retención guardada."""
        if "keep_finished" not in fields:
            return None
        number = lambda key, kind: kind(fields[key]) if fields.get(key, "") != "" else None  # noqa: E731
        return cls(number("keep_finished", int), number("keep_seconds", float), number("keep_events", int))


def check_attempt(attempt: Any) -> int | None:
    """``attempt`` (el *fencing token* de una entrega) validado: ``None`` o un entero >= 1."""
    if attempt is None:
        return None
    if not is_integer(attempt) or attempt < 1:
        raise ValueError(f"attempt debe ser None o el número de intento de la entrega (entero >= 1) "
                         f"y recibió {attempt!r:.40}.")
    return int(attempt)


def ownership_problem(state: str, owner: str | None, attempts: int, worker_id: str | None,
                      attempt: int | None) -> str | None:
    """Por qué no se puede terminar/renovar una tarea: ``'stale'``, ``'state'``, ``'lease'`` o ``None``.

    La misma regla que aplican los scripts Lua de la cola en Redis (``redis/scripts.py``):
    primero el *fencing token* (``attempt`` distinto del intento vigente, o la tarea volvió a
    ``pending``), después el estado y por último el worker.
    """
    if attempt is not None and (attempt != attempts or state == "pending"):
        return "stale"
    if state != "processing":
        return "state"
    if worker_id is not None and owner != worker_id:
        return "lease"
    return None


def ownership_error(kind: str, verb: str, task_id: str, *, state: str, owner: str | None, attempts: int,
                    worker_id: str | None, attempt: int | None) -> InvalidTransitionError:
    """El error (con su frase en español) de ``ownership_problem``; el mismo texto en las dos colas."""
    head = f"No se puede {verb} la tarea {task_id}"
    if kind == "state":
        return InvalidTransitionError(f"{head}: está en estado '{state}' y solo se puede desde 'processing'.")
    if kind == "lease":
        return LeaseLostError(f"{head}: {worker_id} perdió su concesión y ahora la tiene {owner}.")
    who = f" de {worker_id}" if worker_id else ""
    if state == "pending" and attempt == attempts:
        return LeaseLostError(f"{head}: la concesión del intento {attempt}{who} caducó y la tarea volvió a "
                              f"'pending' (resultado descartado).")
    if state == "processing":
        now = f"ahora está en curso el intento {attempts}, de {owner}"
    else:
        now = f"la tarea ya terminó en '{state}' con el intento {attempts}"
    return LeaseLostError(f"{head}: el intento {attempt}{who} ya no es el vigente (su concesión caducó) y "
                          f"{now} (resultado descartado).")


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


MAX_PAYLOAD_DEPTH = 32
"""Niveles de anidamiento que admite un payload (un dict que se contiene a sí mismo no acaba nunca)."""

JSON_MAX_INT = 2 ** 53 - 1
"""El mayor entero que JSON intercambia sin perder precisión (RFC 8259, §6; I-JSON, RFC 7493)."""


def check_payload(payload: Any) -> dict[str, Any]:
    """Una copia de ``payload`` en JSON puro; ``InvalidTaskError`` si no se puede guardar como JSON.

    Las dos colas aceptan y rechazan exactamente lo mismo (lo de aquí): un dict con claves de
    texto y valores dict, list/tuple, str, int, float, bool o None; los textos, UTF-8 válido
    (sin sustitutos sueltos como ``'foto\\udcff.jpg'``); los enteros, dentro de
    ``±JSON_MAX_INT``; los floats, finitos (JSON no tiene NaN ni infinito); y como mucho
    ``MAX_PAYLOAD_DEPTH`` niveles de anidamiento. La copia (tuplas → listas, subclases → tipos
    base) es lo que guarda la cola: cambiar el dict original después de ``add_task`` no cambia
    la tarea, igual que en Redis. Las colas no miran las claves (eso es cosa del worker).
    """
    if not isinstance(payload, dict):
        raise InvalidTaskError(
            f"El payload de una tarea debe ser un dict (p. ej. {{'image_path': ..., 'output_path': ...}}) "
            f"y se recibió {type(payload).__name__}.")
    try:
        return _copy_dict(payload, 1)
    except _NotJSON as problem:
        path = [f"[{key!r:.40}]" for key in reversed(problem.path)]
        where = "payload" + "".join(path if len(path) <= 6 else [*path[:3], "[…]", *path[-2:]])
        raise InvalidTaskError(f"El payload de la tarea no se puede guardar como JSON: "
                               f"{problem.text.format(where=where)}.") from None


def check_payloads(payloads: Iterable[Any]) -> list[dict[str, Any]]:
    """``check_payload`` de cada uno, antes de encolar nada (``add_tasks`` es todo o nada).

    El error dice qué payload de la lista falló (contando desde 1) y que no se encoló ninguno.
    """
    checked = []
    for number, payload in enumerate(payloads, 1):
        try:
            checked.append(check_payload(payload))
        except InvalidTaskError as exc:
            raise InvalidTaskError(f"{str(exc).rstrip('.')} (payload nº {number} de la lista; "
                                   f"no se ha encolado ninguna tarea).") from None
    return checked


class _NotJSON(Exception):
    """Uso interno: dónde y por qué un payload no es JSON (``path`` se llena al deshacer la recursión)."""

    def __init__(self, text: str, *path: Any):
        super().__init__(text)
        self.text, self.path = text, list(path)


def _copy_dict(value: dict, depth: int) -> dict[str, Any]:
    # El caso corriente (claves de texto, valores str/int/float/bool/None de tipo exacto) va sin
    # llamadas a funciones: check_payload + copia cuesta lo mismo que antes solo la comprobación.
    if depth > MAX_PAYLOAD_DEPTH:
        raise _NotJSON(f"{{where}} anida más de {MAX_PAYLOAD_DEPTH} niveles (¿un dict que se contiene "
                       f"a sí mismo?)")
    out = {}
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            key = _text(key, "la clave {!r:.40} de {{where}}")
        kind = type(item)
        if kind is str:
            if not item.isascii():
                item = _text(item, "{{where}}", key)
        elif kind is int:
            if not -JSON_MAX_INT <= item <= JSON_MAX_INT:
                raise _NotJSON(_BIG_INT.format(_int_digits(item)), key)
        elif kind is float:
            if item - item != 0.0:        # NaN o infinito
                raise _NotJSON(f"{{where}} = {item!r}, y JSON no admite NaN ni infinito", key)
        elif item is not None and kind is not bool:
            try:
                item = _copy_value(item, depth + 1)
            except _NotJSON as problem:
                problem.path.append(key)
                raise
        out[key] = item
    return out


def _copy_value(value: Any, depth: int) -> Any:
    """Copia JSON de cualquier valor (el camino lento: contenedores y subclases)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return _text(value, "{{where}}")
    if isinstance(value, int):
        if not -JSON_MAX_INT <= value <= JSON_MAX_INT:
            raise _NotJSON(_BIG_INT.format(_int_digits(value)))
        return int(value)
    if isinstance(value, float):
        if value - value != 0.0:
            raise _NotJSON(f"{{where}} = {value!r}, y JSON no admite NaN ni infinito")
        return float(value)
    if isinstance(value, dict):
        return _copy_dict(value, depth)
    if isinstance(value, (list, tuple)):
        if depth > MAX_PAYLOAD_DEPTH:
            raise _NotJSON(f"{{where}} anida más de {MAX_PAYLOAD_DEPTH} niveles (¿una lista que se contiene "
                           f"a sí misma?)")
        out = []
        for index, item in enumerate(value):
            try:
                out.append(item if type(item) is str and item.isascii() else _copy_value(item, depth + 1))
            except _NotJSON as problem:
                problem.path.append(index)
                raise
        return out
    raise _NotJSON(f"{{where}} es de tipo {type(value).__name__}, que JSON no admite")


_BIG_INT = ("{{where}} es un entero de {} cifras, fuera del rango que JSON garantiza (±2**53−1); "
            "guárdalo como texto")


def _int_digits(value: int) -> int:
    """Cifras decimales de ``value`` (aproximadas si es enorme: ``str`` no pasa de 4300 cifras)."""
    return len(str(abs(value))) if value.bit_length() < 4000 else value.bit_length() * 30103 // 100000


def _text(value: Any, what: str, *path: Any) -> str:
    """``value`` como ``str`` si es texto UTF-8 válido; si no, ``_NotJSON`` (``what`` nombra el dato)."""
    if not isinstance(value, str):
        raise _NotJSON(what.format(value) + " no es un texto", *path)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _NotJSON(what.format(value) + f" no es texto UTF-8 válido (el carácter {value[exc.start]!r} "
                       f"en la posición {exc.start}; ¿un nombre de fichero con bytes que no son UTF-8?)",
                       *path) from None
    return str(value)


_SCALARS = (str, int, float, bool, type(None))


def copy_json(value: Any) -> Any:
    """Copia profunda de un valor que ya pasó por ``check_payload`` (solo dict, list y escalares).

    Es lo que reciben los workers de la cola en memoria: cambiar ``task.payload`` no cambia la
    tarea guardada. Para un payload plano cuesta como un ``dict(...)``.
    """
    if type(value) is dict:
        return {key: item if type(item) in _SCALARS else copy_json(item) for key, item in value.items()}
    if type(value) is list:
        return [item if type(item) in _SCALARS else copy_json(item) for item in value]
    return value


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
