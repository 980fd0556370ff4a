"""``ProcessWorkerPool``: el mismo ``WorkerPool``, pero el trabajo de cada worker corre en su propio proceso.

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

Así ``WorkerPool(..., kind="process")`` y ``ProcessWorkerPool(size, pipeline, cola)`` se
comportan igual que el pool de hilos, pero con un núcleo de CPU por worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from typing import Any, Iterable

from lab.filters import Filter, FilterPipeline
from lab.workers import process_child
from lab.workers.process_child import ChildProcess, WorkerProcessError, default_start_method
from lab.workers.pool import ThreadRunner, WorkerPool, register_runner
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task

__all__ = ["ProcessWorker", "ProcessWorkerPool", "WorkerProcessError", "default_start_method"]

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
        raise process_child.rebuild_error(*reply[1:5])

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


class ProcessRunner(ThreadRunner):
    """Runner ``"process"`` de ``WorkerPool``: cada worker en su hilo y su trabajo en su proceso."""

    def __init__(self, pool: WorkerPool):
        self.pool = pool
        cls = process_worker_class(pool.worker_class)
        self.workers = [cls(worker_id, pool.pipeline, pool.queue, **pool.worker_options)
                        for worker_id in pool.worker_ids]
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, BaseException] = {}
        self._ends: dict[str, float] = {}

    def prestart(self) -> None:
        """Arranca todos los procesos hijos a la vez y espera a que estén listos."""
        for worker in self.workers:
            worker.child.spawn()
        for worker in self.workers:
            try:
                worker.child.ensure_ready()
            except WorkerProcessError:
                pass  # se reintentará (y se explicará) en la primera tarea de ese worker

    def start(self, forever: bool) -> None:
        self.prestart()
        super().start(forever)

    def terminate(self) -> None:
        for worker in self.workers:
            worker.stop()
            worker.child.terminate()

    def pids(self) -> list[int | None]:
        return [worker.child.pid for worker in self.workers]

    def close(self) -> None:
        """Espera a que todos los procesos hijos hayan terminado (tras ``stop()``)."""
        for worker in self.workers:
            worker.child.close()


register_runner("process", ProcessRunner)


class ProcessWorkerPool(WorkerPool):
    """``size`` workers cuyo trabajo corre en procesos separados (uno por worker).

    ``queue_or_tasks`` es una cola (cualquier ``QueueAPI``) o una lista de payloads, que se
    meten en una ``TaskQueue`` nueva (``pool.queue``). ``start_method`` es ``"forkserver"``
    o ``"spawn"`` (por defecto el primero que exista). El resto, como ``WorkerPool``: se usa
    con ``with``, ``run()``, ``stop()``, ``get_stats()`` (con el desglose de tiempos de los
    hijos) y ``health()``. Lanza ``ValueError``/``TypeError`` si algún argumento no es válido.
    """

    def __init__(self, size: int, pipeline: Any, queue_or_tasks: QueueAPI | Iterable[dict[str, Any]], *,
                 start_method: str | None = None, **options: Any):
        if start_method is not None and start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(f"start_method {start_method!r} no existe en este sistema; usa uno de "
                             f"{', '.join(multiprocessing.get_all_start_methods())}.")
        if start_method == "fork":
            raise ValueError("start_method='fork' no es seguro con hilos ni en Jupyter; usa 'forkserver' o 'spawn'.")
        queue = queue_or_tasks
        if not isinstance(queue, QueueAPI):
            queue = TaskQueue()
            queue.add_tasks(queue_or_tasks)
        super().__init__(size, pipeline, queue, kind="process", start_method=start_method, **options)

    def prestart(self) -> None:
        """Arranca los procesos ya (si no, los arranca ``start()``); útil para medir sin el arranque."""
        self.runner.prestart()

    def stop(self, timeout: float | None = None) -> bool:
        """Parada ordenada (cada worker termina su tarea en curso) y espera a que los procesos salgan."""
        done = super().stop(timeout)
        if done:
            self.runner.close()
        return done

    def terminate(self) -> None:
        """Parada inmediata: mata los procesos; sus tareas en curso se marcan como fallidas."""
        self.runner.terminate()

    def pids(self) -> list[int | None]:
        """El pid del proceso hijo de cada worker (``None`` si no está vivo)."""
        return self.runner.pids()

    def __repr__(self) -> str:
        return f"<ProcessWorkerPool size={self.size}>"
