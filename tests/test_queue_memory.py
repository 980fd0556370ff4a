"""Tests propios de la cola en memoria: auditoría de estados corruptos y carga con hypothesis."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from lab.workers import TaskQueue, TaskState
from tests._workers_helpers import FakeClock


def test_audit_detects_corruption():
    queue = TaskQueue()
    queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    assert queue.audit() == []
    queue._ledger.counts[TaskState.COMPLETED] += 1   # un contador que no cuadra
    assert any("contador" in p for p in queue.audit())
    queue._ledger.counts[TaskState.COMPLETED] -= 1
    queue._pending.append("task-0001")                # la misma tarea dos veces en la lista
    assert any("2 veces" in p for p in queue.audit())


def test_audit_detects_double_completion_in_history():
    queue = TaskQueue()
    task_id = queue.add_task({})
    queue.get_task("w")
    queue.mark_completed(task_id)
    queue._ledger.events.append(queue._ledger.events[-1])
    assert any("terminó 2 veces" in p for p in queue.audit())


operations = st.lists(st.tuples(st.sampled_from(["add", "get", "complete", "fail", "beat", "tick"]),
                                 st.integers(0, 3)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_random_operations_keep_the_queue_sound(ops):
    """Cualquier secuencia de operaciones (legales o no) deja la cola coherente."""
    clock = FakeClock(start=0.0)
    queue = TaskQueue(lease_timeout=3, max_attempts=2, clock=clock)
    leased: list[tuple[str, str]] = []
    for op, n in ops:
        worker = f"w{n}"
        try:
            if op == "add":
                queue.add_task({"n": n})
            elif op == "get":
                task = queue.get_task(worker)
                if task is not None:
                    leased.append((task.id, worker))
            elif op in ("complete", "fail", "beat") and leased:
                task_id, owner = leased[n % len(leased)]
                if op == "complete":
                    queue.mark_completed(task_id, worker_id=owner)
                elif op == "fail":
                    queue.mark_failed(task_id, error="x", worker_id=owner)
                else:
                    queue.heartbeat(task_id, owner)
            elif op == "tick":
                clock.now += n
                queue.requeue_expired()
        except Exception as exc:                        # las operaciones ilegales deben ser errores propios
            assert type(exc).__module__ == "lab.errors", exc
        assert queue.audit() == []
        stats = queue.get_stats()
        assert stats["total"] == sum(stats[s] for s in ("pending", "processing", "completed", "failed"))
