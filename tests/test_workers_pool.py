"""WorkerPool: agrega estadísticas, para de forma ordenada; y la prueba de carga con 8 hilos."""

from __future__ import annotations

import collections

import pytest

from tests._workers_helpers import NoOpWorker
from lab.workers import TaskQueue, TaskState, WorkerPool
from lab.workers import pool as pool_module


def test_pool_runs_until_the_queue_is_empty_and_aggregates(quiet_workers):
    queue = TaskQueue()
    ids = [queue.add_task({"image_path": "a", "output_path": "b"}) for _ in range(12)]
    queue.add_task({"image_path": "a"})  # sin output_path: el NoOpWorker la completa igualmente
    pool = WorkerPool(3, None, queue, worker_class=NoOpWorker)
    assert [w.worker_id for w in pool.workers] == ["worker-1", "worker-2", "worker-3"]
    stats = pool.run()
    assert stats["tasks_completed"] == 13 and stats["tasks_failed"] == 0
    assert sum(w["tasks_completed"] for w in stats["workers"].values()) == 13
    assert sorted(t for w in pool.workers for t in w.seen) == sorted(ids + ["task-0013"])
    assert stats["load_time"] == pytest.approx(1.3) and stats["success_rate"] == 1.0
    assert stats["size"] == 3 and stats["kind"] == "thread" and stats["wall_time"] >= 0
    assert pool.is_healthy() and set(pool.health()["workers"]) == {"worker-1", "worker-2", "worker-3"}
    with pytest.raises(RuntimeError):
        pool.start()


def test_pool_as_context_manager_stops_gracefully(quiet_workers):
    queue = TaskQueue()
    with WorkerPool(2, None, queue, worker_class=NoOpWorker) as pool:
        pool.start(forever=True, wait=False)
        for _ in range(20):
            queue.add_task({"image_path": "a", "output_path": "b"})
        assert queue.join(timeout=10)
    assert not any(t.is_alive() for t in pool.threads)
    assert pool.get_stats()["tasks_completed"] == 20
    assert all(w.state == "stopped" for w in pool.workers)


def test_a_pool_of_async_workers_runs_each_in_its_own_loop(quiet_workers):
    from lab.workers import AsyncWorker

    class NoOpAsync(AsyncWorker):
        def process_task(self, task):
            return {"load": 0.1}

    queue = TaskQueue()
    for _ in range(9):
        queue.add_task({"image_path": "a", "output_path": "b"})
    stats = WorkerPool(2, None, queue, worker_class=NoOpAsync, max_concurrent=2).run()
    assert stats["tasks_completed"] == 9 and queue.audit() == []


def test_pool_validates_its_arguments():
    with pytest.raises(ValueError):
        WorkerPool(0, None, TaskQueue())
    with pytest.raises(ValueError, match="thread"):
        WorkerPool(2, None, TaskQueue(), kind="nope")


def test_the_pool_builds_its_workers_from_the_class_of_its_kind(monkeypatch, quiet_workers):
    monkeypatch.setitem(pool_module.KINDS, "fake", lambda worker_class: NoOpWorker)
    queue = TaskQueue()
    ids = [queue.add_task({"image_path": "a", "output_path": "b"}) for _ in range(4)]
    pool = WorkerPool(2, None, queue, kind="fake")
    assert all(type(w) is NoOpWorker for w in pool.workers)
    stats = pool.run(forever=False)
    assert stats["tasks_completed"] == 4 and stats["kind"] == "fake" and pool.is_healthy()
    assert sorted(t for w in pool.workers for t in w.seen) == ids


def test_stress_eight_threads_ten_thousand_tasks_each_completed_once(quiet_workers):
    queue = TaskQueue()
    pool = WorkerPool(8, None, queue, worker_class=NoOpWorker, poll_interval=0.05)
    pool.start(forever=True, wait=False)
    ids = [queue.add_task({"image_path": "a", "output_path": "b"}) for _ in range(10_000)]
    assert queue.join(timeout=120)
    assert pool.stop(timeout=30)
    seen = collections.Counter(t for w in pool.workers for t in w.seen)
    assert set(seen) == set(ids) and max(seen.values()) == 1
    completions = collections.Counter(e.task_id for e in queue.timeline() if e.state is TaskState.COMPLETED)
    assert set(completions) == set(ids) and max(completions.values()) == 1
    assert queue.get_stats()["completed"] == 10_000 and queue.audit() == []
    stats = pool.get_stats()
    assert stats["tasks_completed"] == 10_000 and stats["tasks_failed"] == 0
    assert all(w["state"] == "stopped" for w in stats["workers"].values())
