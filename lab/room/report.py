"""``python -m lab room status``: el resumen del aula (``state.summarize``) como tabla de texto.

Solo muestra datos ya validados; los nombres de portátil cumplen ``NAME_PATTERN`` (sin espacios ni
caracteres de control), así que tampoco pueden desordenar la terminal. La URL va sin contraseña.
"""

from __future__ import annotations

from typing import Any

from lab.room.state import STATE_LABELS
from lab.workers.redis import safe_url

__all__ = ["status_text", "rate"]


def rate(value: float | None) -> str:
    """Un ritmo con un decimal: ``4.1`` (como el resto de órdenes de ``lab``)."""
    return "—" if value is None else f"{value:.1f}"


def _cores(machine: dict[str, Any]) -> str:
    if machine["cores"] is None:
        return "?"
    return f"{machine['physical_cores']}/{machine['cores']}"


def status_text(summary: dict[str, Any], url: str) -> str:
    """La tabla: una fila por portátil y la del aula, más la cola y las fichas rechazadas."""
    totals = summary["totals"]
    header = ("PORTÁTIL", "ESTADO", "NÚCLEOS F/L", "COMPLETADAS", "FALLIDAS", "RESCATADAS", "TAREAS/S", "AHORA")
    rows = [header]
    for m in summary["machines"]:
        rows.append((m["name"] + ("" if m["registered"] else " (sin ficha)"), STATE_LABELS[m["state"]], _cores(m),
                     str(m["completed"]), str(m["failed"]), str(m["rescued"]), rate(m["tasks_per_second"]),
                     rate(m["recent_tasks_per_second"])))
    rows.append(("AULA", f"{totals['active']} activos", f"{totals['physical_cores']}/{totals['cores']}",
                 str(totals["completed"]), str(totals["failed"]), str(totals["rescued"]),
                 rate(totals["tasks_per_second"]), rate(totals["recent_tasks_per_second"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"Aula de {safe_url(url)}: {totals['machines']} portátiles, {totals['physical_cores']} núcleos físicos"]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        lines.append("  ".join(cell.ljust(width) if j < 3 else cell.rjust(width)
                               for j, (cell, width) in enumerate(zip(row, widths))))
    if totals["speedup_vs_fastest"] and totals["machines"] > 1:
        lines.append(f"El aula va {rate(totals['speedup_vs_fastest'])}× más rápido que su portátil más rápido "
                     f"({totals['fastest_machine']}, {rate(totals['fastest_tasks_per_second'])} tareas/s).")
    lines.append(f"Cola: {totals['pending']} pendientes, {totals['processing']} en proceso, {totals['completed']} "
                 f"completadas, {totals['failed']} fallidas. «AHORA»: tareas/s de los últimos "
                 f"{totals['window_seconds']:g} s.")
    for bad in summary["rejected"]:
        lines.append(f"⚠️ Ficha rechazada de «{bad['name']}»: {bad['problem']}.")
    return "\n".join(lines)
