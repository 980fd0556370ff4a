"""Las tres demos de la guía: ``python -m lab demo simple|async|multiple|all``.

- ``simple``: un ``SimpleWorker`` procesa 3 tareas una detrás de otra.
- ``async``: un ``AsyncWorker`` procesa 6 tareas, como mucho 3 a la vez.
- ``multiple``: 3 workers procesan 12 tareas; el speedup se mide en la misma ejecución frente
  a 1 worker con las mismas tareas.

Las entradas salen de las fotos de ``images/`` (``lab.images``), ampliadas a ``--size``
(1920x1080 por defecto, ~0,2 s por tarea como en la guía) o tal cual con ``--size original``.
Las salidas van a ``output/``. Ctrl-C detiene la demo de forma ordenada: las tareas en curso
terminan y se marcan.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import unicodedata
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from lab.core import FilterPipeline
from lab.filters import BlurFilter, BrightnessFilter, SharpenFilter
from lab.images import make_workload, sample_images
from lab.notebook.cores import cpu_cores
from lab.workers import AsyncWorker, SimpleWorker, TaskQueue, WorkerPool
from lab.workers.logs import configure_logging
from lab.workers.service import run_stoppable

DEMOS = ("simple", "async", "multiple")
DEFAULT_SIZE = (1920, 1080)

Printer = Callable[[str], None]


def demo_pipeline() -> FilterPipeline:
    """El pipeline de las demos: los dos filtros de la guía más un enfoque (3 filtros)."""
    return FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3), SharpenFilter()])


def demo_inputs(n: int, images_dir: str | os.PathLike | None, output_dir: str | os.PathLike,
                size: tuple[int, int] | None = DEFAULT_SIZE) -> list[Path]:
    """``n`` imágenes de entrada: las fotos de ``images_dir`` ampliadas a ``size`` (o tal cual si ``None``).

    Lanza ``ImageNotFoundError`` si la carpeta no tiene fotos ``photo*.jpg``.
    """
    photos = sample_images(images_dir)
    if size is None:
        return [photos[i % len(photos)] for i in range(n)]
    folder = Path(output_dir) / f"entradas-{size[0]}x{size[1]}"
    return make_workload(folder, n=n, size=size, sources=photos)


def make_tasks(queue: TaskQueue, inputs: list[Path], output_dir: Path) -> list[str]:
    """Añade una tarea por entrada (salida ``output_dir/<nombre>-<n>.jpg``); devuelve los ids."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return [queue.add_task({"image_path": str(path), "output_path": str(output_dir / f"{path.stem}-{i:02d}.jpg")})
            for i, path in enumerate(inputs, 1)]


def run_interruptibly(target: Callable[[], Any], stop: Callable[[], Any], out: Printer = print) -> None:
    """Ejecuta ``target`` con ``run_stoppable``: Ctrl-C llama a ``stop()`` y espera lo que está en curso.

    Relanza la excepción de ``target`` si la hubo y ``KeyboardInterrupt`` si se interrumpió.
    """
    if run_stoppable(target, stop, say=out, name="demo") is not None:
        raise KeyboardInterrupt


def summarize(stats: dict[str, Any], total: int, wall: float) -> dict[str, Any]:
    """Las cifras del resumen de la guía a partir de ``get_stats()`` y el tiempo total de reloj."""
    done = stats["tasks_completed"]
    results = [r for r in stats.get("results", []) if r.get("status") == "completed"]
    if not results and "workers" in stats:
        results = [r for w in stats["workers"].values() for r in w["results"] if r.get("status") == "completed"]
    first_load = results[0]["load"] if results else 0.0
    return {"total": total, "completed": done, "failed": stats["tasks_failed"], "wall_time": wall,
            "average_time": wall / total if total else 0.0, "success_rate": stats["success_rate"],
            "first_load": first_load,
            "load": stats["load_time"] / done if done else 0.0,
            "pipeline": stats["pipeline_time"] / done if done else 0.0,
            "save": stats["save_time"] / done if done else 0.0}


def display_width(text: str) -> int:
    """Columnas que ocupa ``text`` en una terminal: los emoji y caracteres anchos cuentan 2.

    Los caracteres que se combinan no ocupan nada, y un símbolo seguido del selector de
    presentación emoji (U+FE0F, p. ej. «⏱️») se dibuja ancho: cuenta 2.
    """
    width, last = 0, 0
    for char in text:
        if char == "\ufe0f":
            width += 2 - last
            last = 2
            continue
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        last = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        width += last
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)


