"""Benchmark de la cola en Redis: tareas no-op/s del worker de lab frente a ``SimpleWorker`` de RQ.

Lado a lado en una sola ejecución, sobre el mismo servidor, con el mismo número de tareas no-op
y en rondas intercaladas (lab, RQ, lab, RQ...). Dos medidas por ronda:

- **worker** (la del objetivo, >= 10x): la cola ya llena (encolada en lote, sin medir) y un
  worker de cada lado la vacía: ``QueueWorker(...).start()`` de lab y
  ``SimpleWorker(...).work(burst=True)`` de RQ, los dos en este proceso y con el log en WARNING.
- **de punta a punta**: encolar una a una (``add_task`` / ``Queue.enqueue``) y vaciar igual.

Cada lado da la mediana y el rango (mín.–máx.) de sus rondas; el cociente se calcula ronda a
ronda. RQ es una dependencia solo de desarrollo (``pip install -e '.[dev]'``)::

    python -m lab.bench.redis_rq                       # arranca un Redis propio (sistema o embebido)
    python -m lab.bench.redis_rq --queue redis://127.0.0.1:6379/0 --tasks 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import statistics
import sys
import time
import uuid
from typing import Any, Callable

from lab.errors import LabError

TARGET_RATIO = 10.0
QUICK_TASKS, QUICK_ROUNDS = 100, 1
DEFAULT_TASKS, DEFAULT_ROUNDS = 1000, 3
_QUIET = logging.getLogger("lab.bench.redis.worker")
_QUIET.setLevel(logging.WARNING)


def noop() -> None:
    """La tarea de RQ: no hace nada (tiene que ser importable por el worker de RQ)."""
    return None


def _rate(n_tasks: int, seconds: float) -> float:
    return n_tasks / seconds if seconds > 0 else float("inf")


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def lab_round(url: str, n_tasks: int) -> dict[str, float]:
    """Una ronda de lab: tareas/s del worker vaciando una cola llena y de punta a punta."""
    from lab.workers.redis.queue import RedisTaskQueue
    from lab.workers.service import QueueWorker

    queue = RedisTaskQueue(url, name=f"bench-{uuid.uuid4().hex[:8]}")
    try:
        def work() -> None:
            QueueWorker("bench", None, queue, logger=_QUIET).start()

        def one_by_one() -> None:
            for _ in range(n_tasks):
                queue.add_task({"noop": True})
            work()

        end_to_end = _timed(one_by_one)
        queue.clear()
        queue.add_tasks({"noop": True} for _ in range(n_tasks))
        drain = _timed(work)
        done = queue.get_stats()["completed"]
        if done != n_tasks:
            raise LabError(f"El benchmark de lab completó {done} tareas de {n_tasks}.")
    finally:
        queue.delete()
        queue.close()
    return {"worker": _rate(n_tasks, drain), "end_to_end": _rate(n_tasks, end_to_end)}


def rq_round(url: str, n_tasks: int) -> dict[str, float]:
    """Una ronda de RQ: tareas/s de ``SimpleWorker`` (burst) vaciando una cola llena y de punta a punta."""
    import redis
    from rq import Queue, SimpleWorker

    connection = redis.Redis.from_url(url)
    queue = Queue(f"bench-{uuid.uuid4().hex[:8]}", connection=connection)

    workers: list[Any] = []

    def work() -> None:
        # RQ instala sus manejadores de SIGINT/SIGTERM y no los devuelve: sin restaurarlos, un
        # Ctrl-C posterior en este proceso lanzaría StopRequested de RQ en vez de KeyboardInterrupt.
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            workers.append(SimpleWorker([queue], connection=connection))
            workers[-1].work(burst=True, logging_level="WARNING")
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    def one_by_one() -> None:
        for _ in range(n_tasks):
            queue.enqueue("lab.bench.redis_rq.noop")
        work()

    try:
        end_to_end = _timed(one_by_one)
        queue.enqueue_many([Queue.prepare_data("lab.bench.redis_rq.noop") for _ in range(n_tasks)])
        drain = _timed(work)
        done = queue.finished_job_registry.count
        if done != 2 * n_tasks:
            raise LabError(f"El benchmark de RQ completó {done} tareas de {2 * n_tasks}.")
    finally:
        registry = queue.finished_job_registry
        job_keys = [f"rq:{kind}:{job_id}" for job_id in registry.get_job_ids() for kind in ("job", "results")]
        for start in range(0, len(job_keys), 500):
            connection.delete(*job_keys[start:start + 500])
        connection.delete(registry.key, *(worker.key for worker in workers))
        queue.empty()
        queue.delete(delete_jobs=True)
        connection.close()
    return {"worker": _rate(n_tasks, drain), "end_to_end": _rate(n_tasks, end_to_end)}


def _summary(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def bench_redis(url: str, n_tasks: int = DEFAULT_TASKS, rounds: int = DEFAULT_ROUNDS) -> dict[str, Any]:
    """Mide lab y RQ en ``url`` con ``n_tasks`` tareas no-op y ``rounds`` rondas intercaladas.

    Devuelve, para ``worker`` y ``end_to_end``, el resumen de cada lado (``lab``, ``rq``:
    mediana, mín., máx. y cada ronda, en tareas/s) y ``ratio`` (lab/RQ ronda a ronda), más
    ``target`` y ``ok`` (mediana del cociente del worker >= objetivo). Lanza
    ``QueueConnectionError`` si Redis no responde y ``LabError`` si un lado no completa todo.
    """
    from lab.workers.redis.connect import safe_url

    runs: list[tuple[dict[str, float], dict[str, float]]] = []
    for _ in range(max(rounds, 1)):
        runs.append((lab_round(url, n_tasks), rq_round(url, n_tasks)))
    report: dict[str, Any] = {"url": safe_url(url), "n_tasks": n_tasks, "rounds": len(runs),
                              "hiredis": _has_hiredis(), "target": TARGET_RATIO}
    for kind in ("worker", "end_to_end"):
        report[kind] = {"lab": _summary([lab[kind] for lab, _ in runs]),
                        "rq": _summary([rq[kind] for _, rq in runs]),
                        "ratio": _summary([lab[kind] / rq[kind] for lab, rq in runs])}
    report["ok"] = report["worker"]["ratio"]["median"] >= TARGET_RATIO
    return report


def _has_hiredis() -> bool:
    try:
        from redis.utils import HIREDIS_AVAILABLE
    except ImportError:  # pragma: no cover - depende de la versión de redis-py
        return False
    return bool(HIREDIS_AVAILABLE)


def format_lines(report: dict[str, Any]) -> list[str]:
    """Las líneas de la tabla en español: tareas/s de cada lado (mediana y rango) y el cociente."""
    def rates(summary: dict[str, Any]) -> str:
        return f"{summary['median']:>7.0f}  ({summary['min']:.0f}–{summary['max']:.0f})"

    def ratio(summary: dict[str, Any]) -> str:
        return f"{summary['median']:.1f}x ({summary['min']:.1f}–{summary['max']:.1f})"

    worker, e2e = report["worker"], report["end_to_end"]
    mark = "✅" if report["ok"] else "❌"
    parser = "hiredis" if report["hiredis"] else "parser de Python (sin hiredis)"
    rounds = "1 ronda" if report["rounds"] == 1 else f"{report['rounds']} rondas intercaladas"
    server = f"{report.get('server_binary', 'Redis')} propio en" if report.get("server") == "propio" else "servidor"
    return [
        f"Cola en Redis, tareas no-op ({report['n_tasks']} por ronda, {rounds}, un proceso, {parser}; "
        f"{server} {report['url']}):",
        f"  {'':<42}tareas/s: mediana (mín.–máx.)",
        f"  {'lab: QueueWorker vaciando la cola':<42}{rates(worker['lab'])}",
        f"  {'RQ: SimpleWorker burst vaciando la cola':<42}{rates(worker['rq'])}",
        f"  {'lab: add_task una a una + worker':<42}{rates(e2e['lab'])}",
        f"  {'RQ: enqueue una a una + SimpleWorker':<42}{rates(e2e['rq'])}",
        f"  {mark} worker lab / RQ: {ratio(worker['ratio'])}, objetivo >= {report['target']:g}x; "
        f"de punta a punta: {ratio(e2e['ratio'])}",
    ]


def _skipped(reason: str) -> dict[str, Any]:
    return {"section": "redis", "skipped": True, "reason": reason,
            "lines": [f"Cola en Redis: omitida ({reason})."]}


def bench_section(url: str | None, quick: bool) -> dict[str, Any]:
    """La sección «redis» de ``python -m lab bench``: el informe de ``bench_redis`` más ``lines``.

    Con ``url=None`` arranca un servidor propio (``lab.workers.redis.server``: el redis-server
    del sistema o el valkey-server embebido) en un puerto libre de 127.0.0.1 y lo para
    al terminar. ``quick`` usa 100 tareas y 1 ronda. Nunca lanza por falta de Redis o de RQ:
    devuelve ``{"section": "redis", "skipped": True, "reason": ..., "lines": [...]}``.
    Claves si se ejecuta: ``section``, ``skipped`` (False), ``server`` ("propio"/"dado"),
    ``server_binary`` (con servidor propio: ``"Valkey 9.1.2"``, ``"Redis 7.0.15"``...), ``url``, ``n_tasks``, ``rounds``, ``hiredis``, ``target``, ``ok``, ``worker``,
    ``end_to_end`` y ``lines``.
    """
    try:
        import redis  # noqa: F401
        import rq  # noqa: F401
    except ImportError as exc:
        return _skipped(f"falta el paquete {exc.name}: pip install -e '.[dev]'")
    n_tasks, rounds = (QUICK_TASKS, QUICK_ROUNDS) if quick else (DEFAULT_TASKS, DEFAULT_ROUNDS)
    try:
        if url is not None:
            report = bench_redis(url, n_tasks, rounds)
            report["server"] = "dado"
        else:
            from lab.workers.redis.server import RedisServer

            with RedisServer() as server:
                report = bench_redis(server.url, n_tasks, rounds)
            report.update(server="propio", server_binary=server.binary.version)
    except LabError as exc:
        return _skipped(str(exc).rstrip("."))
    report.update(section="redis", skipped=False)
    report["lines"] = format_lines(report)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.bench.redis_rq [--queue URL] [--tasks N] [--rounds R] [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m lab.bench.redis_rq", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", default=None, metavar="URL",
                        help="Redis que usar (por defecto arranca uno propio: el del sistema o el embebido)")
    parser.add_argument("--tasks", type=int, default=DEFAULT_TASKS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.queue is None:
            from lab.workers.redis.server import RedisServer

            with RedisServer() as server:
                report = bench_redis(server.url, args.tasks, args.rounds)
            report.update(server="propio", server_binary=server.binary.version)
        else:
            report = bench_redis(args.queue, args.tasks, args.rounds)
    except (LabError, ImportError) as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else "\n".join(format_lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- La sección «redis» de ``python -m lab bench`` ---


def run_section(ctx: Any) -> list[dict[str, Any]]:
    """Filas de ``python -m lab bench``: tareas/s del worker de lab frente a RQ, ronda a ronda.

    Usa el Redis de ``LAB_REDIS_URL`` si está definida y, si no, uno propio. Lanza
    ``SectionSkipped`` con el motivo si no hay Redis, ``redis`` o ``rq``.
    """
    import os

    from lab.bench.tasks import SectionSkipped, compare

    data = bench_section(os.environ.get("LAB_REDIS_URL"), ctx.quick)
    if data["skipped"]:
        raise SectionSkipped(data["reason"])
    rows = []
    for key, label in (("worker", "worker vaciando la cola"), ("end_to_end", "encolar + worker")):
        lab_runs, rq_runs = data[key]["lab"]["runs"], data[key]["rq"]["runs"]
        rows.append(compare("redis", f"RedisTaskQueue / RQ SimpleWorker ({label})",
                            [1 / r for r in lab_runs], [1 / r for r in rq_runs], higher_is_better=True,
                            op=">=" if key == "worker" else None, target=data["target"] if key == "worker" else None,
                            unit="s/tarea", note=f"{data['n_tasks']} tareas no-op × {data['rounds']} rondas, "
                                                 f"servidor {data['server']}"))
    return rows
