"""La gráfica del panel de salud (``plot_health``): una fila por worker; se reexporta en ``lab.notebook.plots``."""

from __future__ import annotations

from typing import Any, Iterable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lab.notebook import analysis
from lab.notebook.plot_style import FONT, GREY, STATE_COLORS, empty_note, new_axes, seconds_text, style_axes

__all__ = ["plot_health"]


def _age_text(age: float | None) -> str:
    return "—" if age is None else f"hace {seconds_text(age)}"


def plot_health(workers_health: Iterable[Any], ax: Axes | None = None) -> Figure:
    """Panel de salud: una fila por worker con ✔/✘, completadas, fallidas y edad del último latido.

    Cada elemento es un dict ``{"worker_id", "healthy", "tasks_completed", "tasks_failed",
    "heartbeat_age"}`` (``heartbeat_age`` en segundos o ``None``); ver ``analysis.health_rows``.
    """
    rows = analysis.health_rows(workers_health)
    healthy = sum(1 for row in rows if row["healthy"])
    title = f"Salud de los workers: {healthy} de {len(rows)} sanos" if rows else "Salud de los workers"
    fig, ax = new_axes(ax, (11, min(max(1.9 + 0.8 * (len(rows) + 1), 3.5), 14)))
    if not rows:
        return empty_note(ax, title)
    style_axes(ax, title)
    ax.set_axis_off()
    columns = [(0.05, "Estado", "center"), (0.14, "Worker", "left"), (0.60, "Completadas", "right"),
               (0.78, "Fallidas", "right"), (0.99, "Último latido", "right")]
    step = 1.0 / (len(rows) + 1)
    for x, header, align in columns:
        ax.text(x, 1 - step / 2, header, ha=align, va="center", fontsize=FONT["label"], fontweight="bold",
                transform=ax.transAxes, color="#444444")
    ax.axhline(1 - step, color=GREY, linewidth=1.5)
    for i, row in enumerate(rows, start=1):
        y = 1 - step * (i + 0.5)
        cells = ["✔" if row["healthy"] else "✘", row["worker_id"], str(row["tasks_completed"]),
                 str(row["tasks_failed"]), _age_text(row["heartbeat_age"])]
        styles: list[dict[str, Any]] = [{} for _ in cells]
        styles[0] = {"color": "white", "fontweight": "bold", "bbox": {
            "boxstyle": "circle,pad=0.3", "edgecolor": "none",
            "facecolor": STATE_COLORS["completed" if row["healthy"] else "failed"]}}
        if row["tasks_failed"]:
            styles[3] = {"color": STATE_COLORS["failed"], "fontweight": "bold"}
        if not row["healthy"]:
            styles[1] = styles[4] = {"color": STATE_COLORS["failed"], "fontweight": "bold"}
        for (x, _, align), text, style in zip(columns, cells, styles):
            ax.text(x, y, text, ha=align, va="center", transform=ax.transAxes,
                    fontsize=FONT["label"], **{"color": "black", **style})
    return fig
