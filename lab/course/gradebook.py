"""Una clase entera: qué hay que corregir, corregirlo en paralelo y escribir el libro de notas.

``collect`` convierte los argumentos de ``python -m lab grade`` en trabajos: una carpeta con
una subcarpeta por estudiante (``ENTREGAS/<alumno>/<cuaderno>.ipynb``) es una clase; un
cuaderno o una carpeta de cuadernos, una corrección suelta. En una clase, los cuadernos que
se esperan de cada estudiante son los que ha entregado alguien; a quien le falte uno, se le
pone *no entregado*. ``grade_all`` ejecuta los trabajos en varios procesos (cada uno con su
kernel) con una barra de progreso, y ``write_outputs`` escribe ``notas.csv``, ``notas.json``,
``notas.xml`` (JUnit) y una devolución por estudiante (``lab.course.feedback``).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.course.feedback import write_feedback
from lab.course.rebuild import find_source
from lab.course.results import FAILED, NOT_RUN, UNGRADABLE, NotebookReport, ungradable
from lab.course.runner import Limits
from lab.course.submission import grade_submission


@dataclass
class Job:
    """Un cuaderno que corregir: de quién, dónde está, su fuente y cómo llamarlo en los informes."""

    student: str
    path: Path
    source: Path | None
    label: str


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "__"))


def collect(paths: list[str], source_dir: Path) -> tuple[list[Job], bool]:
    """Los trabajos de ``paths`` y si es una clase (carpeta con una subcarpeta por estudiante)."""
    jobs: list[Job] = []
    is_class = False
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not list(path.glob("*.ipynb")) and any(p.is_dir() and _visible(p) for p in path.iterdir()):
            is_class = True
            jobs.extend(_class_jobs(path, source_dir))
            continue
        for notebook in sorted(path.glob("*.ipynb")) if path.is_dir() else [path]:
            jobs.append(Job("", notebook, find_source(notebook.name, source_dir), _label(notebook)))
    return jobs, is_class


def _label(path: Path) -> str:
    """La ruta relativa a la carpeta actual si cuelga de ella."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _class_jobs(folder: Path, source_dir: Path) -> list[Job]:
    """Un trabajo por estudiante y cuaderno esperado, más uno por fichero que no se puede casar."""
    students = sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p))
    files = {s.name: sorted(f for f in s.rglob("*") if f.is_file() and _visible(f)) for s in students}
    expected = sorted({src for fs in files.values() for f in fs if f.suffix == ".ipynb"
                       for src in [find_source(f.name, source_dir)] if src is not None})
    jobs = []
    for student in students:
        leftover = list(files[student.name])
        for src in expected:
            mine = [f for f in leftover if f.suffix == ".ipynb" and find_source(f.name, source_dir) == src]
            chosen = mine[0] if mine else student / src.name  # si no existe: no entregado
            if mine:
                leftover.remove(chosen)
            jobs.append(Job(student.name, chosen, src, _label(chosen)))
        jobs.extend(Job(student.name, f, None, _label(f)) for f in leftover)
        if not files[student.name]:
            jobs.append(Job(student.name, student, None, _label(student)))
    return jobs


def _run_job(job: Job, limits: Limits, source_dir: Path) -> NotebookReport:
    """Corrige un trabajo (en un proceso del grupo); nunca lanza por culpa de la entrega."""
    if job.source is None:
        if job.path.is_dir():
            reason = "la carpeta de la entrega está vacía."
        elif job.path.suffix != ".ipynb":
            reason = f"'{job.path.name}' no es un cuaderno de Jupyter (.ipynb)."
        else:
            reason = f"'{job.path.name}' no corresponde a ningún cuaderno de {source_dir}."
        return ungradable(job.label, reason, student=job.student)
    try:
        return grade_submission(job.path, source=job.source, limits=limits, student=job.student, label=job.label)
    except Exception as exc:  # noqa: BLE001 - un fallo inesperado no debe tumbar la corrección de la clase
        return ungradable(job.label, f"error interno del corrector ({type(exc).__name__}: {exc}).",
                          student=job.student)


