"""Experimentos de la sesión: varios workers (speedup) y un ``AsyncWorker`` (concurrencia limitada).

Funciones normales que devuelven datos JSON (dicts, listas, números): los paneles de
``lab.notebook.widgets`` las llaman al pulsar «Ejecutar», los cuadernos las llaman directamente con
cargas pequeñas y los tests las comprueban sin navegador. Sus datos alimentan
``lab.notebook.plots.plot_speedup``, ``plot_timeline`` y ``plot_breakdown`` y ``lab.notebook.analysis``.

La carga se genera una sola vez con ``lab.images.make_workload`` en
``lab.OUTPUT_DIR/experimentos/`` y todas las ejecuciones procesan exactamente las mismas
imágenes. Los argumentos erróneos lanzan ``ValueError`` con un mensaje en español.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import lab
from lab.checks import check_int
from lab.filters import (BlurFilter, BrightnessFilter, FilterPipeline, GrayscaleFilter, ResizeFilter,
                         SharpenFilter)
from lab.core import process_image
from lab.images import make_workload
from lab.notebook import analysis
from lab.notebook.cores import cpu_cores
from lab.workers import AsyncWorker, TaskQueue, WorkerPool

__all__ = ["PIPELINES", "DEFAULT_PIPELINE", "pipeline_names", "make_pipeline", "prepare_workload",
           "run_workers_experiment", "run_async_experiment", "arun_async_experiment", "peak_overlap"]

Progress = Callable[[int, int], None]

#: Pipelines con nombre para el desplegable de los paneles (nombre → fábrica).
PIPELINES: dict[str, Callable[[], FilterPipeline]] = {
    "guía: blur(3) + brillo(1.3)": lambda: FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3)]),
    "pesado: blur(3) + brillo + sharpen": lambda: FilterPipeline(
        [BlurFilter(radius=3), BrightnessFilter(factor=1.3), SharpenFilter()]),
    "ligero: gris + resize": lambda: FilterPipeline([GrayscaleFilter(), ResizeFilter(scale=0.5)]),
}
DEFAULT_PIPELINE = "guía: blur(3) + brillo(1.3)"

# Cada cuánto se mira la cola para avanzar la barra de progreso (segundos).
_POLL = 0.05


def pipeline_names() -> list[str]:
    """Los nombres de ``PIPELINES``, en el orden del desplegable."""
    return list(PIPELINES)


def make_pipeline(pipeline: Any = DEFAULT_PIPELINE) -> Any:
    """Un pipeline a partir de su nombre en ``PIPELINES``; cualquier otro objeto se devuelve tal cual.

    Lanza ``ValueError`` si es un texto que no es ninguno de los nombres.
    """
    if isinstance(pipeline, str):
        if pipeline not in PIPELINES:
            raise ValueError(f"No hay ningún pipeline llamado {pipeline!r}; los disponibles son: "
                             f"{', '.join(PIPELINES)}.")
        return PIPELINES[pipeline]()
    return pipeline


def _describe(pipeline: Any, given: Any) -> str:
    if isinstance(given, str):
        return given
    return pipeline.describe() if hasattr(pipeline, "describe") else type(pipeline).__name__


def _check_int(value: Any, name: str, minimum: int = 1) -> int:
    return check_int(value, name, minimum=minimum)


def prepare_workload(n_images: int, size: tuple[int, int], folder: str | os.PathLike | None = None) -> list[Path]:
    """Las ``n_images`` imágenes de entrada de ``size`` (generadas una vez y reutilizadas).

    Por defecto van a ``lab.OUTPUT_DIR/experimentos/entradas-ANCHOxALTO-nN``: una carpeta por
    carga, para que dos experimentos distintos nunca se pisen. Lanza los errores de
    ``lab.images.make_workload``.
    """
    _check_int(n_images, "n_images")
    width, height = size
    if folder is None:
        folder = lab.OUTPUT_DIR / "experimentos" / f"entradas-{width}x{height}-n{n_images}"
    return make_workload(folder, n=n_images, size=(width, height))


def _add_tasks(queue: TaskQueue, inputs: list[Path], out_dir: Path) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [queue.add_task({"image_path": str(path), "output_path": str(out_dir / path.name)}) for path in inputs]


def _task_results(queue: TaskQueue) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Los resultados de las tareas completadas (con ``task_id`` y ``worker_id``) y los fallos."""
    results, failures = [], []
    for task in queue.tasks():
        if task.state.value == "completed":
            results.append({"task_id": task.id, "worker_id": task.worker_id, **(task.result or {})})
        elif task.state.value == "failed":
            failures.append({"task_id": task.id, "worker_id": task.worker_id, "error": task.error})
    return results, failures


def _events(queue: TaskQueue) -> list[dict[str, Any]]:
    return [event.to_dict() for event in queue.timeline()]


