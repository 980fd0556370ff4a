"""``python -m lab check CUADERNO``: el alumnado comprueba su cuaderno como lo hará el corrector.

Reconstruye el cuaderno (solo cuentan las celdas de respuesta), lo ejecuta de cero en un kernel
nuevo y muestra la misma tabla que ``python -m lab grade``, con las pistas de lo que falla, pero
solo con las comprobaciones visibles: las ocultas se ejecutan únicamente al corregir. Con la
fuente del profesorado (``ejercicios/soluciones/``) se reconstruye desde ella, como al corregir;
sin ella (la copia del alumnado) desde la huella que lleva el cuaderno (``lab.course.published``),
que además dice si se cambió o se borró alguna comprobación. Sale con 0 si todo está aprobado.
Funciona igual en Windows (``make check NB=...`` es un atajo).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.course.grade import limits_of
from lab.course.published import check_published
from lab.course.rebuild import Unmatchable
from lab.course.results import PASSED, NotebookReport, format_table, ungradable
from lab.course.runner import Limits
from lab.course.submission import find_source_of, grade_submission


def check_one(path: Path, source_dir: Path, limits: Limits) -> tuple[NotebookReport, list[int]]:
    """Comprueba un cuaderno: con su fuente si está en ``source_dir``; si no, con su huella. Nunca lanza por él."""
    source = find_source_of(path, source_dir)
    if source is not None:
        return grade_submission(path, source=source, limits=limits, hidden=False), []
    try:
        return check_published(path, limits)
    except Unmatchable as exc:
        return ungradable(str(path), str(exc)), []


def explain(report: NotebookReport, added: list[int]) -> str:
    """Las pistas de lo que no pasa y el aviso de las celdas añadidas, bajo la tabla."""
    lines = [f"  Pista {e.id}: {e.hint}" for e in report.exercises if e.status != PASSED and e.hint]
    if added:
        which = f"La celda {added[0]} la añadiste" if len(added) == 1 else \
            f"Las celdas {', '.join(map(str, added))} las añadiste"
        lines.append(f"  ⚠ {which} tú: no se ejecuta{'n' if len(added) > 1 else ''} (al corregir tampoco). "
                     f"Pon tu código en la celda de respuesta de su ejercicio.")
    return "\n".join(lines)


def command(args: argparse.Namespace) -> int:
    """La orden ``check``; devuelve el código de salida (0 todo aprobado, 1 no, 2 uso)."""
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"Error: no encuentro el cuaderno {', '.join(missing)}.", file=sys.stderr)
        return 2
    passed = True
    for path in args.notebooks:
        report, added = check_one(path, args.source_dir, limits_of(args))
        notes = explain(report, added)
        print(format_table(report) + ("\n" + notes if notes else "") + "\n", flush=True)
        passed = passed and report.passed
    if passed:
        print("✅ Todo aprobado en las comprobaciones visibles. Al corregir se añaden comprobaciones ocultas.")
    else:
        print("Corrige lo que falla y vuelve a ejecutar esta orden. En el cuaderno, cada comprobación dice qué esperaba.")
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.course.check`` es un alias de ``python -m lab check``."""
    from lab.__main__ import main as lab_main

    return lab_main(["check", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
