"""El servidor del aula (``python -m lab room serve``): un Redis con contraseña abierto a la red del aula.

``RoomServer`` es el ``RedisServer`` del laboratorio (el ``redis-server`` del sistema o el embebido)
con lo que pide un aula de treinta portátiles:

- escucha en ``bind`` (por defecto, todas las direcciones) además de en 127.0.0.1;
- contraseña generada de 192 bits (``new_password``); sin contraseña solo se permite loopback;
- órdenes de administración desactivadas (``DISABLED_COMMANDS``): quien tiene la contraseña puede
  estropear la cola del aula, pero no escribir ficheros en el portátil del profesorado
  (``CONFIG SET dir``), cargar módulos, apagar el servidor ni hacerlo réplica de otro;
- memoria acotada (``MAX_MEMORY``, sin expulsar claves: la cola nunca pierde tareas en silencio).

Con ``directory`` el aula sobrevive a un reinicio del servidor: datos en AOF y la misma contraseña
(guardada en ``aula-clave.txt``, solo legible por su dueño), así que la línea de los portátiles vale.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from pathlib import Path
from typing import Any

import psutil

from lab.workers.redis.server import RedisServer

__all__ = ["RoomServer", "new_password", "check_bind", "lan_addresses", "join_line", "DISABLED_COMMANDS",
           "PASSWORD_BYTES", "PASSWORD_FILE"]

PASSWORD_BYTES = 24           # 192 bits (el issue pide al menos 128)
PASSWORD_FILE = "aula-clave.txt"
MAX_MEMORY = "512mb"
DISABLED_COMMANDS = ("CONFIG", "DEBUG", "MODULE", "SHUTDOWN", "REPLICAOF", "SLAVEOF", "MIGRATE", "FLUSHALL",
                     "FLUSHDB", "SAVE", "BGSAVE", "BGREWRITEAOF", "MONITOR", "SYNC", "PSYNC", "ACL")


def new_password() -> str:
    """Una contraseña aleatoria de ``PASSWORD_BYTES`` bytes (``secrets``), con caracteres válidos en una URL."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def stored_password(directory: str | os.PathLike) -> str:
    """La contraseña guardada en ``directory``; si no hay, crea una y la guarda (permisos 600)."""
    path = Path(directory) / PASSWORD_FILE
    if path.exists():
        password = path.read_text(encoding="ascii").strip()
        if len(password) >= 22:                     # 22 caracteres de token_urlsafe = 128 bits
            return password
    password = new_password()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(password + "\n")
    return password


def check_bind(bind: str, password: str | None) -> str:
    """La dirección donde escuchar, validada; ``ValueError`` si no es una IP o si no es loopback sin contraseña."""
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        raise ValueError(f"--bind debe ser una dirección IP de esta máquina (0.0.0.0: todas; 127.0.0.1: solo "
                         f"esta máquina) y recibió {bind!r:.40}.") from None
    if not password and not address.is_loopback:
        raise ValueError(f"Sin contraseña el aula solo puede escuchar en 127.0.0.1 (loopback), no en {bind}: "
                         f"cualquiera de la red podría entrar. Quita --no-password o usa --bind 127.0.0.1.")
    return str(address)


def lan_addresses() -> list[str]:
    """Las IPv4 de esta máquina en alguna red (sin loopback ni enlace local), la de la ruta por defecto primero."""
    found = []
    for addresses in psutil.net_if_addrs().values():
        for item in addresses:
            if item.family == socket.AF_INET:
                address = ipaddress.ip_address(item.address)
                if not (address.is_loopback or address.is_link_local):
                    found.append(item.address)
    try:      # la IP con la que esta máquina sale a la red (un socket UDP no envía nada al conectar)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            main = probe.getsockname()[0]
        if main in found:
            found.remove(main)
            found.insert(0, main)
    except OSError:
        pass
    return found


