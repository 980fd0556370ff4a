"""Datos falsos pero realistas para probar y mirar las gráficas (sin hilos ni esperas).

``simulate`` reproduce con un reloj falso lo que harían varios workers sobre una
``TaskQueue`` real: tareas de ~0.2 s, un worker que muere con una tarea (su concesión
caduca y la tarea se reencola) y una imagen que falla. Así los eventos tienen la forma
exacta que produce la cola.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from lab.workers import TaskEvent, TaskQueue, TaskState
from tests._workers_helpers import FakeClock

FILTERS = ("grayscale", "blur", "sharpen")
P, R, C, F = TaskState.PENDING, TaskState.PROCESSING, TaskState.COMPLETED, TaskState.FAILED


def fake_result(task_id: str, worker_id: str, path: str, rng: random.Random) -> dict[str, Any]:
    """Un ``ImageResult.to_dict()`` con tiempos parecidos a los de la guía (carga ~50 ms, pipeline ~130 ms)."""
    filters = [[name, round(base * rng.uniform(0.8, 1.25), 4)]
               for name, base in zip(FILTERS, (0.02, 0.08, 0.03))]
    load, save = round(rng.uniform(0.035, 0.07), 4), round(rng.uniform(0.005, 0.012), 4)
    pipeline = round(sum(s for _, s in filters), 4)
    return {"image_path": path, "output_path": path.replace("images/", "output/"), "load": load,
            "pipeline": pipeline, "save": save, "total": round(load + pipeline + save + 0.001, 4),
            "filters": filters, "input_size": [1024, 768], "output_size": [1024, 768],
            "input_bytes": 200_000, "output_bytes": 180_000, "task_id": task_id, "worker_id": worker_id}


def simulate(workers: int = 3, tasks: int = 12, seed: int = 7, dying_worker: str | None = "worker-2",
             failing_task: str | None = "task-0007", lease: float = 0.6) -> dict[str, Any]:
    """Simula ``workers`` workers sobre ``tasks`` tareas; devuelve eventos, resultados y salud."""
    rng = random.Random(seed)
    clock = FakeClock(start=100.0)
    queue = TaskQueue(lease_timeout=lease, max_attempts=3, clock=clock)
    for i in range(tasks):
        queue.add_task({"image_path": f"images/foto-{i + 1:02d}.jpg"})
    ids = [f"worker-{k + 1}" for k in range(workers)]
    heap = [(clock.now + 0.01 * k, k, "free", worker, None) for k, worker in enumerate(ids)]
    heapq.heapify(heap)
    results, done, dead, seq = [], {w: [0, 0] for w in ids}, set(), len(heap)
    last_beat = {w: clock.now for w in ids}
    while heap:
        clock.now, _, action, worker, task = heapq.heappop(heap)
        seq += 1
        if action == "finish":
            last_beat[worker] = clock.now
            if task.id == failing_task:
                queue.mark_failed(task.id, f"No se pudo abrir {task.payload['image_path']}", worker_id=worker)
                done[worker][1] += 1
            else:
                result = fake_result(task.id, worker, task.payload["image_path"], rng)
                queue.mark_completed(task.id, result, worker_id=worker)
                results.append(result)
                done[worker][0] += 1
            heapq.heappush(heap, (clock.now + 0.005, seq, "free", worker, None))
            continue
        queue.requeue_expired()
        stats = queue.get_stats()
        if stats["pending"] == 0 and stats["processing"] == 0:
            continue
        got = queue.get_task(worker)
        if got is None:  # nada pendiente ahora: volver a mirar dentro de un rato
            heapq.heappush(heap, (clock.now + 0.1, seq, "free", worker, None))
            continue
        last_beat[worker] = clock.now
        if worker == dying_worker and done[worker][0] == 2 and worker not in dead:
            dead.add(worker)  # muere con la tarea en la mano: nadie la termina
            continue
        heapq.heappush(heap, (clock.now + rng.uniform(0.17, 0.24), seq, "finish", worker, got))
    health = [{"worker_id": w, "healthy": w not in dead, "tasks_completed": done[w][0],
               "tasks_failed": done[w][1], "heartbeat_age": round(clock.now - last_beat[w], 2)} for w in ids]
    return {"events": queue.timeline(), "results": results, "health": health, "queue": queue}


def fake_runs(cores: int = 2, serial_fraction: float = 0.12, t1: float = 2.4, max_workers: int = 6,
              repeats: int = 3, seed: int = 3) -> list[dict[str, Any]]:
    """Ejecuciones de un experimento de speedup: Amdahl con ``min(workers, cores)`` y algo de ruido."""
    rng = random.Random(seed)
    runs = []
    for n in range(1, max_workers + 1):
        p = min(n, cores)
        for _ in range(repeats):
            ideal = t1 * (serial_fraction + (1 - serial_fraction) / p)
            runs.append({"workers": n, "wall_time": round(ideal * rng.uniform(0.96, 1.08) * (1 + 0.01 * n), 4),
                         "tasks": 12})
    return runs


def async_events(tasks: int = 9, concurrent: int = 3, seed: int = 5, hung: str = "task-0005") -> list[Any]:
    """Un worker asíncrono con ``concurrent`` tareas a la vez; ``hung`` se cuelga y queda abandonada."""
    rng = random.Random(seed)
    clock = FakeClock(start=100.0)
    queue = TaskQueue(lease_timeout=0.5, max_attempts=1, clock=clock)
    for i in range(tasks):
        queue.add_task({"image_path": f"images/foto-{i + 1:02d}.jpg"})
    heap, active = [], set()

    def start() -> None:
        task = queue.get_task("async-1")
        if task is not None:
            active.add(task.id)
            delay = 0.51 if task.id == hung else rng.uniform(0.15, 0.3)  # la colgada: al caducar
            heapq.heappush(heap, (clock.now + delay, task.id))

    for _ in range(concurrent):
        clock.now += 0.01
        start()
    while heap:
        clock.now, task_id = heapq.heappop(heap)
        for other in active - {task_id, hung}:
            queue.heartbeat(other, "async-1")
        active.discard(task_id)
        if task_id == hung:  # sin más intentos, la cola la da por abandonada
            queue.requeue_expired()
        else:
            queue.mark_completed(task_id, {}, worker_id="async-1")
        start()
    return queue.timeline()


def hand_timeline() -> list[TaskEvent]:
    """t1 se completa; t2 lo pierde w2 (reencolada) y lo completa w1; t3 falla; t4 sigue en proceso."""
    return [TaskEvent(0.0, "t1", P), TaskEvent(0.0, "t2", P), TaskEvent(0.0, "t3", P), TaskEvent(0.0, "t4", P),
            TaskEvent(1.0, "t1", R, "w1", 1), TaskEvent(1.5, "t2", R, "w2", 1),
            TaskEvent(3.0, "t1", C, "w1", 1),
            TaskEvent(4.0, "t2", P, "w2", 1, "concesión caducada: w2 dejó de latir"),
            TaskEvent(4.0, "t2", R, "w1", 2), TaskEvent(5.0, "t3", R, "w3", 1),
            TaskEvent(6.0, "t2", C, "w1", 2), TaskEvent(6.5, "t3", F, "w3", 1, "No se pudo abrir x.jpg"),
            TaskEvent(7.0, "t4", R, "w3", 1), TaskEvent(7.5, "t5", P)]
