"""La orden ``room`` de la CLI: el aula como un clúster, con cada portátil de worker.

::

    python -m lab room serve [--port 6379] [--bind 0.0.0.0] [--lease 10] [--dir CARPETA]
    python -m lab room join URL --name NOMBRE [--workers N] [--measure K]
    python -m lab room enqueue URL N [--size PX]
    python -m lab room status URL [--json]

Este módulo solo declara las órdenes: cada una importa lo que necesita al ejecutarse (``python -m lab
--help`` sigue siendo rápido). Los errores se muestran en una frase, sin traza y sin la contraseña.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

__all__ = ["add_parser"]


def cmd_serve(args: argparse.Namespace) -> int:
    """``room serve``: arranca el servidor del aula e imprime la línea para los portátiles."""
    from lab.room.server import serve_room

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port debe ser un puerto entre 0 y 65535 (0 = uno libre) y recibió {args.port}.")
    if args.lease is not None and not 0.5 <= args.lease <= 3600:
        raise ValueError(f"--lease debe estar entre 0,5 y 3600 segundos y recibió {args.lease:g}.")
    return serve_room(port=args.port, bind=args.bind, lease=args.lease, directory=args.dir,
                      password=not args.no_password, say=_say)


def cmd_join(args: argparse.Namespace) -> int:
    """``room join``: une este portátil al aula y trabaja hasta Ctrl-C."""
    from lab.room.join import join_room

    return join_room(args.url, args.name, workers=args.workers, measure=args.measure, cpus=args.cpus, say=_say)


def cmd_enqueue(args: argparse.Namespace) -> int:
    """``room enqueue``: encola N tareas sintéticas."""
    from lab.room.room import Room
    from lab.room.synthetic import DEFAULT_SIZE, make_payloads

    size = DEFAULT_SIZE if args.size is None else args.size
    make_payloads(1, size)                   # el tamaño se comprueba antes de conectar
    room = Room(args.url)
    ids = room.enqueue(args.count, size)
    _say(f"✅ {len(ids)} tareas sintéticas de {size}×{size} px encoladas en el aula de {room.description}"
         f" ({ids[0]} … {ids[-1]})." if ids else "No se ha encolado nada.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """``room status``: una fila por portátil y los totales del aula (``--json``: un objeto JSON)."""
    from lab.room.report import status_text
    from lab.room.room import Room
    from lab.room.state import snapshot, summarize

    room = Room(args.url)
    summary = summarize(snapshot(room.read()))
    if args.json:
        from lab.workers.redis import safe_url

        print(json.dumps({"room": safe_url(room.url), **summary}, ensure_ascii=False, indent=2))
    else:
        _say(status_text(summary, room.url))
    return 0


def _say(text: str) -> None:
    print(text, flush=True)


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Los errores del laboratorio, en una frase en stderr y código 2 (uso) o 1 (el aula)."""
    def run(args: argparse.Namespace) -> int:
        from lab.errors import LabError
        from lab.workers.redis import RedisServerUnavailable, safe_url

        try:
            return func(args)
        except RedisServerUnavailable as exc:
            print(f"❌ No se puede arrancar el servidor del aula: {exc}.", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"❌ {str(exc).strip()}", file=sys.stderr)
            return 2
        except LabError as exc:
            text = str(exc).strip()
            url = getattr(args, "url", None)
            if url:                                   # por si un mensaje de otra capa llevara la URL entera
                text = text.replace(url, safe_url(url))
            print(f"❌ {text}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # p. ej. `... status --json | head`
            return 0
    return run


def add_parser(subparsers: Any) -> None:
    """Registra ``room`` y sus órdenes ``serve``, ``join``, ``enqueue`` y ``status``."""
    room = subparsers.add_parser("room", help="el aula como clúster: cada portátil, un worker de la misma cola",
                                 description="El aula como clúster: el profesorado arranca el servidor (serve), "
                                             "cada portátil se une con la línea que imprime (join) y la cola "
                                             "reparte tareas sintéticas entre todos.")
    orders = room.add_subparsers(dest="room_command", metavar="ORDEN", required=True)

    serve = orders.add_parser("serve", help="arranca el servidor del aula (con contraseña) hasta Ctrl-C",
                              description="Arranca un Redis con contraseña para el aula e imprime la línea que "
                                          "pega cada portátil. Sigue en marcha hasta Ctrl-C.")
    serve.add_argument("--port", type=int, default=6379, metavar="PUERTO", help="puerto (por defecto 6379; 0 = uno libre)")
    serve.add_argument("--bind", default="0.0.0.0", metavar="IP",
                       help="dirección donde escuchar (por defecto 0.0.0.0: todas; 127.0.0.1: solo esta máquina)")
    serve.add_argument("--lease", type=float, default=None, metavar="SEGUNDOS",
                       help="segundos sin señales para que las tareas de un portátil vuelvan a la cola (por "
                            "defecto 10)")
    serve.add_argument("--dir", default=None, metavar="CARPETA",
                       help="carpeta donde guardar el aula (datos y contraseña) para retomarla tras reiniciar")
    serve.add_argument("--no-password", action="store_true",
                       help="sin contraseña (solo se permite con --bind 127.0.0.1)")
    serve.set_defaults(func=_guarded(cmd_serve))

    join = orders.add_parser("join", help="une este portátil al aula y trabaja hasta Ctrl-C",
                             description="Registra este portátil en el aula, mide una vez su speedup con "
                                         "1…K procesos y trabaja en la cola del aula hasta Ctrl-C.")
    join.add_argument("url", metavar="URL", help="la URL que imprime room serve (redis://:CLAVE@IP:PUERTO/0)")
    join.add_argument("--name", required=True, metavar="NOMBRE", help="tu nombre en el aula (letras, números, '_', '.', '-')")
    join.add_argument("--workers", type=int, default=None, metavar="N",
                      help="procesos que trabajan (por defecto, los núcleos físicos)")
    join.add_argument("--measure", type=int, default=None, metavar="K",
                      help="medir el speedup con 1…K procesos (por defecto, los núcleos lógicos; 0: no medir)")
    join.add_argument("--cpus", type=int, default=None, metavar="K",
                      help="solo Linux: limitar este portátil a K núcleos (para simular portátiles distintos en "
                           "una sola máquina)")
    join.set_defaults(func=_guarded(cmd_join))

    enqueue = orders.add_parser("enqueue", help="encola N tareas sintéticas en el aula",
                                description="Encola N tareas sintéticas (semilla y tamaño, sin ficheros).")
    enqueue.add_argument("url", metavar="URL", help="la URL del aula")
    enqueue.add_argument("count", metavar="N", type=int, help="número de tareas (1 a 100.000)")
    enqueue.add_argument("--size", type=int, default=None,
                         help="lado de cada imagen en píxeles (16 a 2048; por defecto 768)")
    enqueue.set_defaults(func=_guarded(cmd_enqueue))

    status = orders.add_parser("status", help="portátiles, tareas y tareas/s del aula",
                               description="Una fila por portátil (núcleos, completadas, fallidas, tareas/s) y "
                                           "los totales del aula.")
    status.add_argument("url", metavar="URL", help="la URL del aula")
    status.add_argument("--json", action="store_true", help="un objeto JSON (claves en inglés)")
    status.set_defaults(func=_guarded(cmd_status))
