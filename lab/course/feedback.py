"""La devolución de cada estudiante: un Markdown con cada ejercicio, su estado, sus puntos y una pista.

Es lo que el profesorado puede enviar tal cual (``output/notas/devoluciones/<alumno>.md``):
no lleva código de las soluciones ni el contenido de las comprobaciones ocultas, solo la
primera línea de cada error y la pista del ejercicio.
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.course.results import PASSED, NotebookReport

_ICONS = {PASSED: "✅", "suspendido": "❌", "no evaluado": "⚠️", "no evaluable": "⛔"}


def safe_name(student: str) -> str:
    """Un nombre de fichero seguro para un estudiante (sin barras ni caracteres raros)."""
    name = re.sub(r"[^\w.@-]+", "_", student, flags=re.UNICODE).strip("._")
    return name or "entrega"


def _cell(text: str) -> str:
    """Texto apto para una celda de tabla Markdown (sin saltos de línea ni barras verticales)."""
    return " ".join(text.split()).replace("|", "\\|")


def render_feedback(student: str, reports: list[NotebookReport]) -> str:
    """El Markdown de la devolución de ``student``."""
    total = sum(r.points for r in reports)
    maximum = sum(r.max_points for r in reports)
    lines = [f"# Corrección de los ejercicios: {student or 'entrega'}", "",
             f"**Nota: {total:g} de {maximum:g} puntos** "
             f"({100 * total / maximum:.0f} %)." if maximum else "**Sin ejercicios que puntuar.**", ""]
    for report in reports:
        lines += [f"## {Path(report.path).name}", ""]
        if report.ungradable:
            lines += [f"⛔ **No evaluable:** {report.ungradable}", ""]
        lines += ["| Ejercicio | Estado | Puntos | Detalle |", "|---|---|---|---|"]
        for e in report.exercises:
            detail = e.message or ""
            lines.append(f"| {_cell(f'{e.id} {e.title}'.strip())} | {_ICONS.get(e.status, '')} {e.status} "
                         f"| {e.points:g} / {e.max_points:g} | {_cell(detail)} |")
        hints = [(e.id, e.hint) for e in report.exercises if e.status != PASSED and e.hint]
        if hints:
            lines += ["", "**Pistas**", ""] + [f"- **{eid}**: {_cell(hint)}" for eid, hint in hints]
        lines.append("")
    lines += ["---", "Para repetir la corrección de las comprobaciones visibles en tu equipo: "
              "`python -m lab check notebooks/ejercicios/<cuaderno>.ipynb`.", ""]
    return "\n".join(lines)


def write_feedback(student: str, reports: list[NotebookReport], folder: Path) -> Path:
    """Escribe ``folder/<alumno>.md`` y devuelve su ruta."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{safe_name(student)}.md"
    path.write_text(render_feedback(student, reports), encoding="utf-8")
    return path
