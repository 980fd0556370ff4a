"""El GIL con Pillow: qué operaciones lo sueltan (y se aceleran con hilos) y cuáles no.

En CPython solo un hilo ejecuta bytecode de Python a la vez (el GIL). Los hilos se
aceleran igualmente cuando el trabajo pesado ocurre en C *con el GIL suelto*: Pillow lo
suelta (``ImagingSectionEnter`` en su código C) en los filtros de convolución (blur,
sharpen), el redimensionado, las tablas de ``Image.point``, la decodificación y la
codificación directa a un fichero. No lo suelta en ``Image.blend`` (que usa
``ImageEnhance.Brightness``/``Contrast``) ni al codificar a un ``BytesIO`` (el bucle de
codificación pasa por Python y cada trozo se hace con el GIL cogido).

``measure_gil`` mide una operación con 1 hilo frente a N hilos haciendo el mismo trabajo
total; ``plot_gil`` dibuja la tabla. Son medidas reales: en una máquina cargada varían.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any, Callable

from matplotlib.figure import Figure
from PIL import Image, ImageEnhance, ImageFilter

from lab.checks import check_int
from lab.images import pattern_image, sample_images
from lab.plot_style import FONT, GREY, OKABE_ITO, legend_below, new_axes, style_axes

__all__ = ["OPERATIONS", "gil_image", "measure_gil", "gil_table", "plot_gil"]


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
