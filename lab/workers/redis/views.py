"""Lo que se lee de una ``RedisTaskQueue``: estadísticas, tareas, historial, auditoría y workers.

``RedisQueueViews`` es la mitad «de lectura» de la cola en Redis (la otra mitad, las
transiciones, está en ``queue.py``): ``RedisTaskQueue`` crea una y le delega esos métodos. Las
lecturas de varias claves se hacen en una transacción MULTI/EXEC, así que son una instantánea
coherente aunque otros procesos escriban.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from lab.errors import UnknownTaskError
from lab.workers.ledger import build_stats
from lab.workers.queue_api import audit_tasks
from lab.workers.redis.connection import RedisConnection
from lab.workers.task import Task, TaskEvent, TaskState, format_task_id


class RedisQueueViews:
    """Lecturas y registro de workers de la cola en Redis de claves ``prefix`` (``lab:<name>:``).

    La cola le da su conexión (``conn``) y dos funciones: ``generation()``, la generación que
    conoce (la lee de Redis si aún no la sabe), y ``lost_error()``, el error si la de Redis es
    otra. ``fake_clock``: el reloj inyectado en la cola, si lo hay (si no, el del servidor).
    """

    def __init__(self, conn: RedisConnection, prefix: str, *, generation: Callable[[], str | None],
                 lost_error: Callable[[], Exception], fake_clock: Callable[[], float] | None = None):
        self._conn, self._client, self.prefix = conn, conn.client, prefix
        self._generation, self._lost_error, self._fake_clock = generation, lost_error, fake_clock

    def _key(self, suffix: str) -> str:
        return self.prefix + suffix

    def _transaction(self, fill: Callable[[Any], None]) -> list:
        """Ejecuta en MULTI/EXEC las lecturas que ``fill`` añade al pipeline (instantánea coherente).

        Lee también la generación de la cola: si el cliente conocía otra, el estado se perdió y
        lanza ``QueueStateLostError`` (unas estadísticas a cero serían mentira).
        """
        known = self._generation()

        def run(_retry: bool) -> list:
            pipe = self._client.pipeline(transaction=True)
            pipe.get(self._key("gen"))
            fill(pipe)
            return pipe.execute()
        generation, *values = self._conn.retrying(run)
        if known is not None and generation != known:
            raise self._lost_error()
        return values

    def stats(self) -> dict[str, Any]:
        """Las de ``get_stats``: longitudes de ``pending`` y ``processing``, contadores y sumas."""
        def fill(pipe: Any) -> None:
            pipe.llen(self._key("pending"))
            pipe.llen(self._key("processing"))
            pipe.hgetall(self._key("counts"))
            pipe.hgetall(self._key("sums"))

        pending, processing, counts, sums = self._transaction(fill)
        return build_stats(_counts(counts, pending, processing), _sums(sums, counts))

    def task(self, task_id: str) -> Task:
        """Instantánea de una tarea; ``UnknownTaskError`` si no existe."""
        data, = self._transaction(lambda pipe: pipe.hgetall(self._key(f"task:{task_id}")))
        if not data:
            raise UnknownTaskError(f"La tarea {task_id} no existe en la cola.")
        return _task_from_hash(data)

    def tasks(self, retained: bool) -> list[Task]:
        """Instantáneas de todas las tareas guardadas, en orden de llegada (``retained``: ver ``_snapshot``)."""
        return self._snapshot(retained, events=False)["tasks"]

    def timeline(self) -> list[TaskEvent]:
        """Todas las transiciones, en orden: tiempo, tarea, estado, worker, intento y motivo."""
        raw, = self._transaction(lambda pipe: pipe.lrange(self._key("events"), 0, -1))
        return [_event_from_json(item) for item in raw]

    def _snapshot(self, retained: bool, events: bool = True) -> dict[str, Any]:
        """Tareas, listas, contadores y eventos leídos en una sola transacción.

        Sin retención se leen todos los ids de ``seq`` (así aparece también una tarea que no
        está en ninguna lista); con retención (``retained``), solo los de las listas (lo que
        sigue guardado).
        """
        if not retained:
            count = int(self._conn.retrying(lambda _r: self._client.get(self._key("seq"))) or 0)
            ids = [format_task_id(n) for n in range(1, count + 1)]
        else:
            lists = self._transaction(lambda pipe: [pipe.lrange(self._key(k), 0, -1)
                                                    for k in ("pending", "processing", "finished")])
            ids = sorted({i for items in lists for i in items}, key=lambda i: (len(i), i))

        def fill(pipe: Any) -> None:
            pipe.hgetall(self._key("counts"))
            for suffix in ("pending", "processing", "finished", "events" if events else "_none"):
                pipe.lrange(self._key(suffix), 0, -1)
            pipe.zrange(self._key("leases"), 0, -1)
            for task_id in ids:
                pipe.hgetall(self._key(f"task:{task_id}"))

        counts, pending, processing, finished, raw_events, leases, *hashes = self._transaction(fill)
        retained = _counts(counts, len(pending), len(processing))
        for state in (TaskState.COMPLETED, TaskState.FAILED):       # las descartadas por la retención
            retained[state] -= int(counts.get(f"trimmed_{state.value}", 0))
        return {"tasks": [_task_from_hash(h) for h in hashes if h],
                "counts": retained, "events_truncated": int(counts.get("events_trimmed", 0)) > 0,
                "pending": pending, "processing": processing, "finished": finished, "leases": leases,
                "events": [_event_from_json(item) for item in raw_events]}

    def audit(self, retained: bool) -> list[str]:
        """Los problemas de coherencia de la cola (vacía si está bien).

        Además de lo que revisa ``audit_tasks``, comprueba la lista ``finished``, que no haya
        ids repetidos en ``processing`` y que el zset de concesiones cuadre con los estados.
        """
        snap = self._snapshot(retained)
        tasks = snap["tasks"]
        problems = audit_tasks(tasks, snap["events"], counts=snap["counts"], pending_ids=snap["pending"],
                               processing_ids=set(snap["processing"]), events_truncated=snap["events_truncated"])
        for task_id in sorted({t for t in snap["processing"] if snap["processing"].count(t) > 1}):
            problems.append(f"La tarea {task_id} está {snap['processing'].count(task_id)} veces en la lista "
                            f"de en proceso.")
        done = {t.id for t in tasks if t.is_finished}
        if sorted(snap["finished"]) != sorted(done):
            extra, missing = sorted(set(snap["finished"]) - done), sorted(done - set(snap["finished"]))
            problems.append(f"La lista de terminadas no cuadra con los estados: sobran {extra}, faltan {missing}.")
        leased = {t.id for t in tasks if t.state is TaskState.PROCESSING and t.lease_expires_at is not None}
        if set(snap["leases"]) != leased:
            problems.append(f"Las concesiones no cuadran con las tareas en proceso: "
                            f"{sorted(set(snap['leases']) ^ leased)}.")
        return problems

    def memory_usage(self) -> dict[str, int]:
        """Memoria que ocupa la cola en Redis: ``bytes`` (``MEMORY USAGE`` de cada clave), ``keys``,
        ``tasks`` guardadas y ``events`` del historial. Recorre todas las claves: para ``stats``, no
        para cada tarea."""
        keys = list(self._client.scan_iter(match=self.prefix + "*", count=1000))
        total = 0
        for start in range(0, len(keys), 1000):
            pipe = self._client.pipeline(transaction=False)
            for key in keys[start:start + 1000]:
                pipe.memory_usage(key)
            total += sum(size or 0 for size in pipe.execute())
        events = self._conn.retrying(lambda _r: self._client.llen(self._key("events")))
        tasks = sum(1 for key in keys if key.startswith(self.prefix + "task:"))
        return {"bytes": total, "keys": len(keys), "tasks": tasks, "events": int(events)}

    # --- registro de workers -------------------------------------------------------------------

    def workers(self, stale_after: float = 30.0) -> list[dict[str, Any]]:
        """Los workers que han usado la cola: id, último contacto, edad, tarea actual y estado.

        El estado es ``busy`` (con tarea), ``idle``, ``stopped`` (se despidió con
        ``worker_stopped``) o ``lost`` (más de ``stale_after`` segundos sin dar señales).
        """
        raw = self._conn.retrying(lambda _r: self._client.hgetall(self._key("workers")))
        now = self._fake_clock() if self._fake_clock is not None else self._conn.server_time()
        rows = []
        for worker_id, text in sorted(raw.items()):
            data = json.loads(text)
            age = max(now - float(data["last_seen"]), 0.0)
            state = ("stopped" if data.get("stopped") else "lost" if age > stale_after
                     else "busy" if data.get("current_task") else "idle")
            rows.append({"worker_id": worker_id, "last_seen": float(data["last_seen"]), "age": age,
                         "current_task": data.get("current_task"), "state": state})
        return rows

    def worker_stopped(self, worker_id: str, retry: bool = True) -> bool:
        """Anota que ``worker_id`` terminó de forma ordenada (aparece como ``stopped``); ``True`` si se pudo.

        Con ``retry=False`` lo intenta una sola vez y no lanza nada (al salir tras perder Redis
        no tiene sentido esperar otra vez a que vuelva).
        """
        def mark(_retry: bool = False) -> None:
            if self._fake_clock is not None:
                now = self._fake_clock()
            else:  # el reloj del servidor, sin los reintentos de ``conn.server_time``
                seconds, micros = self._client.time()
                now = seconds + micros / 1_000_000
            text = json.dumps({"last_seen": now, "current_task": None, "stopped": True})
            self._client.hset(self._key("workers"), worker_id, text)

        if retry:
            self._conn.retrying(mark)
            return True
        try:
            mark()
        except Exception:
            return False
        return True

    def delete_keys(self) -> int:
        """Borra todas las claves de la cola (``prefix*``); devuelve cuántas."""
        keys = list(self._client.scan_iter(match=self.prefix + "*", count=1000))
        for start in range(0, len(keys), 1000):
            self._client.unlink(*keys[start:start + 1000])
        return len(keys)


def _counts(stored: dict[str, str], pending: int, processing: int) -> dict[TaskState, int]:
    """Tareas por estado: ``pending``/``processing`` son las longitudes de sus listas; el resto, contadores."""
    return {TaskState.PENDING: pending, TaskState.PROCESSING: processing,
            TaskState.COMPLETED: int(stored.get("completed", 0)), TaskState.FAILED: int(stored.get("failed", 0))}


def _sums(stored: dict[str, str], counts: dict[str, str]) -> dict[str, float]:
    """Las sumas de ``build_stats``; ``finished`` = completadas + fallidas − canceladas al cerrar."""
    sums = {key: float(value) for key, value in stored.items()}
    sums["finished"] = sum(int(counts.get(key, 0)) for key in ("completed", "failed")) - int(counts.get("cancelled", 0))
    return sums


def _float(value: str | None) -> float | None:
    return None if value is None or value == "" else float(value)


def _task_from_hash(data: Any) -> Task:
    """Una ``Task`` desde el hash de Redis (lista plana ``[campo, valor, ...]`` o dict)."""
    if isinstance(data, list):
        data = dict(zip(data[::2], data[1::2]))
    return Task(id=data["id"], payload=json.loads(data["payload"]), state=TaskState(data["state"]),
                attempts=int(data.get("attempts", 0)), worker_id=data.get("worker_id") or None,
                created_at=float(data["created_at"]), started_at=_float(data.get("started_at")),
                finished_at=_float(data.get("finished_at")),
                lease_expires_at=_float(data.get("lease_expires_at")),
                result=json.loads(data["result"]) if data.get("result") else None, error=data.get("error"))


def _event_from_json(text: str) -> TaskEvent:
    time_, task_id, state, worker_id, attempt, reason = json.loads(text)
    return TaskEvent(float(time_), task_id, TaskState(state), worker_id, int(attempt), reason)
