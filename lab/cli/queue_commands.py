"""Órdenes ``worker``, ``enqueue`` y ``stats`` de la CLI: workers en procesos sobre una cola Redis.

::

    python -m lab worker  --queue redis://127.0.0.1:6379/0 --id w1 [--lease 30] [--json-logs]
    python -m lab enqueue --queue URL images/*.jpg --pipeline blur:3,brightness:1.3 --output-dir output/redis
    python -m lab enqueue --queue URL --noop 1000 [--sleep 0.1]
    python -m lab stats   --queue URL [--json]

``--queue`` puede omitirse si está la variable ``LAB_REDIS_URL``. Lo que escribe el usuario se
valida antes de conectar (``lab.cli.queue_input``); los errores (Redis apagado, URL errónea o en
blanco, pipeline no válido, un fichero que no es una imagen, un número fuera de rango) se
muestran en una frase y salen con código 2. También se puede ejecutar como
``python -m lab.cli.queue_commands <orden> ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence

from lab.checks import check_int
from lab.cli.queue_input import (MAX_NOOP, check_names, check_quality, check_seconds, image_payloads, noop_payloads,
                                 parse_pipeline, queue_url)
from lab.cli.queue_stats import cmd_stats, describe_config, describe_retention
from lab.cli.spanish import spanish_argparse
from lab.errors import InvalidTaskError, LabError, QueueConfigError
from lab.workers.logs import configure_logging
from lab.workers.queue_api import Retention
from lab.workers.redis.binary import URL_VARIABLE
from lab.workers.redis.connect import safe_url
from lab.workers.service import QueueWorker, run_stoppable
from lab.workers.urls import open_queue

CLI_QUEUE_DEFAULTS = {"lease_timeout": 30.0, "max_attempts": 3, "retention": Retention()}


# --- órdenes -----------------------------------------------------------------------------

def _open(args: argparse.Namespace, **options: Any):
    """La cola de --queue (o LAB_REDIS_URL) y --name: error claro si falta, está en blanco o no es de Redis."""
    check_names(args)
    return open_queue(queue_url(args.queue, args.command), name=args.name, **options)


def cmd_worker(args: argparse.Namespace) -> int:
    """``worker``: procesa tareas de la cola hasta SIGINT/SIGTERM (o hasta vaciarla con ``--burst``)."""
    check_seconds(args.poll, "--poll")   # 0 (o NaN) haría girar el worker en vacío al 100 % de CPU
    check_seconds(args.reconnect_timeout, "--reconnect-timeout", zero="rendirse en cuanto Redis no responda")
    check_quality(args.quality)
    # Una configuración por cola: lo indicado tiene que coincidir con la guardada (QueueConfigError si
    # no); sin indicar nada se adopta la de la cola o, si aún no tiene, se guarda la de la CLI.
    options: dict[str, Any] = {}
    if args.lease is not None:
        options["lease_timeout"] = check_seconds(args.lease, "--lease", zero="sin concesiones") or None
    if args.max_attempts is not None:
        options["max_attempts"] = check_int(args.max_attempts, "--max-attempts", minimum=1)
    pipeline = parse_pipeline(args.pipeline) if args.pipeline else None
    configure_logging(json=args.json_logs, level=args.log_level)
    queue = _open(args, reconnect_timeout=args.reconnect_timeout)
    try:
        queue.configure(**(options if queue.config_stored else {**CLI_QUEUE_DEFAULTS, **options}))
    except QueueConfigError:
        raise QueueConfigError(_config_clash(queue, args)) from None
    worker = QueueWorker(args.id, pipeline, queue, poll_interval=args.poll, quality=args.quality)
    worker.logger.info(f"🚀 Worker {args.id} conectado a {safe_url(queue.url)} (cola '{queue.name}', "
                       f"{describe_config(queue)})")
    problem = queue.persistence_problem()
    if problem:
        worker.logger.warning(f"⚠️ {problem}")

    def stop() -> None:
        worker.stop()
        queue.stop_reconnecting()  # Redis caído: no esperar reconnect_timeout para salir

    error: BaseException | None = None
    try:
        run_stoppable(lambda: worker.start(forever=not args.burst), stop, say=worker.logger.info, name=args.id)
    except Exception as exc:  # el bucle del worker se detuvo (p. ej. QueueConnectionError): se explica abajo
        error = exc
    finally:
        try:  # también tras una segunda señal, cuando el bucle no llegó a despedirse
            queue.worker_stopped(args.id, retry=False)
        except Exception as exc:
            worker.logger.warning(f"⚠️ No se pudo anotar la salida del worker: {exc}")
    stats = worker.get_stats()
    worker.logger.info(f"👋 Worker {args.id} parado: {stats.get('tasks_completed', 0)} completadas, "
                       f"{stats.get('tasks_failed', 0)} fallidas")
    if error is not None:
        raise error if isinstance(error, LabError) else RuntimeError(f"El worker {args.id} se detuvo: {error!r}")
    return 0


def _config_clash(queue: Any, args: argparse.Namespace) -> str:
    """La frase de un ``worker`` que pide otra concesión o entregas que las guardadas con la cola."""
    asked = []
    if args.lease is not None:
        asked.append(f"--lease {args.lease:g}" + (" (sin concesiones)" if not args.lease else ""))
    if args.max_attempts is not None:
        asked.append(f"--max-attempts {args.max_attempts}")
    return (f"La cola '{queue.name}' ya está configurada ({describe_config(queue)}; "
            f"{describe_retention(queue.retention)}) y este worker pidió {' y '.join(asked) or 'otra'}: "
            "todos los workers de una cola usan la misma configuración; quita esas opciones para adoptar la de "
            "la cola o usa otra cola con --name.")


def cmd_enqueue(args: argparse.Namespace) -> int:
    """``enqueue``: añade una tarea por imagen (con el pipeline en el payload) o ``--noop`` tareas vacías.

    Todo se comprueba antes de conectar: si algo no vale, no se encola nada.
    """
    if args.noop is not None and args.images:
        raise InvalidTaskError("Indica imágenes o --noop N, no las dos cosas; no se ha encolado nada.")
    if args.noop is not None:
        payloads = noop_payloads(args.noop, args.sleep)
    else:
        if not args.images:
            raise InvalidTaskError("No hay nada que encolar: indica imágenes (images/*.jpg) o --noop N.")
        if not args.pipeline:
            raise InvalidTaskError("Falta --pipeline (p. ej. --pipeline blur:3,brightness:1.3).")
        quality = check_quality(args.quality)
        payloads = image_payloads(args.images, parse_pipeline(args.pipeline), args.output_dir, quality)
    queue = _open(args)
    ids = queue.add_tasks(payloads)
    if args.json:
        print(json.dumps({"queue": safe_url(queue.url), "name": queue.name, "task_ids": ids}))
    else:
        span = f"{ids[0]} … {ids[-1]}" if len(ids) > 1 else ids[0]
        print(f"✅ {len(ids)} tareas encoladas en {safe_url(queue.url)} (cola '{queue.name}'): {span}")
    return 0


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Convierte los errores del laboratorio en una frase en stderr y el código de salida 2."""
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (LabError, ValueError) as exc:
            print(f"❌ {str(exc).strip()}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # p. ej. `... stats | head`
            return 0
    return run


def _queue_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", default=None, metavar="URL",
                        help=f"URL de Redis: redis://[:contraseña@]host:6379/0, rediss://... o unix://... "
                             f"(por defecto ${URL_VARIABLE})")
    parser.add_argument("--name", default="default", help="nombre de la cola en ese Redis (por defecto 'default')")


