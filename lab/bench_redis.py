"""Benchmark de la cola en Redis: tareas/s de ``RedisTaskQueue`` frente a ``SimpleWorker`` de RQ.

Las dos mueven tareas no-op por el mismo servidor Redis: lab hace ``add_task`` +
``get_task`` + ``mark_completed`` (una tarea detrás de otra, como un worker); RQ encola con
``Queue.enqueue`` y las consume ``SimpleWorker(...).work(burst=True)`` en el mismo proceso.
RQ es una dependencia solo de desarrollo (``pip install -e '.[dev]'``)::

    python -m lab.bench_redis --queue redis://127.0.0.1:6379/0 --tasks 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from typing import Any, Callable

from lab.errors import LabError


def noop() -> None:
    """La tarea de RQ: no hace nada (tiene que ser importable por el worker de RQ)."""
    return None


def _rate(n_tasks: int, seconds: float) -> float:
    return n_tasks / seconds if seconds > 0 else float("inf")


def _server_cpu(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(client: Any, run: Callable[[], None]) -> tuple[float, float]:
    """(segundos de reloj, segundos de CPU de este proceso + del servidor Redis) de ``run()``.

    La CPU no depende de lo ocupada que esté la máquina; el reloj sí.
    """
    wall, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(client)
    run()
    server = _server_cpu(client) - server
    return time.perf_counter() - wall, time.process_time() - cpu + server


def bench_lab(url: str, n_tasks: int) -> dict[str, Any]:
    """lab: add + get + mark tarea a tarea, y por separado encolar en lote y vaciar la cola como un worker."""
    from lab.workers.redis_queue import RedisTaskQueue

    queue = RedisTaskQueue(url, name=f"bench-{uuid.uuid4().hex[:8]}")

    def one_by_one() -> None:
        for _ in range(n_tasks):
            queue.add_task({"noop": True})
            task = queue.get_task("bench")
            queue.mark_completed(task.id, result={}, worker_id="bench")

    def drain() -> None:
        while (task := queue.get_task("bench")) is not None:
            queue.mark_completed(task.id, result={}, worker_id="bench")

    try:
        wall, cpu = measure(queue._client, one_by_one)
        queue.clear()
        enqueue, _ = measure(queue._client, lambda: queue.add_tasks({"noop": True} for _ in range(n_tasks)))
        drain_wall, drain_cpu = measure(queue._client, drain)
        assert queue.get_stats()["completed"] == n_tasks
    finally:
        queue.delete()
    return {"lab_tasks_per_s": _rate(n_tasks, wall), "lab_tasks_per_cpu_s": _rate(n_tasks, cpu),
            "lab_enqueue_per_s": _rate(n_tasks, enqueue), "lab_drain_per_s": _rate(n_tasks, drain_wall),
            "lab_drain_per_cpu_s": _rate(n_tasks, drain_cpu)}


def bench_rq(url: str, n_tasks: int) -> dict[str, Any]:
    """RQ: ``enqueue`` + ``SimpleWorker.work(burst=True)``, y por separado ``enqueue_many`` y el vaciado."""
    try:
        import redis
        from rq import Queue, SimpleWorker
    except ImportError as exc:
        raise LabError("El benchmark contra RQ necesita el paquete rq: pip install -e '.[dev]'.") from exc
    connection = redis.Redis.from_url(url)
    queue = Queue(f"bench-{uuid.uuid4().hex[:8]}", connection=connection)

    def work() -> None:
        SimpleWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")

    def one_by_one() -> None:
        for _ in range(n_tasks):
            queue.enqueue("lab.bench_redis.noop")
        work()

    def enqueue_many() -> None:
        queue.enqueue_many([Queue.prepare_data("lab.bench_redis.noop") for _ in range(n_tasks)])

    try:
        wall, cpu = measure(connection, one_by_one)
        enqueue, _ = measure(connection, enqueue_many)
        drain_wall, drain_cpu = measure(connection, work)
        finished = queue.finished_job_registry.count
    finally:
        registry = queue.finished_job_registry
        job_keys = [f"rq:job:{job_id}" for job_id in registry.get_job_ids()]
        for start in range(0, len(job_keys), 500):
            connection.delete(*job_keys[start:start + 500])
        connection.delete(registry.key)
        queue.empty()
        queue.delete(delete_jobs=True)
        connection.close()
    return {"rq_tasks_per_s": _rate(n_tasks, wall), "rq_tasks_per_cpu_s": _rate(n_tasks, cpu),
            "rq_enqueue_per_s": _rate(n_tasks, enqueue), "rq_drain_per_s": _rate(n_tasks, drain_wall),
            "rq_drain_per_cpu_s": _rate(n_tasks, drain_cpu), "rq_finished": finished}


def bench_redis(url: str, n_tasks: int = 1000, rounds: int = 3) -> dict[str, Any]:
    """Mide lab y RQ sobre el mismo Redis con ``n_tasks`` tareas no-op; devuelve tasas y cocientes.

    Dos medidas: de punta a punta (encolar una a una y procesar) y solo el worker vaciando
    una cola ya llena (``drain``). Alterna ``rounds`` rondas y se queda con la mejor de cada
    cual; las tasas «por CPU» (segundos de CPU del cliente + del servidor Redis) no cambian
    si la máquina está ocupada con otras cosas. El objetivo de ``ratio_drain`` es >= 10.
    Lanza ``QueueConnectionError`` si Redis no responde y ``LabError`` si falta rq.
    """
    labs, rqs = [], []
    for _ in range(max(rounds, 1)):
        labs.append(bench_lab(url, n_tasks))
        rqs.append(bench_rq(url, n_tasks))
    report: dict[str, Any] = {"n_tasks": n_tasks, "rounds": len(labs)}
    for rows in (labs, rqs):
        report.update({key: max(row[key] for row in rows) for key in rows[0]})
    report["ratio"] = report["lab_tasks_per_s"] / report["rq_tasks_per_s"]
    report["ratio_cpu"] = report["lab_tasks_per_cpu_s"] / report["rq_tasks_per_cpu_s"]
    report["ratio_drain"] = report["lab_drain_per_s"] / report["rq_drain_per_s"]
    report["ratio_drain_cpu"] = report["lab_drain_per_cpu_s"] / report["rq_drain_per_cpu_s"]
    report["target_ratio"] = 10.0
    return report


def format_report(report: dict[str, Any]) -> str:
    """Tabla corta en español con las tasas y los cocientes."""
    def row(label: str, key: str) -> str:
        cpu = report.get(key.replace("_per_s", "_per_cpu_s"))
        return f"  {label:<44}{report[key]:9.0f}" + (f"   {cpu:9.0f}" if cpu is not None else "")
    return "\n".join([
        f"Tareas no-op por Redis ({report['n_tasks']} tareas, un proceso, mejor de {report['rounds']} rondas):",
        f"  {'':<44}{'tareas/s':>9}   {'por s CPU':>9}",
        row("lab: add + get + mark, una a una", "lab_tasks_per_s"),
        row("RQ: enqueue + SimpleWorker burst", "rq_tasks_per_s"),
        row("lab: encolar en lote (add_tasks)", "lab_enqueue_per_s"),
        row("RQ: encolar en lote (enqueue_many)", "rq_enqueue_per_s"),
        row("lab: worker vaciando la cola (get + mark)", "lab_drain_per_s"),
        row("RQ: SimpleWorker vaciando la cola (burst)", "rq_drain_per_s"),
        f"  lab / RQ de punta a punta: {report['ratio']:.1f}x (CPU {report['ratio_cpu']:.1f}x); "
        f"worker: {report['ratio_drain']:.1f}x (CPU {report['ratio_drain_cpu']:.1f}x); objetivo >= "
        f"{report['target_ratio']:g}x",
    ])


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.bench_redis --queue URL [--tasks N] [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m lab.bench_redis", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", default="redis://127.0.0.1:6379/0", metavar="URL")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        report = bench_redis(args.queue, args.tasks, args.rounds)
    except LabError as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
