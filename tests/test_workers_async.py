"""AsyncWorker: concurrencia acotada (medida), uso con un bucle ya en marcha, parada y cancelación."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests._workers_helpers import GOOD_RESULT, tiny_image
from lab.workers import AsyncWorker, TaskQueue, TaskState


class GatedAsync(AsyncWorker):
    """Cada tarea avisa al entrar y espera a la puerta; se mide cuántas hay dentro a la vez."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.active = self.peak = 0

    def process_task(self, task):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.entered.release()
        try:
            assert self.gate.wait(10)
            return dict(GOOD_RESULT)
        finally:
            with self.lock:
                self.active -= 1


def fill(queue, n):
    return [queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"}) for _ in range(n)]


def test_never_more_than_max_concurrent_tasks_in_flight():
    queue = TaskQueue()
    ids = fill(queue, 10)
    worker = GatedAsync("worker-async", None, queue, max_concurrent=3)
    thread = threading.Thread(target=worker.run)
    thread.start()
    for _ in range(3):
        assert worker.entered.acquire(timeout=10)
    with worker.lock:
        assert worker.active == 3
    assert worker.get_stats()["state"] == "busy" and len(worker.get_stats()["current_tasks"]) == 3
    worker.gate.set()
    thread.join(10)
    assert not thread.is_alive()
    assert worker.peak == 3 and worker.peak_concurrency == 3
    assert all(queue.task_info(t).state is TaskState.COMPLETED for t in ids)
    assert worker.get_stats()["tasks_completed"] == 10 and queue.audit() == []


def test_await_start_inside_a_running_loop_like_jupyter(tmp_path):
    from lab.core import FilterPipeline
    from lab.filters import BlurFilter

    queue = TaskQueue()
    for i in range(4):
        src = tiny_image(tmp_path / f"in{i}.jpg")
        queue.add_task({"image_path": str(src), "output_path": str(tmp_path / "out" / f"{i}.jpg")})
    queue.add_task({"image_path": str(tmp_path / "nada.jpg"), "output_path": str(tmp_path / "x.jpg")})
    worker = AsyncWorker("worker-async", FilterPipeline([BlurFilter(radius=1)]), queue, max_concurrent=2)

    async def cell():  # como una celda con 'await worker.start()' en el nivel superior
        await worker.start()
        with pytest.raises(RuntimeError, match="await worker.start"):
            worker.run()

    asyncio.run(cell())
    stats = worker.get_stats()
    assert (stats["tasks_completed"], stats["tasks_failed"]) == (4, 1)
    assert stats["pipeline_time"] > 0 and 1 <= worker.peak_concurrency <= 2
    assert "task-0005" in queue.task_info("task-0005").error
    assert worker.is_healthy() and worker.state == "stopped"


def test_stop_lets_the_tasks_in_flight_finish():
    queue = TaskQueue()
    fill(queue, 6)
    worker = GatedAsync("worker-async", None, queue, max_concurrent=2)
    thread = threading.Thread(target=worker.run, kwargs={"forever": True})
    thread.start()
    for _ in range(2):
        assert worker.entered.acquire(timeout=10)
    worker.stop()
    worker.gate.set()
    thread.join(10)
    assert not thread.is_alive()
    stats = queue.get_stats()
    assert (stats["completed"], stats["processing"], stats["pending"]) == (2, 0, 4)


def test_cancelling_start_does_not_leave_tasks_in_processing():
    queue = TaskQueue()
    fill(queue, 3)
    worker = GatedAsync("worker-async", None, queue, max_concurrent=3)

    async def main():
        runner = asyncio.create_task(worker.start())
        for _ in range(3):
            assert await asyncio.to_thread(worker.entered.acquire, timeout=10)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner

    asyncio.run(main())
    worker.gate.set()
    assert queue.join(timeout=10)
    assert queue.get_stats()["completed"] == 3 and queue.audit() == []
    for thread in threading.enumerate():  # los hilos que terminan las tareas tras la cancelación
        if thread.name.startswith("worker-async"):
            thread.join(10)
    assert worker.state == "stopped"


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_max_concurrent_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError):
        AsyncWorker("w", None, TaskQueue(), max_concurrent=bad)
