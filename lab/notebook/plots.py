"""Las gráficas de la sesión: desglose de tiempos, línea de tiempo, speedup, estados de la cola y salud.

``plot_health`` vive en ``lab.notebook.plots_health`` y ``plot_backoff`` (los reintentos de muchos clientes,
con y sin *jitter*) en ``lab.notebook.plots_backoff``; las dos se importan también desde aquí.

Cada función recibe datos (resultados, eventos de la cola, ejecuciones) y devuelve una
``matplotlib.figure.Figure`` con textos en español, letra de proyector y la paleta de
``lab.notebook.plot_style``. Con ``ax=`` dibuja en unos ejes ya creados (para componer varias
gráficas). Sin datos dibuja una gráfica vacía con la nota "Sin datos todavía". Los errores
de datos mal formados son los de ``lab.notebook.analysis`` (``TypeError``/``ValueError`` en español).

En un cuaderno, la figura se ve si la llamada es la última expresión de la celda o con
``display(fig)``; ``_ = plot_...(...)`` no muestra nada.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from lab.checks import check_count
from lab.notebook import analysis
from lab.notebook.plots_backoff import plot_backoff
from lab.notebook.plots_health import plot_health
from lab.notebook.plot_style import (FONT, GREY, LINE_WIDTH, MAX_HEIGHT, OKABE_ITO, OUTCOME_COLORS,
                                     OUTCOME_HATCHES, OUTCOME_LABELS, PHASE_COLORS, PHASE_LABELS, STATE_COLORS,
                                     STATE_LABELS, empty_note, legend_below, new_axes, presentation_style,
                                     rows_height, seconds_text, style_axes)

__all__ = ["plot_breakdown", "plot_filter_breakdown", "plot_timeline", "plot_speedup",
           "plot_queue_states", "plot_health", "plot_backoff", "presentation_style"]


_LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}
# Filas con nombre y total legibles a letra de proyector en una figura de alto MAX_HEIGHT.
_READABLE_ROWS = 14


def _percent(share: float) -> str:
    value = share * 100
    return f"{value:.0f} %" if value >= 9.5 or value == 0 else f"{value:.1f} %"


def plot_breakdown(results: Iterable[Any], ax: Axes | None = None) -> Figure:
    """Barras horizontales apiladas por tarea: carga, pipeline y guardado, con el total al final.

    La leyenda da qué parte del tiempo total se va en cada fase.
    """
    rows = sorted(analysis.breakdown_rows(results), key=lambda row: analysis.natural_key(row["label"]))
    title = "Desglose del tiempo por tarea"
    fig, ax = new_axes(ax, (11, rows_height(len(rows), 0.4, 2.6)))
    if not rows:
        return empty_note(ax, title)
    grand_total = sum(row["total"] for row in rows)
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for phase in analysis.PHASES:
        widths = np.array([row[phase] for row in rows])
        share = widths.sum() / grand_total if grand_total else 0.0
        ax.barh(y, widths, left=left, height=0.72, color=PHASE_COLORS[phase], edgecolor="white",
                linewidth=1 if len(rows) <= 2 * _READABLE_ROWS else 0,
                label=f"{PHASE_LABELS[phase]} ({_percent(share)})")
        left += widths
    longest = max(row["total"] for row in rows) or 1.0
    many = len(rows) > _READABLE_ROWS  # con muchas tareas, solo algunos números (task-0007 → 7) y sin totales
    if not many:
        for yi, row in zip(y, rows):
            ax.text(row["total"] + longest * 0.01, yi, seconds_text(row["total"]), va="center",
                    fontsize=FONT["bar"])
    ax.set_xlim(0, longest * 1.16)
    step = -(-len(rows) // _READABLE_ROWS)
    ax.set_yticks(y[::step], [_short_task(row["label"]) if many else row["label"] for row in rows[::step]])
    ax.invert_yaxis()
    style_axes(ax, title, "Tiempo (s)", "Tarea" if many else "")
    ax.grid(axis="y", visible=False)
    legend_below(ax, 3)
    return fig


def plot_filter_breakdown(result_or_results: Any, ax: Axes | None = None) -> Figure:
    """Tiempo de cada filtro del pipeline, en orden; con varios resultados, media y rango mín–máx."""
    single = isinstance(result_or_results, Mapping) or hasattr(result_or_results, "to_dict")
    results = [result_or_results] if single else list(result_or_results)
    rows = analysis.filter_times(results)
    title = "Tiempo por filtro del pipeline"
    fig, ax = new_axes(ax, (11, rows_height(len(rows), 0.7, 2.6)))
    if not rows:
        return empty_note(ax, title)
    scale, unit = (1000.0, "ms") if max(row["max"] for row in rows) < 1 else (1.0, "s")
    y = np.arange(len(rows))
    means = np.array([row["mean"] for row in rows]) * scale
    several = len(results) > 1
    xerr = None
    if several:
        xerr = [means - np.array([row["min"] for row in rows]) * scale,
                np.array([row["max"] for row in rows]) * scale - means]
    ax.barh(y, means, height=0.65, color=PHASE_COLORS["pipeline"], xerr=xerr,
            error_kw={"elinewidth": 2.5, "capsize": 8, "capthick": 2.5, "ecolor": OKABE_ITO["black"]})
    top = max(row["max"] for row in rows) * scale or 1.0
    for yi, row, mean in zip(y, rows, means):
        ax.text(row["max"] * scale + top * 0.015, yi, seconds_text(mean / scale), va="center",
                fontsize=FONT["bar"])
    ax.set_xlim(0, top * 1.2)
    ax.set_yticks(y, [row["filter"] for row in rows])
    ax.invert_yaxis()
    xlabel = f"Tiempo ({unit})"
    if several:
        xlabel = f"Tiempo medio ({unit}); barra negra: mín–máx de {len(results)} tareas"
    style_axes(ax, title, xlabel)
    ax.grid(axis="y", visible=False)
    return fig


def _short_task(task_id: str) -> str:
    match = re.fullmatch(r"\D*0*(\d+)", task_id)
    return match.group(1) if match else task_id


def _bar_edges(hatch: str | None) -> dict[str, str]:
    """Borde blanco y, si la barra va rayada, rayado negro (``hatchcolor=`` existe desde matplotlib 3.11;
    antes el rayado toma el color del borde, así que la barra rayada lleva borde negro)."""
    if not hatch:
        return {"edgecolor": "white"}
    if matplotlib.__version_info__ >= (3, 11):
        return {"edgecolor": "white", "hatchcolor": OKABE_ITO["black"]}
    return {"edgecolor": OKABE_ITO["black"]}


def plot_timeline(events: Iterable[Any], ax: Axes | None = None, now: float | None = None,
                  show_task_ids: bool = True) -> Figure:
    """Diagrama de Gantt: una fila por worker y una barra por tramo de trabajo, coloreada por resultado.

    Las tareas reencoladas (concesión perdida) van rayadas y las abandonadas con aspas. Si
    un worker tiene varias tareas a la vez (asíncrono), se reparten en carriles dentro de su
    fila. El eje x son segundos desde el primer evento; ``now`` cierra los tramos aún en proceso.
    """
    clean = analysis.normalise_events(events)
    intervals = analysis.intervals_from_timeline(clean, now=now)
    lanes = analysis.assign_lanes(intervals)
    title = "Línea de tiempo por worker"
    workers = sorted({str(iv.worker_id) for iv in intervals}, key=analysis.natural_key)
    depth = max(lanes, default=0) + 1  # carriles por fila
    height = max(2.8 + 0.9 * len(workers) * (1 + 0.45 * (depth - 1)), 4.5)  # new_axes lo recorta a MAX_HEIGHT
    fig, ax = new_axes(ax, (12, height))
    if not intervals:
        return empty_note(ax, title)
    t0 = clean[0]["time"]
    span = max(iv.end for iv in intervals) - t0 or 1.0
    ax.set_xlim(0, span * 1.02)
    row = {worker: i for i, worker in enumerate(workers)}
    lane_height = 0.8 / depth
    # Tamaño aproximado de los ejes en puntos, para decidir si el número de tarea cabe en la barra.
    width_points = fig.get_figwidth() * 72 * 0.8
    lane_points = (fig.get_figheight() - 1.9) * 72 / len(workers) * lane_height
    font = min(FONT["bar"], lane_points * 0.6)
    for iv, lane in zip(intervals, lanes):
        y = row[str(iv.worker_id)] - 0.4 + (lane + 0.5) * lane_height
        hatch = OUTCOME_HATCHES.get(iv.outcome)
        ax.barh(y, iv.end - iv.start, left=iv.start - t0, height=lane_height * (0.78 if depth == 1 else 0.88),
                color=OUTCOME_COLORS[iv.outcome], linewidth=1.5, hatch=hatch, **_bar_edges(hatch))
        label = _short_task(iv.task_id)
        fits = (iv.end - iv.start) / (span * 1.02) * width_points > len(label) * font * 0.65 + 4
        if show_task_ids and fits and font >= 9:
            dark = hatch or iv.outcome == "processing"  # texto negro sobre naranja o sobre su recuadro blanco
            ax.text((iv.start + iv.end) / 2 - t0, y, label, ha="center", va="center", fontsize=font,
                    fontweight="bold", color="black" if dark else "white",
                    bbox=_LABEL_BOX if hatch else None)
    ax.set_yticks(range(len(workers)), workers)
    ax.set_ylim(len(workers) - 0.45, -0.55)
    style_axes(ax, title, "Segundos desde el primer evento")
    ax.grid(axis="y", visible=False)
    present = [o for o in analysis.OUTCOMES if any(iv.outcome == o for iv in intervals)]
    handles = [Patch(facecolor=OUTCOME_COLORS[o], edgecolor="white", hatch=OUTCOME_HATCHES.get(o),
                     label=OUTCOME_LABELS[o]) for o in present]
    legend_below(ax, min(len(handles), 3), handles=handles)
    return fig


def _amdahl_label(estimate: dict[str, Any]) -> str:
    fraction = _percent(estimate["fraction"])
    if estimate["points"] < 2:
        return f"Amdahl: f ≈ {fraction} (un solo punto: poco fiable)"
    if estimate["rounds"] < 2:
        return f"Amdahl: f ≈ {fraction} (una ronda: sin margen)"
    return f"Amdahl: f ≈ {fraction} (rango {_percent(estimate['low'])}–{_percent(estimate['high'])})"


def plot_speedup(runs: Iterable[Any], cores: int, ax: Axes | None = None,
                 t_serial: float | None = None) -> Figure:
    """Speedup medido frente al ideal ``min(workers, núcleos)`` y a la curva de Amdahl.

    Con varias rondas, lo medido es la mediana con su rango mín–máx; con una sola, el punto
    medido y la leyenda lo dice. La fracción serie se ajusta con las medidas de 2 a ``cores``
    workers (``analysis.amdahl_estimate``): con varias rondas, la banda azul va de la menor a
    la mayor fracción ajustada ronda a ronda; la leyenda avisa si solo hay un punto útil.
    Sin una ejecución de 1 worker (ni ``t_serial``) no hay speedup que dibujar y lo dice.
    """
    cores = check_count(cores, "cores")
    runs = list(runs)
    rows = analysis.summarise_runs(runs, t_serial=t_serial)
    title = "Speedup: medido, ideal y Amdahl"
    fig, ax = new_axes(ax, (11, MAX_HEIGHT))
    if not rows:
        return empty_note(ax, title)
    if rows[0]["speedup"] is None:
        return empty_note(ax, title, "Falta una ejecución con 1 worker\npara calcular el speedup")
    ns = np.array([r["workers"] for r in rows])
    measured = np.array([r["speedup"] for r in rows])
    low = measured - np.array([r["speedup_min"] for r in rows])
    high = np.array([r["speedup_max"] for r in rows]) - measured
    max_n = int(max(ns.max(), 2))
    grid = np.arange(1, max_n + 1)
    ax.plot(grid, np.minimum(grid, cores), color=GREY, linestyle="--", linewidth=LINE_WIDTH,
            label=f"Ideal: min(workers, {cores} núcleos)")
    estimate = analysis.amdahl_estimate(runs, cores) if t_serial is None else {"fraction": None}
    band = None
    if estimate["fraction"] is not None:
        xs = np.linspace(1, max_n, 200)

        def curve(f: float) -> list[float]:
            return [analysis.amdahl_speedup(min(x, cores), f) for x in xs]
        if estimate["rounds"] >= 2 and estimate["high"] > estimate["low"]:
            band = ax.fill_between(xs, curve(estimate["high"]), curve(estimate["low"]),
                                   color=OKABE_ITO["sky_blue"], alpha=0.3, linewidth=0)
        ax.plot(xs, curve(estimate["fraction"]), color=OKABE_ITO["blue"], linestyle="-.", linewidth=LINE_WIDTH,
                label=_amdahl_label(estimate))
    repeats = max(r["runs"] for r in rows)
    if repeats > 1:
        ax.errorbar(ns, measured, yerr=[low, high], fmt="o-", color=OKABE_ITO["black"], linewidth=2,
                    markersize=12, elinewidth=2.5, capsize=8, capthick=2.5, zorder=3,
                    label=f"Medido (mediana y mín–máx de {repeats} rondas)")
    else:
        ax.plot(ns, measured, "o-", color=OKABE_ITO["black"], linewidth=2, markersize=12, zorder=3,
                label="Medido (una ejecución por tamaño)")
    if len(rows) <= 10:
        for n, s, down in zip(ns, measured, low):
            ax.annotate(f"{s:.2f}×", (n, s - down), xytext=(0, -10), textcoords="offset points", ha="center",
                        va="top", fontsize=FONT["bar"], fontweight="bold",
                        bbox={**_LABEL_BOX, "alpha": 0.85})
    if cores < max_n:
        ax.axvline(cores, color=GREY, linestyle=":", linewidth=2)
    top = max(float((measured + high).max()), min(max_n, cores)) * 1.25
    ax.set_ylim(0, top)
    ax.set_xlim(0.7, max_n + 0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    style_axes(ax, title, "Workers", "Speedup (×)")
    handles, labels = ax.get_legend_handles_labels()
    if band is not None:  # la muestra de Amdahl es su línea sobre la banda: una sola entrada para las dos
        handles[1] = (band, handles[1])
    legend_below(ax, 2, handlelength=3.2, handles=handles, labels=labels)  # 3.2: se ve el trazo-punto entero
    return fig


def plot_queue_states(events: Iterable[Any], ax: Axes | None = None, now: float | None = None) -> Figure:
    """Área apilada en escalones: cuántas tareas hay pendientes, en proceso, completadas y fallidas.

    El eje x son segundos desde el primer evento; ``now`` alarga el último estado hasta ese instante.
    """
    series = analysis.states_over_time(events)
    title = "Estado de la cola en el tiempo"
    fig, ax = new_axes(ax, (11, MAX_HEIGHT))
    if not series["times"]:
        return empty_note(ax, title)
    t0 = series["times"][0]
    xs = [t - t0 for t in series["times"]]
    end = (now - t0) if now is not None and now - t0 > xs[-1] else xs[-1] + max(xs[-1] * 0.03, 0.05)
    xs.append(end)
    base = np.zeros(len(xs))
    order = ("completed", "failed", "processing", "pending")  # de abajo arriba
    for state in order:
        values = np.array(series[state] + series[state][-1:], dtype=float)
        ax.fill_between(xs, base, base + values, step="post", color=STATE_COLORS[state], linewidth=0,
                        label=STATE_LABELS[state])
        base = base + values
    ax.set_xlim(0, end)
    ax.set_ylim(0, max(base.max(), 1) * 1.05)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    style_axes(ax, title, "Segundos desde el primer evento", "Tareas")
    handles, labels = ax.get_legend_handles_labels()
    legend_below(ax, 4, handles=handles[::-1], labels=labels[::-1])
    return fig