def format_results(summary: dict[str, Any], n_filters: int) -> str:
    """La tabla de resultados y el desglose de tiempos, como en la guía (alineada por ancho en pantalla)."""
    rows = [("Total de tareas", f"{summary['total']}"),
            ("Completadas", f"{summary['completed']} ✅"),
            ("Fallidas", f"{summary['failed']}" + (" ❌" if summary["failed"] else "")),
            ("Tiempo total", f"{summary['wall_time']:.3f}s"),
            ("Tiempo promedio", f"{summary['average_time']:.3f}s por tarea"),
            ("Tasa de éxito", f"{summary['success_rate']:.1%}")]
    width = max(display_width(label) for label, _ in rows)
    value_width = max(display_width("Valor"), *(display_width(value) for _, value in rows))
    lines = ["", "📊 Resultados", f"| {_pad('Métrica', width)} | {_pad('Valor', value_width)} |",
             f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|"]
    lines += [f"| {_pad(label, width)} | {_pad(value, value_width)} |" for label, value in rows]
    lines += ["", "⏱️  Desglose de tiempos (media por tarea):",
              f"- Carga de imagen: {summary['load']:.3f}s (primera vez: {summary['first_load']:.3f}s)",
              f"- Pipeline ({n_filters} filtros): ~{summary['pipeline']:.3f}s",
              f"- Guardado: ~{summary['save']:.3f}s"]
    return "\n".join(lines)


def demo_simple(images_dir=None, output_dir="output", *, size=DEFAULT_SIZE, out: Printer = print) -> dict[str, Any]:
    """Demo 1: un ``SimpleWorker`` procesa 3 tareas en secuencia; devuelve el resumen."""
    out("🔧 Demo 1: SimpleWorker procesando 3 tareas en secuencia")
    pipeline, queue = demo_pipeline(), TaskQueue()
    make_tasks(queue, demo_inputs(3, images_dir, output_dir, size), Path(output_dir) / "simple")
    worker = SimpleWorker("worker-1", pipeline, queue)
    start = time.perf_counter()
    run_interruptibly(worker.start, worker.stop, out)
    summary = summarize(worker.get_stats(), 3, time.perf_counter() - start)
    out(format_results(summary, len(pipeline.filters)))
    out(f"{'✅' if worker.is_healthy() else '❌'} Worker {'saludable' if worker.is_healthy() else 'no saludable'}")
    return summary


def demo_async(images_dir=None, output_dir="output", *, size=DEFAULT_SIZE, out: Printer = print) -> dict[str, Any]:
    """Demo 2: un ``AsyncWorker`` procesa 6 tareas, como mucho 3 a la vez; devuelve el resumen."""
    out("⚡ Demo 2: AsyncWorker procesando 6 tareas (máximo 3 a la vez)")
    pipeline, queue = demo_pipeline(), TaskQueue()
    make_tasks(queue, demo_inputs(6, images_dir, output_dir, size), Path(output_dir) / "async")
    worker = AsyncWorker("worker-async", pipeline, queue, max_concurrent=3)
    start = time.perf_counter()
    run_interruptibly(lambda: asyncio.run(worker.start()), worker.stop, out)
    summary = summarize(worker.get_stats(), 6, time.perf_counter() - start)
    summary["peak_concurrency"] = worker.peak_concurrency
    out(format_results(summary, len(pipeline.filters)))
    out(f"\n🔀 Concurrencia máxima observada: {worker.peak_concurrency} tareas a la vez (límite 3)")
    return summary


def _pool_run(size: int, pipeline: FilterPipeline, inputs: list[Path], output_dir: Path,
              out: Printer, kind: str = "thread") -> tuple[WorkerPool, float]:
    queue = TaskQueue()
    make_tasks(queue, inputs, output_dir)
    pool = WorkerPool(size, pipeline, queue, kind=kind)
    start = time.perf_counter()
    run_interruptibly(pool.start, pool.stop, out)
    return pool, time.perf_counter() - start


def demo_multiple(images_dir=None, output_dir="output", *, size=DEFAULT_SIZE, kind: str = "thread",
                  out: Printer = print) -> dict[str, Any]:
    """Demo 3: 3 workers procesan 12 tareas; mide el speedup frente a 1 worker con las mismas tareas.

    ``kind`` es el tipo de ``WorkerPool``: ``"thread"`` (hilos, el de la sesión 3) o ``"process"``.
    """
    where = "hilos" if kind == "thread" else "procesos" if kind == "process" else kind
    out(f"👥 Demo 3: 3 workers procesando 12 tareas en paralelo ({where})")
    pipeline = demo_pipeline()
    inputs = demo_inputs(12, images_dir, output_dir, size)
    out("\n— Referencia: 1 worker con las mismas 12 tareas —")
    _, wall_one = _pool_run(1, pipeline, inputs, Path(output_dir) / "multiple-1", out, kind)
    out("\n— 3 workers —")
    pool, wall = _pool_run(3, pipeline, inputs, Path(output_dir) / "multiple-3", out, kind)
    stats = pool.get_stats()
    summary = summarize(stats, 12, wall)
    summary.update({"wall_time_one_worker": wall_one, "speedup": wall_one / wall if wall > 0 else 0.0})
    out(format_results(summary, len(pipeline.filters)))
    out("\n👷 Reparto entre workers:")
    for worker_id, worker_stats in stats["workers"].items():
        out(f"- {worker_id}: {worker_stats['tasks_completed']} completadas, {worker_stats['tasks_failed']} fallidas")
    cores = cpu_cores()
    out(f"\n🚀 Speedup: {summary['speedup']:.2f}x (1 worker: {wall_one:.3f}s → 3 workers: {wall:.3f}s; "
        f"esta máquina: {cores.physical} núcleos físicos, {cores.logical} lógicos; ideal {min(3, cores.physical)}x)")
    summary["kind"] = kind
    if summary["speedup"] < 1.5 and kind == "thread":
        out("ℹ️  Con hilos, las partes en Python (y operaciones de Pillow que no sueltan el GIL, como "
            "ImageEnhance o codificar a BytesIO) se ejecutan de una en una; el speedup también depende de que "
            "los núcleos estén libres. Con procesos (sesión 5; aquí: --kind process) cada worker tiene su propio "
            "intérprete.")
    return summary


def parse_size(text: str) -> tuple[int, int] | None:
    """``"1920x1080"`` → ``(1920, 1080)``; ``"original"`` → ``None``. Lanza ``ValueError`` si no encaja."""
    if text == "original":
        return None
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"Tamaño no válido {text!r}: usa ANCHOxALTO (p. ej. 1920x1080) u 'original'.") from None
    if width < 1 or height < 1:
        raise ValueError(f"Tamaño no válido {text!r}: ancho y alto deben ser >= 1.")
    if width * height > Image.MAX_IMAGE_PIXELS:  # load_image la rechazaría (y generarla agota la memoria)
        raise ValueError(f"Tamaño no válido {text!r}: como mucho {Image.MAX_IMAGE_PIXELS} píxeles "
                         "(Image.MAX_IMAGE_PIXELS), p. ej. 1920x1080.")
    return width, height


