"""Conectar con Redis: URLs sin contraseña en los mensajes y errores de conexión en español.

Nada de este módulo importa ``redis`` al cargarse: el paquete solo hace falta al crear una
``RedisTaskQueue`` (``import_redis``).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from lab.errors import QueueConnectionError

def safe_url(url: str) -> str:
    """La URL sin la contraseña (``redis://:***@host:6379/0``), para mensajes y logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<URL no válida>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


_CAUSES = (
    (("WRONGPASS", "invalid password", "invalid username-password"),
     "Redis rechazó la contraseña o el usuario de la URL"),
    (("NOAUTH", "Authentication required"), "Redis pide contraseña: ponla en la URL (redis://:contraseña@host:6379/0)"),
    (("Connection refused", "Error 111 "), "conexión rechazada, no hay ningún Redis escuchando en ese puerto"),
    (("Name or service not known", "Temporary failure in name resolution", "Error -2 ", "Error -3 "),
     "no se encuentra ese nombre de máquina"),
    (("Connection reset by peer", "Connection closed by server", "Error 104 "),
     "el servidor cortó la conexión (si usa TLS, la URL debe empezar por rediss://)"),
    (("Timeout", "timed out"), "el servidor no respondió a tiempo"),
    (("Protocol Error",), "lo que responde en esa dirección no es un servidor Redis"),
    (("DB index is out of range",), "el número de base de datos de la URL no existe en ese servidor"),
    (("No such file or directory", "Error 2 "), "no existe ese socket unix"),
    (("SSL", "TLS", "certificate"), "falló la conexión TLS (revisa rediss:// y los certificados)"),
)


def check_redis_url(url: str) -> None:
    """Rechaza lo que redis-py aceptaría en silencio, como una base de datos que no es un número."""
    parts = urlsplit(url)
    db = parts.path.strip("/")
    if parts.scheme in ("redis", "rediss") and db and not db.isdigit():
        raise QueueConnectionError(f"La URL de Redis {safe_url(url)!r} no es válida: la base de datos ({db!r}) "
                                   f"debe ser un número, como en redis://host:6379/0.")


def describe_redis_error(exc: BaseException) -> str:
    """La causa de un error de conexión de redis-py, en español y sin traza."""
    text = f"{type(exc).__name__}: {exc}"
    for needles, cause in _CAUSES:
        if any(needle.lower() in text.lower() for needle in needles):
            return cause
    return str(exc).strip().rstrip(".") or type(exc).__name__


def import_redis():
    """El paquete ``redis``; ``QueueConnectionError`` con la orden de instalación si falta."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depende del entorno
        raise QueueConnectionError(
            "La cola en Redis necesita el paquete redis: instálalo con pip install -e '.[redis]' "
            "(o pip install redis).") from exc
    return redis


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
