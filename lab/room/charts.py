"""Las gráficas del aula: tareas/s por portátil, la línea de tiempo y el speedup de toda la clase.

Reciben datos ya validados (``state.summarize`` y ``state.RoomSnapshot``) y dibujan con el estilo
de proyector del curso (``lab.notebook.plot_style``). Los nombres de portátil cumplen
``NAME_PATTERN`` (sin ``$``: matplotlib no los lee como fórmulas); aun así pasan por
``plain_label``. Sin datos, cada gráfica dice «Sin datos todavía».
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lab.notebook import analysis, plots
from lab.notebook.plot_style import (FONT, GREY, LINE_WIDTH, MAX_HEIGHT, OKABE_ITO, empty_note, legend_below,
                                     new_figure, rows_height, style_axes)
from lab.room.published import plain_label
from lab.room.state import RoomSnapshot

__all__ = ["plot_room_throughput", "plot_room_timeline", "plot_room_speedup", "speedup_groups"]

_LOCK = threading.Lock()     # matplotlib no es seguro entre hilos: el panel dibuja desde el suyo


def _one_at_a_time(plot: Callable[..., Figure]) -> Callable[..., Figure]:
    @functools.wraps(plot)
    def locked(*args: Any, **kwargs: Any) -> Figure:
        with _LOCK:
            return plot(*args, **kwargs)
    return locked


_GROUP_COLORS = [OKABE_ITO[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky_blue")]
_MARKS = {"out": ("sacado", OKABE_ITO["vermillion"]), "joined": ("se une", OKABE_ITO["green"]),
          "left": ("se va", GREY)}


@_one_at_a_time
def plot_room_throughput(summary: dict[str, Any], recent: bool = False) -> Figure:
    """Barras de tareas/s de cada portátil y, arriba, la del aula entera (su suma de hecho).

    ``recent=True`` usa el ritmo de los últimos segundos (el del panel en directo); si no, el de
    cada portátil mientras tenía tareas en curso.
    """
    key = "recent_tasks_per_second" if recent else "tasks_per_second"
    machines = sorted((m for m in summary["machines"] if m[key] > 0), key=lambda m: m[key])
    totals = summary["totals"]
    title = "Tareas/s: cada portátil y el aula" + (" (ahora)" if recent else "")
    fig, ax = new_figure((11, rows_height(len(machines) + 1, 0.45, 2.4)))
    if not machines:
        return empty_note(ax, title)
    labels = [plain_label(m["name"]) for m in machines] + ["AULA"]
    values = [m[key] for m in machines] + [totals[key]]
    colours = [OKABE_ITO["green"]] * len(machines) + [OKABE_ITO["blue"]]
    y = np.arange(len(values))
    ax.barh(y, values, color=colours, height=0.7)
    top = max(values) or 1.0
    if len(values) <= 16:
        for yi, value in zip(y, values):
            ax.text(value + top * 0.01, yi, f"{value:.1f}", va="center", fontsize=FONT["bar"])
    step = -(-len(values) // 16)
    ax.set_yticks(y[::-step][::-1], [labels[i] for i in range(len(labels))][::-step][::-1])
    ax.set_xlim(0, top * 1.15)
    fastest = max(m[key] for m in machines)
    style_axes(ax, title, f"Tareas por segundo · el aula = {totals[key] / fastest:.1f}× el portátil más rápido")
    ax.grid(axis="y", visible=False)
    return fig


@_one_at_a_time
def plot_room_timeline(snap: RoomSnapshot, last: float | None = None) -> Figure:
    """Una fila por portátil con cada tarea que tuvo: completadas, rescatadas por concesión (rayadas)...

    Con ``last`` solo los últimos ``last`` segundos. Las marcas verticales dicen cuándo se sacó un
    portátil del aula (y cuándo alguno se unió o se fue).
    """
    since = -np.inf if last is None else snap.now - last
    events = [{"time": e["time"], "task_id": e["task_id"], "state": e["state"], "attempt": e["attempt"],
               "worker_id": e["machine"] or "(otros)"} for e in snap.events if e["time"] >= since]
    title = "Línea de tiempo del aula por portátil"
    if not any(e["state"] == "processing" for e in events):
        return empty_note(new_figure((12, 4.5))[1], title)
    fig = plots.plot_timeline(events, now=snap.now, show_task_ids=len(events) < 120)
    ax = fig.axes[0]
    style_axes(ax, title, "Segundos desde la primera tarea")
    t0 = min(e["time"] for e in events)
    for mark in snap.marks:
        if mark["time"] >= t0 and mark["what"] != "joined":
            text, colour = _MARKS[mark["what"]]
            ax.axvline(mark["time"] - t0, color=colour, linestyle="--", linewidth=2.5)
            ax.text(mark["time"] - t0, 0.01, f" {plain_label(mark['name'])} {text} ", color=colour,
                    fontsize=FONT["bar"], fontweight="bold", va="bottom", transform=ax.get_xaxis_transform(),
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    return fig


def speedup_groups(summary: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Las medidas de speedup por núcleos físicos: ``{núcleos: {"machines", "points", "fraction"}}``.

    ``points`` son pares ``(workers, speedup)`` de todos los portátiles del grupo (speedup = ritmo
    con k workers / ritmo con 1 del mismo portátil); ``fraction``, la fracción serie de Amdahl que
    mejor los explica con hasta ``núcleos`` workers (``None`` si no hay medidas con más de 1).
    """
    groups: dict[int, dict[str, Any]] = {}
    for machine in summary["machines"]:
        points = machine["measurement"]
        if not machine["registered"] or len(points) < 1 or points[0]["workers"] != 1:
            continue
        group = groups.setdefault(machine["physical_cores"], {"machines": 0, "points": [], "fraction": None})
        group["machines"] += 1
        base = points[0]["tasks_per_second"]
        group["points"] += [(p["workers"], p["tasks_per_second"] / base) for p in points]
    for cores, group in groups.items():
        try:
            group["fraction"] = analysis.fit_amdahl(group["points"], cores=cores)
        except ValueError:        # solo medidas de 1 worker (p. ej. un portátil de un núcleo)
            pass
    return dict(sorted(groups.items()))


