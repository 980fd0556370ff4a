"""Los ficheros de notas de una corrección: para importarlos en el aula virtual sin editarlos, y para leerlos.

En ``--out`` (``output/notas``):

- ``notas.csv``, en el formato del aula virtual de la que vienen las entregas:

  - **Moodle**: la hoja de calificaciones de la tarea (en la tarea, «Subir la hoja de
    calificaciones»; hay que tener activada la retroalimentación «Hoja de calificaciones
    externa»). Moodle busca tres columnas por su nombre, en el idioma de quien la sube, así que
    van en español y en inglés: ``Identificador``/``Identifier`` (``Participante1234567``, el
    número de la carpeta de la descarga), ``Calificación``/``Grade`` y ``Última modificación
    (calificación)``/``Last modified (grade)``. Las demás columnas (nombre, puntos por ejercicio,
    observaciones) las ignora.
  - **Canvas**: el CSV del libro de calificaciones (Calificaciones → Importar): ``Student``,
    ``ID`` (el id de Canvas, el primer número del nombre del fichero), ``SIS User ID``, ``SIS Login
    ID``, ``Section`` y una columna con la nota, titulada como la tarea (``--assignment``). Nada
    más: Canvas tomaría cualquier otra columna por una tarea nueva.
  - **Carpetas propias**: alumno, puntos por ejercicio, total, máximo, porcentaje y observaciones.

  La nota es la suma de puntos o, con ``--max-grade N``, esa suma llevada a N (la calificación
  máxima de la tarea en el aula virtual: Moodle descarta en silencio una nota mayor).
- ``notas-hoja.csv``: una fila por estudiante con todo (id del aula virtual, fuera de plazo,
  puntos por ejercicio, total, máximo, porcentaje, observaciones), separada por ``;`` y con coma
  decimal, como la abren las hojas de cálculo configuradas en español.
- ``notas.json`` (todo el detalle, también los ficheros que no son de nadie, y si las entregas se
  ejecutaron aisladas: ``sandbox`` e ``isolation``, la línea que dijo el corrector), ``notas.xml``
  (JUnit) y, en una clase, ``devoluciones/<alumno>.md`` (``lab.course.feedback``).
"""

from __future__ import annotations

import csv
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.course.collect import CANVAS, MOODLE, Collection, Student
from lab.course.feedback import write_feedback
from lab.course.gradebook import by_student, notes_of
from lab.course.results import FAILED, NOT_RUN, UNGRADABLE, NotebookReport
from lab.course.runner import Limits
from lab.course.sandbox import detect

MOODLE_COLUMNS = ("Identificador", "Nombre completo", "Calificación", "Última modificación (calificación)",
                  "Identifier", "Grade", "Last modified (grade)")
#: Lo que Moodle antepone al número de participante (``Participante`` en español y ``Participant `` en inglés miden
#: lo mismo: Moodle quita esa longitud y se queda con el número).
MOODLE_PARTICIPANT = "Participante"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass
class Row:
    """La fila de un estudiante: quién es, sus puntos por ejercicio, total, máximo y observaciones."""

    student: Student
    late: bool
    points: dict[str, float]
    total: float
    maximum: float
    notes: str

    def grade(self, max_grade: float | None) -> str:
        """La nota para el aula virtual: los puntos, o llevados a ``max_grade``."""
        value = self.total if not max_grade else (max_grade * self.total / self.maximum if self.maximum else 0.0)
        return f"{round(value, 2):g}"


def exercise_columns(reports: list[NotebookReport]) -> list[tuple[str, float]]:
    """Los ejercicios de la clase en orden, con sus puntos máximos: ``[("5.1", 2.0), ...]``."""
    columns: dict[str, float] = {}
    for report in sorted(reports, key=lambda r: Path(r.path).name):
        for exercise in report.exercises:
            if exercise.id[:1].isdigit():
                columns.setdefault(exercise.id, exercise.max_points)
    return sorted(columns.items(), key=lambda kv: [int(p) if p.isdigit() else p for p in kv[0].split(".")])


def rows_of(reports: list[NotebookReport], collection: Collection | None = None) -> list[Row]:
    """Una fila por estudiante, en orden alfabético."""
    columns = exercise_columns(reports)
    students = {s.label: s for s in collection.students} if collection else {}
    late = collection.late if collection else set()
    maximum = sum(p for _, p in columns)
    rows = []
    for label, mine in by_student(reports).items():
        student = students.get(label, Student(label))
        points = {e.id: e.points for r in mine for e in r.exercises}
        total = sum(points.get(e, 0.0) for e, _ in columns)
        rows.append(Row(student, student in late, points, total, maximum, notes_of(mine)))
    return rows


def _number(value: float, comma: bool = False) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if comma else text


