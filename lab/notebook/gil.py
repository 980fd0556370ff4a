"""El GIL con Pillow: qué operaciones lo sueltan (y se aceleran con hilos) y cuáles no.

En CPython solo un hilo ejecuta bytecode de Python a la vez (el GIL). Los hilos se
aceleran igualmente cuando el trabajo pesado ocurre en C *con el GIL suelto*: Pillow lo
suelta (``ImagingSectionEnter`` en su código C) en los filtros de convolución (blur,
sharpen), el redimensionado, las tablas de ``Image.point``, la decodificación y la
codificación directa a un fichero. No lo suelta en ``Image.blend`` (que usa
``ImageEnhance.Brightness``/``Contrast``) ni al codificar a un ``BytesIO`` (el bucle de
codificación pasa por Python y cada trozo se hace con el GIL cogido).

``measure_gil`` mide una operación con 1 hilo frente a N hilos haciendo el mismo trabajo
total; ``plot_gil`` dibuja la tabla. ``compare_threads_processes`` responde a la pregunta de la
guía «¿por qué no usar multiprocessing?»: el mismo lote de imágenes con N workers en hilos
(``WorkerPool``) y en procesos (``ProcessWorkerPool``), con un pipeline que no suelta el GIL y
otro que sí; ``plot_pools`` lo dibuja. Son medidas reales: en una máquina cargada varían.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from matplotlib.figure import Figure
from PIL import Image, ImageEnhance, ImageFilter

from lab.checks import check_int
from lab.images import pattern_image, sample_images
from lab.notebook.cores import cpu_cores
from lab.notebook.plot_style import FONT, GREY, OKABE_ITO, legend_below, new_axes, style_axes

__all__ = ["OPERATIONS", "gil_image", "measure_gil", "gil_table", "plot_gil", "POOL_PIPELINES",
           "compare_threads_processes", "plot_pools"]


def _decode(image: Image.Image) -> Callable[[], Any]:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    raw = buffer.getvalue()

    def decode() -> None:
        with Image.open(io.BytesIO(raw)) as decoded:
            decoded.load()
    return decode


def _save_to_file(image: Image.Image) -> Callable[[], Any]:
    import os
    import tempfile

    def save() -> None:
        fd, path = tempfile.mkstemp(suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as stream:  # un fichero de verdad: Pillow codifica con el GIL suelto
                image.save(stream, "JPEG", quality=90)
        finally:
            os.unlink(path)
    return save


#: nombre → (¿suelta el GIL?, fábrica que recibe la imagen y devuelve la operación sin argumentos).
OPERATIONS: dict[str, tuple[bool, Callable[[Image.Image], Callable[[], Any]]]] = {
    "GaussianBlur(3)": (True, lambda im: lambda: im.filter(ImageFilter.GaussianBlur(3))),
    "SHARPEN": (True, lambda im: lambda: im.filter(ImageFilter.SHARPEN)),
    "resize (LANCZOS)": (True, lambda im: lambda: im.resize((im.width // 2, im.height // 2),
                                                              Image.Resampling.LANCZOS)),
    "decodificar JPEG": (True, _decode),
    "guardar JPEG en fichero": (True, _save_to_file),
    "ImageEnhance.Brightness (blend)": (False, lambda im: lambda: ImageEnhance.Brightness(im).enhance(1.3)),
    "JPEG a BytesIO": (False, lambda im: lambda: im.save(io.BytesIO(), "JPEG", quality=90)),
}


def gil_image(size: tuple[int, int] = (960, 540)) -> Image.Image:
    """Una foto de ejemplo redimensionada a ``size`` (o un degradado si no hay fotos)."""
    try:
        with Image.open(sample_images()[0]) as photo:
            return photo.convert("RGB").resize(size)
    except Exception:
        return pattern_image(size)


def _timed(operation: Callable[[], Any], calls: int, threads: int, clock: Callable[[], float]) -> float:
    """Segundos que tardan ``threads`` hilos en hacer ``calls`` llamadas cada uno."""
    def body() -> None:
        for _ in range(calls):
            operation()
    workers = [threading.Thread(target=body) for _ in range(threads)]
    start = clock()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return clock() - start


def measure_gil(name: str, image: Image.Image | None = None, threads: int = 2, calls: int | None = None,
                rounds: int = 3, target: float = 0.15,
                clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Mide la operación ``name`` de ``OPERATIONS``: 1 hilo frente a ``threads`` hilos, mismo trabajo.

    Con 1 hilo se hacen ``threads × calls`` llamadas seguidas; con ``threads`` hilos, ``calls``
    cada uno. Sin ``calls`` se elige para que cada medida dure unos ``target`` segundos. Se
    toma el mejor de ``rounds`` intentos (el menos perturbado por otros procesos). Devuelve
    ``{"operation", "releases_gil", "threads", "calls", "one_thread", "n_threads", "speedup"}``.
    Lanza ``ValueError`` si la operación no existe o ``threads``/``rounds`` no son >= 1.
    """
    if name not in OPERATIONS:
        raise ValueError(f"No conozco la operación {name!r}; las disponibles son: {', '.join(OPERATIONS)}.")
    for value, label in ((threads, "threads"), (rounds, "rounds")):
        check_int(value, label)
    releases, factory = OPERATIONS[name]
    operation = factory(image if image is not None else gil_image())
    operation()  # calentar (cachés, tablas)
    if calls is None:
        once = _timed(operation, 1, 1, clock)
        calls = max(1, min(200, round(target / threads / max(once, 1e-4))))
    one = min(_timed(operation, calls * threads, 1, clock) for _ in range(rounds))
    many = min(_timed(operation, calls, threads, clock) for _ in range(rounds))
    return {"operation": name, "releases_gil": releases, "threads": threads, "calls": calls,
            "one_thread": one, "n_threads": many, "speedup": one / many if many > 0 else 0.0}


