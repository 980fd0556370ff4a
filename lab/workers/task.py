"""La tarea y sus eventos: los datos que viajan por cualquier cola (en memoria o Redis).

Una tarea pasa por ``pending → processing → completed | failed`` (o vuelve a ``pending`` si su
concesión caduca). Todo se convierte a JSON plano (``to_dict``/``from_dict``), nunca pickle.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, replace
from typing import Any


class TaskState(str, enum.Enum):
    """Estados de una tarea; el valor es el texto que se guarda y se muestra."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


STATES: tuple[str, ...] = tuple(s.value for s in TaskState)

TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {   # las permitidas; PROCESSING → PENDING: concesión caducada
    TaskState.PENDING: frozenset({TaskState.PROCESSING, TaskState.FAILED}),
    TaskState.PROCESSING: frozenset({TaskState.COMPLETED, TaskState.FAILED, TaskState.PENDING}),
    TaskState.COMPLETED: frozenset(), TaskState.FAILED: frozenset()}


@dataclass(frozen=True)
class Task:
    """Una instantánea inmutable de una tarea tal como la ve quien la pide.

    ``attempts``: cuántas veces se ha entregado a un worker (1 en el primer intento). Los
    tiempos, en segundos del reloj de la cola (monótono por defecto)."""

    id: str
    payload: dict[str, Any]
    state: TaskState = TaskState.PENDING
    attempts: int = 0
    worker_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    lease_expires_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def is_finished(self) -> bool:
        """``True`` si la tarea ya está en un estado final (completada o fallida)."""
        return self.state in (TaskState.COMPLETED, TaskState.FAILED)

    @property
    def token(self) -> int | None:
        """El *fencing token* de esta entrega: su número de intento (``None`` si aún no se entregó)."""
        return self.attempts or None

    def evolve(self, **changes: Any) -> Task:
        """Copia de la tarea con los campos indicados cambiados."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Devuelve la tarea como datos JSON planos."""
        return {**asdict(self), "state": self.state.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Reconstruye una tarea desde ``to_dict()``."""
        return cls(**{**data, "state": TaskState(data["state"])})


@dataclass(frozen=True)
class TaskEvent:
    """Una transición de estado: cuándo, qué tarea, a qué estado, qué worker, qué intento y por qué."""

    time: float
    task_id: str
    state: TaskState
    worker_id: str | None = None
    attempt: int = 0
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Devuelve el evento como datos JSON planos."""
        return {**asdict(self), "state": self.state.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskEvent:
        """Reconstruye un evento desde ``to_dict()``."""
        return cls(**{**data, "state": TaskState(data["state"])})


def format_task_id(number: int) -> str:
    """Id legible de la tarea número ``number``: ``task-0001``, ``task-0002``..."""
    return f"task-{number:04d}"
