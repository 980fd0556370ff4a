"""Órdenes ``worker``, ``enqueue`` y ``stats`` de la CLI: workers en procesos sobre una cola Redis.

::

    python -m lab worker  --queue redis://127.0.0.1:6379/0 --id w1 [--lease 30] [--json-logs]
    python -m lab enqueue --queue URL images/*.jpg --pipeline blur:3,brightness:1.3 --output-dir output/redis
    python -m lab enqueue --queue URL --noop 1000 [--sleep 0.1]
    python -m lab stats   --queue URL [--json]

``--queue`` puede omitirse si está la variable ``LAB_QUEUE_URL``. Los errores (Redis apagado,
URL errónea, pipeline no válido, imagen inexistente) se muestran en una frase y salen con
código 2. También se puede ejecutar como ``python -m lab.cli.queue_commands <orden> ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from lab.cli.spanish import spanish_argparse
from lab.core import shown_path
from lab.errors import (FilterSpecError, ImageNotFoundError, InvalidPathError, InvalidTaskError, LabError,
                        QueueConnectionError)
from lab.filters import FilterPipeline, available_filters
from lab.filters.validation import MAX_SPEC_DEPTH
from lab.workers.logs import configure_logging
from lab.workers.queue_api import Retention
from lab.workers.redis.connect import safe_url
from lab.workers.service import QueueWorker, run_stoppable
from lab.workers.urls import open_queue

QUEUE_ENV = "LAB_QUEUE_URL"
# Lo que guarda `worker` en una cola nueva: concesiones de 30 s, 3 entregas y retención (memoria acotada).
CLI_QUEUE_DEFAULTS = {"lease_timeout": 30.0, "max_attempts": 3, "retention": Retention()}


# --- pipeline en texto ------------------------------------------------------------------

def parse_pipeline(text: str) -> dict[str, Any]:
    """La spec JSON de un pipeline a partir de texto corto, JSON o un fichero ``.json``.

    Texto corto: filtros separados por comas, parámetros tras ``:`` (por posición o
    ``nombre=valor``): ``blur:3,brightness:1.3,resize:width=320,grayscale``. Devuelve
    ``FilterPipeline.to_spec()``. Lanza ``FilterSpecError`` si no es válido (también si el
    fichero no se puede leer, no es UTF-8 o anida más de ``MAX_SPEC_DEPTH`` niveles).
    """
    text = text.strip()
    from_file = text.endswith(".json")
    subject = f"El fichero de pipeline '{shown_path(text)}'" if from_file else f"El pipeline {text!r:.60}"
    if from_file:
        text = _read_pipeline_file(text)
    if text.startswith(("{", "[")):
        try:
            spec: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FilterSpecError(f"{subject} no es JSON válido ({exc.msg}, línea {exc.lineno}, "
                                  f"columna {exc.colno}).") from None
        except RecursionError:  # json.loads también se rinde con miles de niveles
            raise FilterSpecError(f"{subject} anida el JSON a miles de niveles; una spec admite como "
                                  f"mucho {MAX_SPEC_DEPTH} (MAX_SPEC_DEPTH).") from None
        try:
            return FilterPipeline.from_spec(spec).to_spec()
        except FilterSpecError as exc:
            raise FilterSpecError(f"{subject} no es válido: {exc}.") from exc
    filters = available_filters()
    items = []
    for chunk in filter(None, (part.strip() for part in text.split(","))):
        name, *params = [piece.strip() for piece in chunk.split(":")]
        klass = filters.get(name)
        if klass is None or name == "pipeline":
            raise FilterSpecError(f"Filtro desconocido {name!r} en el pipeline {text!r}; los disponibles son: "
                                  f"{', '.join(n for n in filters if n != 'pipeline')}.")
        names = [field.name for field in dataclasses.fields(klass)]
        item: dict[str, Any] = {"name": name}
        for position, param in enumerate(params):
            key, sep, value = param.partition("=")
            if not sep:
                if position >= len(names):
                    plural = "" if len(names) == 1 else "s"
                    raise FilterSpecError(f"El filtro {name!r} admite {len(names)} parámetro{plural} por posición "
                                          f"({', '.join(names) or 'ninguno'}) y recibió {len(params)}.")
                key, value = names[position], param
            item[key.strip()] = _scalar(value.strip())
        items.append(item)
    try:
        return FilterPipeline.from_spec({"name": "pipeline", "filters": items}).to_spec()
    except FilterSpecError as exc:
        raise FilterSpecError(f"El pipeline {text!r} no es válido: {exc}.") from exc


def _read_pipeline_file(path: str) -> str:
    """El texto de un fichero ``.json`` de pipeline; ``FilterSpecError`` en español si no se puede leer."""
    shown = shown_path(path)
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise FilterSpecError(f"No existe el fichero de pipeline '{shown}'.") from None
    except UnicodeDecodeError as exc:
        raise FilterSpecError(f"El fichero de pipeline '{shown}' no está en UTF-8 (byte {exc.start}); "
                              "guárdalo como UTF-8.") from None
    except OSError as exc:
        raise FilterSpecError(f"No se puede leer el fichero de pipeline '{shown}' "
                              f"({exc.strerror or exc}).") from None


def _utf8_path(path: str, what: str) -> str:
    """``path`` si se puede enviar en JSON (UTF-8); si no, ``InvalidPathError`` que lo nombra.

    En Linux un nombre de fichero con bytes que no son UTF-8 llega como ``'foto\\udcff.jpg'``: la
    cola viaja en JSON/UTF-8, así que no se puede encolar tal cual (ni adivinar su codificación).
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPathError(
            f"{what} '{shown_path(path)}' tiene bytes que no son UTF-8 y la cola solo transporta texto UTF-8; "
            "renómbralo (p. ej. con convmv o mv) y vuelve a encolar; no se ha encolado nada.", path) from None
    return path


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# --- órdenes -----------------------------------------------------------------------------

