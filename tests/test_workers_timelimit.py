"""Una tarea colgada se rescata, no solo se avisa (``task_time_limit``), y ``ProcessWorkerPool.stop(timeout)`` acaba.

Con hilos: pasado el límite, la concesión de la tarea deja de renovarse, otro worker la recoge tras
``lease_timeout`` y el resultado tardío del intento colgado se rechaza por su *fencing token* (en
memoria y en Redis). Con procesos, además, el hijo se mata (SIGTERM y, si no sale, SIGKILL) y el
intento falla con un error pasajero que ``RetryPolicy`` reintenta. Los relojes son falsos donde se
puede; con procesos, los límites reales son de menos de un segundo.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lab.workers import AsyncWorker, HealthPolicy, SimpleWorker, TaskQueue, TaskState, wait_until
from lab.workers.pool import ProcessWorkerPool
from lab.workers.process.worker import ProcessWorker
from tests._process_helpers import HangOnceFilter
from tests._workers_helpers import GOOD_RESULT, FakeClock, RecordingHandler, tiny_image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def warnings_seen():
    """Los registros WARNING o más del logger ``lab.worker`` durante el test."""
    logger = logging.getLogger("lab.worker")
    handler, level = RecordingHandler(), logger.level
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def _said(records, text: str) -> bool:
    return any(text in r.getMessage() for r in list(records))


def _payload(tmp_path, name: str = "img", **extra) -> dict:
    image = tiny_image(tmp_path / "in" / f"{name}.jpg")
    return {"image_path": str(image), "output_path": str(tmp_path / "out" / f"{name}.jpg"), **extra}


def _pass_the_limit(clock, queue, task_id: str, records) -> None:
    """Lleva el reloj (desde 1000) más allá del límite de 1,5 s en pasos menores que la concesión de 1 s.

    Al volver, el worker ya avisó (⏰) y la tarea sigue siendo suya: la concesión no caducó antes de tiempo.
    """
    clock.advance(0.8)
    assert wait_until(lambda: queue.task_info(task_id).lease_expires_at >= 1001.79, 10)   # renovada en 1000,8
    clock.advance(0.8)                                                                      # 1001,6 > límite
    assert wait_until(lambda: _said(records, f"⏰ La tarea {task_id}"), 10)
    task = queue.task_info(task_id)
    assert task.state is TaskState.PROCESSING and task.attempts == 1


def _completions(queue, task_id: str) -> list:
    return [e for e in queue.timeline() if e.task_id == task_id and e.state is TaskState.COMPLETED]


class StuckWorker(SimpleWorker):
    """``worker-a`` se cuelga en su tarea hasta que el test suelta ``release``; los demás la hacen al momento."""

    def __init__(self, *args, release: threading.Event, started: threading.Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.release, self.started = release, started

    def process_task(self, task):
        if self.worker_id == "worker-a":
            self.started.set()
            assert self.release.wait(30)
        return dict(GOOD_RESULT)


def test_a_task_stuck_past_its_time_limit_goes_to_another_worker_and_the_late_result_is_refused(
        make_queue, warnings_seen):
    """El caso medido: lease 1 s, límite 1,5 s, A colgado y B libre; B la completa y el resultado de A se rechaza."""
    clock, release, started = FakeClock(), threading.Event(), threading.Event()
    queue = make_queue(lease_timeout=1, clock=clock)
    task_id = queue.add_task({"image_path": "a", "output_path": "b"})
    options = {"clock": clock, "health_policy": HealthPolicy(task_time_limit=1.5), "heartbeat_interval": 0.01,
               "poll_interval": 0.05, "release": release, "started": started}
    a, b = StuckWorker("worker-a", None, queue, **options), StuckWorker("worker-b", None, queue, **options)
    thread_a = threading.Thread(target=a.start)
    thread_a.start()
    assert started.wait(10)
    thread_b = threading.Thread(target=b.start, kwargs={"forever": True})
    thread_b.start()
    try:
        _pass_the_limit(clock, queue, task_id, warnings_seen)   # A pasa de su límite: deja de renovar
        reasons = a.health()["reasons"]
        assert len(reasons) == 1 and "su concesión ya no se renueva y otro worker la recogerá" in reasons[0]
        clock.advance(1.0 + 0.5)                             # lease_timeout + un margen
        assert wait_until(lambda: queue.task_info(task_id).state is TaskState.COMPLETED, 10)
        done = queue.task_info(task_id)
        assert (done.worker_id, done.attempts) == ("worker-b", 2)
    finally:
        release.set()
        thread_a.join(10)
        b.stop()
        thread_b.join(10)
    assert _said(warnings_seen, f"Resultado de la tarea {task_id} (entrega 1) descartado")
    assert a.get_stats()["lease_lost"] == 1 and a.get_stats()["tasks_completed"] == 0
    assert len(_completions(queue, task_id)) == 1 and queue.audit() == []
    assert a.is_healthy() and not a.health()["alive"]        # terminó: sano y ya no en marcha


def test_an_async_worker_redelivers_its_own_stuck_task_to_another_of_its_loops(warnings_seen):
    """``AsyncWorker`` son hilos: no puede matar el colgado, pero otra copia de su bucle recoge la tarea."""
    clock, release, started = FakeClock(), threading.Event(), threading.Event()
    queue = TaskQueue(lease_timeout=1, clock=clock)
    task_id = queue.add_task({"image_path": "a", "output_path": "b"})

    class HangsOnce(AsyncWorker):
        def process_task(self, task):
            if task.attempts == 1:
                started.set()
                assert release.wait(30)
            return dict(GOOD_RESULT)

    worker = HangsOnce("async-1", None, queue, max_concurrent=2, clock=clock, heartbeat_interval=0.01,
                       poll_interval=0.05, health_policy=HealthPolicy(task_time_limit=1.5))
    thread = threading.Thread(target=asyncio.run, args=(worker.start(forever=True),))
    thread.start()
    try:
        assert started.wait(10)
        _pass_the_limit(clock, queue, task_id, warnings_seen)
        clock.advance(1.0 + 0.5)
        assert wait_until(lambda: queue.task_info(task_id).state is TaskState.COMPLETED, 10)
        assert queue.task_info(task_id).attempts == 2
    finally:
        release.set()
        worker.stop()
        thread.join(10)
    assert worker.get_stats()["lease_lost"] == 1 and worker.get_stats()["tasks_completed"] == 1
    assert len(_completions(queue, task_id)) == 1 and queue.audit() == []


def test_without_leases_a_hung_thread_is_only_reported(warnings_seen):
    """Sin concesiones nadie puede recoger la tarea y un hilo no se puede matar: el motivo lo dice."""
    clock, release, started = FakeClock(), threading.Event(), threading.Event()
    queue = TaskQueue(clock=clock)
    task_id = queue.add_task({"image_path": "a", "output_path": "b"})
    a = StuckWorker("worker-a", None, queue, clock=clock, health_policy=HealthPolicy(task_time_limit=1.5),
                    heartbeat_interval=0.01, release=release, started=started)
    thread = threading.Thread(target=a.start)
    thread.start()
    assert started.wait(10)
    clock.advance(2.0)
    assert wait_until(lambda: _said(warnings_seen, "⏰"), 10)
    assert "nadie la puede recoger" in a.health()["reasons"][0]
    release.set()
    thread.join(10)
    assert queue.task_info(task_id).state is TaskState.COMPLETED   # nadie más la tenía: su resultado vale


def test_a_child_past_its_time_limit_is_killed_and_the_task_retried_by_the_policy(tmp_path, warnings_seen):
    marker = tmp_path / "colgada.pid"
    queue = TaskQueue(lease_timeout=30)
    hung, other = queue.add_tasks([_payload(tmp_path, "a"), _payload(tmp_path, "b")])
    pool = ProcessWorkerPool(1, [HangOnceFilter(marker=str(marker))], queue, retry=1, sleep=lambda s: None,
                             health_policy=HealthPolicy(task_time_limit=0.5))
    pool.start(wait=False)
    try:
        assert pool.join(timeout=60), "la tarea colgada no se rescató"
    finally:
        pool.terminate()
        pool.stop(10)
    assert [queue.task_info(t).state for t in (hung, other)] == [TaskState.COMPLETED, TaskState.COMPLETED]
    assert queue.task_info(hung).attempts == 1                 # una sola entrega: lo reintentó el worker
    stats = pool.get_stats()
    assert stats["retries"] == 1 and stats["tasks_completed"] == 2
    assert _said(warnings_seen, f"⏰ La tarea {hung}") and _said(warnings_seen, "se mata su proceso hijo")
    assert _said(warnings_seen, "mató su proceso hijo (SIGTERM) al procesar la tarea task-0001: superó su límite")
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("lab-")]


def test_a_child_that_ignores_sigterm_is_killed_and_another_process_worker_takes_the_task(
        tmp_path, warnings_seen, monkeypatch):
    """Lo mismo que con hilos, con procesos: el hijo colgado de A ignora SIGTERM y se remata con SIGKILL;
    mientras, B recoge la tarea al caducar la concesión y la completa; el fallo tardío de A se rechaza."""
    monkeypatch.setattr("lab.workers.process.child.TERM_GRACE", 2.5)
    marker = tmp_path / "colgada.pid"
    queue = TaskQueue(lease_timeout=1)
    task_id = queue.add_task(_payload(tmp_path, "a"))
    pipeline = [HangOnceFilter(marker=str(marker), ignore_sigterm=True)]       # A se cuelga; B ya no
    options = {"health_policy": HealthPolicy(task_time_limit=0.5), "retry": 1, "sleep": lambda s: None,
               "poll_interval": 0.05}
    a = ProcessWorker("worker-a", pipeline, queue, **options)
    b = ProcessWorker("worker-b", pipeline, queue, **options)
    thread_a = threading.Thread(target=a.start)
    thread_a.start()
    thread_b = None
    try:
        assert wait_until(marker.exists, 60), "A no empezó la tarea"
        thread_b = threading.Thread(target=b.start, kwargs={"forever": True})
        thread_b.start()
        start = time.monotonic()
        assert wait_until(lambda: queue.task_info(task_id).state is TaskState.COMPLETED, 30)
        assert time.monotonic() - start < 0.5 + 1.0 + 5.0          # límite + lease_timeout + margen
        assert queue.task_info(task_id).worker_id == "worker-b" and queue.task_info(task_id).attempts == 2
        thread_a.join(30)
        assert not thread_a.is_alive()
    finally:
        a.stop()
        b.stop()
        a.child.terminate("fin del test", grace=0)
        thread_a.join(30)
        if thread_b is not None:
            thread_b.join(30)
        a.child.close()
        b.child.close()
    assert _said(warnings_seen, "mató su proceso hijo (SIGKILL)")    # SIGTERM no bastó
    assert _said(warnings_seen, f"Resultado de la tarea {task_id} (entrega 1) descartado")
    assert a.get_stats()["lease_lost"] == 1 and a.get_stats()["retries"] == 0   # no reintenta lo que tiene B
    assert len(_completions(queue, task_id)) == 1 and queue.audit() == []


def test_process_pool_stop_with_a_stuck_child_ends_with_nothing_processing(tmp_path):
    """``stop(timeout)`` con un hijo atascado: la tarea falla (sin reintentos), las demás siguen en la cola
    y no queda ningún hilo ni proceso (antes la tarea quedaba en ``processing`` y se reintentaba después)."""
    queue = TaskQueue()
    stuck, waiting = queue.add_tasks([_payload(tmp_path, "a"), _payload(tmp_path, "b")])
    pool = ProcessWorkerPool(1, [{"name": "test_block"}], queue, retry=3, sleep=lambda s: None)
    pool.start(forever=True, wait=False)
    assert wait_until(lambda: queue.get_stats()["processing"] == 1, 60)
    start = time.monotonic()
    assert pool.stop(1) is True
    assert time.monotonic() - start < 1 + 2.0 + 5.0
    assert not any(t.is_alive() for t in pool.threads)
    assert pool.pids() == [None] and not [p for p in multiprocessing.active_children() if p.name.startswith("lab-")]
    time.sleep(0.3)                                            # nada se reintenta después de stop()
    task = queue.task_info(stuck)
    assert task.state is TaskState.FAILED and "el pool se detuvo (stop)" in task.error
    assert queue.task_info(waiting).state is TaskState.PENDING
    assert pool.get_stats()["retries"] == 0 and queue.get_stats()["processing"] == 0


def test_a_script_whose_process_pool_stops_with_a_stuck_child_exits(tmp_path):
    """El intérprete termina: ni un hilo ni un hijo lo retienen (antes, a veces no salía nunca)."""
    script = tmp_path / "pool_colgado.py"
    script.write_text(textwrap.dedent(f"""
        import time
        import tests._process_helpers
        from lab.workers import TaskQueue, wait_until
        from lab.workers.pool import ProcessWorkerPool

        if __name__ == "__main__":
            queue = TaskQueue()
            queue.add_task({{"image_path": {str(tiny_image(tmp_path / "a.jpg"))!r}, "output_path": "x.jpg"}})
            pool = ProcessWorkerPool(1, [{{"name": "test_block"}}], queue)
            pool.start(forever=True, wait=False)
            assert wait_until(lambda: queue.get_stats()["processing"] == 1, 60)
            print("parado:", pool.stop(1), queue.get_stats()["failed"])
    """))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    assert "parado: True 1" in done.stdout


def test_alive_means_running_and_crashed_means_the_loop_fell():
    """``alive``: el bucle está en marcha; un worker parado no está vivo (antes decía alive=True)."""
    queue = TaskQueue()
    worker = SimpleWorker("worker-1", None, queue)
    health = worker.health()
    assert (health["alive"], health["crashed"], health["healthy"]) == (False, False, True)   # sin arrancar

    class Watching(SimpleWorker):
        def process_task(self, task):
            self.seen = self.health()
            return dict(GOOD_RESULT)

    queue.add_task({"image_path": "a", "output_path": "b"})
    watching = Watching("worker-2", None, queue)
    watching.start()
    assert watching.seen["alive"] is True and watching.seen["crashed"] is False
    health = watching.health()
    assert (health["alive"], health["crashed"], health["healthy"], health["state"]) == (False, False, True, "stopped")