def gil_table(names: list[str] | None = None, size: tuple[int, int] = (960, 540), threads: int = 2,
              **options: Any) -> list[dict[str, Any]]:
    """``measure_gil`` para varias operaciones (todas por defecto) sobre la misma imagen de ``size``."""
    image = gil_image(size)
    return [measure_gil(name, image, threads, **options) for name in (names or list(OPERATIONS))]


def plot_gil(rows: list[dict[str, Any]], cores: int | None = None) -> Figure:
    """Barras horizontales: el speedup con N hilos de cada operación, coloreado según suelte el GIL."""
    title = "¿Se acelera con hilos?"
    fig, ax = new_axes(None, (11, max(3.2 + 0.75 * len(rows), 4.5)))
    if not rows:
        ax.set_title(title)
        return fig
    colors = {True: OKABE_ITO["green"], False: OKABE_ITO["vermillion"]}
    labels = {True: "Suelta el GIL", False: "No suelta el GIL"}
    for i, row in enumerate(rows):
        ax.barh(i, row["speedup"], color=colors[row["releases_gil"]], height=0.65,
                label=labels[row["releases_gil"]])
        ax.text(row["speedup"] + 0.03, i, f"{row['speedup']:.2f}×", va="center", fontsize=FONT["bar"])
    threads = rows[0]["threads"]
    best = min(threads, cores) if cores else threads
    ax.axvline(1, color=GREY, linestyle="--", linewidth=2)
    ax.axvline(best, color=OKABE_ITO["blue"], linestyle=":", linewidth=2.5)
    ax.set_yticks(range(len(rows)), [row["operation"] for row in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(best, max(row["speedup"] for row in rows)) * 1.2)
    style_axes(ax, title, f"Speedup con {threads} hilos, mismo trabajo (azul: ideal {best}×)")
    ax.grid(axis="y", visible=False)
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    legend_below(ax, 2, handles=list(unique.values()), labels=list(unique.keys()))
    return fig


# --- ¿Hilos o procesos? ------------------------------------------------------------------

def _contrast_pipeline() -> Any:
    from lab.filters import ContrastFilter, FilterPipeline
    return FilterPipeline([ContrastFilter(factor=1.3)] * 4)


def _blur_pipeline() -> Any:
    from lab.filters import BlurFilter, FilterPipeline
    return FilterPipeline([BlurFilter(radius=3)])


#: nombre → (¿suelta el GIL?, fábrica del pipeline). El contraste usa ``ImageEnhance`` (``Image.blend``).
POOL_PIPELINES: dict[str, tuple[bool, Callable[[], Any]]] = {
    "contraste ×4 (ImageEnhance)": (False, _contrast_pipeline),
    "blur(3) (GaussianBlur)": (True, _blur_pipeline),
}


def _pool_wall(kind: str, size: int, pipeline: Any, inputs: list[Path], out_dir: Path) -> tuple[float, float]:
    """(segundos de trabajo, segundos de arranque de los procesos) de un pool sobre ``inputs``."""
    from lab.notebook.experiments import _logger
    from lab.workers import ProcessWorkerPool, TaskQueue, WorkerPool

    queue = TaskQueue()
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in inputs:
        queue.add_task({"image_path": str(path), "output_path": str(out_dir / path.name)})
    startup = 0.0
    if kind == "process":
        pool = ProcessWorkerPool(size, pipeline, queue, **_logger(True))
        start = time.perf_counter()
        pool.prestart()  # arrancar los procesos fuera del cronómetro (se informa aparte)
        startup = time.perf_counter() - start
    else:
        pool = WorkerPool(size, pipeline, queue, **_logger(True))
    try:
        stats = pool.run()
    finally:
        pool.stop()
    if stats["tasks_completed"] != len(inputs):
        raise RuntimeError(f"Solo se completaron {stats['tasks_completed']} de {len(inputs)} tareas con {kind}.")
    return stats["wall_time"], startup


def compare_threads_processes(n_images: int = 8, size: tuple[int, int] = (960, 540), workers: int | None = None,
                              rounds: int = 2, *, workload_dir: str | os.PathLike | None = None,
                              output_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """El mismo lote con 1 worker, con ``workers`` hilos y con ``workers`` procesos, por cada pipeline.

    ``workers`` es por defecto ``min(núcleos físicos, 4)`` (al menos 2). De cada caso se toma la mejor
    de ``rounds`` rondas. Devuelve ``{"workers", "cores", "n_images", "size", "startup", "rows"}``
    con una fila por pipeline de ``POOL_PIPELINES``: ``{"pipeline", "releases_gil", "one",
    "threads", "processes", "speedup_threads", "speedup_processes"}`` (segundos y speedups
    frente a 1 worker); ``startup`` es lo que tardó en arrancar los procesos la primera vez
    (fuera del cronómetro; después el *forkserver* ya tiene ``lab`` cargado y cuesta mucho menos).
    Lanza ``ValueError`` si algún argumento no vale.
    """
    import lab
    from lab.notebook.experiments import prepare_workload

    cores = cpu_cores().physical
    workers = check_int(workers if workers is not None else max(2, min(cores, 4)), "workers")
    check_int(rounds, "rounds")
    inputs = prepare_workload(n_images, size, workload_dir)
    out_root = Path(output_dir) if output_dir is not None else lab.OUTPUT_DIR / "experimentos" / "hilos-procesos"
    rows, startups = [], []
    for name, (releases, factory) in POOL_PIPELINES.items():
        pipeline = factory()
        best: dict[str, float] = {}
        for _ in range(rounds):
            for label, kind, size_ in (("one", "thread", 1), ("threads", "thread", workers),
                                       ("processes", "process", workers)):
                wall, startup = _pool_wall(kind, size_, pipeline, inputs, out_root / label)
                best[label] = min(wall, best.get(label, wall))
                if kind == "process":
                    startups.append(startup)
        rows.append({"pipeline": name, "releases_gil": releases, **best,
                     "speedup_threads": best["one"] / best["threads"],
                     "speedup_processes": best["one"] / best["processes"]})
    return {"workers": workers, "cores": cores, "n_images": n_images, "size": list(size),
            "startup": startups[0], "rows": rows}


def plot_pools(data: dict[str, Any]) -> Figure:
    """Barras del speedup frente a 1 worker: hilos y procesos, por pipeline, con el ideal en azul."""
    rows, workers, cores = data["rows"], data["workers"], data["cores"]
    fig, ax = new_axes(None, (11, 2.8 + 1.5 * len(rows)))
    best = min(workers, cores)
    height = 0.36
    for i, row in enumerate(rows):
        for offset, key, label, color in ((-height / 2, "speedup_threads", f"{workers} hilos", OKABE_ITO["orange"]),
                                          (height / 2, "speedup_processes", f"{workers} procesos",
                                           OKABE_ITO["blue"])):
            ax.barh(i + offset, row[key], height=height * 0.95, color=color, label=label if i == 0 else None)
            ax.text(row[key] + 0.03, i + offset, f"{row[key]:.2f}×", va="center", fontsize=FONT["bar"])
    ax.axvline(1, color=GREY, linestyle="--", linewidth=2)
    ax.axvline(best, color=OKABE_ITO["blue"], linestyle=":", linewidth=2.5)
    ax.set_yticks(range(len(rows)), [f"{row['pipeline']}\n{'suelta' if row['releases_gil'] else 'no suelta'} el GIL"
                                     for row in rows])
    ax.invert_yaxis()
    top = max([best] + [row[k] for row in rows for k in ("speedup_threads", "speedup_processes")])
    ax.set_xlim(0, top * 1.25)
    style_axes(ax, "¿Hilos o procesos?", f"Speedup frente a 1 worker (azul punteado: ideal {best}×)")
    ax.grid(axis="y", visible=False)
    legend_below(ax, 2)
    return fig