def join_line(host: str, port: int, password: str | None) -> str:
    """La línea que pega cada portátil (con la contraseña: solo se imprime en la terminal de ``serve``)."""
    auth = f":{password}@" if password else ""
    host = f"[{host}]" if ":" in host else host
    return f"python -m lab room join redis://{auth}{host}:{port}/0 --name TU_NOMBRE"


class RoomServer(RedisServer):
    """Un ``RedisServer`` para el aula: escucha en ``bind`` y 127.0.0.1, con las órdenes peligrosas desactivadas.

    Lanza ``ValueError`` (``check_bind``) si ``bind`` no es una IP o no es loopback y no hay
    ``password``; los demás argumentos, como ``RedisServer``.
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, bind: str = "0.0.0.0", **options: Any):
        self.bind = check_bind(bind, options.get("password"))
        super().__init__(directory, **options)

    def arguments(self) -> list[str]:
        args = super().arguments()
        where = args.index("--bind") + 1
        loopback = ipaddress.ip_address(self.bind).is_loopback
        args[where:where + 1] = [self.bind] if loopback or self.bind == "0.0.0.0" else [self.bind, "127.0.0.1"]
        args[args.index("--protected-mode") + 1] = "yes"
        args += ["--maxmemory", MAX_MEMORY, "--maxmemory-policy", "noeviction"]
        for command in DISABLED_COMMANDS:
            args += ["--rename-command", command, ""]
        return args

    @property
    def public_host(self) -> str:
        """La dirección que deben usar los portátiles: la de ``bind`` o, si escucha en todas, la de la red."""
        if self.bind not in ("0.0.0.0", "::"):
            return self.bind
        addresses = lan_addresses()
        return addresses[0] if addresses else "127.0.0.1"


def serve_room(*, port: int = 6379, bind: str = "0.0.0.0", lease: float | None = None,
               directory: str | None = None, password: bool = True, say: Any = print) -> int:
    """Arranca el aula, imprime la línea para los portátiles y la mantiene hasta Ctrl-C o SIGTERM.

    Devuelve 0 al cerrarla. Lanza ``RedisServerUnavailable`` si no hay servidor Redis que arrancar,
    ``ValueError`` si ``bind`` no vale y los errores de ``Room`` si la cola guardada no casa.
    """
    import signal
    import time

    from lab.room.room import Room

    secret = (stored_password(directory) if directory else new_password()) if password else None
    server = RoomServer(directory, bind=bind, port=port or None, password=secret, aof=directory is not None,
                        die_with_parent=True)
    previous = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        room = Room(server.url, lease_timeout=lease)
        strength = f"contraseña de {PASSWORD_BYTES * 8} bits" if secret else "SIN contraseña (solo esta máquina)"
        say(f"✅ Aula en marcha: {server.binary.describe()}\n"
            f"   escuchando en {server.bind}:{server.port} ({strength}; concesión de "
            f"{room.queue.lease_timeout:g} s){'; datos en ' + str(directory) if directory else ''}\n\n"
            f"Cada portátil pega esta línea en su terminal (cambiando TU_NOMBRE):\n\n"
            f"    {join_line(server.public_host, server.port, secret)}\n")
        others = [a for a in lan_addresses() if a != server.public_host] if server.bind == "0.0.0.0" else []
        if others:
            say(f"   (si esa IP no es la de la red del aula, esta máquina también es: {', '.join(others)})")
        say(f"Para el cuaderno del profesorado: LAB_AULA_URL={server.url}\n"
            f"Tareas: python -m lab room enqueue URL 400 · estado: python -m lab room status URL · Ctrl-C cierra "
            f"el aula.")
        known: set[str] = set()
        while server.running:
            for name in sorted(set(room.names()) - known):
                info = room.published(name) or {}
                say(f"➕ {name} se ha unido ({info.get('physical_cores', '?')} núcleos físicos, "
                    f"{info.get('cores', '?')} lógicos)")
                known.add(name)
            time.sleep(2.0)
        say("❌ El servidor del aula se ha parado solo; mira su log en " + str(server.log_path))
        return 1
    except KeyboardInterrupt:
        say("⏹ Cerrando el aula.")
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.close()


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt
