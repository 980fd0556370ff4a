"""Concesiones y *fencing tokens*: quién puede renovar o terminar una tarea en curso y qué pasa si caduca.

La misma regla en las dos colas (``TaskQueue`` la aplica en Python con ``owned_task`` y
``expire``; ``RedisTaskQueue``, en sus scripts Lua): primero el *fencing token* (el número de
intento de la entrega: uno caducado no gana nunca), después el estado y por último el worker.
Los mensajes también son los mismos.
"""

from __future__ import annotations

from typing import Any

from lab.checks import is_integer
from lab.errors import InvalidTransitionError, LeaseLostError, UnknownTaskError
from lab.workers.task import Task, TaskState


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
        return LeaseLostError(f"{head}: la concesión de la entrega {attempt}{who} caducó y la tarea volvió a "
                              f"'pending' (resultado descartado).")
    if state == "processing":
        now = f"ahora está en curso la entrega {attempts}, de {owner}"
    else:
        now = f"la tarea ya terminó en '{state}' con la entrega {attempts}"
    return LeaseLostError(f"{head}: la entrega {attempt}{who} ya no es la vigente (su concesión caducó) y "
                          f"{now} (resultado descartado).")


def owned_task(task: Task | None, task_id: str, verb: str, worker_id: str | None, attempt: int | None) -> Task:
    """``task`` si ``worker_id`` (y el intento ``attempt``, si se indican) pueden ``verb`` la tarea.

    Lanza ``UnknownTaskError`` si no existe (``task`` es ``None``) y, si no, el error de
    ``ownership_error`` (``InvalidTransitionError`` o ``LeaseLostError``).
    """
    if task is None:
        raise UnknownTaskError(f"No se puede {verb} la tarea {task_id}: no existe en la cola.")
    state = task.state.value
    kind = ownership_problem(state, task.worker_id, task.attempts, worker_id, attempt)
    if kind is not None:
        raise ownership_error(kind, verb, task_id, state=state, owner=task.worker_id, attempts=task.attempts,
                              worker_id=worker_id, attempt=attempt)
    return task


def expire(task: Task, now: float, max_attempts: int) -> tuple[Task, str]:
    """La tarea en proceso ``task`` tras caducar su concesión en ``now``, y el motivo del evento.

    Vuelve a ``pending`` (sin worker) o, si ya se entregó ``max_attempts`` veces, queda
    ``failed`` como abandonada; el mismo texto que el script ``requeue`` de Redis.
    """
    lost_by = task.worker_id
    if task.attempts >= max_attempts:
        error = (f"Tarea {task.id} abandonada: el worker {lost_by} dejó de renovar su concesión y ya se "
                 f"intentó {task.attempts} veces (máximo {max_attempts}).")
        return task.evolve(state=TaskState.FAILED, finished_at=now, lease_expires_at=None, error=error), error
    return (task.evolve(state=TaskState.PENDING, worker_id=None, lease_expires_at=None),
            f"concesión caducada: {lost_by} dejó de latir")
