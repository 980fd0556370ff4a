"""``RedisTaskQueue``: la misma cola que ``TaskQueue``, pero guardada en un servidor Redis.

Varios procesos (y máquinas) comparten la cola con solo usar la misma URL y el mismo
``name``. Cada transición es un script Lua atómico (``scripts.py``), los ids salen de
``INCR`` y un id pasa de la lista ``pending`` a ``processing`` y a ``finished`` sin salir
nunca de Redis (cola fiable). En el servidor solo hay JSON, nunca pickle.

Reloj: por defecto se usa el reloj del servidor Redis (``TIME`` dentro de cada script), el
mismo para todos los procesos y máquinas aunque sus relojes no estén sincronizados; con
``clock=`` (p. ej. un reloj falso en los tests) se usa ese y se envía en cada llamada.

Espera: ``get_task(timeout=...)`` no da vueltas en vacío; bloquea con ``BLPOP`` sobre la
lista ``notify`` (cada tarea nueva o recuperada deja una ficha) durante como mucho 1 s, o
hasta el próximo vencimiento de una concesión. ``join`` sondea con espera creciente.

Si Redis se cae, cada operación se reintenta con espera exponencial (hasta
``reconnect_timeout`` segundos) y después lanza ``QueueConnectionError``; si Redis rechaza
una orden (sin memoria, réplica de solo lectura, permisos ACL) lanza ``QueueError``
(``RedisConnection``, en ``connection.py``).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
import uuid
from typing import Any, Callable, Iterable

from lab.errors import (QueueConfigError, QueueError, QueueShutDown, QueueStateLostError, UnknownTaskError)
from lab.workers.jsonpayload import check_payload, check_payloads
from lab.workers.leases import check_attempt, ownership_error
from lab.workers.queue_api import QueueAPI, Retention, check_timeout
from lab.workers.redis.connect import safe_url
from lab.workers.redis.connection import LOST_MARK, RedisConnection
from lab.workers.redis.scripts import SCRIPTS
from lab.workers.redis.views import RedisQueueViews, _task_from_hash
from lab.workers.task import Task, TaskEvent

__all__ = ["RedisTaskQueue", "QUEUE_DEFAULT"]


class _QueueDefault:
    """El valor por omisión de ``lease_timeout``/``max_attempts``: «el de la cola»."""

    def __repr__(self) -> str:
        return "QUEUE_DEFAULT"

    def __reduce__(self) -> str:
        return "QUEUE_DEFAULT"


QUEUE_DEFAULT: Any = _QueueDefault()
DEFAULT_OPTIONS: dict[str, Any] = {"lease_timeout": None, "max_attempts": 3,   # los de una cola nueva
                                   "retention": Retention()}                    # sin configurar

logger = logging.getLogger("lab.worker.redis")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_BATCH = 500            # payloads por llamada en add_tasks
_MAX_WAIT = 1.0         # espera máxima de un BLPOP antes de volver a mirar la cola
_FAKE_CLOCK_POLL = 0.05  # con un reloj inyectado el tiempo no avanza solo: se mira más a menudo


class RedisTaskQueue(QueueAPI):
    """Cola de tareas en Redis con la interfaz y el comportamiento de ``TaskQueue``.

    ``url`` es una URL de redis-py (``redis://``, ``rediss://`` con TLS, ``unix://``; la
    contraseña va en la URL). ``name`` separa colas en el mismo servidor (claves
    ``lab:<name>:...``). ``lease_timeout``, ``max_attempts``, ``retention`` y ``clock`` como en
    ``TaskQueue`` (``clock=None``: reloj del servidor; ``retention=None``: guardarlo todo).

    Una configuración por cola: ``lease_timeout``, ``max_attempts`` y ``retention`` se guardan con
    la cola (clave ``config``) la primera vez que un cliente los indica, y los scripts usan siempre
    los guardados. Un cliente que no los indica adopta los de la cola (o, si aún no tiene,
    ``None``, 3 y ``Retention()`` sin guardarlos: los scripts aplican esa retención por defecto);
    uno que indica otros distintos recibe ``QueueConfigError`` (un error y no una adopción
    silenciosa: quien pide 30 s de concesión cuenta con ellos).

    Estado perdido: al crear la cola se guarda una generación (clave ``gen``, un id
    aleatorio) y cada operación comprueba que sigue siendo la que el cliente conoce; si no
    (Redis reiniciado sin persistencia, claves borradas), lanza ``QueueStateLostError`` en
    vez de seguir con una cola vacía. Lanza ``ValueError`` si una opción no es válida y
    ``QueueConnectionError`` si la URL es errónea o Redis no responde.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, name: str = "default",
                 lease_timeout: float | None = QUEUE_DEFAULT, max_attempts: int = QUEUE_DEFAULT,
                 clock: Callable[[], float] | None = None, reconnect_timeout: float = 30.0,
                 socket_timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 retention: Retention | None = QUEUE_DEFAULT):
        explicit = {key: value for key, value in (("lease_timeout", lease_timeout), ("max_attempts", max_attempts),
                                                  ("retention", retention)) if value is not QUEUE_DEFAULT}
        self._check_options({**DEFAULT_OPTIONS, **explicit})
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"name debe ser un texto con letras, números, '.', '_' o '-' y recibió {name!r}.")
        self.lease_timeout, self.max_attempts = DEFAULT_OPTIONS["lease_timeout"], DEFAULT_OPTIONS["max_attempts"]
        self.retention: Retention | None = DEFAULT_OPTIONS["retention"]
        self._generation: str | None = None      # la de la cola tal como la conoce este cliente
        self.config_stored = False               # True si la cola tiene su configuración guardada
        self.url, self.name, self.prefix = url, name, f"lab:{name}:"
        self.reconnect_timeout = reconnect_timeout
        self._fake_clock = clock
        self._conn = RedisConnection(url, lost_error=self._lost_error, reconnect_timeout=reconnect_timeout,
                                     socket_timeout=socket_timeout, sleep=sleep)
        self._client, self._retrying = self._conn.client, self._conn.retrying
        self.clock: Callable[[], float] = clock or self._conn.server_time
        # Las lecturas (estadísticas, tareas, historial, auditoría, workers), en views.py.
        self._views = RedisQueueViews(self._conn, self.prefix, generation=self._known_generation,
                                      lost_error=self._lost_error, fake_clock=clock)
        self._options = {"name": name, **explicit,
                         "clock": clock, "reconnect_timeout": reconnect_timeout, "socket_timeout": socket_timeout}
        self._token_prefix, self._tokens = uuid.uuid4().hex[:12] + "-", itertools.count()  # fichas de get_task y add
        self.ping()
        if explicit:
            self.configure(**explicit)
        else:
            self._open()

    def __reduce__(self) -> tuple:
        """Copiada a otro proceso (p. ej. un pool de procesos) abre su propia conexión a la misma cola."""
        return (_reopen, (self.url, self._options))

    # --- conexión (``RedisConnection``: reintentos, cortes y scripts) ------------------------

    def ping(self) -> None:
        """Comprueba que Redis responde (sin reintentos); si no, ``QueueConnectionError`` clara."""
        self._conn.ping()

    def server_time(self) -> float:
        """El reloj del servidor Redis, en segundos (el que usan las colas sin ``clock=``)."""
        return self._conn.server_time()

    def persistence_problem(self) -> str | None:
        """Una frase si el servidor no guarda nada en disco (``appendonly no`` y ``save ""``); si no, ``None``."""
        return self._conn.persistence_problem()

    def stop_reconnecting(self) -> None:
        """Deja de reintentar: si Redis no responde, la próxima operación falla enseguida.

        Lo usa un worker al recibir SIGTERM/SIGINT para no quedarse ``reconnect_timeout``
        segundos esperando a un Redis caído; con Redis en marcha no cambia nada.
        """
        self._conn.stop_reconnecting()

    # --- configuración y generación de la cola ---------------------------------------------

    def configure(self, **options: Any) -> None:
        """Guarda ``lease_timeout``, ``max_attempts`` y ``retention`` con la cola si aún no tiene; si tiene otros, error.

        Los no indicados toman el valor por defecto (``None``, 3 y ``Retention()``) al guardarse. Lanza
        ``QueueConfigError`` si la cola ya está configurada con valores distintos de los indicados.
        """
        unknown = set(options) - set(DEFAULT_OPTIONS)
        if unknown:
            raise TypeError(f"configure() solo admite {', '.join(DEFAULT_OPTIONS)}, no {sorted(unknown)}.")
        wanted = {**DEFAULT_OPTIONS, **options}
        self._check_options(wanted)
        self._open(create=True, config=wanted)
        clash = {key: value for key, value in options.items() if getattr(self, key) != value}
        if clash:
            asked = " y ".join(f"{key}={value!r}" for key, value in clash.items())
            raise QueueConfigError(
                f"La cola '{self.name}' ya está configurada con lease_timeout={self.lease_timeout!r}, "
                f"max_attempts={self.max_attempts!r} y retention={self.retention!r}, y este cliente pidió {asked}: "
                f"todos los clientes de una cola usan la misma configuración; omite esas opciones para adoptar "
                f"la de la cola o usa otro nombre.")

    def _check_options(self, options: dict[str, Any]) -> None:
        self._validate_options(options["lease_timeout"], options["max_attempts"])
        if options["retention"] is not None and not isinstance(options["retention"], Retention):
            raise TypeError(f"retention debe ser un Retention o None y es {type(options['retention']).__name__}.")

    def _open(self, create: bool = False, config: dict[str, Any] | None = None) -> None:
        """Lee (y con ``create``, crea si faltan) la generación y la configuración de la cola."""
        candidate = uuid.uuid4().hex if create and self._generation is None else ""
        fields: list[str] = []
        if config is not None:
            lease = "" if config["lease_timeout"] is None else repr(float(config["lease_timeout"]))
            fields = ["lease_timeout", lease, "max_attempts", str(config["max_attempts"])]
            for key, value in _retention_fields(config["retention"] or Retention(None, None, None)).items():
                fields += [key, value]
        gen, flat = self._run("open", candidate, "1" if config else "0", *fields, raw=True)
        if self._generation is not None and gen != self._generation:
            raise self._lost_error()
        self._generation = gen or None
        stored = dict(zip(flat[::2], flat[1::2]))
        if stored.get("max_attempts", "") != "":
            self.lease_timeout = float(stored["lease_timeout"]) if stored.get("lease_timeout") else None
            self.max_attempts = int(stored["max_attempts"])
            retention = _retention_from(stored)
            self.retention = None if retention == Retention(None, None, None) else retention
            self.config_stored = True

    @property
    def generation(self) -> str | None:
        """El id de la generación de la cola (``None`` si aún no existe: nada encolado ni configurado)."""
        return self._generation

    def _known_generation(self) -> str | None:
        """La generación que conoce este cliente; si aún no la sabe, la lee de Redis."""
        if self._generation is None:
            self._open()
        return self._generation

    def _lost_error(self) -> QueueStateLostError:
        return QueueStateLostError(
            f"El estado de la cola '{self.name}' en {safe_url(self.url)} ha desaparecido (¿Redis se reinició sin "
            f"persistencia o alguien borró sus claves?): sus tareas pendientes y en proceso se han perdido; "
            f"arranca Redis guardando cada cambio (python -m lab redis --aof) y vuelve a encolarlas.")

    def _run(self, script: str, *args: Any, raw: bool = False) -> Any:
        """Llama al script ``script`` con ``P`` (y la generación) y el instante actual delante de ``args``.

        Un solo ``EVALSHA`` por llamada; si el servidor no tiene el script (se reinició sin
        AOF o se vació con SCRIPT FLUSH) lo carga y repite. Mientras el cliente no conoce la
        generación de la cola, antes la lee (y ``add`` la crea). ``raw``: solo ``P`` y ``args``.
        """
        if not raw and self._generation is None:
            self._open(create=script == "add")

        def values(retry: bool) -> list[Any]:
            head = [self.prefix] if raw else [self._prefix_arg(), self._now_arg()]
            return [*head, *(a(retry) if callable(a) else a for a in args)]
        return self._conn.run_script(script, values)

    def _key(self, suffix: str) -> str:
        return self.prefix + suffix

    def _prefix_arg(self) -> str:
        return f"{self.prefix}\n{self._generation or ''}"

    def _now_arg(self) -> str:
        return "" if self._fake_clock is None else repr(float(self._fake_clock()))

    # --- producir --------------------------------------------------------------------------

    def add_task(self, payload: dict[str, Any]) -> str:
        return self._add([check_payload(payload)])[0]

    def add_tasks(self, payloads: Iterable[dict[str, Any]]) -> list[str]:
        """Hasta ``_BATCH`` payloads van en un solo script; más, en lotes dentro de una transacción
        MULTI/EXEC (Redis los ejecuta seguidos, sin nada en medio): o entran todos o ninguno."""
        checked = check_payloads(payloads)
        if len(checked) <= _BATCH:
            return self._add(checked) if checked else []
        batches = [[_encode(p) for p in checked[start:start + _BATCH]] for start in range(0, len(checked), _BATCH)]
        if self._generation is None:
            self._open(create=True)

        call = next(self._tokens)
        tickets = [self._add_ticket(call, part) for part in range(len(batches))]

        def run(_retry: bool) -> list:
            pipe = self._client.pipeline(transaction=True)
            for batch, ticket in zip(batches, tickets):   # EVAL (no EVALSHA): sin NOSCRIPT a medias en MULTI
                pipe.execute_command("EVAL", SCRIPTS["add"], 0, self._prefix_arg(), self._now_arg(), ticket, *batch)
            return pipe.execute(raise_on_error=False)

        replies = self._retrying(run)
        for reply in replies:
            if isinstance(reply, Exception):
                if str(reply).startswith(LOST_MARK):
                    raise self._lost_error()
                raise QueueError(f"Redis en {safe_url(self.url)} rechazó la operación: {str(reply).strip().rstrip('.')}.")
        if any(reply[0] == "closed" for reply in replies):
            raise QueueShutDown("La cola está cerrada (shutdown) y no acepta tareas nuevas.")
        return [task_id for reply in replies for task_id in reply[1:]]

    def _add_ticket(self, call: int, part: int = 0) -> str:
        """La ficha de un alta (``cliente:lote llamada``): si se reintenta tras perder la respuesta, Redis
        devuelve los mismos ids en vez de encolar otra vez (cada lote de ``add_tasks`` tiene la suya)."""
        return f"{self._token_prefix[:-1]}:{part} {call}"

    def _add(self, payloads: list[dict[str, Any]]) -> list[str]:
        reply = self._run("add", self._add_ticket(next(self._tokens)), *(_encode(p) for p in payloads))
        if reply[0] == "closed":
            raise QueueShutDown("La cola está cerrada (shutdown) y no acepta tareas nuevas.")
        return list(reply[1:])

    # --- consumir --------------------------------------------------------------------------

    def get_task(self, worker_id: str, timeout: float | None = None) -> Task | None:
        """Con ``timeout`` espera sin sondear en vacío: ``BLPOP`` sobre las fichas de aviso."""
        timeout = check_timeout(timeout)
        deadline = None if not timeout else time.monotonic() + timeout   # inf: sin límite
        lease = "" if self.lease_timeout is None else repr(float(self.lease_timeout))
        while True:
            token = f"{self._token_prefix}{next(self._tokens)}"
            reply = self._run("claim", worker_id, lease, self.max_attempts, token,
                              lambda retry: "1" if retry else "0")
            if reply[0] == 1:
                return _task_from_hash(json.loads(reply[1]))
            _, closed, next_expiry, now = reply
            if closed or deadline is None:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(remaining, _MAX_WAIT)
            if next_expiry != "":
                until = float(next_expiry) - float(now)
                wait = min(wait, _FAKE_CLOCK_POLL if self._fake_clock else max(until, 0.01))
            self._retrying(lambda _retry: self._client.blpop([self._key("notify")], timeout=max(wait, 0.01)))

    def heartbeat(self, task_id: str, worker_id: str, attempt: int | None = None) -> float | None:
        attempt = check_attempt(attempt)
        lease = "" if self.lease_timeout is None else repr(float(self.lease_timeout))
        reply = self._run("heartbeat", task_id, worker_id, lease, _token(attempt))
        self._raise_for(reply, task_id, worker_id, "renovar la concesión de", attempt)
        return float(reply[1]) if reply[1] != "" else None

    def mark_completed(self, task_id: str, result: dict[str, Any] | None = None,
                       worker_id: str | None = None, attempt: int | None = None) -> None:
        data = "" if result is None else json.dumps(result, ensure_ascii=False, default=str)
        self._finish(task_id, "completed", worker_id, data, "completar", attempt)

    def complete_and_get_next(self, task_id: str, worker_id: str, result: dict[str, Any] | None = None,
                              timeout: float | None = None, attempt: int | None = None) -> Task | None:
        """``mark_completed`` + ``get_task`` en una sola ida y vuelta a Redis (si hay que esperar, espera ``get_task``)."""
        attempt = check_attempt(attempt)
        timeout = check_timeout(timeout)
        data = "" if result is None else json.dumps(result, ensure_ascii=False, default=str)
        lease = "" if self.lease_timeout is None else repr(float(self.lease_timeout))
        token = f"{self._token_prefix}{next(self._tokens)}"
        reply = self._run("finish_next", task_id, worker_id, data, lambda retry: "1" if retry else "0",
                          lease, self.max_attempts, token, _token(attempt))
        self._raise_for(reply[0], task_id, worker_id, "completar", attempt)
        claimed = reply[1]
        if claimed[0] == 1:
            return _task_from_hash(json.loads(claimed[1]))
        if claimed[1] or not timeout or timeout <= 0:
            return None
        return self.get_task(worker_id, timeout=timeout)

    def mark_failed(self, task_id: str, error: str = "error desconocido",
                    worker_id: str | None = None, attempt: int | None = None) -> None:
        self._finish(task_id, "failed", worker_id, str(error), "marcar como fallida", attempt)

    def _finish(self, task_id: str, state: str, worker_id: str | None, data: str, verb: str,
                attempt: int | None) -> None:
        attempt = check_attempt(attempt)
        reply = self._run("finish", task_id, state, worker_id or "", data, lambda retry: "1" if retry else "0",
                          _token(attempt))
        self._raise_for(reply, task_id, worker_id, verb, attempt)

    @staticmethod
    def _raise_for(reply: list, task_id: str, worker_id: str | None, verb: str, attempt: int | None) -> None:
        """Convierte la respuesta de error de un script en la excepción de ``TaskQueue`` (mismo texto)."""
        kind = reply[0]
        if kind == "ok":
            return
        if kind == "unknown":
            raise UnknownTaskError(f"No se puede {verb} la tarea {task_id}: no existe en la cola.")
        if kind == "stale":
            state, owner, attempts = reply[1], reply[2] or None, int(reply[3])
        elif kind == "state":
            state, owner, attempts = reply[1], None, 0
        else:
            state, owner, attempts = "processing", reply[1] or None, 0
        raise ownership_error(kind, verb, task_id, state=state, owner=owner, attempts=attempts,
                              worker_id=worker_id, attempt=attempt)

    # --- concesiones, esperar y cerrar ------------------------------------------------------

    def requeue_expired(self) -> list[str]:
        return list(self._run("requeue", self.max_attempts)[0])

    def join(self, timeout: float | None = None) -> bool:
        """Sondea con espera creciente (de 5 ms a 100 ms) y recupera concesiones caducadas."""
        timeout = check_timeout(timeout)
        deadline = None if timeout is None or timeout == float("inf") else time.monotonic() + timeout
        delay = 0.005
        while True:
            if self._run("requeue", self.max_attempts)[1] == 0:
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            time.sleep(delay if remaining is None else min(delay, remaining))
            delay = min(delay * 2, 0.1)

    def shutdown(self, immediate: bool = False) -> None:
        """Cierra la cola para todos sus clientes (los que esperan en ``BLPOP`` reciben una ficha)."""
        self._run("shutdown", "1" if immediate else "0")

    @property
    def is_shutdown(self) -> bool:
        """``True`` tras ``shutdown()`` (de este o de cualquier otro cliente de la cola)."""
        return bool(self._retrying(lambda _r: self._client.exists(self._key("shutdown"))))


    # --- lecturas y registro de workers (``RedisQueueViews``, en views.py) y limpieza -------------

    def get_stats(self) -> dict[str, Any]:
        return self._views.stats()

    def task_info(self, task_id: str) -> Task:
        return self._views.task(task_id)

    def tasks(self) -> list[Task]:
        return self._views.tasks(retained=self.retention is not None)

    def timeline(self) -> list[TaskEvent]:
        return self._views.timeline()

    def audit(self) -> list[str]:
        """Como en ``QueueAPI`` y además: la lista ``finished``, ids repetidos en ``processing`` y el zset de concesiones."""
        return self._views.audit(retained=self.retention is not None)

    def memory_usage(self) -> dict[str, int]:
        """Memoria de la cola en Redis: ``bytes`` (``MEMORY USAGE`` de cada clave), ``keys``, ``tasks`` y ``events``."""
        return self._views.memory_usage()

    def workers(self, stale_after: float = 30.0) -> list[dict[str, Any]]:
        """Los workers que han usado la cola y su estado: ``busy``, ``idle``, ``stopped`` o ``lost`` (sin señales)."""
        return self._views.workers(stale_after)

    def worker_stopped(self, worker_id: str, retry: bool = True) -> bool:
        """Anota que ``worker_id`` terminó de forma ordenada (``stopped``); con ``retry=False``, un intento y sin errores."""
        return self._views.worker_stopped(worker_id, retry)

    def clear(self) -> int:
        """Borra todas las claves de esta cola (``lab:<name>:*``); devuelve cuántas. Para tests y demos."""
        removed = self._views.delete_keys()
        self._generation = None     # este cliente empieza de cero; los demás verán el estado perdido
        return removed

    def delete(self) -> int:
        """Como ``clear()`` y además cierra las conexiones de este cliente."""
        removed = self.clear()
        self.close()
        return removed

    def close(self) -> None:
        """Cierra las conexiones con Redis de este objeto (la cola sigue en el servidor)."""
        self._client.close()


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _token(attempt: int | None) -> str:
    """El *fencing token* tal como viaja al script ('' = no se comprueba)."""
    return "" if attempt is None else str(attempt)


def _reopen(url: str, options: dict[str, Any]) -> RedisTaskQueue:
    return RedisTaskQueue(url, **options)


def _retention_fields(retention: Retention) -> dict[str, str]:
    """Los campos de ``retention`` que se guardan en la clave ``config`` (texto vacío = sin límite)."""
    return {"keep_finished": "" if retention.max_finished is None else str(retention.max_finished),
            "keep_seconds": "" if retention.max_age is None else repr(float(retention.max_age)),
            "keep_events": "" if retention.max_events is None else str(retention.max_events)}


def _retention_from(fields: dict[str, str]) -> Retention | None:
    """Lo contrario de ``_retention_fields``; ``None`` si la cola no tiene retención guardada."""
    if "keep_finished" not in fields:
        return None
    number = lambda key, kind: kind(fields[key]) if fields.get(key, "") != "" else None  # noqa: E731
    return Retention(number("keep_finished", int), number("keep_seconds", float), number("keep_events", int))
