"""La nota de un cuaderno: de los resultados por celda a una fila por ejercicio, con puntos.

Un ejercicio está *aprobado* si todas sus comprobaciones (visibles y ocultas) se ejecutan sin
error; *suspendido* si alguna de sus celdas falla, agota el tiempo o mata el kernel, o si la
entrega no lo trae (*no entregado*); *no evaluado* si sus comprobaciones no llegaron a
ejecutarse (se dice por qué). Un cuaderno que no se puede corregir (no es un cuaderno, está
vacío, no se parece a su fuente) es *no evaluable*, con el motivo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat

from lab.course.rebuild import Exercise, Rebuilt
from lab.course.runner import CellResult

PASSED, FAILED, NOT_RUN, UNGRADABLE = "aprobado", "suspendido", "no evaluado", "no evaluable"
NOT_DELIVERED = "no entregado: la entrega no trae la celda de respuesta de este ejercicio."

#: Pistas generales según cómo falló una comprobación.
HINTS = {
    "NotImplementedError": "Aún falta tu solución: sustituye el raise NotImplementedError(...) por tu código.",
    "timeout": "Tarda demasiado: ¿un bucle que nunca acaba, un join() o una espera sin fin?",
    "dead": "El kernel murió: ¿os._exit, sys.exit en un hilo o demasiada memoria?",
    "delivered": "Entrega el cuaderno con la celda de respuesta del ejercicio (no la borres ni la cambies de cuaderno).",
}


@dataclass
class ExerciseResult:
    """La nota de un ejercicio: estado, puntos y la primera línea de su fallo."""

    id: str
    title: str
    status: str
    message: str = ""
    cells: list[int] = field(default_factory=list)
    points: float = 0.0
    max_points: float = 1.0
    hint: str = ""
    delivered: bool = True


@dataclass
class NotebookReport:
    """La corrección de un cuaderno: una fila por ejercicio (y por celda suelta que falló)."""

    path: str
    exercises: list[ExerciseResult]
    cells: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0
    student: str = ""
    ungradable: str = ""

    @property
    def passed(self) -> bool:
        """``True`` si hay ejercicios y todos están aprobados."""
        return not self.ungradable and bool(self.exercises) and all(e.status == PASSED for e in self.exercises)

    @property
    def points(self) -> float:
        """Puntos obtenidos en el cuaderno."""
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        """Puntos posibles del cuaderno."""
        return sum(e.max_points for e in self.exercises if e.id[:1].isdigit())

    def summary(self) -> dict[str, int]:
        """Cuántos ejercicios hay en cada estado."""
        states = (PASSED, FAILED, NOT_RUN) + ((UNGRADABLE,) if self.ungradable else ())
        return {s: sum(e.status == s for e in self.exercises) for s in states}


def _where(nb: nbformat.NotebookNode, index: int) -> str:
    """Cómo nombrar una celda: su primer comentario hasta los dos puntos (``Comprobación 1.1 a``) o ``celda N``."""
    first = nb.cells[index].source.lstrip().split("\n", 1)[0]
    if first.startswith("#") and first.lstrip("# ").strip():
        return first.lstrip("# ").split(":", 1)[0].strip()[:60]
    return f"celda {index}"


def _hint(exercise: Exercise, failed: CellResult) -> str:
    """La pista de un fallo: según el error, o la primera pista del enunciado."""
    if failed.status in ("timeout", "dead"):
        return HINTS[failed.status]
    if failed.message.startswith("NotImplementedError"):
        return HINTS["NotImplementedError"]
    return exercise.hint


def summarize(rebuilt: Rebuilt, cells: list[CellResult], path: str = "", seconds: float = 0.0,
              student: str = "") -> NotebookReport:
    """Reúne los resultados por celda en una fila por ejercicio de la fuente (más una por celda suelta que falló)."""
    nb = rebuilt.nb
    rows: list[ExerciseResult] = []
    for exercise in rebuilt.exercises:
        mine = [c for c in cells if c.exercise == exercise.id]
        checks = [c for c in mine if c.check]
        failed = [c for c in mine if c.status in ("error", "timeout", "dead")]
        pending = [c for c in checks if c.status == "not_run"]
        row = ExerciseResult(exercise.id, exercise.title, PASSED, cells=[c.index for c in mine],
                             max_points=exercise.points)
        if exercise.id in rebuilt.missing:
            row.status, row.message, row.hint, row.delivered = FAILED, NOT_DELIVERED, HINTS["delivered"], False
        elif failed:
            hidden = " (comprobación oculta)" if failed[0].role == "oculta" else ""
            row.status = FAILED
            row.message = f"{_where(nb, failed[0].index)}{hidden}: {failed[0].message}"
            row.hint = _hint(exercise, failed[0])
        elif pending:
            row.status, row.message = NOT_RUN, pending[0].message or "sus comprobaciones no llegaron a ejecutarse."
        elif not checks:
            row.status, row.message = NOT_RUN, "no tiene celdas de comprobación (etiqueta 'comprobacion')."
        else:
            row.points = exercise.points
        rows.append(row)
    for cell in cells:
        if cell.exercise is None and cell.status in ("error", "timeout", "dead"):
            rows.append(ExerciseResult(f"celda {cell.index}", "fuera de los ejercicios", FAILED, cell.message,
                                       [cell.index], max_points=0.0))
    if not rows:
        rows.append(ExerciseResult("-", "", NOT_RUN, "el cuaderno no tiene ejercicios (etiqueta 'ejercicio:N.M').",
                                   max_points=0.0))
    return NotebookReport(path, rows, cells, seconds, student)


def ungradable(path: str, reason: str, exercises: list[Exercise] | None = None, student: str = "") -> NotebookReport:
    """El informe de un cuaderno que no se pudo corregir: cada ejercicio de la fuente con 0 puntos."""
    rows = [ExerciseResult(e.id, e.title, UNGRADABLE, reason, max_points=e.points) for e in exercises or []]
    rows = rows or [ExerciseResult("-", "", UNGRADABLE, reason, max_points=0.0)]
    return NotebookReport(path, rows, [], 0.0, student, ungradable=reason)


def not_delivered(path: str, exercises: list[Exercise], student: str = "") -> NotebookReport:
    """El informe de un cuaderno que no se entregó: cada ejercicio suspendido (no entregado)."""
    rows = [ExerciseResult(e.id, e.title, FAILED, NOT_DELIVERED.replace("la celda de respuesta de este ejercicio",
                                                                      "este cuaderno"),
                           max_points=e.points, hint=HINTS["delivered"], delivered=False) for e in exercises]
    return NotebookReport(path, rows, [], 0.0, student)


def _points(value: float) -> str:
    """Puntos sin decimales inútiles: 2, 1.5."""
    return f"{value:g}"


def format_table(report: NotebookReport) -> str:
    """La tabla en español de un informe: ejercicio, estado, puntos y primera línea del fallo."""
    rows = [(f"{e.id} {e.title}".strip(), e.status, f"{_points(e.points)}/{_points(e.max_points)}",
             re.sub(r"\s+", " ", e.message)) for e in report.exercises]
    width = max([len("Ejercicio")] + [len(r[0]) for r in rows])
    who = f" ({report.student})" if report.student else ""
    lines = [f"Cuaderno: {report.path}{who}", f"  {'Ejercicio':<{width}}  {'Estado':<12}  {'Puntos':<7}  Detalle"]
    lines += [f"  {name:<{width}}  {status:<12}  {pts:<7}  {detail}".rstrip() for name, status, pts, detail in rows]
    summary = ", ".join(f"{n} {s}" for s, n in report.summary().items())
    lines.append(f"  Resumen: {summary}; {_points(report.points)} de {_points(report.max_points)} puntos.")
    return "\n".join(lines)
