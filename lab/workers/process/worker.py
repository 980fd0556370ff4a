"""``ProcessWorker``: un ``SimpleWorker`` cuyo trabajo de imagen corre en su propio proceso hijo.

En el proceso padre cada worker sigue siendo un ``SimpleWorker`` en su hilo: pide tareas a la cola,
registra, reintenta, late, marca y lleva sus estadísticas igual que con hilos. Solo ``_do_process``
(cargar, filtrar, guardar) se manda al hijo (``child.py``): viajan el payload y, una vez, la spec
JSON del pipeline; vuelven el resultado, el error y los registros de log. Si el hijo muere a mitad
de tarea, esa tarea falla con ``WorkerProcessError`` (un error pasajero: se puede reintentar) y la
siguiente arranca un hijo nuevo. Un intento que pasa de ``task_time_limit`` se rescata matando el hijo
(SIGTERM y, si no sale, SIGKILL; ``timelimit.py``), algo que con hilos no se puede hacer.
``WorkerPool(..., kind="process")`` y ``ProcessWorkerPool`` los usan.
"""

from __future__ import annotations

import logging
from typing import Any

from lab.filters import Filter, FilterPipeline
from lab.workers.process.child import ChildProcess, WorkerProcessError, rebuild_error
from lab.workers.queue_api import QueueAPI
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task

__all__ = ["ProcessWorker", "WorkerProcessError", "pipeline_spec", "process_worker_class"]


def pipeline_spec(pipeline: Any, where: str) -> tuple[Any, list[str]]:
    """La spec JSON de ``pipeline`` y los módulos que el hijo debe importar para reconstruirlo.

    Lanza ``TypeError`` si el pipeline no se puede convertir a JSON (un objeto con ``apply``
    que no es un ``Filter``) o si un filtro propio está definido en ``__main__`` (un cuaderno
    o un script), de donde un proceso hijo no puede importarlo.
    """
    if pipeline is None:
        return None, []
    if not isinstance(pipeline, Filter):
        raise TypeError(f"{where}: con procesos el pipeline debe ser un FilterPipeline, un Filter o su spec "
                        f"JSON (viaja al proceso hijo como JSON) y es {type(pipeline).__name__}.")
    leaves = pipeline.leaves() if isinstance(pipeline, FilterPipeline) else [pipeline]
    modules: list[str] = []
    for leaf in leaves:
        module = type(leaf).__module__
        if module in ("__main__", "__mp_main__"):
            raise TypeError(f"{where}: el filtro {type(leaf).__name__} está definido en el cuaderno o script "
                            "principal y un proceso hijo no puede importarlo; muévelo a un módulo .py.")
        if not module.startswith("lab.") and module not in modules:
            modules.append(module)
    return pipeline.to_spec(), modules


class ProcessWorkerMixin:
    """Hace que ``_do_process`` de un worker se ejecute en un proceso hijo propio (``self.child``).

    Va delante de ``SimpleWorker`` (o de una subclase suya con ``process_task`` propio, que sigue
    ejecutándose en el padre). Argumento extra: ``start_method`` (``"forkserver"`` o ``"spawn"``).
    """

    def __init__(self, worker_id: str, pipeline: Any, queue: QueueAPI, *, start_method: str | None = None,
                 **options: Any):
        super().__init__(worker_id, pipeline, queue, **options)  # type: ignore[call-arg]
        spec, modules = pipeline_spec(self.pipeline, f"El worker {worker_id}")  # type: ignore[attr-defined]
        level = self.logger.getEffectiveLevel()  # type: ignore[attr-defined]
        self.child = ChildProcess(worker_id, spec, modules, level, start_method)
        if self._time_limit is not None:  # type: ignore[attr-defined]
            self._time_limit.kill = self._kill_overdue  # type: ignore[attr-defined]

    def _kill_overdue(self, job: Any, reason: str) -> None:
        """Mata el hijo si sigue con ``job``, el intento que pasó de su límite (luego decide ``RetryPolicy``)."""
        if job in self._in_flight.jobs() and job.overdue:  # type: ignore[attr-defined]
            self.child.terminate(reason)

    def interrupt(self, reason: str) -> None:
        """Mata el hijo ya (SIGTERM y, si no sale, SIGKILL): la tarea en curso falla con ``reason`` y no se reintenta.

        Lo usa ``ProcessWorkerPool`` al parar (``stop`` con plazo vencido y ``terminate``).
        """
        for job in self._in_flight.jobs():  # type: ignore[attr-defined]
            job.cancelled = True
        self.child.terminate(reason)

    def _work(self, forever: bool) -> None:
        """El bucle de siempre; lanza el hijo al empezar y le pide que salga al terminar (sin esperarle)."""
        self.child.spawn()
        try:
            super()._work(forever)  # type: ignore[misc]
        finally:
            self.child.release()

    def _do_process(self, task: Task) -> dict[str, Any]:
        """Procesa la tarea en el proceso hijo y reemite aquí sus registros de log.

        Lanza el mismo error que habría lanzado ``lab.core`` (reconstruido a partir del hijo)
        o ``WorkerProcessError`` si el hijo murió.
        """
        reply = self.child.run(task.id, task.payload, self.quality)  # type: ignore[attr-defined]
        logger: logging.Logger = self.logger  # type: ignore[attr-defined]
        for record in reply[-1]:
            if logger.isEnabledFor(record["levelno"]):
                logger.handle(logging.makeLogRecord(record))
        if reply[0] == "ok":
            return reply[1]
        raise rebuild_error(*reply[1:5])


class ProcessWorker(ProcessWorkerMixin, SimpleWorker):
    """Un ``SimpleWorker`` cuyo trabajo de imagen corre en un proceso hijo propio."""


_CLASSES: dict[type, type] = {SimpleWorker: ProcessWorker}


def process_worker_class(worker_class: type) -> type:
    """La versión "en proceso" de ``worker_class`` (una subclase de ``SimpleWorker``).

    Lanza ``TypeError`` si no es una subclase de ``SimpleWorker`` (``AsyncWorker`` ya reparte
    sus tareas en hilos y no tiene sentido con procesos).
    """
    if isinstance(worker_class, type) and issubclass(worker_class, ProcessWorkerMixin):
        return worker_class
    if not (isinstance(worker_class, type) and issubclass(worker_class, SimpleWorker)):
        raise TypeError(f"Con kind='process' worker_class debe ser SimpleWorker o una subclase suya y es "
                        f"{getattr(worker_class, '__name__', worker_class)}.")
    if worker_class not in _CLASSES:
        _CLASSES[worker_class] = type(f"Process{worker_class.__name__}", (ProcessWorkerMixin, worker_class), {})
    return _CLASSES[worker_class]