class _Progress:
    """Cuenta tareas terminadas entre varias ejecuciones y avisa a ``callback(hechas, total)``."""

    def __init__(self, callback: Progress | None, total: int):
        self.callback, self.total, self.base, self.last = callback, total, 0, -1

    def report(self, finished_in_run: int) -> None:
        done = min(self.base + finished_in_run, self.total)
        if self.callback is not None and done != self.last:
            self.last = done
            self.callback(done, self.total)

    def next_run(self, finished_in_run: int) -> None:
        self.report(finished_in_run)
        self.base += finished_in_run


def _logger(quiet: bool) -> dict[str, Any]:
    """Las opciones de worker para silenciar sus logs (escribir en Jupyter también cuesta tiempo)."""
    if not quiet:
        return {}
    logger = logging.getLogger("lab.notebook.experiments.silencio")
    logger.propagate = False
    logger.setLevel(logging.CRITICAL + 1)
    return {"logger": logger}


def _finished(queue: TaskQueue) -> int:
    stats = queue.get_stats()
    return stats["completed"] + stats["failed"]


def _slim_worker_stats(stats: dict[str, Any]) -> dict[str, Any]:
    keys = ("tasks_completed", "tasks_failed", "total_processing_time", "load_time", "pipeline_time",
            "save_time", "retries", "lease_lost")
    return {key: stats.get(key) for key in keys}


def _one_pool_run(n: int, pipeline: Any, inputs: list[Path], out_dir: Path, kind: str,
                  progress: _Progress, clock: Callable[[], float], quiet: bool) -> dict[str, Any]:
    queue = TaskQueue()
    _add_tasks(queue, inputs, out_dir)
    pool = WorkerPool(n, pipeline, queue, kind=kind, clock=clock, **_logger(quiet))
    pool.start(wait=False)
    while not pool.join(timeout=_POLL):
        progress.report(_finished(queue))
    stats = pool.get_stats()
    progress.next_run(_finished(queue))
    results, failures = _task_results(queue)
    return {"workers": n, "wall_time": stats["wall_time"], "tasks": len(inputs),
            "completed": stats["tasks_completed"], "failed": stats["tasks_failed"],
            "throughput": stats["throughput"], "audit": queue.audit(),
            "per_worker": {wid: _slim_worker_stats(s) for wid, s in stats["workers"].items()},
            "timeline": _events(queue), "results": results, "failures": failures}


