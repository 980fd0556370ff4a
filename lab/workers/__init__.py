"""Workers y colas de tareas: lo que la guía importa como ``workers``.

- Colas: ``TaskQueue`` (en memoria) y ``RedisTaskQueue`` (``lab.workers.redis``), con la misma
  interfaz ``QueueAPI``; ``open_queue(url)`` elige una u otra según la URL.
- Workers: ``SimpleWorker`` y ``AsyncWorker`` sobre el bucle único de ``BaseWorker``.
- Varios workers: ``WorkerPool`` (hilos o procesos) y ``ProcessWorkerPool``.

``import lab.workers`` no carga el paquete ``redis``: solo hace falta al crear una ``RedisTaskQueue``.
"""

from lab.workers.async_worker import AsyncWorker
from lab.workers.base import BaseWorker
from lab.workers.health import HealthPolicy
from lab.workers.logs import configure_logging, use_json_logs
from lab.workers.pool import ProcessWorkerPool, WorkerPool
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.redis import RedisTaskQueue
from lab.workers.retry import RetryPolicy
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task, TaskEvent, TaskState
from lab.workers.urls import open_queue

__all__ = ["TaskQueue", "QueueAPI", "Task", "TaskEvent", "TaskState", "BaseWorker", "SimpleWorker",
           "AsyncWorker", "WorkerPool", "ProcessWorkerPool", "RetryPolicy", "HealthPolicy", "RedisTaskQueue", "open_queue",
           "configure_logging", "use_json_logs"]
