"""Concesiones y *fencing tokens*: quién puede renovar o terminar una tarea en curso.

La misma regla en las dos colas (``TaskQueue`` la aplica en Python; ``RedisTaskQueue``, en sus
scripts Lua): primero el *fencing token* (el número de intento de la entrega: uno caducado no
gana nunca), después el estado y por último el worker. Los mensajes también son los mismos.
"""

from __future__ import annotations

from typing import Any

from lab.checks import is_integer
from lab.errors import InvalidTransitionError, LeaseLostError


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