def _size_option(text: str) -> tuple[int, int] | None:
    """``parse_size`` para argparse: su frase en el error de uso (no «valor no válido para parse_size»)."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_demo(name: str, images_dir=None, output_dir="output", *, size=DEFAULT_SIZE, json_logs: bool = False,
             kind: str = "thread", out: Printer = print) -> list[dict[str, Any]]:
    """Ejecuta la demo ``name`` (o las tres con ``"all"``) y devuelve sus resúmenes.

    Lanza ``ValueError`` si la demo no existe.
    """
    names = DEMOS if name == "all" else (name,)
    if any(n not in DEMOS for n in names):
        raise ValueError(f"Demo desconocida {name!r}; las disponibles son: {', '.join(DEMOS)} o all.")
    configure_logging(json=json_logs)
    functions = {"simple": demo_simple, "async": demo_async, "multiple": demo_multiple}
    summaries = []
    for i, demo in enumerate(names):
        if i:
            out("\n" + "=" * 60 + "\n")
        options = {"kind": kind} if demo == "multiple" else {}
        summaries.append(functions[demo](images_dir, output_dir, size=size, out=out, **options))
    return summaries


def add_parser(subparsers: Any) -> None:
    """Registra la orden ``demo`` en la CLI (``python -m lab demo ...``)."""
    parser = subparsers.add_parser("demo", help="ejecuta las demos de la guía (simple, async, multiple o all)",
                                   description="Ejecuta las demos de la guía de la sesión 3.")
    parser.add_argument("name", nargs="?", default="all", choices=(*DEMOS, "all"),
                        help="qué demo ejecutar (sin indicarla, all: las tres seguidas, como make demo)")
    parser.add_argument("--images-dir", default=None, help="carpeta con las fotos photo*.jpg (por defecto images/)")
    parser.add_argument("--output-dir", default="output", help="carpeta de salida (por defecto output/)")
    parser.add_argument("--size", type=_size_option, default=DEFAULT_SIZE, metavar="ANCHOxALTO",
                        help="tamaño de las imágenes de entrada (por defecto 1920x1080; 'original' = las fotos tal cual)")
    parser.add_argument("--json-logs", action="store_true", help="logs en líneas JSON en vez del formato de la guía")
    parser.add_argument("--kind", choices=("thread", "process"), default="thread",
                        help="demo multiple: workers en hilos (por defecto) o en procesos")
    parser.set_defaults(func=_main)


def _main(args: Any) -> int:
    run_demo(args.name, args.images_dir, args.output_dir, size=args.size, json_logs=args.json_logs, kind=args.kind)
    return 0