class Progress:
    """Una barra de progreso en la salida de errores (una línea por cuaderno si no es una terminal)."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.start = time.perf_counter()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, report: NotebookReport) -> None:
        """Cuenta un cuaderno corregido."""
        self.done += 1
        elapsed = time.perf_counter() - self.start
        who = f"{report.student}: " if report.student else ""
        where = Path(report.path).name
        if self.tty:
            filled = int(30 * self.done / max(1, self.total))
            bar = "█" * filled + "░" * (30 - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} · {elapsed:.0f} s · {who}{where[:30]:<30}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {elapsed:.0f} s · {who}{where}: "
                              f"{report.points:g}/{report.max_points:g} puntos\n")
        self.stream.flush()


def grade_all(jobs: list[Job], limits: Limits, source_dir: Path, parallel: int | None = None,
              progress: Progress | None = None) -> list[NotebookReport]:
    """Corrige ``jobs`` con ``parallel`` procesos a la vez (por defecto, tantos como núcleos tiene la máquina)."""
    parallel = max(1, parallel or os.cpu_count() or 1)
    reports: dict[int, NotebookReport] = {}
    if parallel == 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            reports[index] = _run_job(job, limits, source_dir)
            if progress:
                progress.step(reports[index])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(parallel, len(jobs)), mp_context=context) as pool:
            futures = {pool.submit(_run_job, job, limits, source_dir): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                reports[futures[future]] = future.result()
                if progress:
                    progress.step(reports[futures[future]])
    return [reports[i] for i in range(len(jobs))]


def exercise_columns(reports: list[NotebookReport]) -> list[tuple[str, float]]:
    """Los ejercicios de la clase en orden, con sus puntos máximos: ``[("5.1", 2.0), ...]``."""
    columns: dict[str, float] = {}
    for report in sorted(reports, key=lambda r: Path(r.path).name):
        for exercise in report.exercises:
            if exercise.id[:1].isdigit():
                columns.setdefault(exercise.id, exercise.max_points)
    return sorted(columns.items(), key=lambda kv: [int(p) if p.isdigit() else p for p in kv[0].split(".")])


def by_student(reports: list[NotebookReport]) -> dict[str, list[NotebookReport]]:
    """Los informes agrupados por estudiante, en orden alfabético."""
    grouped: dict[str, list[NotebookReport]] = defaultdict(list)
    for report in reports:
        grouped[report.student].append(report)
    return dict(sorted(grouped.items()))


def notes_of(reports: list[NotebookReport]) -> str:
    """Las observaciones de un estudiante: cuadernos no evaluables y no entregados."""
    notes = []
    for report in reports:
        if report.ungradable:
            notes.append(f"no evaluable: {report.ungradable}")
        elif report.exercises and all(not e.delivered for e in report.exercises):
            notes.append(f"{Path(report.path).name} no entregado")
    return "; ".join(notes)


def write_csv(reports: list[NotebookReport], path: Path) -> None:
    """``notas.csv``: una fila por estudiante, una columna por ejercicio (puntos), total, máximo y observaciones."""
    columns = exercise_columns(reports)
    header = ["alumno"] + [f"{e} (máx. {p:g})" for e, p in columns] + ["total", "máximo", "porcentaje", "observaciones"]
    maximum = sum(p for _, p in columns)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # con BOM: las hojas de cálculo ven las tildes
        writer = csv.writer(handle)
        writer.writerow(header)
        for student, mine in by_student(reports).items():
            points = {e.id: e.points for r in mine for e in r.exercises}
            total = sum(points.get(e, 0.0) for e, _ in columns)
            percent = f"{100 * total / maximum:.0f}" if maximum else ""
            writer.writerow([student or "-"] + [f"{points.get(e, 0.0):g}" for e, _ in columns]
                            + [f"{total:g}", f"{maximum:g}", percent, notes_of(mine)])


def to_json(reports: list[NotebookReport], limits: Limits) -> dict:
    """Los informes como datos JSON (``notebooks[].path``, ``notebooks[].exercises[].id/status/message``...)."""
    students = [{"name": s, "points": sum(r.points for r in rs), "max_points": sum(r.max_points for r in rs),
                 "notes": notes_of(rs)} for s, rs in by_student(reports).items()]
    return {"timeout": limits.cell_timeout, "notebook_timeout": limits.notebook_timeout,
            "memory_mb": limits.memory_mb, "passed": all(r.passed for r in reports),
            "students": students,
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


def write_outputs(reports: list[NotebookReport], out: Path, limits: Limits, feedback: bool) -> list[Path]:
    """Escribe ``notas.json``, ``notas.xml``, ``notas.csv`` y (si ``feedback``) ``devoluciones/<alumno>.md``."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "notas.json", out / "notas.xml", out / "notas.csv"]
    written[0].write_text(json.dumps(to_json(reports, limits), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tree = to_junit(reports)
    ET.indent(tree)
    tree.write(written[1], encoding="utf-8", xml_declaration=True)
    write_csv(reports, written[2])
    if feedback:
        for student, mine in by_student(reports).items():
            written.append(write_feedback(student, mine, out / "devoluciones"))
    return written
