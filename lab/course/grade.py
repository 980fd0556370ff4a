"""``python -m lab grade``: corrige cuadernos sueltos o una clase entera, sin servidor y en una orden.

Acepta las descargas de Moodle y Canvas tal como vienen, en zip o descomprimidas, o una carpeta
con una subcarpeta por estudiante (``lab.course.collect``); cada cuaderno se reconoce por su
contenido, se llame como se llame (``lab.course.identify``). Cada entrega se reconstruye desde su
fuente de ``ejercicios/soluciones/`` (de la entrega solo se toman las respuestas:
``lab.course.rebuild``), se ejecuta en un kernel nuevo, aislado en su sandbox si hay bubblewrap
(``lab.course.sandbox``; si no, lo dice en una línea y queda en ``notas.json``), con tiempo máximo
por celda y por cuaderno y límite de memoria (``lab.course.runner``), con el guardián de
``lab.course.guard`` y con las comprobaciones ocultas. Da una nota por ejercicio con puntos
(``lab.course.results``). Las notas se escriben cuando ya no queda ningún sandbox.

Uso::

    python -m lab grade                                  # notebooks/ejercicios/
    python -m lab grade notebooks/ejercicios/05-....ipynb
    python -m lab grade descarga-moodle.zip              # o descarga-canvas.zip, o ENTREGAS/<alumno>/...

Imprime una tabla por cuaderno (o una barra de progreso y un resumen por estudiante si es una
clase), lista los ficheros que no son de ningún estudiante y escribe en ``--out``
(``output/notas``) los ficheros de ``lab.course.gradefiles``: ``notas.csv`` (para importar en el
aula virtual), ``notas-hoja.csv``, ``notas.json``, ``notas.xml`` y ``devoluciones/``. Sale con 0
solo si todo está aprobado.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from lab.course.collect import CANVAS, MOODLE, collect
from lab.course.gradebook import Progress, by_student, grade_all, make_jobs, notes_of
from lab.course.gradefiles import write_outputs
from lab.course.identify import load_sources
from lab.course.results import (FAILED, NOT_RUN, PASSED, UNGRADABLE, ExerciseResult, NotebookReport, format_table,
                                summarize)
from lab.course.runner import CellResult, Limits, error_line, first_line
from lab.course.sandbox import detect
from lab.course.submission import grade_notebook, grade_submission
from lab.errors import LabError

__all__ = ["FAILED", "NOT_RUN", "PASSED", "UNGRADABLE", "CellResult", "ExerciseResult", "Limits", "NotebookReport",
           "command", "error_line", "first_line", "format_table", "grade_notebook",
           "grade_submission", "main", "summarize"]

#: Qué es ``notas.csv`` según de dónde vienen las entregas.
CSV_KIND = {MOODLE: "hoja de calificaciones de Moodle (en la tarea: Subir la hoja de calificaciones)",
            CANVAS: "CSV del libro de calificaciones de Canvas (Calificaciones → Importar)"}


def limits_of(args: argparse.Namespace) -> Limits:
    """Los límites pedidos en la línea de órdenes."""
    return Limits(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb)


def command(args: argparse.Namespace) -> int:
    """La orden ``grade``; devuelve el código de salida (0 todo aprobado, 1 no, 2 uso)."""
    sources = load_sources(args.source_dir)
    if not sources:
        print(f"Error: no hay fuentes de los ejercicios en {args.source_dir}. Corregir es cosa de la copia del "
              f"profesorado; para comprobar tu cuaderno: python -m lab check CUADERNO.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="entregas-") as workdir:
        try:
            collection = collect(args.paths, Path(workdir))
        except LabError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 2
        jobs = make_jobs(collection, sources, args.source_dir)
        if not jobs:
            print(f"Error: no encuentro cuadernos en {', '.join(map(str, args.paths))}.", file=sys.stderr)
            return 2
        limits, is_class = limits_of(args), collection.is_class
        print(detect().line(), flush=True)
        start = time.perf_counter()
        if is_class:
            print(f"Corrigiendo {len(jobs)} cuadernos de {len(collection.students)} estudiantes...", flush=True)
        reports = grade_all(jobs, limits, args.parallel, Progress(len(jobs)) if is_class else None)
    if is_class:
        late = {s.label for s in collection.late}
        for student, mine in by_student(reports).items():
            total, maximum = sum(r.points for r in mine), sum(r.max_points for r in mine)
            notes = ("fuera de plazo; " if student in late else "") + notes_of(mine)
            print(f"  {student:<24} {total:>5g} / {maximum:<5g}" + (f"  {notes.rstrip('; ')}" if notes else ""))
    else:
        for report in reports:
            print(format_table(report) + "\n", flush=True)
    if collection.strays:
        print(f"⚠ {len(collection.strays)} fichero(s) sin estudiante: no se corrigen (están en notas.json).")
        for stray in collection.strays:
            print(f"  - {stray.label}: {stray.reason}")
    if collection.system_files:
        print(f"  ({collection.system_files} ficheros del sistema, como .DS_Store o __MACOSX/, no se miran.)")
    assignment = args.assignment or ", ".join(sorted({j.source.stem for j in jobs if j.source}))
    written = write_outputs(reports, args.out, limits, collection, assignment=assignment, max_grade=args.max_grade)
    feedback = len(written) - 4
    print(f"Corregido en {time.perf_counter() - start:.1f} s. Informe en {args.out}: "
          f"{', '.join(p.name for p in written[:4])}" + (f" y {feedback} devoluciones en {args.out / 'devoluciones'}"
                                                          if feedback else "") + ".")
    if collection.lms:
        print(f"notas.csv es la {CSV_KIND[collection.lms]}; la hoja para leer es notas-hoja.csv.")
    return 0 if all(r.passed for r in reports) and not collection.strays else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.course.grade`` es un alias de ``python -m lab grade``."""
    from lab.__main__ import main as lab_main

    return lab_main(["grade", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