@_one_at_a_time
def plot_room_speedup(summary: dict[str, Any]) -> Figure:
    """El speedup medido por cada portátil frente a sus workers, agrupado por núcleos físicos.

    Cada grupo (mismo número de núcleos físicos) tiene su color, sus puntos (uno por portátil y
    número de workers) y su curva de Amdahl ajustada; la diagonal gris es el ideal sin límite de núcleos.
    Se dibujan los 6 grupos con más portátiles.
    """
    groups = speedup_groups(summary)
    title = "Speedup del aula: cada portátil, por núcleos físicos"
    fig, ax = new_figure((11, MAX_HEIGHT))
    if not groups:
        return empty_note(ax, title)
    shown = sorted(sorted(groups, key=lambda c: -groups[c]["machines"])[:len(_GROUP_COLORS)])
    top = max(n for c in shown for n, _ in groups[c]["points"])
    grid = np.linspace(1, max(top, 2), 200)
    ax.plot(grid, grid, color=GREY, linestyle="--", linewidth=2, label="Ideal: tantos × como workers")
    highest = 1.0
    for position, (colour, cores) in enumerate(zip(_GROUP_COLORS, shown)):
        group = groups[cores]
        ns, speedups = zip(*group["points"])
        highest = max(highest, *speedups)
        label = f"{cores} núcleo{'s' if cores != 1 else ''} físico{'s' if cores != 1 else ''} · " \
                f"{group['machines']} portátil{'es' if group['machines'] != 1 else ''}"
        # Cada grupo un poco desplazado y cada portátil con su pizca: los puntos iguales se ven todos.
        jitter = (position - (len(shown) - 1) / 2) * 0.08 + (np.arange(len(ns)) % 5 - 2) * 0.015
        ax.scatter(np.array(ns) + jitter, speedups, s=90, color=colour, alpha=0.75, edgecolor="white", zorder=3,
                   label=label if group["fraction"] is None else None)
        if group["fraction"] is not None:
            f = group["fraction"]
            ax.plot(grid, [analysis.amdahl_speedup(min(x, cores), f) for x in grid], color=colour,
                    linewidth=LINE_WIDTH, label=f"{label} · Amdahl f ≈ {f:.0%}")
    ax.set_xlim(0.7, max(top, 2) + 0.3)
    ax.set_ylim(0, max(highest, 2) * 1.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    style_axes(ax, title, "Workers (procesos) en el portátil", "Speedup (×)")
    legend_below(ax, 1 if len(shown) > 2 else 2)
    return fig
