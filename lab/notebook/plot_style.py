"""El estilo de las gráficas del curso: colores, textos en español y letra grande para proyector.

Paleta Okabe–Ito (legible con daltonismo) y colores fijos por significado: las fases
carga / pipeline / guardado y los resultados completada / fallida / reencolada tienen
siempre el mismo color en todas las gráficas. ``presentation_style()`` aplica el estilo
solo dentro de un ``with``; no cambia la configuración global de matplotlib ni el backend.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import matplotlib
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
GREY = "#999999"

PHASE_COLORS = {"load": OKABE_ITO["sky_blue"], "pipeline": OKABE_ITO["blue"], "save": OKABE_ITO["purple"]}
PHASE_LABELS = {"load": "Carga", "pipeline": "Pipeline", "save": "Guardado"}

# Estados de la cola y resultados de cada tramo de trabajo (mismos colores para lo mismo).
STATE_COLORS = {"pending": GREY, "processing": OKABE_ITO["orange"],
                "completed": OKABE_ITO["green"], "failed": OKABE_ITO["vermillion"]}
STATE_LABELS = {"pending": "Pendientes", "processing": "En proceso",
                "completed": "Completadas", "failed": "Fallidas"}
OUTCOME_COLORS = {**STATE_COLORS, "requeued": OKABE_ITO["yellow"], "abandoned": OKABE_ITO["vermillion"]}
OUTCOME_HATCHES = {"requeued": "//", "abandoned": "xx"}
OUTCOME_LABELS = {"completed": "Completada", "failed": "Fallida", "requeued": "Reencolada (concesión perdida)",
                  "abandoned": "Abandonada", "processing": "En proceso"}

FONT = {"title": 22, "label": 18, "tick": 16, "legend": 15, "note": 15, "bar": 14}
LINE_WIDTH = 3.5
# Alto máximo de una figura (pulgadas a 100 ppp): con la leyenda, menos de 620 px, lo que deja ver una
# gráfica entera en una pantalla de 768 px de alto con las barras de JupyterLab y del navegador.
MAX_HEIGHT = 5.8
EMPTY_NOTE = "Sin datos todavía"

PRESENTATION_RC: dict[str, Any] = {
    "font.size": FONT["tick"], "axes.titlesize": FONT["title"], "axes.titleweight": "bold",
    "axes.labelsize": FONT["label"], "xtick.labelsize": FONT["tick"], "ytick.labelsize": FONT["tick"],
    "legend.fontsize": FONT["legend"], "legend.frameon": False, "lines.linewidth": LINE_WIDTH,
    "lines.markersize": 11, "axes.linewidth": 1.5, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.35, "grid.linewidth": 1.0, "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=[OKABE_ITO[c] for c in ("blue", "orange", "green", "vermillion",
                                                            "purple", "sky_blue", "yellow", "black")]),
    "figure.facecolor": "white", "savefig.facecolor": "white", "savefig.bbox": "tight", "figure.dpi": 100,
}


@contextlib.contextmanager
def presentation_style() -> Iterator[None]:
    """Aplica el estilo de proyector (letra grande, líneas gruesas, paleta Okabe–Ito) dentro del ``with``.

    Al salir, la configuración de matplotlib vuelve a ser la de antes.
    """
    with matplotlib.rc_context(PRESENTATION_RC):
        yield


def new_figure(figsize: tuple[float, float], nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """Una figura nueva con el estilo de proyector y sus ejes (``plt.subplots``), fuera de la lista de pyplot.

    Se crea con pyplot, nunca con ``Figure()``: al crear la primera figura, pyplot carga el
    backend del cuaderno (el *inline* de Jupyter), y es al cargarse cuando ese backend le dice a
    IPython que una ``Figure`` se muestra como imagen PNG. Una ``Figure()`` suelta en un kernel
    recién arrancado sale como el texto ``<Figure size ...>``. La altura se recorta a
    ``MAX_HEIGHT`` para que la gráfica quepa en una pantalla de 768 px. Después se quita de la
    lista de pyplot (``plt.close``): no se muestra dos veces ni se acumula en memoria; se ve al
    devolverla como última expresión de la celda o con ``display(fig)``.
    """
    width, height = figsize
    with presentation_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, min(height, MAX_HEIGHT)), layout="constrained",
                                 **kwargs)
    plt.close(fig)
    return fig, axes


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """La figura y los ejes donde dibujar: los de ``ax`` o unos nuevos de ``new_figure(figsize)``."""
    if ax is not None:
        return ax.figure, ax
    return new_figure(figsize)


def rows_height(rows: int, per_row: float, base: float) -> float:
    """Alto (pulgadas) para ``rows`` filas: ``base + per_row × rows``, entre 4 y ``MAX_HEIGHT``."""
    return min(max(base + per_row * rows, 4.0), MAX_HEIGHT)


def style_axes(ax: Axes, title: str, xlabel: str = "", ylabel: str = "") -> None:
    """Título, etiquetas y marcas con el tamaño de proyector, aunque los ejes vengan de fuera."""
    ax.set_title(title, fontsize=FONT["title"], fontweight="bold", loc="left", pad=14)
    ax.set_xlabel(xlabel, fontsize=FONT["label"])
    ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"], width=1.5, length=6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_axisbelow(True)


def legend_below(ax: Axes, ncols: int, handlelength: float = 1.6, **kwargs: Any) -> None:
    """Leyenda debajo de los ejes (bajo el título del eje x), fuera de los datos.

    La distancia va en unidades de letra, así no cambia con la altura de la figura. Con líneas
    discontinuas, ``handlelength`` (en unidades de letra) debe dejar ver el patrón entero.
    """
    pad = 4.6 if ax.get_xlabel() else 2.6
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=pad, ncols=ncols, frameon=False,
              fontsize=FONT["legend"], handlelength=handlelength, columnspacing=1.4, **kwargs)


def empty_note(ax: Axes, title: str, text: str = EMPTY_NOTE) -> Figure:
    """Deja los ejes vacíos con el título y una nota centrada ("Sin datos todavía")."""
    style_axes(ax, title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=FONT["title"], color=GREY, wrap=True)
    return ax.figure


def seconds_text(seconds: float) -> str:
    """Un tiempo corto legible: ``850 ms``, ``1.25 s``, ``3.4 min``."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