def _open(args: argparse.Namespace, **options: Any):
    """La cola Redis de ``--queue``/``LAB_QUEUE_URL`` (y ``--name``); error claro si falta o no es Redis."""
    url = args.queue or os.environ.get(QUEUE_ENV)
    if not url:
        raise QueueConnectionError(f"Falta la cola: indica --queue redis://host:6379/0 o la variable {QUEUE_ENV}.")
    if url.strip().lower().startswith("memory://"):
        raise QueueConnectionError(
            f"La orden '{args.command}' necesita una cola compartida entre procesos (redis://...); "
            f"la cola en memoria (memory://) solo vive dentro de un proceso.")
    return open_queue(url, name=args.name, **options)


def cmd_worker(args: argparse.Namespace) -> int:
    """``worker``: procesa tareas de la cola hasta SIGINT/SIGTERM (o hasta vaciarla con ``--burst``)."""
    if not 0 < args.poll < float("inf"):   # 0 (o NaN) haría girar el worker en vacío al 100 % de CPU
        raise ValueError(f"--poll debe ser un número de segundos > 0 (p. ej. 0.5) y recibió {args.poll:g}.")
    configure_logging(json=args.json_logs, level=args.log_level)
    # Una configuración por cola: lo indicado tiene que coincidir con la guardada (QueueConfigError si
    # no); sin indicar nada se adopta la de la cola o, si aún no tiene, se guarda la de la CLI.
    options: dict[str, Any] = {}
    if args.lease is not None:
        options["lease_timeout"] = args.lease or None      # 0 = sin concesiones
    if args.max_attempts is not None:
        options["max_attempts"] = args.max_attempts
    queue = _open(args, reconnect_timeout=args.reconnect_timeout)
    queue.configure(**(options if queue.config_stored else {**CLI_QUEUE_DEFAULTS, **options}))
    pipeline = parse_pipeline(args.pipeline) if args.pipeline else None
    worker = QueueWorker(args.id, pipeline, queue, poll_interval=args.poll, quality=args.quality)
    lease = f"concesión {queue.lease_timeout:g}s" if queue.lease_timeout else "sin concesiones"
    worker.logger.info(f"🚀 Worker {args.id} conectado a {safe_url(queue.url)} (cola '{queue.name}', {lease}, "
                       f"{queue.max_attempts} entregas como mucho)")
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


