"""``WorkerPool``: varios workers sobre la misma cola, con estadísticas agregadas.

El pool no sabe *dónde* corren sus workers: se lo delega a un *runner* elegido por ``kind``
(``RUNNERS``): ``"thread"`` (cada ``SimpleWorker`` en su ``threading.Thread``) o ``"process"``
(cada worker en su hilo y su trabajo de imagen en su proceso hijo, ``lab.workers.process``).
Un runner recibe el pool y ofrece ``start(forever)``, ``join(timeout) -> bool``, ``stop()``,
``worker_stats() -> list[dict]``, ``health() -> list[dict]`` y ``end_times() -> list[float]``.
``ProcessWorkerPool`` es el atajo de ``WorkerPool(..., kind="process")``.
"""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import threading
import time
from typing import Any, Callable, Iterable

from lab.checks import check_int
from lab.workers.process.worker import WorkerProcessError, process_worker_class
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.simple import SimpleWorker
from lab.workers.stats import merge_stats


class ThreadRunner:
    """Cada worker del pool (un ``SimpleWorker`` por defecto) en su propio hilo."""

    def __init__(self, pool: "WorkerPool"):
        self.pool = pool
        cls = self.worker_class(pool.worker_class)
        self.workers = [cls(worker_id, pool.pipeline, pool.queue, **pool.worker_options)
                        for worker_id in pool.worker_ids]
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, BaseException] = {}
        self._ends: dict[str, float] = {}

    @staticmethod
    def worker_class(cls: type) -> type:
        """La clase de worker que usa este runner para ``WorkerPool(worker_class=cls)``."""
        return cls

    def _target(self, worker: SimpleWorker, forever: bool) -> None:
        try:
            if inspect.iscoroutinefunction(worker.start):  # p. ej. worker_class=AsyncWorker
                asyncio.run(worker.start(forever=forever))
            else:
                worker.start(forever=forever)
        except BaseException as exc:  # el worker ya lo registró en su log y en su salud
            self.errors[worker.worker_id] = exc
        finally:
            self._ends[worker.worker_id] = self.pool.clock()

    def start(self, forever: bool) -> None:
        self.threads = [threading.Thread(target=self._target, args=(w, forever), name=w.worker_id, daemon=True)
                        for w in self.workers]
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in self.threads)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def worker_stats(self) -> list[dict[str, Any]]:
        return [worker.get_stats() for worker in self.workers]

    def health(self) -> list[dict[str, Any]]:
        return [worker.health() for worker in self.workers]

    def end_times(self) -> list[float]:
        return list(self._ends.values())


class ProcessRunner(ThreadRunner):
    """Runner ``"process"`` de ``WorkerPool``: cada worker en su hilo y su trabajo en su proceso."""

    worker_class = staticmethod(process_worker_class)

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


#: Dónde corren los workers de un pool, según ``kind``.
RUNNERS: dict[str, type[ThreadRunner]] = {"thread": ThreadRunner, "process": ProcessRunner}


class WorkerPool:
    """``size`` workers (``worker-1`` ... ``worker-N``) procesando la misma ``queue``.

    ``kind`` elige dónde corren (``"thread"`` por defecto); el resto de argumentos con nombre
    van a cada worker (``retry``, ``logger``...). Se puede usar con ``with``: al salir se
    detiene de forma ordenada. Lanza ``ValueError`` si ``size`` < 1 o ``kind`` no existe.
    """

    def __init__(self, size: int, pipeline: Any, queue: QueueAPI, *, kind: str = "thread",
                 worker_class: type = SimpleWorker, prefix: str = "worker",
                 clock: Callable[[], float] = time.perf_counter, **worker_options: Any):
        check_int(size, "size")
        if kind not in RUNNERS:
            raise ValueError(f"Tipo de pool desconocido {kind!r}; los disponibles son: {', '.join(sorted(RUNNERS))}.")
        self.size, self.pipeline, self.queue, self.kind = size, pipeline, queue, kind
        self.worker_class, self.worker_options, self.clock = worker_class, worker_options, clock
        self.worker_ids = [f"{prefix}-{i}" for i in range(1, size + 1)]
        self.runner = RUNNERS[kind](self)
        self._started_at: float | None = None

    @property
    def workers(self) -> list[Any]:
        """Los workers del pool (objetos worker con el runner de hilos)."""
        return getattr(self.runner, "workers", [])

    def start(self, forever: bool = False, wait: bool = True) -> None:
        """Arranca todos los workers; con ``wait=True`` (por defecto) espera a que terminen.

        Sin ``forever`` cada worker para cuando no quedan tareas pendientes; con
        ``forever=True`` esperan tareas nuevas hasta ``stop()`` o el cierre de la cola.
        Lanza ``RuntimeError`` si el pool ya se arrancó.
        """
        if self._started_at is not None:
            raise RuntimeError("Este WorkerPool ya se arrancó; crea otro para una nueva ejecución.")
        self._started_at = self.clock()
        self.runner.start(forever)
        if wait:
            self.join()

    def run(self, forever: bool = False) -> dict[str, Any]:
        """Arranca, espera a que terminen y devuelve ``get_stats()``."""
        self.start(forever=forever, wait=True)
        return self.get_stats()

    def join(self, timeout: float | None = None) -> bool:
        """Espera a que terminen todos los workers; ``False`` si vence ``timeout``."""
        return self.runner.join(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Parada ordenada: cada worker termina su tarea en curso; espera y devuelve ``join()``."""
        self.runner.stop()
        return self.join(timeout) if self._started_at is not None else True

    def get_stats(self) -> dict[str, Any]:
        """Totales de todos los workers, el desglose por worker, el tiempo de reloj y el rendimiento."""
        per_worker = self.runner.worker_stats()
        stats = merge_stats(per_worker)
        ends = self.runner.end_times()
        if self._started_at is None:
            wall = 0.0
        elif len(ends) == self.size:
            wall = max(ends) - self._started_at
        else:
            wall = self.clock() - self._started_at
        finished = stats["tasks_completed"] + stats["tasks_failed"]
        stats.update({"size": self.size, "kind": self.kind, "wall_time": wall,
                      "throughput": finished / wall if wall > 0 else 0.0,
                      "workers": {s["worker_id"]: s for s in per_worker}})
        return stats

    def health(self) -> dict[str, Any]:
        """La salud de cada worker y si todos están sanos."""
        reports = self.runner.health()
        return {"healthy": all(r["healthy"] for r in reports), "workers": {r["worker_id"]: r for r in reports}}

    def is_healthy(self) -> bool:
        """``True`` si todos los workers están sanos."""
        return self.health()["healthy"]

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<WorkerPool size={self.size} kind={self.kind}>"


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
