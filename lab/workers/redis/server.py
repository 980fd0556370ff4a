"""Un ``redis-server`` de usar y tirar en un puerto libre de 127.0.0.1 (para el benchmark).

``throwaway_redis()`` es un gestor de contexto: arranca el servidor en un directorio temporal,
sin persistencia, espera a que responda a PING, devuelve su URL y al salir lo para por su PID.
Lanza ``RedisServerUnavailable`` (con el motivo en español) si no hay binario o no arranca.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

from lab.errors import LabError

SERVER_NAMES = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server")


class RedisServerUnavailable(LabError):
    """No hay ``redis-server`` que arrancar aquí o no llegó a responder."""


def find_redis_server() -> str | None:
    """Ruta del binario ``redis-server`` o ``None`` si no está instalado."""
    for name in SERVER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """Un puerto TCP libre en 127.0.0.1 (el sistema lo elige)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def throwaway_redis(timeout: float = 10.0) -> Iterator[str]:
    """Arranca un redis-server propio y devuelve su URL (``redis://127.0.0.1:<puerto>/0``).

    Lanza ``RedisServerUnavailable`` si no hay binario o si no responde en ``timeout`` s.
    """
    binary = find_redis_server()
    if binary is None:
        raise RedisServerUnavailable("no hay redis-server instalado (apt-get install redis-server)")
    import redis

    with tempfile.TemporaryDirectory(prefix="lab-redis-") as directory:
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1)
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RedisServerUnavailable(f"redis-server salió con código {process.returncode} al arrancar")
                try:
                    client.ping()
                    break
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise RedisServerUnavailable(f"redis-server no respondió en {timeout:g}s "
                                                     f"en el puerto {port}") from None
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout)
