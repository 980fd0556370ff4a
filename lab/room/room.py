"""``Room``: el aula guardada en un Redis: la cola de tareas sintéticas y el registro de portátiles.

La cola es una ``RedisTaskQueue`` de nombre ``aula`` (concesiones de ``LEASE_TIMEOUT`` s: lo que
tenía un portátil que se duerme o se va vuelve a la cola). Junto a ella, con el prefijo
``lab:aula:room:``, lo que publica cada portátil:

- ``machines``: su ficha (``machine.machine_info``) con su speedup medido, por nombre;
- ``seen``: su última señal (hora del servidor, sesión y estado: midiendo, trabajando, se fue, sacado);
- ``out``: los portátiles que el profesorado ha sacado del aula (el portátil lo lee y se va);
- ``log``: los momentos que marcan la línea de tiempo (se une, se va, lo sacan), los últimos 1000.

Todo lo leído se valida en ``published.py`` al construir el estado (``state.py``). Los errores de
conexión son ``QueueConnectionError`` en español y nunca muestran la contraseña (``safe_url``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

from lab.checks import check_int
from lab.errors import LabError, QueueConnectionError, QueueError
from lab.room.machine import NAME_PATTERN
from lab.room.published import LOST_AFTER, clean_machine, clean_presence
from lab.room.state import RoomSnapshot, snapshot
from lab.room.synthetic import DEFAULT_SIZE, make_payloads
from lab.workers.queue_api import Retention
from lab.workers.redis import RedisTaskQueue, safe_url
from lab.workers.redis.connect import describe_redis_error, import_redis

__all__ = ["Room", "NameInUse", "QUEUE_NAME", "LEASE_TIMEOUT", "MAX_ATTEMPTS", "RETENTION",
           "check_room_url", "new_session"]

QUEUE_NAME = "aula"
LEASE_TIMEOUT = 10.0      # segundos sin latido para que una tarea vuelva a la cola
MAX_ATTEMPTS = 5          # entregas de una tarea antes de darla por fallida (portátiles que se van)
RETENTION = Retention(max_finished=50_000, max_age=None, max_events=150_000)   # una clase entera
MAX_MACHINES = 300        # fichas que se leen como mucho (un portátil malicioso podría crear miles)
MAX_MARKS = 1000
MAX_ENQUEUE = 100_000     # tareas por llamada a enqueue


class NameInUse(LabError):
    """Otro portátil activo ya usa ese nombre en el aula."""


def check_room_url(url: Any) -> str:
    """La URL sin espacios; ``QueueConnectionError`` si no es de Redis (``redis://``, ``rediss://``)."""
    if not isinstance(url, str) or not url.strip().lower().startswith(("redis://", "rediss://")):
        raise QueueConnectionError(f"La URL del aula debe empezar por redis:// (o rediss://), como la que imprime "
                                   f"python -m lab room serve, y es {safe_url(str(url))!r:.60}.")
    return url.strip()


def new_session() -> str:
    """Un id para esta vez que un portátil se une (distingue a dos portátiles con el mismo nombre)."""
    return uuid.uuid4().hex[:12]


class Room:
    """El aula de ``url``: su cola (``queue``) y el registro de portátiles.

    La primera vez se configura la cola (``lease_timeout``, por defecto ``LEASE_TIMEOUT``;
    ``MAX_ATTEMPTS``; ``RETENTION``); después se adopta la guardada, y pedir otra concesión es un
    ``QueueConfigError``. ``reconnect_timeout``: segundos que se espera a un Redis que no responde
    (un portátil espera más: el del profesorado puede dormirse). Lanza ``QueueConnectionError`` si
    la URL no vale, la contraseña no es la buena o el servidor no responde.
    """

    read_only = False
    simulated = False

    def __init__(self, url: str, *, lease_timeout: float | None = None, reconnect_timeout: float = 30.0):
        self.url = check_room_url(url)
        self.queue = RedisTaskQueue(self.url, name=QUEUE_NAME, reconnect_timeout=reconnect_timeout)
        if not self.queue.config_stored:
            self.queue.configure(lease_timeout=lease_timeout or LEASE_TIMEOUT, max_attempts=MAX_ATTEMPTS,
                                 retention=RETENTION)
        elif lease_timeout is not None:
            self.queue.configure(lease_timeout=lease_timeout)
        self.prefix = f"lab:{QUEUE_NAME}:room:"
        self._redis = import_redis().Redis.from_url(self.url, decode_responses=True, socket_timeout=10,
                                                    socket_connect_timeout=10)

    def __repr__(self) -> str:
        return f"<Room {safe_url(self.url)}>"

    @property
    def description(self) -> str:
        """Dónde está el aula, sin la contraseña (``redis://:***@IP:PUERTO/0``)."""
        return safe_url(self.url)

    def _call(self, action: Callable[[Any], Any]) -> Any:
        """``action(cliente)`` con los errores de Redis traducidos a los del laboratorio."""
        redis = import_redis()
        try:
            return action(self._redis)
        except redis.exceptions.ResponseError as exc:
            raise QueueError(f"Redis en {safe_url(self.url)} rechazó la operación: {exc}.") from None
        except redis.exceptions.RedisError as exc:
            raise QueueConnectionError(f"No se puede hablar con el aula en {safe_url(self.url)}: "
                                       f"{describe_redis_error(exc)}.") from None

    def server_time(self) -> float:
        """La hora del servidor del aula (la misma para todos los portátiles)."""
        return self.queue.server_time()

    # --- lo que hace un portátil -------------------------------------------------------------

    def register(self, info: dict[str, Any], session: str) -> None:
        """Publica la ficha ``info`` del portátil y lo anota como «midiendo».

        Lanza ``NameInUse`` si otro portátil con ese nombre sigue activo (otra sesión con señal de
        hace menos de ``LOST_AFTER`` s). Volver con el mismo nombre tras irse continúa: mismos workers.
        """
        name = info["name"]
        current = clean_presence(self._call(lambda r: r.hget(self.prefix + "seen", name)), self.server_time())
        if (current and current["session"] != session and current["state"] in ("measuring", "working")
                and current["age"] < LOST_AFTER):
            raise NameInUse(f"Ya hay un portátil «{name}» trabajando en el aula (su última señal llegó hace "
                            f"{current['age']:.0f} s): elige otro --name o, si es este mismo portátil en otra "
                            f"terminal, para aquella primero con Ctrl-C.")
        self._call(lambda r: r.hdel(self.prefix + "out", name))
        self.publish(info)
        self.touch(name, session, "measuring")
        self.mark(name, "joined")

    def publish(self, info: dict[str, Any]) -> None:
        """Guarda (o reemplaza) la ficha del portátil ``info["name"]``."""
        text = json.dumps(info, ensure_ascii=False)
        self._call(lambda r: r.hset(self.prefix + "machines", info["name"], text))

    def published(self, name: str) -> dict[str, Any] | None:
        """La ficha validada que ya tiene ``name`` en el aula (p. ej. al volver a unirse), o ``None``."""
        try:
            return clean_machine(name, self._call(lambda r: r.hget(self.prefix + "machines", name)))
        except ValueError:
            return None

    def touch(self, name: str, session: str, state: str) -> None:
        """Anota la señal del portátil ``name`` con la hora del servidor y su ``state``."""
        text = json.dumps({"time": self.server_time(), "session": session, "state": state})
        self._call(lambda r: r.hset(self.prefix + "seen", name, text))

    def mark(self, name: str, what: str) -> None:
        """Añade un momento a la línea de tiempo (``joined``, ``left``, ``out``)."""
        text = json.dumps({"time": self.server_time(), "name": name, "what": what})

        def push(r: Any) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.rpush(self.prefix + "log", text)
            pipe.ltrim(self.prefix + "log", -MAX_MARKS, -1)
            pipe.execute()
        self._call(push)

    def names(self) -> list[str]:
        """Los nombres válidos de los portátiles que han publicado su ficha, en orden."""
        def scan(r: Any) -> list[str]:
            found = []
            for field, _ in r.hscan_iter(self.prefix + "machines", count=100):
                if len(found) >= MAX_MACHINES:
                    break
                found.append(field)
            return found
        return sorted(n for n in self._call(scan) if NAME_PATTERN.fullmatch(n))

    def taken_out(self, name: str) -> bool:
        """``True`` si el profesorado ha sacado a ``name`` del aula."""
        return bool(self._call(lambda r: r.hexists(self.prefix + "out", name)))

    # --- lo que hace el profesorado ----------------------------------------------------------

    def enqueue(self, count: int, size: int = DEFAULT_SIZE) -> list[str]:
        """Encola ``count`` tareas sintéticas de ``size`` px con semillas nuevas; devuelve sus ids."""
        check_int(count, "El número de tareas", maximum=MAX_ENQUEUE)
        make_payloads(1, size)                                      # el tamaño, antes de tocar Redis
        last = int(self._call(lambda r: r.incrby(self.prefix + "seed", count)))
        return self.queue.add_tasks(make_payloads(count, size, first_seed=last - count + 1))

    def take_out(self, name: str) -> None:
        """Saca del aula al portátil ``name``: se va en seguida sin terminar sus tareas (vuelven por concesión)."""
        self._call(lambda r: r.hset(self.prefix + "out", name, str(self.server_time())))
        self.mark(name, "out")

    def wait(self, timeout: float | None = None) -> bool:
        """Espera a que no quede nada pendiente ni en proceso; ``False`` si vence ``timeout``."""
        return self.queue.join(timeout)

    def read(self) -> dict[str, Any]:
        """Lo guardado, tal cual (sin validar): fichas, señales, marcas, eventos, estadísticas y la hora."""
        def scan(r: Any, key: str) -> dict[str, str]:
            found: dict[str, str] = {}
            for field, value in r.hscan_iter(self.prefix + key, count=100):
                if len(found) >= MAX_MACHINES:
                    break
                found[field] = value
            return found
        machines = self._call(lambda r: scan(r, "machines"))
        seen = self._call(lambda r: scan(r, "seen"))
        marks = self._call(lambda r: r.lrange(self.prefix + "log", -MAX_MARKS, -1))
        return {"machines": machines, "seen": seen, "marks": marks, "events": self.queue.timeline(),
                "stats": self.queue.get_stats(), "now": self.server_time()}

    def snapshot(self) -> RoomSnapshot:
        """El estado validado del aula ahora (``state.snapshot`` de ``read()``)."""
        return snapshot(self.read())

    def reset(self) -> None:
        """Vacía el aula (tareas, fichas, historial) y vuelve a configurar la cola igual."""
        lease = self.queue.lease_timeout
        self.queue.clear()
        self.queue.configure(lease_timeout=lease, max_attempts=MAX_ATTEMPTS, retention=RETENTION)

    def close(self) -> None:
        """Cierra las conexiones de este cliente (el aula sigue en el servidor)."""
        self.queue.close()
        self._redis.close()
