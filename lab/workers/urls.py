"""``open_queue(url)``: la cola que nombra una URL, en memoria o en Redis.

``None`` o ``memory://`` dan una ``TaskQueue``; ``redis://``, ``rediss://`` (TLS) y
``unix://`` una ``RedisTaskQueue``. Es lo que usan las órdenes ``python -m lab worker|enqueue|stats``.
"""

from __future__ import annotations

from typing import Any

from lab.errors import QueueConnectionError
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.redis.connect import REDIS_SCHEMES, safe_url
from lab.workers.redis.queue import RedisTaskQueue

MEMORY_URLS = ("", "memory://")


def open_queue(url: str | None = None, *, name: str = "default", **options: Any) -> QueueAPI:
    """La cola que indica ``url``: en memoria (``None`` o ``memory://``) o en Redis (``redis://``...).

    ``options`` son las de ``TaskQueue`` (``lease_timeout``, ``max_attempts``, ``clock``);
    con Redis se admiten además ``name`` y las de ``RedisTaskQueue``. Lanza
    ``QueueConnectionError`` si la URL no es de ningún tipo conocido o Redis no responde.
    """
    if url is None or url.strip() in MEMORY_URLS:
        allowed = {key: value for key, value in options.items()
                   if key in ("lease_timeout", "max_attempts", "clock", "retention")}
        return TaskQueue(**allowed)
    if url.strip().lower().startswith(REDIS_SCHEMES):
        return RedisTaskQueue(url.strip(), name=name, **options)
    raise QueueConnectionError(
        f"No se reconoce la URL de cola {safe_url(url)!r}: usa memory:// (en memoria) o "
        f"redis://host:6379/0, rediss://... (TLS) o unix:///ruta/redis.sock.")
