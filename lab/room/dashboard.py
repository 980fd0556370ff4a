"""El tablero del aula en HTML: una fila por portátil y la cabecera con el ritmo del aula entera.

Todo texto que viene de un portátil (nombre, CPU, sistema, motivos de rechazo) pasa por
``html.escape`` aunque ya esté validado; los números los formatea este módulo. Así un portátil
malicioso no puede romper la tabla ni ejecutar nada en el navegador del profesorado. La raíz lleva
la clase CSS ``lab-room`` (los tests de navegador la buscan) y letra de proyector.
"""

from __future__ import annotations

import html
from typing import Any

from lab.notebook.plot_style import OKABE_ITO
from lab.room.state import STATE_LABELS

__all__ = ["room_html", "best_speedup"]

_PANEL = 'class="lab-room" style="font-size:18px;line-height:1.4"'
_CELL = 'style="padding:3px 8px;text-align:left;white-space:nowrap"'
_NUMBER = 'style="padding:3px 8px;text-align:right;white-space:nowrap"'
# Cabe en un proyector de 1366 px con el explorador de ficheros abierto: el modelo de CPU va en la ayuda
# emergente del nombre, y las cabeceras son cortas (el cuaderno explica cada una).
_COLUMNS = ("Portátil", "Estado", "Núcleos", "Hechas", "Fallidas", "Rescatadas", "Tareas/s", "Ahora", "Speedup")
_STATE_COLORS = {"working": OKABE_ITO["green"], "measuring": OKABE_ITO["blue"], "lost": OKABE_ITO["vermillion"],
                 "out": OKABE_ITO["vermillion"]}


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def best_speedup(measurement: list[dict[str, Any]]) -> tuple[float, int] | None:
    """El mayor speedup de una medida (ritmo con k workers / ritmo con 1) y con cuántos workers; o ``None``."""
    if len(measurement) < 2 or measurement[0]["workers"] != 1:
        return None
    base = measurement[0]["tasks_per_second"]
    point = max(measurement, key=lambda p: p["tasks_per_second"])
    return point["tasks_per_second"] / base, point["workers"]


def _row(machine: dict[str, Any]) -> str:
    state = machine["state"]
    colour = _STATE_COLORS.get(state)
    label = _text(STATE_LABELS.get(state, "?"))
    cores = "?" if machine["cores"] is None else f"{machine['physical_cores']}/{machine['cores']}"
    if machine.get("limited_to"):
        cores += " sim."
    best = best_speedup(machine["measurement"])
    speedup = "—" if best is None else f"{best[0]:.2f}× ({best[1]})"
    tip = " · ".join(_short(str(machine[key]), 60) for key in ("cpu_model", "os") if machine.get(key))
    name = f'<b title="{_text(tip)}">{_text(machine["name"])}</b>' + (
        "" if machine["registered"] else " <small>(sin ficha)</small>")
    failed = f'<b style="color:{OKABE_ITO["vermillion"]}">{machine["failed"]}</b>' if machine["failed"] else "0"
    cells = [(name, _CELL), (f'<b style="color:{colour}">{label}</b>' if colour else label, _CELL),
             (_text(cores), _CELL), (str(machine["completed"]), _NUMBER),
             (failed, _NUMBER), (str(machine["rescued"]), _NUMBER), (_rate(machine["tasks_per_second"]), _NUMBER),
             (_rate(machine["recent_tasks_per_second"]), _NUMBER), (_text(speedup), _NUMBER)]
    return "<tr>" + "".join(f"<td {style}>{value}</td>" for value, style in cells) + "</tr>"


def room_html(summary: dict[str, Any], source: str = "", note: str = "") -> str:
    """El tablero: cabecera del aula (ritmo, speedup frente al más rápido, cola) y la tabla de portátiles.

    ``summary`` es el de ``state.summarize``; ``source`` dice de dónde salen los datos (sin
    contraseña) y ``note`` es una línea pequeña al final (p. ej. la hora del refresco). Los dos se
    escapan también.
    """
    totals = summary["totals"]
    speedup = totals["speedup_vs_fastest"]
    headline = (f"Aula: {totals['machines']} portátiles ({totals['active']} activos), "
                f"{totals['physical_cores']} núcleos físicos · <b>{_rate(totals['recent_tasks_per_second'])} "
                f"tareas/s ahora</b>, {_rate(totals['tasks_per_second'])} de media")
    if speedup and totals["fastest_machine"]:
        headline += (f" · <b>{speedup:.1f}×</b> el portátil más rápido ({_text(totals['fastest_machine'])}, "
                     f"{_rate(totals['fastest_tasks_per_second'])} tareas/s)")
    queue = (f"Cola: {totals['pending']} pendientes, {totals['processing']} en proceso, {totals['completed']} "
             f"completadas, {totals['failed']} fallidas; {totals['rescued']} rescatadas por concesión. "
             f"Núcleos: físicos/lógicos; Speedup: el mejor de su medida (con cuántos workers).")
    header = "".join(f"<th {_NUMBER if i >= 3 else _CELL}>{title}</th>" for i, title in enumerate(_COLUMNS))
    rows = "".join(_row(machine) for machine in summary["machines"])
    if not rows:
        rows = f'<tr><td colspan="{len(_COLUMNS)}" {_CELL}>Todavía no se ha unido ningún portátil.</td></tr>'
    rejected = "".join(f'<li style="color:{OKABE_ITO["vermillion"]}">Ficha rechazada de «{_text(bad["name"])}»: '
                       f"{_text(bad['problem'])}</li>" for bad in summary["rejected"][:10])
    if len(summary["rejected"]) > 10:
        rejected += f"<li>… y {len(summary['rejected']) - 10} fichas rechazadas más</li>"
    footer = " · ".join(_text(part) for part in (source, note) if part)
    return (f"<div {_PANEL}><div style=\"font-size:1.15em\">{headline}</div><div>{queue}</div>"
            f'<table style="border-collapse:collapse;font-size:inherit">'
            f'<tr style="border-bottom:2px solid #999">{header}</tr>{rows}</table>'
            f"{'<ul>' + rejected + '</ul>' if rejected else ''}"
            f"{'<small>' + footer + '</small>' if footer else ''}</div>")
