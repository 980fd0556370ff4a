"""Reconstruye una entrega a partir de la fuente del profesorado: solo las respuestas vienen del alumnado.

Como el ``autograde`` de nbgrader: el enunciado, las celdas de preparación, las comprobaciones
(visibles y ocultas), sus etiquetas y sus metadatos salen de ``ejercicios/soluciones/``; de la
entrega solo se toman las *celdas de respuesta*, las que en la fuente tienen una región
``### BEGIN SOLUTION``. Cada celda de respuesta se busca en la entrega, por este orden:

1. por el id de celda de nbformat (JupyterLab lo conserva al editar);
2. por la etiqueta ``ejercicio:N.M`` y el tipo de celda, en orden;
3. (código) por los nombres que define: la celda que define ``run_in_threads`` es la del 5.1.

Una celda de respuesta que no aparece se sustituye por su esqueleto (el ``raise
NotImplementedError`` de la versión del alumnado); si no aparece ninguna de un ejercicio, ese
ejercicio está *no entregado*. Una entrega sin ninguna celda reconocible lanza ``Unmatchable``.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field

import nbformat

from lab.course.release import HIDDEN_TAG, MARKER_RE, SOLUTION_TAG, _python_source, exercise_of, is_check, strip_regions
from lab.errors import LabError

POINTS_TAG = "puntos:"
#: Papeles de las celdas de un cuaderno reconstruido.
INSTRUCTOR, ANSWER, CHECK, HIDDEN = "profesorado", "respuesta", "comprobacion", "oculta"
LEVEL_RE = re.compile(r"Nivel:\s*\**\s*(básico|medio|avanzado)", re.IGNORECASE)
MINUTES_RE = re.compile(r"(\d+)\s*min\b")


class Unmatchable(LabError):
    """La entrega no se puede casar con su fuente (otro cuaderno, vacío...): no es evaluable."""


@dataclass
class Exercise:
    """Un ejercicio de la fuente: id, título, puntos, nivel y minutos estimados."""

    id: str
    title: str = ""
    points: float = 1.0
    level: str = ""
    minutes: int | None = None
    hint: str = ""


@dataclass
class Rebuilt:
    """Un cuaderno listo para ejecutar: sus celdas, el papel de cada una y lo que faltaba en la entrega."""

    nb: nbformat.NotebookNode
    roles: list[str]
    exercises: list[Exercise]
    missing: set[str] = field(default_factory=set)


def is_hidden(cell: dict) -> bool:
    """``True`` si la celda es una comprobación oculta (etiqueta ``comprobacion-oculta``)."""
    return HIDDEN_TAG in cell.get("metadata", {}).get("tags", [])


def is_answer(cell: dict) -> bool:
    """``True`` si la celda de la fuente es de respuesta: tiene una región de solución."""
    tags = cell.get("metadata", {}).get("tags", [])
    return (cell.get("cell_type") in ("code", "markdown") and SOLUTION_TAG not in tags
            and not is_check(cell) and not is_hidden(cell) and bool(MARKER_RE.search(cell.get("source", ""))))


def source_role(cell: dict) -> str:
    """El papel de una celda de la fuente: respuesta, comprobación, oculta o del profesorado."""
    if is_hidden(cell):
        return HIDDEN
    if is_check(cell):
        return CHECK
    return ANSWER if is_answer(cell) else INSTRUCTOR


def _title(cells: list, exercise: str) -> str:
    """El primer encabezado markdown del ejercicio, sin «Ejercicio N.M:»."""
    for cell in cells:
        if cell.cell_type == "markdown" and exercise_of(cell) == exercise:
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    text = line.lstrip("#").strip().replace("`", "")
                    text = re.sub(rf"^Ejercicio\s+{re.escape(exercise)}\s*[:.—–-]*\s*", "", text)
                    return text[:1].upper() + text[1:]
    return ""


def _first_hint(text: str) -> str:
    """El contenido de la primera pista ``<details>`` de un enunciado, en una línea."""
    found = re.search(r"<details>\s*<summary>[^<]*</summary>(.*?)</details>", text, re.DOTALL)
    return " ".join(found.group(1).split()) if found else ""


def exercises_of(nb: nbformat.NotebookNode) -> list[Exercise]:
    """Los ejercicios de una fuente, en orden, con sus puntos (etiqueta ``puntos:N``, 1 si no hay)."""
    found: dict[str, Exercise] = {}
    for cell in nb.cells:
        exercise = exercise_of(cell)
        if exercise is None:
            continue
        item = found.setdefault(exercise, Exercise(exercise, _title(nb.cells, exercise)))
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith(POINTS_TAG):
                try:
                    item.points = float(tag[len(POINTS_TAG):].replace(",", "."))
                except ValueError:
                    raise LabError(f"La etiqueta '{tag}' del ejercicio {exercise} no es un número de puntos.") from None
        if cell.cell_type == "markdown":
            level, minutes = LEVEL_RE.search(cell.source), MINUTES_RE.search(cell.source)
            if level and not item.level:
                item.level = level.group(1).lower()
                item.minutes = int(minutes.group(1)) if minutes else None
            item.hint = item.hint or _first_hint(cell.source)
    return list(found.values())


def defined_names(source: str) -> set[str]:
    """Las funciones y clases que define una celda de código (vacío si no es Python válido)."""
    try:
        tree = ast.parse(_python_source(source))
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _match_answers(source: nbformat.NotebookNode, submission: nbformat.NotebookNode) -> dict[int, dict]:
    """Para cada índice de celda de respuesta de la fuente, la celda de la entrega que le corresponde."""
    answers = [i for i, c in enumerate(source.cells) if is_answer(c)]
    source_ids = {c.get("id") for c in source.cells if c.get("id")}
    foreign = {c.get("id") for c in source.cells if c.get("id") and not is_answer(c)}
    pool = [c for c in submission.cells if c.get("id") not in foreign]  # nunca una comprobación editada
    used: set[int] = set()
    matched: dict[int, dict] = {}

    def take(index: int, cell: dict) -> None:
        matched[index] = cell
        used.add(id(cell))

    for index in answers:  # 1. por id de celda
        want = source.cells[index]
        for cell in pool:
            if want.get("id") and cell.get("id") == want.get("id") and cell.cell_type == want.cell_type:
                take(index, cell)
                break
    for index in answers:  # 2. por etiqueta de ejercicio y tipo, en orden
        want = source.cells[index]
        if index in matched:
            continue
        for cell in pool:
            if (id(cell) not in used and cell.cell_type == want.cell_type and exercise_of(cell) == exercise_of(want)
                    and not is_check(cell) and not is_hidden(cell) and cell.get("id") not in source_ids):
                take(index, cell)
                break
    for index in answers:  # 3. por los nombres que define
        want = source.cells[index]
        names = defined_names(want.source) if want.cell_type == "code" else set()
        if index in matched or not names:
            continue
        for cell in pool:
            if id(cell) not in used and cell.cell_type == "code" and names & defined_names(cell.source):
                take(index, cell)
                break
    return matched


def rebuild(source: nbformat.NotebookNode, submission: nbformat.NotebookNode, *, hidden: bool = True,
            name: str = "la entrega") -> Rebuilt:
    """El cuaderno que se ejecuta: la fuente con las respuestas de ``submission``.

    ``hidden=False`` deja fuera las comprobaciones ocultas (``python -m lab check``). Las celdas
    ``solucion`` de la fuente no se ejecutan nunca. Lanza ``Unmatchable`` si la entrega está
    vacía o ninguna de sus celdas se parece a las de la fuente.
    """
    if not submission.cells:
        raise Unmatchable(f"{name} no tiene ninguna celda.")
    matched = _match_answers(source, submission)
    source_ids = {c.get("id") for c in source.cells if c.get("id")}
    shared = any(c.get("id") in source_ids for c in submission.cells)
    tagged = {exercise_of(c) for c in submission.cells} & {exercise_of(c) for c in source.cells} - {None}
    if any(is_answer(c) for c in source.cells) and not (matched or shared or tagged):
        raise Unmatchable(f"ninguna celda de {name} coincide con su fuente (ni por id, ni por ejercicio, "
                          f"ni por las funciones que define): ¿es otro cuaderno?")
    cells, roles = [], []
    per_exercise: dict[str, list[bool]] = {}
    for index, cell in enumerate(source.cells):
        role = source_role(cell)
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []) or (role == HIDDEN and not hidden):
            continue
        new = copy.deepcopy(cell)
        if role == ANSWER:
            exercise = exercise_of(cell)
            got = matched.get(index)
            per_exercise.setdefault(exercise, []).append(got is not None)
            if got is not None:
                new.source = got.get("source", "")
            else:
                new.source, _ = strip_regions(cell.source, exercise, markdown=cell.cell_type == "markdown")
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        cells.append(new)
        roles.append(role)
    nb = copy.deepcopy(source)
    nb.cells = cells
    missing = {e for e, found in per_exercise.items() if not any(found)}
    return Rebuilt(nb, roles, exercises_of(source), missing)


def fill_answers(student: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """La versión del alumnado con las respuestas de la fuente copiadas: un cuaderno «resuelto» (para tests)."""
    solved = copy.deepcopy(student)
    by_id = {c.get("id"): c for c in source.cells if c.get("id")}
    for cell in solved.cells:
        original = by_id.get(cell.get("id"))
        if original is not None and is_answer(original):
            cell.source = original.source
    return solved
