"""La orden ``stats`` (``python -m lab stats``): el estado de una cola Redis y de sus workers, en una tabla.

También da en palabras la configuración y la retención de una cola (``describe_config``,
``describe_retention``), que el ``worker`` usa al arrancar y al explicar un choque de configuración.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from lab.cli.queue_input import check_names, check_seconds, queue_url
from lab.workers.queue_api import Retention
from lab.workers.redis.connect import safe_url
from lab.workers.urls import open_queue


def describe_config(queue: Any) -> str:
    """La configuración de la cola en palabras: «concesión 30s, 3 entregas como mucho»."""
    lease = f"concesión {queue.lease_timeout:g}s" if queue.lease_timeout else "sin concesiones"
    return f"{lease}, {queue.max_attempts} entregas como mucho"


def describe_retention(retention: Retention | None) -> str:
    """Cuánto guarda la cola, en palabras: «retención: 10.000 terminadas, 50.000 eventos»."""
    if retention is None:
        return "sin retención (elegido con retention=None): guarda todas las tareas y eventos"
    return (f"retención: {_limit(retention.max_finished)} terminadas, {_limit(retention.max_events)} eventos"
            + (f", {retention.max_age:g}s" if retention.max_age is not None else "")
            + (" (la de por defecto)" if retention == Retention() else ""))


STATE_NAMES = {"busy": "ocupado", "idle": "esperando", "stopped": "parado", "lost": "sin señal"}


def cmd_stats(args: argparse.Namespace) -> int:
    """``stats``: tabla con el estado de la cola y de los workers que la usan."""
    check_seconds(args.stale, "--stale")
    check_names(args)
    queue = open_queue(queue_url(args.queue, args.command), name=args.name)
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
    print(f"  {describe_config(queue)}"
          + ("" if queue.config_stored else " (valores por defecto: la cola aún no tiene configuración guardada)"))
    if not has_state:
        print(f"⚠️ La cola '{queue.name}' no tiene estado en este Redis: o aún no se ha encolado nada en ella, "
              f"o se perdió (¿Redis reiniciado sin persistencia?).")
    print(f"  memoria en Redis: {memory['bytes'] / 1e6:.2f} MB en {memory['keys']} claves "
          f"({memory['tasks']} tareas guardadas, {memory['events']} eventos); {describe_retention(retention)}")
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


