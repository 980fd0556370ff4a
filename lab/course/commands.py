"""Las órdenes del profesorado y del alumnado: ``student``, ``grade``, ``check`` y ``nav``.

Aquí solo se declaran sus opciones; cada orden importa su módulo (``release``, ``grade``,
``check``, ``nav``) al ejecutarse. Así ``python -m lab worker`` o ``python -m lab demo`` no pagan los
~2 s que tardan en importarse nbformat, jsonschema y nbclient, que solo hacen falta para los cuadernos.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any, Callable

from lab import PROJECT_DIR
from lab.course import NOTEBOOKS_DIR, SOURCE_DIR, STUDENT_DIR

ROOT = PROJECT_DIR


def _run(module: str) -> Callable[[argparse.Namespace], int]:
    """La función de una orden: importa ``lab.course.<module>`` y llama a su ``command(args)``."""
    def func(args: argparse.Namespace) -> int:
        return importlib.import_module(f"lab.course.{module}").command(args)
    return func


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """Las opciones de límites comunes a ``grade`` y ``check``."""
    parser.add_argument("--timeout", type=float, default=30, help="segundos máximos por celda (30)")
    parser.add_argument("--timeout-cuaderno", dest="notebook_timeout", type=float, default=300,
                        help="segundos máximos por cuaderno entero (300)")
    parser.add_argument("--memoria", dest="memory_mb", type=float, default=1024,
                        help="MB de memoria extra por kernel (1024; 0 = sin límite; solo Linux y macOS)")
    parser.add_argument("--fuentes", dest="source_dir", type=Path, default=SOURCE_DIR,
                        help="carpeta con los cuadernos de soluciones (ejercicios/soluciones)")


def add_grade_parser(subparsers: Any) -> None:
    """Registra la orden ``grade`` en la línea de órdenes (``python -m lab grade``)."""
    parser = subparsers.add_parser(
        "grade", help="corrige cuadernos de ejercicios o una clase entera",
        description="Corrige cuadernos de ejercicios, o una clase entera (una carpeta con una subcarpeta por "
                    "estudiante), reconstruyéndolos desde su fuente y con comprobaciones ocultas.")
    parser.add_argument("paths", nargs="*", default=[str(STUDENT_DIR)],
                        help=f"cuadernos, carpetas de cuadernos o una carpeta de entregas "
                             f"(por defecto {STUDENT_DIR.relative_to(ROOT)})")
    add_limit_options(parser)
    parser.add_argument("--paralelo", dest="parallel", type=int, default=None,
                        help="kernels de Jupyter a la vez (por defecto, tantos como núcleos tiene la máquina)")
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "notas",
                        help="carpeta donde escribir notas.csv, notas.json, notas.xml y devoluciones/ (output/notas)")
    parser.set_defaults(func=_run("grade"))


def add_check_parser(subparsers: Any) -> None:
    """Registra la orden ``check`` en la línea de órdenes (``python -m lab check``)."""
    parser = subparsers.add_parser(
        "check", help="comprueba tu cuaderno de ejercicios (sin las comprobaciones ocultas)",
        description="Ejecuta de cero tu cuaderno de ejercicios y muestra qué ejercicios pasan sus comprobaciones "
                    "visibles (las ocultas solo se ejecutan al corregir).")
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="CUADERNO",
                        help="por ejemplo notebooks/ejercicios/05-Varios-workers-y-speedup.ipynb")
    add_limit_options(parser)
    parser.set_defaults(func=_run("check"))


def add_student_parser(subparsers: Any) -> None:
    """Registra la orden ``student`` en la línea de órdenes (``python -m lab student``)."""
    parser = subparsers.add_parser("student", help="genera los cuadernos de ejercicios del alumnado", description="Genera los cuadernos de ejercicios del alumnado.")
    parser.add_argument("--check", action="store_true",
                        help="no escribe nada; sale con 1 si algún cuaderno del alumnado está desfasado")
    parser.add_argument("--src", type=Path, default=SOURCE_DIR, help="carpeta con los cuadernos de soluciones")
    parser.add_argument("--dest", type=Path, default=STUDENT_DIR, help="carpeta de los cuadernos del alumnado")
    parser.set_defaults(func=_run("release"))


def add_nav_parser(subparsers: Any) -> None:
    """Registra la orden ``nav`` en la línea de órdenes (``python -m lab nav``)."""
    parser = subparsers.add_parser("nav", help="regenera (o comprueba) la barra de navegación de los cuadernos", description="Regenera (o comprueba) la barra de navegación de los cuadernos.")
    parser.add_argument("--check", action="store_true", help="solo comprobar; error si hay barras desfasadas")
    parser.add_argument("--dir", type=Path, default=NOTEBOOKS_DIR, help="carpeta de los cuadernos")
    parser.set_defaults(func=_run("nav"))


def add_parser(subparsers: Any) -> None:
    """Registra las cuatro órdenes en la línea de órdenes de ``lab``."""
    for register in (add_student_parser, add_grade_parser, add_check_parser, add_nav_parser):
        register(subparsers)
