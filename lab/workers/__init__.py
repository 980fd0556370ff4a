"""Workers y colas de tareas: ``TaskQueue``, ``SimpleWorker``, ``AsyncWorker`` y ``WorkerPool``.

``RedisTaskQueue``, ``open_queue`` y ``ProcessWorkerPool`` se importan solo cuando se piden
(así ``import lab.workers`` no carga ``redis`` ni ``multiprocessing``).
"""

import importlib
from typing import Any

from lab.workers.async_worker import AsyncWorker
from lab.workers.base import BaseWorker
from lab.workers.logs import configure_logging, use_json_logs
from lab.workers.pool import WorkerPool
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.retry import RetryPolicy
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task, TaskEvent, TaskState

_LAZY = {"RedisTaskQueue": "lab.workers.redis_queue", "open_queue": "lab.workers.redis_connect",
         "ProcessWorkerPool": "lab.workers.process_pool"}

__all__ = ["TaskQueue", "QueueAPI", "Task", "TaskEvent", "TaskState", "BaseWorker", "SimpleWorker",
           "AsyncWorker", "WorkerPool", "RetryPolicy", "configure_logging", "use_json_logs", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"el módulo 'lab.workers' no tiene el atributo {name!r}")
