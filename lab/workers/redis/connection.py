"""``RedisConnection``: una conexión a Redis que aguanta cortes, con los errores en español.

La usa ``RedisTaskQueue`` para todo lo que habla con el servidor:

- ``retrying(operación)``: si se pierde la conexión, reintenta con espera exponencial (hasta
  ``reconnect_timeout`` segundos), avisa una vez en el log al caer y otra al volver, y después
  lanza ``QueueConnectionError``; si Redis rechaza una orden (sin memoria, réplica de solo
  lectura, permisos ACL) lanza ``QueueError``.
- ``run_script(nombre, valores)``: un solo ``EVALSHA``; si el servidor no tiene el script (se
  reinició sin AOF o se vació con SCRIPT FLUSH), lo carga y repite.
- ``stop_reconnecting()``: para un worker que se está parando: no esperar a un Redis caído.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any, Callable

from lab.errors import QueueConnectionError, QueueError
from lab.workers.redis.connect import check_redis_url, describe_redis_error, import_redis, safe_url
from lab.workers.redis.scripts import SCRIPTS

logger = logging.getLogger("lab.worker.redis")

#: Prefijo del error con que los scripts Lua avisan de que la cola perdió su estado.
LOST_MARK = "LABLOST"


class RedisConnection:
    """La conexión de una cola: cliente de redis-py, reintentos, aviso de cortes y scripts Lua.

    ``lost_error`` construye el error que se lanza cuando un script responde ``LABLOST`` (el
    estado de la cola desapareció). Lanza ``QueueConnectionError`` si la URL no es válida.
    """

    def __init__(self, url: str, *, lost_error: Callable[[], Exception], reconnect_timeout: float = 30.0,
                 socket_timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep):
        self.url, self.reconnect_timeout, self._sleep, self._lost_error = url, reconnect_timeout, sleep, lost_error
        self.redis = import_redis()
        check_redis_url(url)
        try:
            self.client = self.redis.Redis.from_url(
                url, decode_responses=True, protocol=2, socket_timeout=socket_timeout,
                socket_connect_timeout=min(socket_timeout, 5.0), health_check_interval=15)
        except (ValueError, TypeError) as exc:
            raise QueueConnectionError(
                f"La URL de Redis {safe_url(url)!r} no es válida ({exc}); debe ser como "
                f"redis://[:contraseña@]host:6379/0, rediss://... (TLS) o unix:///ruta/redis.sock.") from exc
        self._shas = {key: hashlib.sha1(source.encode()).hexdigest() for key, source in SCRIPTS.items()}
        self._outage_lock = threading.Lock()
        self._give_up = threading.Event()
        self._outage = False

    def ping(self) -> None:
        """Comprueba que Redis responde (sin reintentos); si no, ``QueueConnectionError`` clara."""
        try:
            self.client.ping()
        except TypeError as exc:  # una opción de la URL que no vale para ese tipo de conexión
            raise QueueConnectionError(
                f"La URL de Redis {safe_url(self.url)} lleva una opción que no vale para esa conexión "
                f"({exc}); las opciones ssl_* solo valen con rediss://.") from exc
        except self.redis.RedisError as exc:
            cause = describe_redis_error(exc)
            if cause.startswith("Redis"):
                raise QueueConnectionError(f"{cause} (servidor {safe_url(self.url)}).") from exc
            raise QueueConnectionError(
                f"No se puede conectar con Redis en {safe_url(self.url)}: {cause}; "
                f"¿está arrancado redis-server y es correcta la URL?") from exc

    def retrying(self, operation: Callable[[bool], Any]) -> Any:
        """Ejecuta ``operation(reintento)`` reintentando con espera exponencial si se pierde la conexión."""
        errors = (self.redis.ConnectionError, self.redis.TimeoutError)
        deadline, delay, retry = None, 0.05, False
        while True:
            try:
                result = operation(retry)
            except errors as exc:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.reconnect_timeout
                    self._set_outage(True, exc)
                if self._give_up.is_set():
                    raise QueueConnectionError(
                        f"Sin conexión con Redis en {safe_url(self.url)}: se deja de esperar porque el "
                        f"worker se está parando ({describe_redis_error(exc)}).") from exc
                if now >= deadline:
                    raise QueueConnectionError(
                        f"Se perdió la conexión con Redis en {safe_url(self.url)} y no volvió en "
                        f"{self.reconnect_timeout:g}s ({describe_redis_error(exc)}).") from exc
                self._sleep(delay)
                delay, retry = min(delay * 2, 1.0), True
                continue
            except self.redis.ResponseError as exc:  # p. ej. sin memoria, réplica de solo lectura, ACL
                if str(exc).startswith(LOST_MARK):
                    raise self._lost_error() from None
                raise QueueError(f"Redis en {safe_url(self.url)} rechazó la operación: "
                                 f"{str(exc).strip().rstrip('.')}.") from exc
            if retry:
                self._set_outage(False)
            return result

    def run_script(self, script: str, values: Callable[[bool], list[Any]]) -> Any:
        """Ejecuta el script Lua ``script`` con ``values(reintento)`` como argumentos, con reintentos."""
        def call(retry: bool) -> Any:
            args = values(retry)
            try:
                return self.client.execute_command("EVALSHA", self._shas[script], 0, *args)
            except self.redis.exceptions.NoScriptError:
                self._shas[script] = self.client.script_load(SCRIPTS[script])
                return self.client.execute_command("EVALSHA", self._shas[script], 0, *args)
        return self.retrying(call)

    def server_time(self) -> float:
        """El reloj del servidor Redis, en segundos."""
        seconds, micros = self.retrying(lambda _retry: self.client.time())
        return seconds + micros / 1_000_000

    def persistence_problem(self) -> str | None:
        """Una frase si el servidor no guarda nada en disco (``appendonly no`` y ``save ""``); si no, ``None``.

        Si el servidor no deja consultar CONFIG (ACL, servicio gestionado) devuelve ``None``.
        """
        try:
            appendonly = self.client.config_get("appendonly").get("appendonly", "")
            save = self.client.config_get("save").get("save", "")
        except self.redis.RedisError:
            return None
        if appendonly == "yes" or save.strip():
            return None
        return (f"Redis en {safe_url(self.url)} no guarda nada en disco (appendonly no, save \"\"): si se "
                f"reinicia, la cola se pierde entera. Arráncalo guardando cada cambio: python -m lab redis --aof "
                f"(o redis-server --appendonly yes --appendfsync always, o esas dos opciones en su redis.conf).")

    def stop_reconnecting(self) -> None:
        """Deja de reintentar: si Redis no responde, la próxima operación falla enseguida."""
        self._give_up.set()

    def _set_outage(self, down: bool, exc: Exception | None = None) -> None:
        """Avisa en el log una sola vez al perder la conexión y otra al recuperarla."""
        with self._outage_lock:
            if down == self._outage:
                return
            self._outage = down
        extra = {"worker_id": "redis"}
        if down:
            logger.warning(f"🔌 Sin conexión con Redis en {safe_url(self.url)} ({describe_redis_error(exc)}); "
                           f"reintentando durante {self.reconnect_timeout:g}s", extra=extra)
        else:
            logger.warning(f"🔌 Conexión con Redis en {safe_url(self.url)} recuperada", extra=extra)
