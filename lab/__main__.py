"""La línea de órdenes del laboratorio: ``python -m lab <orden> ...`` (o ``workers-lab <orden>``).

Órdenes del curso: ``demo`` (las demos de la guía), ``worker``, ``enqueue`` y ``stats`` (una cola
en Redis) y ``redis`` (un servidor Redis propio). Del profesorado: ``student``, ``grade`` y ``nav``; del alumnado, ``check``. De rendimiento: ``bench``.
Cada una vive en su módulo, que define ``add_parser(subparsers)``: crea su subparser y fija
``func`` (recibe los argumentos y devuelve el código de salida) con ``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from lab import bench
from lab.cli import queue_commands, redis_command
from lab.cli.spanish import spanish_argparse
from lab.course import commands as course_commands
from lab.errors import LabError
from lab.notebook import demos
from lab.room import commands as room_commands

#: Módulos con órdenes, en el orden en que aparecen en la ayuda.
COMMANDS = (demos, queue_commands, redis_command, room_commands, course_commands, bench)


def build_parser() -> argparse.ArgumentParser:
    """El parser con una orden por cada ``add_parser`` de ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="python -m lab",
                                     description="Workers Lab: sesión 3 (Workers) del curso de procesamiento "
                                                 "distribuido de imágenes.")
    subparsers = parser.add_subparsers(dest="command", metavar="ORDEN")
    for module in COMMANDS:
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
