"""``ProcessWorker``: un ``SimpleWorker`` cuyo trabajo de imagen corre en su propio proceso hijo.

Diseño (lo más sencillo que conserva todo lo demás):

- En el proceso padre cada worker sigue siendo un ``SimpleWorker`` en su hilo: pide tareas a
  la cola (cualquier ``QueueAPI``: ``TaskQueue`` o Redis), registra en el log, reintenta,
  late (concesiones), marca y lleva sus estadísticas exactamente igual que con hilos.
- Solo la parte pesada, ``_do_process`` (cargar, filtrar, guardar), se manda a un proceso hijo
  propio de ese worker a través de una tubería. Viajan datos JSON planos: el payload de la
  tarea y, una vez al arrancar, la spec del pipeline; vuelve el resultado (el desglose de
  tiempos: carga, pipeline, filtros, guardado; nunca píxeles), el error como texto y los
  registros de log emitidos en el hijo, que el padre reemite con el formato de la guía.
- Los hijos arrancan con ``forkserver`` (o ``spawn`` donde no existe): seguros con hilos y
  dentro de Jupyter. Ignoran Ctrl-C: la parada ordenada (``stop()``) la decide el padre y
  cada worker termina su tarea en curso. Si un hijo muere a mitad de tarea, esa tarea falla
  con ``WorkerProcessError`` (un error pasajero: se puede reintentar) y la siguiente tarea
  arranca un hijo nuevo.

``WorkerPool(..., kind="process")`` y ``ProcessWorkerPool`` (en ``lab.workers.pool``) usan estos
workers: se comportan igual que el pool de hilos, pero con un núcleo de CPU por worker.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from lab.filters import Filter, FilterPipeline
from lab.workers.process.child import ChildProcess, WorkerProcessError, default_start_method, rebuild_error
from lab.workers.queue_api import QueueAPI
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task

__all__ = ["ProcessWorker", "WorkerProcessError", "default_start_method", "process_worker_class"]

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
    """Hace que ``_do_process`` de un worker se ejecute en un proceso hijo propio.

    Va delante de ``SimpleWorker`` (o de una subclase suya con ``process_task`` propio, que
    sigue ejecutándose en el padre). Argumento extra: ``start_method`` (``"forkserver"`` o ``"spawn"``).
    """

    def __init__(self, worker_id: str, pipeline: Any, queue: QueueAPI, *, start_method: str | None = None,
                 **options: Any):
        super().__init__(worker_id, pipeline, queue, **options)  # type: ignore[call-arg]
        spec, modules = pipeline_spec(self.pipeline, f"El worker {worker_id}")
        settings = {"log_level": self.logger.getEffectiveLevel()}
        self.child = ChildProcess(worker_id, spec, modules, settings, start_method)

    def _do_process(self, task: Task) -> dict[str, Any]:
        """Procesa la tarea en el proceso hijo y reemite aquí sus registros de log.

        Lanza el mismo error que habría lanzado ``lab.core`` (reconstruido a partir del hijo)
        o ``WorkerProcessError`` si el hijo murió.
        """
        reply = self.child.run(task.id, task.payload, self.quality)  # type: ignore[attr-defined]
        self._replay_logs(reply[-1])
        if reply[0] == "ok":
            return reply[1]
        raise rebuild_error(*reply[1:5])

    def _replay_logs(self, records: Iterable[dict[str, Any]]) -> None:
        logger: logging.Logger = self.logger  # type: ignore[attr-defined]
        for data in records:
            if logger.isEnabledFor(data.get("levelno", logging.INFO)):
                logger.handle(logging.makeLogRecord(data))

    def _end(self) -> None:
        super()._end()  # type: ignore[misc]
        self.child.release()  # sin esperar: el proceso sale solo mientras el pool termina


class ProcessWorker(ProcessWorkerMixin, SimpleWorker):
    """Un ``SimpleWorker`` cuyo trabajo de imagen corre en un proceso hijo propio."""


_CLASSES: dict[type, type] = {SimpleWorker: ProcessWorker}


def process_worker_class(worker_class: type) -> type:
    """La versión "en proceso" de ``worker_class`` (una subclase de ``SimpleWorker``).

    Lanza ``TypeError`` si no es una subclase de ``SimpleWorker`` (``AsyncWorker`` ya reparte
    sus tareas en hilos y no tiene sentido con procesos).
    """
    if issubclass(worker_class, ProcessWorkerMixin):
        return worker_class
    if not (isinstance(worker_class, type) and issubclass(worker_class, SimpleWorker)):
        raise TypeError(f"Con kind='process' worker_class debe ser SimpleWorker o una subclase suya y es "
                        f"{getattr(worker_class, '__name__', worker_class)}.")
    if worker_class not in _CLASSES:
        _CLASSES[worker_class] = type(f"Process{worker_class.__name__}", (ProcessWorkerMixin, worker_class), {})
    return _CLASSES[worker_class]
