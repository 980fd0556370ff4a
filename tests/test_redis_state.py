"""Una configuración por cola y pérdida de estado ruidosa, contra servidores Redis reales.

Un Redis sin persistencia (``--save "" --appendonly no``) que se reinicia a mitad pierde la
cola entera: los clientes que la conocían tienen que decirlo (``QueueStateLostError``) en vez
de ver una cola vacía y dar ``join()`` por bueno.
"""

from __future__ import annotations

import json
import pickle
import threading

import pytest

from lab.errors import QueueConfigError, QueueStateLostError
from lab.workers.redis.queue import RedisTaskQueue
from lab.workers.service import QueueWorker
from tests._workers_helpers import FakeClock
from tests.redis_support import RedisServer, make_redis_queue, unique_name

pytestmark = pytest.mark.redis


def payload(n: int) -> dict:
    return {"image_path": f"images/photo{n}.jpg", "output_path": f"output/photo{n}.jpg"}


# --- una configuración por cola ---------------------------------------------------------------

def test_the_first_client_that_configures_the_queue_sets_it_for_all(redis_url):
    first = make_redis_queue(redis_url, lease_timeout=10, max_attempts=2)
    assert first.config_stored and (first.lease_timeout, first.max_attempts) == (10.0, 2)
    adopter = RedisTaskQueue(redis_url, name=first.name)
    assert adopter.config_stored and (adopter.lease_timeout, adopter.max_attempts) == (10.0, 2)
    same = RedisTaskQueue(redis_url, name=first.name, lease_timeout=10.0)
    assert same.max_attempts == 2
    with pytest.raises(QueueConfigError, match=r"ya está configurada con lease_timeout=10\.0, max_attempts=2 y "
                                               r"retention=Retention\(max_finished=10000.*"
                                               r"lease_timeout=30"):
        RedisTaskQueue(redis_url, name=first.name, lease_timeout=30)
    with pytest.raises(QueueConfigError, match="max_attempts=5"):
        RedisTaskQueue(redis_url, name=first.name, max_attempts=5)
    copy = pickle.loads(pickle.dumps(adopter))
    assert (copy.lease_timeout, copy.max_attempts) == (10.0, 2)


def test_a_client_without_options_never_writes_the_configuration(redis_url):
    name = unique_name()
    plain = make_redis_queue(redis_url, name=name)
    plain.add_task(payload(1))
    assert not plain.config_stored and (plain.lease_timeout, plain.max_attempts) == (None, 3)
    worker_side = make_redis_queue(redis_url, name=name, lease_timeout=30)     # el primero que la indica
    assert worker_side.config_stored and worker_side.max_attempts == 3


def test_the_stored_configuration_wins_over_a_stale_client(redis_url):
    """Un cliente creado antes de que la cola se configurara usa igualmente la configuración guardada."""
    clock = FakeClock()
    name = unique_name()
    early = make_redis_queue(redis_url, name=name, clock=clock)               # cree: sin concesiones, 3 entregas
    make_redis_queue(redis_url, name=name, lease_timeout=5, max_attempts=1, clock=clock)
    task_id = early.add_task(payload(1))
    task = early.get_task("w1")
    assert task.lease_expires_at == pytest.approx(clock.now + 5)              # la concesión de la cola
    clock.advance(6)
    assert early.requeue_expired() == [task_id]
    assert early.task_info(task_id).state.value == "failed"                   # max_attempts=1 de la cola
    assert early.audit() == []


# --- pérdida de estado --------------------------------------------------------------------------

def test_a_restart_without_persistence_is_loud_not_silent(tmp_path):
    server = RedisServer(tmp_path / "sin-persistencia").start()          # --save "" --appendonly no
    try:
        name = unique_name("perdida")
        producer = RedisTaskQueue(server.url, name=name, lease_timeout=30)
        assert "no guarda nada en disco" in producer.persistence_problem()
        producer.add_tasks({"noop": True, "sleep": 0.005} for _ in range(300))
        worker = QueueWorker("w1", None, RedisTaskQueue(server.url, name=name), poll_interval=0.1)
        crash: list[BaseException] = []

        def run() -> None:
            try:
                worker.start(forever=True)
            except BaseException as exc:
                crash.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        deadline = threading.Event()
        while producer.get_stats()["completed"] < 20 and not deadline.wait(0.02):
            pass
        server.restart()
        thread.join(60)
        assert not thread.is_alive() and crash and isinstance(crash[0], QueueStateLostError)
        assert "ha desaparecido" in str(crash[0]) and str(crash[0]).count("\n") == 0
        with pytest.raises(QueueStateLostError, match=f"cola '{name}'"):
            producer.join(timeout=5)
        with pytest.raises(QueueStateLostError):
            producer.get_stats()
        with pytest.raises(QueueStateLostError):
            producer.add_task(payload(1))
        fresh = RedisTaskQueue(server.url, name=name)                     # un cliente nuevo no sabe nada...
        assert fresh.generation is None and fresh.get_stats()["total"] == 0
        from lab.cli.queue_commands import main
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["stats", "--queue", server.url, "--name", name]) == 0
        text = out.getvalue()
        assert "no tiene estado en este Redis" in text and "no guarda nada en disco" in text   # ...pero lo dice
        with contextlib.redirect_stdout(io.StringIO()) as raw:
            main(["stats", "--queue", server.url, "--name", name, "--json"])
        data = json.loads(raw.getvalue())
        assert data["has_state"] is False and data["persistence_problem"]
    finally:
        server.stop()


def test_a_restart_with_persistence_keeps_the_generation(tmp_path):
    server = RedisServer(tmp_path / "aof", aof=True).start()
    try:
        queue = RedisTaskQueue(server.url, name=unique_name(), lease_timeout=30)
        assert queue.persistence_problem() is None
        queue.add_tasks(payload(i) for i in range(3))
        generation = queue.generation
        server.restart()
        assert queue.get_stats()["pending"] == 3 and queue.generation == generation
        assert queue.get_task("w").id == "task-0001"
    finally:
        server.stop()


def test_keys_deleted_by_hand_are_detected(redis_url):
    queue = make_redis_queue(redis_url)
    queue.add_task(payload(1))
    other = RedisTaskQueue(redis_url, name=queue.name)
    other._client.delete(*other._client.keys(queue.prefix + "*"))
    with pytest.raises(QueueStateLostError):
        queue.get_task("w")
    with pytest.raises(QueueStateLostError):
        queue.task_info("task-0001")
    queue.clear()                                   # quien borra a propósito empieza de cero
    assert queue.add_task(payload(1)) == "task-0001"


def test_the_cli_worker_warns_at_start_and_stops_with_one_line_when_the_state_is_lost(tmp_path):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    server = RedisServer(tmp_path / "cli").start()
    try:
        name = unique_name("cli")
        producer = RedisTaskQueue(server.url, name=name)
        producer.add_tasks({"noop": True, "sleep": 0.01} for _ in range(300))
        env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "lab.cli.queue_commands", "worker", "--queue", server.url,
                                 "--name", name, "--id", "w1", "--poll", "0.1"], cwd=repo, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while producer.get_stats()["completed"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.restart()
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 2, err
        assert "no guarda nada en disco" in err and "python -m lab redis --aof" in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("❌ El estado de la cola") and "ha desaparecido" in last
        assert "no existe en la cola" not in err
    finally:
        server.stop()
