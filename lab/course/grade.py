"""``python -m lab grade``: corrige cuadernos sueltos o una clase entera, sin servidor y en una orden.

Cada entrega se reconstruye desde su fuente de ``ejercicios/soluciones/`` (de la entrega solo se
toman las respuestas: ``lab.course.rebuild``), se ejecuta en un kernel nuevo y en una carpeta
temporal propia, con tiempo máximo por celda y por cuaderno y límite de memoria
(``lab.course.runner``), con las protecciones de ``lab.course.guard`` y con las comprobaciones
ocultas. Da una nota por ejercicio con puntos (``lab.course.results``).

Uso::

    python -m lab grade                                  # notebooks/ejercicios/
    python -m lab grade notebooks/ejercicios/05-....ipynb
    python -m lab grade ENTREGAS/                        # ENTREGAS/<alumno>/<cuaderno>.ipynb

Imprime una tabla por cuaderno (o una barra de progreso y un resumen por estudiante si es una
clase) y escribe en ``--out`` (``output/notas``) ``notas.csv``, ``notas.json``, ``notas.xml``
(JUnit) y, para una clase, ``devoluciones/<alumno>.md``. Sale con 0 solo si todo está aprobado.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lab.course.gradebook import Progress, by_student, collect, grade_all, notes_of, write_outputs
from lab.course.results import (FAILED, NOT_RUN, PASSED, UNGRADABLE, ExerciseResult, NotebookReport, format_table,
                                summarize)
from lab.course.runner import CellResult, Limits, error_line, first_line
from lab.course.submission import grade_notebook, grade_submission

__all__ = ["FAILED", "NOT_RUN", "PASSED", "UNGRADABLE", "CellResult", "ExerciseResult", "Limits", "NotebookReport",
           "command", "error_line", "first_line", "format_table", "grade_notebook",
           "grade_submission", "main", "summarize"]


def limits_of(args: argparse.Namespace) -> Limits:
    """Los límites pedidos en la línea de órdenes."""
    return Limits(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb)


def command(args: argparse.Namespace) -> int:
    """La orden ``grade``; devuelve el código de salida (0 todo aprobado, 1 no, 2 uso)."""
    missing = [p for p in args.paths if not Path(p).exists()]
    jobs, is_class = collect(args.paths, args.source_dir) if not missing else ([], False)
    if missing or not jobs:
        print(f"Error: no encuentro cuadernos en {', '.join(missing or args.paths)}.", file=sys.stderr)
        return 2
    limits = limits_of(args)
    start = time.perf_counter()
    students = len({j.student for j in jobs})
    if is_class:
        print(f"Corrigiendo {len(jobs)} cuadernos de {students} estudiantes...", flush=True)
    reports = grade_all(jobs, limits, args.source_dir, args.parallel, Progress(len(jobs)) if is_class else None)
    if is_class:
        for student, mine in by_student(reports).items():
            total, maximum = sum(r.points for r in mine), sum(r.max_points for r in mine)
            notes = notes_of(mine)
            print(f"  {student:<24} {total:>5g} / {maximum:<5g}" + (f"  {notes}" if notes else ""))
    else:
        for report in reports:
            print(format_table(report) + "\n", flush=True)
    written = write_outputs(reports, args.out, limits, feedback=is_class)
    print(f"Corregido en {time.perf_counter() - start:.1f} s. Informe en {args.out}: "
          f"{', '.join(p.name for p in written[:3])}" + (f" y {len(written) - 3} devoluciones en "
                                                        f"{args.out / 'devoluciones'}" if is_class else "") + ".")
    return 0 if all(r.passed for r in reports) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.course.grade`` es un alias de ``python -m lab grade``."""
    from lab.__main__ import main as lab_main

    return lab_main(["grade", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
