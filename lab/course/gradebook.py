"""Una clase entera: de lo entregado a los trabajos, corregirlos en paralelo y agruparlos por estudiante.

``make_jobs`` convierte lo recogido (``lab.course.collect``) en trabajos. Cada cuaderno se
reconoce por su contenido (``lab.course.identify``), se llame como se llame. En una clase, los
cuadernos que se esperan de cada estudiante son los que ha entregado alguien: a quien le falte
uno se le pone *no entregado*; un fichero que no es un cuaderno, o no es de ningún cuaderno del
curso, queda *no evaluable* con el motivo; si alguien entrega dos veces el mismo cuaderno se
corrige el más reciente y el otro queda anotado. ``grade_all`` ejecuta los trabajos en varios
procesos (cada uno con su kernel, en su sandbox si lo hay) con una barra de progreso y vuelve cuando
ya no queda ninguno: cada kernel espera a que muera su sandbox con todo lo que lanzó. Los ficheros
de notas los escribe después ``lab.course.gradefiles``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from lab.course.collect import Collection, Delivery, Student
from lab.course.identify import Source, identify
from lab.course.rebuild import Unmatchable
from lab.course.results import NotebookReport, ungradable
from lab.course import kernel, sandbox
from lab.course.runner import Limits
from lab.course.submission import grade_submission, read_submission


@dataclass
class Job:
    """Un cuaderno que corregir: de quién, dónde está, su fuente (o por qué no tiene) y cómo llamarlo."""

    student: Student
    path: Path
    source: Path | None
    label: str
    reason: str = ""


def _source_of(delivery: Delivery, sources: list[Source], source_dir: Path) -> tuple[Source | None, str]:
    """La fuente de una entrega, o el motivo por el que no se puede corregir."""
    path = delivery.path
    if path.is_dir():
        return None, "la carpeta de la entrega está vacía."
    if path.suffix != ".ipynb":
        return None, f"'{path.name}' no es un cuaderno de Jupyter (.ipynb)."
    try:
        nb, unreadable = read_submission(path), ""
    except Unmatchable as exc:  # si su nombre dice de qué cuaderno es, se corrige igual y el informe dice qué le pasa
        nb, unreadable = None, str(exc)
    found = identify(nb, delivery.name, sources)
    return found, "" if found else unreadable or f"'{path.name}' no corresponde a ningún cuaderno de {source_dir}."


def make_jobs(collection: Collection, sources: list[Source], source_dir: Path) -> list[Job]:
    """Un trabajo por cuaderno entregado y, en una clase, uno por cuaderno esperado que alguien no entregó."""
    jobs: list[Job] = []
    if not collection.is_class:
        for d in collection.deliveries:
            found, reason = _source_of(d, sources, source_dir)
            jobs.append(Job(d.student, d.path, found.path if found else None, d.label, reason))
        return jobs
    mine: dict[Student, list[tuple[Delivery, Source | None, str]]] = defaultdict(list)
    for d in collection.deliveries:
        mine[d.student].append((d, *_source_of(d, sources, source_dir)))
    expected = sorted({s.path for items in mine.values() for _, s, _ in items if s}, key=lambda p: p.name)
    for student in collection.students:
        items = mine[student]
        for path in expected:
            same = sorted((d for d, s, _ in items if s and s.path == path),
                          key=lambda d: (-d.path.stat().st_mtime, d.label))
            if not same:
                jobs.append(Job(student, Path("(no entregado)") / path.name, path, path.name))
                continue
            jobs.append(Job(student, same[0].path, path, same[0].label))
            jobs.extend(Job(student, d.path, None, d.label, f"otra entrega de {path.name}: se corrige la más "
                                                            f"reciente, {same[0].label}.") for d in same[1:])
        jobs.extend(Job(student, d.path, None, d.label, reason) for d, s, reason in items if s is None)
    return jobs


def _run_job(job: Job, limits: Limits) -> NotebookReport:
    """Corrige un trabajo (en un proceso del grupo); nunca lanza por culpa de la entrega."""
    who = job.student.label
    if job.source is None:
        return ungradable(job.label, job.reason, student=who)
    try:
        return grade_submission(job.path, source=job.source, limits=limits, student=who, label=job.label)
    except Exception as exc:  # noqa: BLE001 - un fallo inesperado no debe tumbar la corrección de la clase
        return ungradable(job.label, f"error interno del corrector ({type(exc).__name__}: {exc}).", student=who)


def _init_worker(kit: dict, isolation: sandbox.Isolation | None) -> None:
    """Cada proceso del grupo usa el guardián y las ayudas que leyó el principal, y el aislamiento que probó."""
    kernel.use_kit(kit)
    if isolation is not None:
        sandbox.adopt(isolation)


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


def grade_all(jobs: list[Job], limits: Limits, parallel: int | None = None,
              progress: Progress | None = None) -> list[NotebookReport]:
    """Corrige ``jobs`` con ``parallel`` procesos a la vez (por defecto, tantos como núcleos tiene la máquina)."""
    parallel = max(1, parallel or os.cpu_count() or 1)
    reports: dict[int, NotebookReport] = {}
    if parallel == 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            reports[index] = _run_job(job, limits)
            if progress:
                progress.step(reports[index])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(parallel, len(jobs)), mp_context=context, initializer=_init_worker,
                                 initargs=(kernel.KIT, sandbox.detect() if limits.sandbox else None)) as pool:
            futures = {pool.submit(_run_job, job, limits): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                reports[futures[future]] = future.result()
                if progress:
                    progress.step(reports[futures[future]])
    return [reports[i] for i in range(len(jobs))]


def by_student(reports: list[NotebookReport]) -> dict[str, list[NotebookReport]]:
    """Los informes agrupados por estudiante (su ``label``), en orden alfabético."""
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