def cmd_enqueue(args: argparse.Namespace) -> int:
    """``enqueue``: añade una tarea por imagen (con el pipeline en el payload) o ``--noop`` tareas vacías."""
    if args.noop:
        payloads = [{"noop": True, **({"sleep": args.sleep} if args.sleep else {})} for _ in range(args.noop)]
    else:
        if not args.images:
            raise InvalidTaskError("No hay nada que encolar: indica imágenes (images/*.jpg) o --noop N.")
        if not args.pipeline:
            raise InvalidTaskError("Falta --pipeline (p. ej. --pipeline blur:3,brightness:1.3).")
        spec = parse_pipeline(args.pipeline)
        paths = []
        for pattern in args.images:
            matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            if not matches or not all(Path(p).is_file() for p in matches):
                missing = next((p for p in matches if not Path(p).is_file()), pattern)
                raise ImageNotFoundError(f"No existe la imagen {shown_path(missing)}; no se ha encolado nada.",
                                         missing)
            paths.extend(_utf8_path(p, "El nombre de la imagen") for p in matches)
        out = Path(_utf8_path(args.output_dir, "La carpeta de salida"))
        payloads = [{"image_path": p, "output_path": str(out / Path(p).name), "pipeline": spec,
                     **({"quality": args.quality} if args.quality else {})} for p in paths]
    queue = _open(args)
    ids = queue.add_tasks(payloads)
    if args.json:
        print(json.dumps({"queue": safe_url(queue.url), "name": queue.name, "task_ids": ids}))
    else:
        span = f"{ids[0]} … {ids[-1]}" if len(ids) > 1 else ids[0]
        print(f"✅ {len(ids)} tareas encoladas en {safe_url(queue.url)} (cola '{queue.name}'): {span}")
    return 0


STATE_NAMES = {"busy": "ocupado", "idle": "esperando", "stopped": "parado", "lost": "sin señal"}


def cmd_stats(args: argparse.Namespace) -> int:
    """``stats``: tabla con el estado de la cola y de los workers que la usan."""
    queue = _open(args)
    stats, workers = queue.get_stats(), queue.workers(stale_after=args.stale)
    retention = queue.retention
    config = {"lease_timeout": queue.lease_timeout, "max_attempts": queue.max_attempts, "stored": queue.config_stored,
              "retention": None if retention is None else dataclasses.asdict(retention)}
    has_state, persistence, memory = queue.generation is not None, queue.persistence_problem(), queue.memory_usage()
    if args.json:
        print(json.dumps({"queue": safe_url(queue.url), "name": queue.name, "stats": stats, "workers": workers,
                          "config": config, "has_state": has_state, "persistence_problem": persistence,
                          "memory": memory}))
        return 0
    print(f"Cola '{queue.name}' en {safe_url(queue.url)}" + ("  (cerrada)" if queue.is_shutdown else ""))
    lease = f"concesión {queue.lease_timeout:g}s" if queue.lease_timeout else "sin concesiones"
    print(f"  {lease}, {queue.max_attempts} entregas como mucho"
          + ("" if queue.config_stored else " (valores por defecto: la cola aún no tiene configuración guardada)"))
    if not has_state:
        print(f"⚠️ La cola '{queue.name}' no tiene estado en este Redis: o aún no se ha encolado nada en ella, "
              f"o se perdió (¿Redis reiniciado sin persistencia?).")
    kept = ("sin retención: guarda todas las tareas y eventos" if retention is None else
            f"retención: {_limit(retention.max_finished)} terminadas, {_limit(retention.max_events)} eventos"
            + (f", {retention.max_age:g}s" if retention.max_age is not None else ""))
    print(f"  memoria en Redis: {memory['bytes'] / 1e6:.2f} MB en {memory['keys']} claves "
          f"({memory['tasks']} tareas guardadas, {memory['events']} eventos); {kept}")
    if persistence:
        print(f"⚠️ {persistence}")
    keys = ("total", "pending", "processing", "completed", "failed", "retried")
    rows = [[*keys, "espera media", "proceso medio"],
            [*(str(stats[k]) for k in keys), f"{stats['avg_wait_time']:.3f}s", f"{stats['avg_processing_time']:.3f}s"]]
    print(_table(rows))
    live = [w for w in workers if w["state"] not in ("stopped", "lost")]
    print(f"\nWorkers: {len(live)} vivos de {len(workers)} conocidos")
    if workers:
        print(_table([["worker", "estado", "tarea actual", "última señal"]] + [
            [w["worker_id"], STATE_NAMES.get(w["state"], w["state"]), w["current_task"] or "-",
             f"hace {w['age']:.1f}s"] for w in workers]))
    return 0


def _limit(value: int | None) -> str:
    return "todas las" if value is None else f"{value:,}".replace(",", ".")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


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
                             f"(por defecto ${QUEUE_ENV})")
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
    worker.add_argument("--quality", type=int, default=90, help="calidad JPEG por defecto (1-100)")
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
    enqueue.add_argument("--quality", type=int, default=None, help="calidad JPEG (1-100)")
    enqueue.add_argument("--noop", type=int, default=0, metavar="N", help="encola N tareas no-op (sin imágenes)")
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