def _text(value: str) -> str:
    """Un texto que una hoja de cálculo no tome por fórmula (``=``, ``+``, ``-``, ``@`` delante)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def write_csv(rows: list[Row], columns: list[tuple[str, float]], path: Path, lms: str = "", assignment: str = "",
              max_grade: float | None = None) -> None:
    """``notas.csv``: la hoja de Moodle, el CSV de Canvas o, sin aula virtual, la tabla de puntos (ver el módulo)."""
    if lms == MOODLE:
        header = [*MOODLE_COLUMNS, *(f"{e} (máx. {p:g})" for e, p in columns), "Puntos", "Máximo", "Observaciones"]
        now = time.strftime("%Y-%m-%d %H:%M")
        body = [[f"{MOODLE_PARTICIPANT}{r.student.lms_id}", r.student.name, r.grade(max_grade), now,
                 f"{MOODLE_PARTICIPANT}{r.student.lms_id}", r.grade(max_grade), now,
                 *(_number(r.points.get(e, 0.0)) for e, _ in columns), _number(r.total), _number(r.maximum), r.notes]
                for r in rows]
    elif lms == CANVAS:
        header = [*CANVAS_COLUMNS, assignment]
        body = [[r.student.name, r.student.lms_id, "", "", "", r.grade(max_grade)] for r in rows]
    else:
        header = ["alumno", *(f"{e} (máx. {p:g})" for e, p in columns), "total", "máximo", "porcentaje", "observaciones"]
        body = [[r.student.label or "-", *(_number(r.points.get(e, 0.0)) for e, _ in columns), _number(r.total),
                 _number(r.maximum), f"{100 * r.total / r.maximum:.0f}" if r.maximum else "", r.notes] for r in rows]
    encoding = "utf-8" if lms else "utf-8-sig"  # las aulas virtuales esperan UTF-8 sin BOM; las hojas de cálculo, con
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows([header, *body])


def write_sheet(rows: list[Row], columns: list[tuple[str, float]], path: Path) -> None:
    """``notas-hoja.csv``: todo, con ``;`` y coma decimal (hojas de cálculo en español), en UTF-8 con BOM."""
    header = ["Estudiante", "ID en el aula virtual", "Fuera de plazo", *(f"{e} (máx. {p:g})" for e, p in columns),
              "Total", "Máximo", "Porcentaje", "Observaciones"]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for r in rows:
            writer.writerow([_text(r.student.name or "-"), r.student.lms_id, "sí" if r.late else "",
                             *(_number(r.points.get(e, 0.0), comma=True) for e, _ in columns),
                             _number(r.total, comma=True), _number(r.maximum, comma=True),
                             f"{100 * r.total / r.maximum:.0f}" if r.maximum else "", _text(r.notes)])


def to_json(reports: list[NotebookReport], limits: Limits, collection: Collection | None = None) -> dict:
    """Los informes como datos JSON (``notebooks[].path``, ``notebooks[].exercises[].id/status/message``...)."""
    rows = rows_of(reports, collection)
    students = [{"name": row.student.name, "lms_id": row.student.lms_id, "origin": row.student.origin,
                 "late": row.late, "points": sum(r.points for r in rs), "max_points": sum(r.max_points for r in rs),
                 "notes": row.notes} for row, rs in zip(rows, by_student(reports).values())]
    isolation = detect() if limits.sandbox else None
    return {"timeout": limits.cell_timeout, "notebook_timeout": limits.notebook_timeout,
            "memory_mb": limits.memory_mb, "sandbox": bool(isolation and isolation.tool),
            "isolation": isolation.line() if isolation else "Sin aislamiento: se pidió corregir sin sandbox.",
            "passed": all(r.passed for r in reports),
            "lms": collection.lms if collection else "", "students": students,
            "unattributed": [asdict(s) for s in collection.strays] if collection else [],
            "system_files": collection.system_files if collection else 0,
            "notebooks": [{**asdict(r), "points": r.points, "max_points": r.max_points, "summary": r.summary()}
                          for r in reports]}


def to_junit(reports: list[NotebookReport]) -> ET.ElementTree:
    """Los informes en JUnit XML: un ``testsuite`` por cuaderno y un ``testcase`` por ejercicio."""
    root = ET.Element("testsuites", name="ejercicios")
    for report in reports:
        summary = report.summary()
        name = f"{report.student}/{report.path}" if report.student else report.path
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(report.exercises)),
                              failures=str(summary[FAILED]), skipped=str(summary[NOT_RUN] + summary.get(UNGRADABLE, 0)),
                              time=f"{report.seconds:.3f}")
        for exercise in report.exercises:
            case = ET.SubElement(suite, "testcase", classname=Path(report.path).stem,
                                 name=f"Ejercicio {exercise.id} {exercise.title}".strip())
            if exercise.status == FAILED:
                ET.SubElement(case, "failure", message=exercise.message)
            elif exercise.status in (NOT_RUN, UNGRADABLE):
                ET.SubElement(case, "skipped", message=exercise.message)
    return ET.ElementTree(root)


def write_outputs(reports: list[NotebookReport], out: Path, limits: Limits, collection: Collection | None = None, *,
                  assignment: str = "", max_grade: float | None = None) -> list[Path]:
    """Escribe los ficheros de notas en ``out`` (y las devoluciones si es una clase); devuelve sus rutas."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "notas.csv", out / "notas-hoja.csv", out / "notas.json", out / "notas.xml"]
    rows, columns = rows_of(reports, collection), exercise_columns(reports)
    lms = collection.lms if collection else ""
    write_csv(rows, columns, written[0], lms, assignment or "Ejercicios", max_grade)
    write_sheet(rows, columns, written[1])
    written[2].write_text(json.dumps(to_json(reports, limits, collection), ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")
    tree = to_junit(reports)
    ET.indent(tree)
    tree.write(written[3], encoding="utf-8", xml_declaration=True)
    if collection and collection.is_class:
        for student, mine in by_student(reports).items():
            written.append(write_feedback(student, mine, out / "devoluciones"))
    return written
