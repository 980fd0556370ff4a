"""Workers y colas de tareas: lo que la guía importa como ``workers``.

- Colas: ``TaskQueue`` (en memoria) y ``RedisTaskQueue`` (``lab.workers.redis``), con la misma
  interfaz ``QueueAPI``; ``open_queue(url)`` elige una u otra según la URL. ``audit_tasks`` revisa
  un historial de eventos (la auditoría de ``TaskQueue.audit()``).
- Workers: ``SimpleWorker`` y ``AsyncWorker`` sobre el bucle único de ``BaseWorker``, con
  ``RetryPolicy`` (``PERMANENT_ERRORS``: lo que nunca se reintenta) y ``HealthPolicy``.
- Varios workers: ``WorkerPool`` (hilos o procesos) y ``ProcessWorkerPool``.
- Logs: ``configure_logging``, ``use_json_logs`` y ``JsonFormatter`` (una línea JSON por registro).
- ``wait_until(condición, timeout)``: esperar sin bucles de ``sleep`` a que otro proceso haga algo.

``__all__`` es la API pública: lo que usan los cuadernos sale de aquí (o de ``lab.workers.redis``).
``import lab.workers`` no carga el paquete ``redis``: solo hace falta al crear una ``RedisTaskQueue``.
"""

from lab.workers.async_worker import AsyncWorker
from lab.workers.base import BaseWorker
from lab.workers.health import HealthPolicy
from lab.workers.logs import JsonFormatter, configure_logging, use_json_logs
from lab.workers.pool import ProcessWorkerPool, WorkerPool
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI, audit_tasks
from lab.workers.redis import RedisTaskQueue
from lab.workers.retry import PERMANENT_ERRORS, RetryPolicy
from lab.workers.service import wait_until
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task, TaskEvent, TaskState
from lab.workers.urls import open_queue

__all__ = ["TaskQueue", "QueueAPI", "Task", "TaskEvent", "TaskState", "audit_tasks", "BaseWorker", "SimpleWorker",
           "AsyncWorker", "WorkerPool", "ProcessWorkerPool", "RetryPolicy", "PERMANENT_ERRORS", "HealthPolicy",
           "RedisTaskQueue", "open_queue", "configure_logging", "use_json_logs", "JsonFormatter", "wait_until"]
