"""Las órdenes del profesorado y del alumnado: ``student``, ``release``, ``grade``, ``check`` y ``nav``.

Aquí solo se declaran sus opciones; cada orden importa su módulo (``release``, ``student_repo``,
``grade``, ``check``, ``nav``) al ejecutarse. Así ``python -m lab worker`` o ``python -m lab demo`` no pagan los
~2 s que tardan en importarse nbformat, jsonschema y nbclient, que solo hacen falta para los cuadernos.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, Callable

from lab import PROJECT_DIR
from lab.course import NOTEBOOKS_DIR, SOURCE_DIR, STUDENT_DIR

ROOT = PROJECT_DIR

#: Los nombres antiguos (en español) de las opciones: alias ocultos en la ayuda hasta la versión 0.2.
OLD_SPELLINGS = {"--timeout-cuaderno": "--notebook-timeout", "--memoria": "--memory", "--fuentes": "--source",
                 "--paralelo": "--parallel"}


class _OldSpelling(argparse.Action):
    """Acepta el nombre antiguo de una opción como el nuevo y avisa (en stderr) de que va a desaparecer."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"⚠ {option_string} ahora se llama {OLD_SPELLINGS[option_string]}; el nombre antiguo dejará de "
              f"funcionar en la próxima versión.", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_option(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """Añade la opción ``name`` y, si tuvo un nombre en español, ese nombre como alias oculto."""
    parser.add_argument(name, **kwargs)
    for old, new in OLD_SPELLINGS.items():
        if new == name:
            parser.add_argument(old, dest=kwargs["dest"], type=kwargs.get("type"), action=_OldSpelling,
                                default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _run(module: str) -> Callable[[argparse.Namespace], int]:
    """La función de una orden: importa ``lab.course.<module>`` y llama a su ``command(args)``."""
    def func(args: argparse.Namespace) -> int:
        return importlib.import_module(f"lab.course.{module}").command(args)
    return func


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """Las opciones de límites comunes a ``grade`` y ``check``."""
    parser.add_argument("--timeout", type=float, default=30, metavar="SEGUNDOS",
                        help="segundos máximos por celda (30)")
    add_option(parser, "--notebook-timeout", dest="notebook_timeout", type=float, default=300, metavar="SEGUNDOS",
               help="segundos máximos por cuaderno entero (300)")
    add_option(parser, "--memory", dest="memory_mb", type=float, default=1024, metavar="MB",
               help="MB de memoria extra por kernel (1024; 0 = sin límite; solo Linux y macOS)")
    add_option(parser, "--source", dest="source_dir", type=Path, default=SOURCE_DIR, metavar="CARPETA",
               help="carpeta con los cuadernos de soluciones (ejercicios/soluciones)")


def add_grade_parser(subparsers: Any) -> None:
    """Registra la orden ``grade`` en la línea de órdenes (``python -m lab grade``)."""
    parser = subparsers.add_parser(
        "grade", help="corrige cuadernos de ejercicios o una clase entera",
        description="Corrige cuadernos de ejercicios, o una clase entera: la descarga de Moodle o de Canvas (en zip o "
                    "descomprimida) o una carpeta con una subcarpeta por estudiante. Cada cuaderno se reconoce por su "
                    "contenido, se reconstruye desde su fuente y se corrige con comprobaciones ocultas.")
    parser.add_argument("paths", nargs="*", default=[str(STUDENT_DIR)],
                        help=f"cuadernos, carpetas de cuadernos, una carpeta de entregas o el zip de una descarga "
                             f"(por defecto {STUDENT_DIR.relative_to(ROOT)})")
    add_limit_options(parser)
    add_option(parser, "--parallel", dest="parallel", type=int, default=None, metavar="N",
               help="kernels de Jupyter a la vez (por defecto, tantos como núcleos tiene la máquina)")
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "notas", metavar="CARPETA",
                        help="carpeta donde escribir notas.csv, notas-hoja.csv, notas.json, notas.xml y devoluciones/ "
                             "(output/notas)")
    parser.add_argument("--assignment", default="", metavar="TAREA",
                        help="título de la columna de la nota en el CSV de Canvas: el de la tarea (por defecto, el "
                             "cuaderno corregido; si no coincide, Canvas deja elegir la tarea al importar)")
    parser.add_argument("--max-grade", dest="max_grade", type=float, default=None, metavar="PUNTOS",
                        help="lleva la nota de notas.csv a esta escala: la calificación máxima de la tarea en el aula "
                             "virtual (por defecto, la suma de puntos)")
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


def add_release_parser(subparsers: Any) -> None:
    """Registra la orden ``release`` en la línea de órdenes (``python -m lab release DEST``)."""
    parser = subparsers.add_parser(
        "release", help="escribe el repositorio del alumnado, sin soluciones ni comprobaciones ocultas",
        description="Escribe en DEST el repositorio del alumnado: lecciones, ejercicios, el paquete lab, make lab y "
                    "python -m lab check, sin ejercicios/soluciones, sin comprobaciones ocultas ni tests, y "
                    "comprueba línea a línea que no lleva ninguna respuesta.")
    parser.add_argument("dest", type=Path, metavar="DEST",
                        help="carpeta nueva, vacía o con una copia del alumnado anterior (se rehace)")
    parser.add_argument("--with-guide", action="store_true",
                        help="incluye la guía del profesorado (docs/profesorado.md); por defecto no va")
    parser.add_argument("--source", dest="source_dir", type=Path, default=SOURCE_DIR, metavar="CARPETA",
                        help="carpeta con los cuadernos de soluciones (ejercicios/soluciones)")
    parser.set_defaults(func=_run("student_repo"))


def add_nav_parser(subparsers: Any) -> None:
    """Registra la orden ``nav`` en la línea de órdenes (``python -m lab nav``)."""
    parser = subparsers.add_parser("nav", help="regenera (o comprueba) la barra de navegación de los cuadernos", description="Regenera (o comprueba) la barra de navegación de los cuadernos.")
    parser.add_argument("--check", action="store_true", help="solo comprobar; error si hay barras desfasadas")
    parser.add_argument("--dir", type=Path, default=NOTEBOOKS_DIR, help="carpeta de los cuadernos")
    parser.set_defaults(func=_run("nav"))


def add_parser(subparsers: Any) -> None:
    """Registra las cinco órdenes en la línea de órdenes de ``lab``."""
    for register in (add_student_parser, add_release_parser, add_grade_parser, add_check_parser, add_nav_parser):
        register(subparsers)