def add_parser(subparsers: Any) -> None:
    """Registra las órdenes ``worker``, ``enqueue`` y ``stats`` en la CLI (``python -m lab ...``)."""
    worker = subparsers.add_parser("worker", help="un worker de larga duración conectado a una cola Redis",
                                   description="Procesa tareas de una cola Redis hasta Ctrl-C/SIGTERM "
                                               "(termina antes la tarea en curso).")
    _queue_options(worker)
    worker.add_argument("--id", required=True, help="id del worker (p. ej. w1); único entre los workers de la cola")
    worker.add_argument("--lease", type=float, default=None,
                        help="segundos de concesión sin latido antes de que otra máquina reciba la tarea "
                             "(0 = sin concesiones; por defecto, la de la cola, o 30 si la cola aún no tiene)")
    worker.add_argument("--max-attempts", type=int, default=None,
                        help="entregas máximas de una tarea (por defecto, las de la cola, o 3 si aún no tiene)")
    worker.add_argument("--pipeline", default=None, help="pipeline para tareas que no traen el suyo")
    worker.add_argument("--quality", type=int, default=90, help="calidad JPEG y WebP por defecto (1-100)")
    worker.add_argument("--poll", type=float, default=0.5, help="segundos de cada espera de tareas (por defecto 0.5)")
    worker.add_argument("--reconnect-timeout", type=float, default=60.0,
                        help="segundos reintentando si Redis se cae antes de rendirse (por defecto 60)")
    worker.add_argument("--burst", action="store_true", help="salir cuando no queden tareas pendientes")
    worker.add_argument("--json-logs", action="store_true", help="logs en líneas JSON")
    worker.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    worker.set_defaults(func=_guarded(cmd_worker))

    enqueue = subparsers.add_parser("enqueue", help="encola imágenes (o tareas no-op) en una cola Redis",
                                    description="Añade una tarea por imagen, con el pipeline como spec JSON.")
    _queue_options(enqueue)
    enqueue.add_argument("images", nargs="*", help="imágenes de entrada (admite comodines: images/*.jpg)")
    enqueue.add_argument("--pipeline", default=None,
                         help="blur:3,brightness:1.3 (texto corto), JSON o un fichero .json con la spec")
    enqueue.add_argument("--output-dir", default="output/redis", help="carpeta de salida (por defecto output/redis)")
    enqueue.add_argument("--quality", type=int, default=None,
                         help="calidad JPEG y WebP (1-100; por defecto la del worker)")
    enqueue.add_argument("--noop", type=int, default=None, metavar="N",
                         help=f"encola N tareas no-op, sin imágenes (1-{MAX_NOOP:,})".replace(",", "."))
    enqueue.add_argument("--sleep", type=float, default=0.0, help="segundos de trabajo simulado de cada no-op")
    enqueue.add_argument("--json", action="store_true", help="salida JSON con los ids")
    enqueue.set_defaults(func=_guarded(cmd_enqueue))

    stats = subparsers.add_parser("stats", help="estado de una cola Redis y de sus workers",
                                  description="Muestra las estadísticas de la cola y la tabla de workers.")
    _queue_options(stats)
    stats.add_argument("--stale", type=float, default=30.0,
                       help="segundos sin señales para dar un worker por perdido (por defecto 30)")
    stats.add_argument("--json", action="store_true", help="salida JSON")
    stats.set_defaults(func=_guarded(cmd_stats))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lab.cli.queue_commands <orden>``: las mismas órdenes sin pasar por ``python -m lab``."""
    spanish_argparse()
    parser = argparse.ArgumentParser(prog="python -m lab.cli.queue_commands")
    add_parser(parser.add_subparsers(dest="command", metavar="ORDEN", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("⏹ Interrumpido por el usuario.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
