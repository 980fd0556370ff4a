"""``WorkerPool``: varios workers sobre la misma cola, con estadísticas agregadas.

El pool no sabe *dónde* corren sus workers: se lo delega a un *runner* elegido por ``kind``.
Aquí está el de hilos (``"thread"``: ``SimpleWorker`` en ``threading.Thread``); otros tipos
(p. ej. ``"process"``) se añaden con ``register_runner(kind, clase)`` desde su propio módulo
(``_RUNNER_MODULES`` dice qué módulo importar la primera vez que se pide cada tipo).
Un runner recibe el pool y ofrece ``start(forever)``, ``join(timeout) -> bool``, ``stop()``,
``worker_stats() -> list[dict]``, ``health() -> list[dict]`` y ``end_times() -> list[float]``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
import time
from typing import Any, Callable

from lab.workers.queue_api import QueueAPI
from lab.workers.simple import SimpleWorker
from lab.workers.stats import merge_stats

_RUNNERS: dict[str, type] = {}
# Tipos cuyo runner vive en otro módulo: se importa la primera vez que se piden (y se registra solo).
_RUNNER_MODULES: dict[str, str] = {"process": "lab.workers.process_pool"}


def register_runner(kind: str, runner: type) -> None:
    """Registra la clase ``runner`` para ``WorkerPool(kind=kind)``."""
    _RUNNERS[kind] = runner


class ThreadRunner:
    """Cada worker del pool (un ``SimpleWorker`` por defecto) en su propio hilo."""

    def __init__(self, pool: "WorkerPool"):
        self.pool = pool
        self.workers = [pool.worker_class(worker_id, pool.pipeline, pool.queue, **pool.worker_options)
                        for worker_id in pool.worker_ids]
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, BaseException] = {}
        self._ends: dict[str, float] = {}

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


register_runner("thread", ThreadRunner)


class WorkerPool:
    """``size`` workers (``worker-1`` ... ``worker-N``) procesando la misma ``queue``.

    ``kind`` elige dónde corren (``"thread"`` por defecto); el resto de argumentos con nombre
    van a cada worker (``retry``, ``logger``...). Se puede usar con ``with``: al salir se
    detiene de forma ordenada. Lanza ``ValueError`` si ``size`` < 1 o ``kind`` no existe.
    """

    def __init__(self, size: int, pipeline: Any, queue: QueueAPI, *, kind: str = "thread",
                 worker_class: type = SimpleWorker, prefix: str = "worker",
                 clock: Callable[[], float] = time.perf_counter, **worker_options: Any):
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size debe ser un entero >= 1 y recibió {size!r}.")
        if kind not in _RUNNERS and kind in _RUNNER_MODULES:
            try:
                importlib.import_module(_RUNNER_MODULES[kind])
            except ModuleNotFoundError as exc:  # ese tipo aún no está implementado
                if exc.name != _RUNNER_MODULES[kind]:
                    raise
        if kind not in _RUNNERS:
            raise ValueError(f"Tipo de pool desconocido {kind!r}; los disponibles son: {', '.join(sorted(_RUNNERS))}.")
        self.size, self.pipeline, self.queue, self.kind = size, pipeline, queue, kind
        self.worker_class, self.worker_options, self.clock = worker_class, worker_options, clock
        self.worker_ids = [f"{prefix}-{i}" for i in range(1, size + 1)]
        self.runner = _RUNNERS[kind](self)
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
