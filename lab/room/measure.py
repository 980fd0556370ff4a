"""El speedup de un portátil, medido una vez al unirse: 1, 2... K procesos sobre tareas sintéticas.

Un solo ``ProcessPoolExecutor`` de K procesos, arrancados y calentados antes de medir (el arranque
no cuenta). Para ``k`` workers se mantienen exactamente ``k`` tareas en curso a la vez (los demás
procesos esperan) y se miden ``tasks_per_worker × k`` tareas: cada paso dura lo mismo y el ritmo
(tareas/s) de cada ``k`` se compara con el de 1 para dar el speedup. Son las mismas tareas que las
de la cola del aula (``synthetic.run_synthetic``), sin Redis de por medio.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import time
from typing import Any, Callable

from lab.checks import check_int
from lab.room.synthetic import make_payloads, run_synthetic

__all__ = ["measure_speedup", "MEASURE_SIZE", "TASKS_PER_WORKER", "MAX_MEASURED"]

MEASURE_SIZE = 512        # ~0,05 s por tarea en un núcleo: la medida entera tarda unos segundos
TASKS_PER_WORKER = 6
MAX_MEASURED = 16         # más workers alargan la medida sin enseñar nada nuevo


def _warm(_: int) -> float:
    """Primera tarea de cada proceso: importa Pillow y el pipeline (y lo tiene ocupado un momento)."""
    run_synthetic({"kind": "aula", "seed": 0, "size": 64})
    time.sleep(0.05)
    return time.perf_counter()


def _run_bounded(pool: futures.Executor, payloads: list[dict[str, Any]], in_flight: int) -> None:
    """Ejecuta ``payloads`` en ``pool`` con como mucho ``in_flight`` tareas en curso a la vez."""
    pending = iter(payloads)
    running = {pool.submit(run_synthetic, p) for _, p in zip(range(in_flight), pending)}
    while running:
        done, running = futures.wait(running, return_when=futures.FIRST_COMPLETED)
        for finished in done:
            finished.result()                    # un error de la tarea se relanza aquí
            following = next(pending, None)
            if following is not None:
                running.add(pool.submit(run_synthetic, following))


def measure_speedup(max_workers: int, *, size: int = MEASURE_SIZE, tasks_per_worker: int = TASKS_PER_WORKER,
                    on_step: Callable[[dict[str, Any]], Any] | None = None) -> list[dict[str, Any]]:
    """Mide el ritmo con 1..``max_workers`` procesos; devuelve un punto por tamaño.

    Cada punto: ``{"workers", "tasks", "wall_time", "tasks_per_second", "speedup"}`` (el speedup,
    respecto al punto de 1 worker). ``on_step(punto)`` se llama tras cada tamaño (para ir
    imprimiendo). Lanza ``ValueError`` si ``max_workers`` no está entre 1 y ``MAX_MEASURED``.
    """
    check_int(max_workers, "El número de workers de la medida", maximum=MAX_MEASURED)
    points: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")     # igual en Linux, macOS y Windows
    with futures.ProcessPoolExecutor(max_workers, mp_context=context) as pool:
        list(pool.map(_warm, range(max_workers * 2)))
        seed = 1
        for workers in range(1, max_workers + 1):
            count = tasks_per_worker * workers
            payloads = make_payloads(count, size, first_seed=seed)
            seed += count
            start = time.perf_counter()
            _run_bounded(pool, payloads, workers)
            wall = time.perf_counter() - start
            point = {"workers": workers, "tasks": count, "wall_time": wall, "tasks_per_second": count / wall}
            point["speedup"] = point["tasks_per_second"] / (points[0]["tasks_per_second"] if points else
                                                            point["tasks_per_second"])
            points.append(point)
            if on_step is not None:
                on_step(point)
    return points