def run_workers_experiment(worker_counts: Iterable[int] = (1, 2, 3, 4), n_images: int = 12,
                           size: tuple[int, int] = (1920, 1080), pipeline: Any = DEFAULT_PIPELINE,
                           repeats: int = 1, on_progress: Progress | None = None, kind: str = "thread", *,
                           workload_dir: str | os.PathLike | None = None,
                           output_dir: str | os.PathLike | None = None, quiet: bool = True,
                           clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Procesa las mismas ``n_images`` con un ``WorkerPool`` de cada tamaño de ``worker_counts``.

    Con ``repeats`` > 1 las rondas se intercalan (1, 2, 4, 1, 2, 4...) para que el ruido de la
    máquina reparta igual entre tamaños. ``on_progress(hechas, total)`` se llama cada vez que
    avanza el número de tareas terminadas (``total`` = imágenes × tamaños × repeticiones).
    ``kind`` es el tipo de pool (``"thread"`` o ``"process"``); con ``quiet`` (por defecto) los
    workers no escriben logs, que en Jupyter también cuestan tiempo (los fallos quedan en
    ``failures``). Devuelve ``{"cores", "kind", "pipeline",
    "n_images", "size", "worker_counts", "repeats", "runs": [...], "timelines": {n: eventos},
    "results": {n: resultados}, "failures": {n: fallos}, "summary": filas de
    analysis.summarise_runs, "serial_fraction": f o None, "amdahl": analysis.amdahl_estimate
    (con su rango por rondas y si es fiable) o None}``; ``timelines``, ``results`` y
    ``failures`` son los de la última ronda, con el número de workers como clave (entera; tras
    un viaje por JSON pasa a texto); ``cores`` son los núcleos físicos (``cpu_cores().physical``), los
    del ideal. Lanza ``ValueError`` si algún argumento no vale.
    """
    counts = [_check_int(n, "Cada número de workers") for n in worker_counts]
    if not counts:
        raise ValueError("worker_counts no puede estar vacío: indica al menos un número de workers.")
    if len(set(counts)) != len(counts):
        raise ValueError(f"worker_counts tiene números repetidos ({counts}); usa repeats para repetir.")
    _check_int(repeats, "repeats")
    given, pipeline = pipeline, make_pipeline(pipeline)
    inputs = prepare_workload(n_images, size, workload_dir)
    out_root = Path(output_dir) if output_dir is not None else lab.OUTPUT_DIR / "experimentos" / "salidas"
    progress = _Progress(on_progress, n_images * len(counts) * repeats)
    progress.report(0)
    # Calentamiento fuera de cronómetro: la primera imagen paga la primera carga de Pillow y de
    # la memoria; sin esto la ronda de 1 worker sale lenta y el speedup parece superlineal.
    try:
        process_image(inputs[0], out_root / "calentamiento" / Path(inputs[0]).name, pipeline)
    except Exception:  # noqa: BLE001 - un pipeline roto se informa en las rondas medidas, tarea a tarea
        pass
    runs, last = [], {}
    for round_number in range(1, repeats + 1):
        for n in counts:
            run = _one_pool_run(n, pipeline, inputs, out_root / f"{n}-workers", kind, progress, clock, quiet)
            run["repeat"] = round_number
            last[n] = run
            runs.append({k: v for k, v in run.items() if k not in ("timeline", "results", "failures")})
    cores = cpu_cores().physical
    summary = analysis.summarise_runs(runs) if all(r["wall_time"] > 0 for r in runs) else []
    amdahl = analysis.amdahl_estimate(runs, cores) if summary else None
    return {"cores": cores, "kind": kind, "pipeline": _describe(pipeline, given), "n_images": n_images,
            "size": list(size), "worker_counts": counts, "repeats": repeats, "runs": runs,
            "timelines": {n: last[n]["timeline"] for n in counts},
            "results": {n: last[n]["results"] for n in counts},
            "failures": {n: last[n]["failures"] for n in counts},
            "summary": summary, "serial_fraction": amdahl and amdahl["fraction"], "amdahl": amdahl}


# --- AsyncWorker -------------------------------------------------------------------------

def peak_overlap(events: Iterable[Any]) -> int:
    """Cuántas tareas llegaron a estar en proceso a la vez según los eventos de la cola."""
    intervals = analysis.intervals_from_timeline(events)
    points = sorted([(iv.start, 1) for iv in intervals] + [(iv.end, -1) for iv in intervals])
    current = peak = 0
    for _, step in points:  # en un empate, -1 va antes que +1: una tarea que acaba no se solapa con la siguiente
        current += step
        peak = max(peak, current)
    return peak


async def arun_async_experiment(max_concurrent: int = 3, n_tasks: int = 6, size: tuple[int, int] = (960, 540),
                                pipeline: Any = DEFAULT_PIPELINE, on_progress: Progress | None = None, *,
                                workload_dir: str | os.PathLike | None = None,
                                output_dir: str | os.PathLike | None = None, quiet: bool = True) -> dict[str, Any]:
    """Versión ``await`` de ``run_async_experiment`` (para un cuaderno: ``await arun_async_experiment()``)."""
    _check_int(max_concurrent, "max_concurrent")
    _check_int(n_tasks, "n_tasks")
    given, pipeline = pipeline, make_pipeline(pipeline)
    inputs = prepare_workload(n_tasks, size, workload_dir)
    out_dir = Path(output_dir) if output_dir is not None else lab.OUTPUT_DIR / "experimentos" / "async"
    queue = TaskQueue()
    _add_tasks(queue, inputs, out_dir)
    worker = AsyncWorker("worker-async", pipeline, queue, max_concurrent=max_concurrent, **_logger(quiet))
    progress = _Progress(on_progress, n_tasks)
    progress.report(0)
    start = time.perf_counter()
    job = asyncio.ensure_future(worker.start())
    while not job.done():
        await asyncio.wait([job], timeout=_POLL)
        progress.report(_finished(queue))
    job.result()  # relanza el error del worker, si lo hubo
    wall = time.perf_counter() - start
    progress.report(_finished(queue))
    results, failures = _task_results(queue)
    timeline = _events(queue)
    stats = worker.get_stats()
    return {"max_concurrent": max_concurrent, "n_tasks": n_tasks, "size": list(size),
            "pipeline": _describe(pipeline, given), "wall_time": wall,
            "completed": stats["tasks_completed"], "failed": stats["tasks_failed"],
            "peak_concurrency": worker.peak_concurrency, "peak_overlap": peak_overlap(timeline),
            "timeline": timeline, "results": results, "failures": failures, "audit": queue.audit()}


def run_async_experiment(max_concurrent: int = 3, n_tasks: int = 6, size: tuple[int, int] = (960, 540),
                         pipeline: Any = DEFAULT_PIPELINE, on_progress: Progress | None = None,
                         **options: Any) -> dict[str, Any]:
    """Un ``AsyncWorker`` procesa ``n_tasks`` imágenes, como mucho ``max_concurrent`` a la vez.

    Funciona tanto en un script como en Jupyter: si en este hilo ya hay un bucle de eventos en
    marcha (el del cuaderno), el experimento corre en un bucle nuevo dentro de otro hilo y se
    espera a que acabe. Devuelve ``{"max_concurrent", "n_tasks", "wall_time", "completed",
    "failed", "peak_concurrency", "peak_overlap", "timeline", "results", "failures",
    "audit", ...}``. Lanza ``ValueError`` si algún argumento no vale.
    """
    coroutine = arun_async_experiment(max_concurrent, n_tasks, size, pipeline, on_progress, **options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["data"] = asyncio.run(coroutine)
        except BaseException as exc:  # se relanza en el hilo que llamó
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="experimento-async", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["data"]
