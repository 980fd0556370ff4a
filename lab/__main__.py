"""La línea de órdenes del laboratorio: ``python -m lab <orden> ...`` (o ``workers-lab <orden>``).

Cada orden vive en su propio módulo, que define ``add_parser(subparsers)``: crea su
subparser con ``subparsers.add_parser(...)`` y fija ``func`` (recibe los argumentos y
devuelve el código de salida) con ``parser.set_defaults(func=...)``. Para añadir una orden
basta con poner el nombre de su módulo en ``SUBCOMMAND_MODULES``; los módulos que aún no
existen se ignoran.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from lab.cli_es import spanish_argparse
from lab.errors import LabError

# Módulos con órdenes: demo (lab.demos); worker, enqueue y stats (lab.cli_queue); bench (lab.bench).
SUBCOMMAND_MODULES: tuple[str, ...] = ("lab.demos", "lab.cli_queue", "lab.bench")


def build_parser(modules: Sequence[str] = SUBCOMMAND_MODULES) -> argparse.ArgumentParser:
    """El parser con una orden por cada ``add_parser`` de ``modules`` (los que no existen se saltan)."""
    parser = argparse.ArgumentParser(prog="python -m lab",
                                     description="Workers Lab: sesión 3 (Workers) del curso de procesamiento "
                                                 "distribuido de imágenes.")
    subparsers = parser.add_subparsers(dest="command", metavar="ORDEN")
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # el módulo aún no existe; un error dentro de él sí se muestra
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Ejecuta la orden pedida y devuelve el código de salida (0 bien, 1 error, 2 uso, 130 Ctrl-C)."""
    spanish_argparse()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("⏹ Interrumpido por el usuario.", file=sys.stderr)
        return 130
    except (LabError, ValueError) as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
