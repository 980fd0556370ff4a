"""``python -m lab check CUADERNO``: el alumnado comprueba su cuaderno como lo hará el corrector.

Reconstruye el cuaderno desde su fuente (como ``python -m lab grade``: solo cuentan las celdas
de respuesta), lo ejecuta de cero en un kernel nuevo y muestra la misma tabla, pero solo con
las comprobaciones visibles: las ocultas se ejecutan únicamente al corregir. Sale con 0 si
todo está aprobado. Funciona igual en Windows (``make check NB=...`` es un atajo).
"""

from __future__ import annotations

import argparse
import sys

from lab.course.grade import limits_of
from lab.course.results import format_table
from lab.course.submission import grade_submission


def command(args: argparse.Namespace) -> int:
    """La orden ``check``; devuelve el código de salida (0 todo aprobado, 1 no, 2 uso)."""
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"Error: no encuentro el cuaderno {', '.join(missing)}.", file=sys.stderr)
        return 2
    passed = True
    for path in args.notebooks:
        report = grade_submission(path, source_dir=args.source_dir, limits=limits_of(args), hidden=False)
        print(format_table(report) + "\n", flush=True)
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
