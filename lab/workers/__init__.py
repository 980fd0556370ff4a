"""Workers y colas de tareas: ``TaskQueue``, ``SimpleWorker``, ``AsyncWorker`` y ``WorkerPool``."""

from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.task import Task, TaskEvent, TaskState

__all__ = ["TaskQueue", "QueueAPI", "Task", "TaskEvent", "TaskState"]
