"""``WorkerPool``: varios workers sobre la misma cola, cada uno en su hilo, con estadísticas agregadas.

``kind`` elige el worker de cada hilo (``KINDS``): ``"thread"``, un ``SimpleWorker`` (o ``worker_class``);
``"process"``, su versión con el trabajo de imagen en un proceso hijo propio (``lab.workers.process``).
``ProcessWorkerPool`` añade lo propio de los procesos: arrancarlos antes, matarlos y esperar a que salgan.
"""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import threading
import time
from typing import Any, Callable, Iterable

from lab.checks import check_int
from lab.workers.base import BaseWorker
from lab.workers.process.child import TERM_GRACE
from lab.workers.process.worker import WorkerProcessError, process_worker_class
from lab.workers.queue import TaskQueue
from lab.workers.queue_api import QueueAPI
from lab.workers.simple import SimpleWorker
from lab.workers.stats import merge_stats


def same_class(worker_class: type) -> type:
    """Con ``kind="thread"`` cada worker lo hace todo en su hilo: ``worker_class`` tal cual."""
    return worker_class


#: La clase de worker de un pool según ``kind``, a partir de su ``worker_class``.
KINDS: dict[str, Callable[[type], type]] = {"thread": same_class, "process": process_worker_class}


class WorkerPool:
    """``size`` workers (``worker-1`` ... ``worker-N``) procesando la misma ``queue``, cada uno en su hilo.

    ``kind`` elige el tipo de worker (``"thread"`` por defecto); el resto de argumentos con nombre
    van a cada worker (``retry``, ``logger``...). Se puede usar con ``with``: al salir se detiene
    de forma ordenada. Lanza ``ValueError`` si ``size`` < 1 o ``kind`` no existe.
    """

    def __init__(self, size: int, pipeline: Any, queue: QueueAPI, *, kind: str = "thread",
                 worker_class: type = SimpleWorker, prefix: str = "worker",
                 clock: Callable[[], float] = time.perf_counter, **worker_options: Any):
        check_int(size, "size")
        if kind not in KINDS:
            raise ValueError(f"Tipo de pool desconocido {kind!r}; los disponibles son: {', '.join(sorted(KINDS))}.")
        self.size, self.pipeline, self.queue, self.kind, self.clock = size, pipeline, queue, kind, clock
        cls = KINDS[kind](worker_class)
        self.workers: list[Any] = [cls(f"{prefix}-{i}", pipeline, queue, **worker_options) for i in range(1, size + 1)]
        self.threads: list[threading.Thread] = []
        self._started_at: float | None = None
        self._ends: dict[str, float] = {}

    def start(self, forever: bool = False, wait: bool = True) -> None:
        """Arranca cada worker en su hilo; con ``wait=True`` (por defecto) espera a que terminen.

        Sin ``forever`` cada worker para al no quedar tareas pendientes; con ``forever=True``, en ``stop()``
        o al cerrarse la cola. ``RuntimeError`` si ya se arrancó.
        """
        if self._started_at is not None:
            raise RuntimeError("Este WorkerPool ya se arrancó; crea otro para una nueva ejecución.")
        self._started_at = self.clock()
        self.threads = [threading.Thread(target=self._run, args=(worker, forever), name=worker.worker_id,
                                         daemon=True) for worker in self.workers]
        for thread in self.threads:
            thread.start()
        if wait:
            self.join()

    def _run(self, worker: BaseWorker, forever: bool) -> None:
        """El hilo de un worker (un ``AsyncWorker``, con su propio bucle de eventos); anota cuándo acaba."""
        try:
            if inspect.iscoroutinefunction(worker.start):
                asyncio.run(worker.start(forever=forever))
            else:
                worker.start(forever=forever)
        except BaseException:  # el worker ya lo registró en su log y en su salud (health()["reasons"])
            pass
        finally:
            self._ends[worker.worker_id] = self.clock()

    def run(self, forever: bool = False) -> dict[str, Any]:
        """Arranca, espera a que terminen y devuelve ``get_stats()``."""
        self.start(forever=forever, wait=True)
        return self.get_stats()

    def join(self, timeout: float | None = None) -> bool:
        """Espera a que terminen todos los workers; ``False`` si vence ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in self.threads)

    def stop(self, timeout: float | None = None) -> bool:
        """Parada ordenada: cada worker termina su tarea en curso; espera y devuelve ``join()``."""
        for worker in self.workers:
            worker.stop()
        return self.join(timeout) if self._started_at is not None else True

    def get_stats(self) -> dict[str, Any]:
        """Totales de todos los workers, el desglose por worker, el tiempo de reloj y el rendimiento."""
        per_worker = [worker.get_stats() for worker in self.workers]
        stats = merge_stats(per_worker)
        end = max(self._ends.values()) if len(self._ends) == self.size else self.clock()  # el último en acabar
        wall = 0.0 if self._started_at is None else end - self._started_at
        finished = stats["tasks_completed"] + stats["tasks_failed"]
        stats.update({"size": self.size, "kind": self.kind, "wall_time": wall,
                      "throughput": finished / wall if wall > 0 else 0.0,
                      "workers": {s["worker_id"]: s for s in per_worker}})
        return stats

    def health(self) -> dict[str, Any]:
        """La salud de cada worker y si todos están sanos."""
        reports = [worker.health() for worker in self.workers]
        return {"healthy": all(r["healthy"] for r in reports), "workers": {r["worker_id"]: r for r in reports}}

    def is_healthy(self) -> bool:
        """``True`` si todos los workers están sanos."""
        return self.health()["healthy"]

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} size={self.size} kind={self.kind}>"


class ProcessWorkerPool(WorkerPool):
    """``size`` workers cuyo trabajo corre en procesos separados (uno por worker); el resto, como ``WorkerPool``.

    ``queue_or_tasks``: una cola o una lista de payloads (van a una ``TaskQueue`` nueva, ``pool.queue``);
    ``start_method``: ``"forkserver"`` o ``"spawn"``. ``ValueError``/``TypeError`` si algo no es válido.
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
        """Arranca todos los procesos a la vez y espera a que estén listos (para medir sin el arranque)."""
        for worker in self.workers:
            worker.child.spawn()
        for worker in self.workers:
            try:
                worker.child.ensure_ready()
            except WorkerProcessError:
                pass  # se reintentará (y se explicará) en la primera tarea de ese worker

    def stop(self, timeout: float | None = None) -> bool:
        """Parada ordenada: cada worker termina su tarea en curso; a los ``timeout`` s, se corta por lo sano.

        Si al vencer ``timeout`` alguna tarea sigue en curso, se mata su proceso hijo (SIGTERM y, si
        no sale, SIGKILL): la tarea se marca como fallida (sin reintentos). Al volver, cada tarea está
        terminada, fallida o en la cola, y los hilos y procesos han salido (``True``; ``False`` solo
        si un worker sigue atascado fuera de su hijo, p. ej. en un ``process_task`` propio).
        """
        done = super().stop(timeout)
        if not done:
            for worker, thread in zip(self.workers, self.threads):
                if thread.is_alive():
                    worker.interrupt(f"el pool se detuvo (stop) y la tarea no terminó en {timeout:g} s")
            done = self.join(TERM_GRACE + 5.0)
        for worker in self.workers:
            worker.child.close()
        return done

    def terminate(self) -> None:
        """Parada inmediata: mata los procesos; sus tareas en curso se marcan como fallidas (sin reintentos)."""
        for worker in self.workers:
            worker.stop()
            worker.interrupt("detenido con terminate()")

    def pids(self) -> list[int | None]:
        """El pid del proceso hijo de cada worker (``None`` si no está vivo)."""
        return [worker.child.pid for worker in self.workers]
