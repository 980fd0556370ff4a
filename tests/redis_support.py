"""Un redis-server de usar y tirar para los tests, y colas con nombre único sobre él.

``redis_url`` (fixture de sesión) usa el servidor de la variable ``LAB_REDIS_URL`` si existe;
si no, arranca ``redis-server`` en un puerto libre de 127.0.0.1 dentro de un directorio
temporal y lo para por su PID al final. Sin binario ``redis-server`` los tests se saltan
con el motivo, salvo con ``CI=true`` o ``LAB_REQUIRE_REDIS=1``: allí es un fallo, porque en CI
tienen que ejecutarse.

``make_redis_queue(url, **kwargs)`` crea una ``RedisTaskQueue`` con un ``name`` único (los
tests comparten servidor sin pisarse) y la borra al terminar la sesión.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lab.workers.redis.server import find_redis_server, free_port  # noqa: F401  (también los usan otros tests)

_created: list = []


def require_redis_server() -> str:
    """El binario ``redis-server``; sin él, salta el test (o falla si ``CI=true`` o ``LAB_REQUIRE_REDIS=1``)."""
    binary = find_redis_server()
    if binary is None:
        reason = ("no hay redis-server instalado (apt-get install redis-server); "
                  "los tests de la cola en Redis necesitan un servidor real")
        skip_or_fail(reason)
    return binary


def skip_or_fail(reason: str) -> None:
    """Salta el test con ``reason``; con ``CI=true`` o ``LAB_REQUIRE_REDIS=1`` falla en su lugar."""
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("LAB_REQUIRE_REDIS") == "1":
        pytest.fail(f"En CI los tests de Redis tienen que ejecutarse, pero {reason}.", pytrace=False)
    pytest.skip(reason)


class RedisServer:
    """Un ``redis-server`` propio en ``directory``: arrancar, parar (por PID), matar y reiniciar.

    Con ``aof=True`` guarda cada escritura en el fichero AOF (``appendfsync always``), así
    que un reinicio no pierde nada; sin AOF no escribe nada a disco.
    """

    def __init__(self, directory: Path, *, aof: bool = False, port: int | None = None,
                 password: str | None = None, tls: bool = False):
        self.binary = require_redis_server()
        self.directory, self.aof, self.password, self.tls = Path(directory), aof, password, tls
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.directory.mkdir(parents=True, exist_ok=True)
        if tls:
            self._make_certificate()

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.directory / 'cert.pem'}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def _make_certificate(self) -> None:
        """Un certificado autofirmado para 127.0.0.1 (hace de CA y de certificado del servidor)."""
        if shutil.which("openssl") is None:
            skip_or_fail("no hay openssl para crear el certificado TLS de prueba (apt-get install openssl)")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(self.directory / "key.pem"), "-out", str(self.directory / "cert.pem"),
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)

    def _tls_args(self) -> list[str]:
        cert, key = str(self.directory / "cert.pem"), str(self.directory / "key.pem")
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert, "--tls-key-file", key,
                "--tls-ca-cert-file", cert, "--tls-auth-clients", "no"]

    def start(self, timeout: float = 20.0) -> "RedisServer":
        """Arranca el servidor y espera (como mucho ``timeout`` s) a que responda a PING."""
        args = [self.binary, *(self._tls_args() if self.tls else ["--port", str(self.port)]), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--save", "", "--daemonize", "no", "--protected-mode", "no",
                "--logfile", "redis.log"]
        if self.aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server salió con código {self.process.returncode}; "
                                       f"mira {self.directory / 'redis.log'}")
                try:
                    client.ping()
                    return self
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"redis-server no respondió en {timeout}s en el puerto {self.port}")
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 20.0) -> None:
        """Parada ordenada (SIGTERM a su PID: con AOF vuelca todo a disco) y espera a que salga."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None

    def restart(self) -> None:
        """Para y vuelve a arrancar en el mismo puerto y directorio (con AOF, recupera los datos)."""
        self.stop()
        self.start()


_session_server: RedisServer | None = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """URL de un Redis para los tests: ``LAB_REDIS_URL`` o un redis-server propio de la sesión."""
    global _session_server
    url = os.environ.get("LAB_REDIS_URL")
    if not url:
        if _session_server is None:
            _session_server = RedisServer(tmp_path_factory.mktemp("redis")).start()
        url = _session_server.url
    yield url
    for queue in _created:
        try:
            queue.delete()
        except Exception:
            pass
    _created.clear()
    if _session_server is not None:
        _session_server.stop()
        _session_server = None


def unique_name(prefix: str = "test") -> str:
    """Un nombre de cola que no se repite (``test-3f9c...``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_redis_queue(redis_url: str, **kwargs):
    """Una ``RedisTaskQueue`` vacía con nombre único; acepta los kwargs de ``TaskQueue`` y ``name``."""
    from lab.workers.redis.queue import RedisTaskQueue

    kwargs.setdefault("name", unique_name())
    queue = RedisTaskQueue(redis_url, **kwargs)
    _created.append(queue)
    return queue
