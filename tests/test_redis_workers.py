"""Workers en procesos reales contra un redis-server real: fallos, reinicios y carga.

Cada worker es ``python -m lab.cli.queue_commands worker ...`` (lo mismo que ``python -m lab worker``)
con logs JSON en un fichero, para contar qué tarea completó cada proceso. Las esperas están
acotadas (``wait_for``); ninguna aserción depende de cuánto tarda algo.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from lab.workers import TaskState
from lab.workers.redis.queue import RedisTaskQueue
from tests.redis_support import RedisServer, free_port, make_redis_queue, unique_name

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.redis


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Sondea ``predicate`` hasta ``timeout`` segundos; si no se cumple, falla diciendo qué se esperaba."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"No ocurrió en {timeout}s: {what}")
        time.sleep(interval)


class Workers:
    """Lanza procesos worker y recoge sus logs JSON; los mata a todos al final."""

    def __init__(self, url: str, name: str, logs: Path):
        self.url, self.name, self.logs = url, name, logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, worker_id: str, *extra: str) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{worker_id}.log", "w")
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "lab.cli.queue_commands", "worker", "--queue", self.url, "--name", self.name,
               "--id", worker_id, "--json-logs", "--poll", "0.2", *extra]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        log.close()
        self.procs[worker_id] = proc
        return proc

    def records(self, worker_id: str | None = None) -> list[dict]:
        out = []
        for path in sorted(self.logs.glob("*.log")) if worker_id is None else [self.logs / f"{worker_id}.log"]:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("{"):
                    out.append(json.loads(line))
        return out

    def completions(self) -> Counter:
        """Cuántas veces registró cada tarea un «✅ Tarea completada» (entre todos los procesos)."""
        return Counter(r["task_id"] for r in self.records() if "Tarea completada" in r["message"])

    def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for worker_id, proc in self.procs.items():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pytest.fail(f"El worker {worker_id} no terminó en {timeout}s:\n{self.tail(worker_id)}")

    def tail(self, worker_id: str) -> str:
        return "\n".join((self.logs / f"{worker_id}.log").read_text(encoding="utf-8").splitlines()[-15:])

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def workers(redis_url, tmp_path):
    queue_name = unique_name("procs")
    group = Workers(redis_url, queue_name, tmp_path / "logs")
    yield group
    group.kill_all()


def noop(sleep: float = 0.0) -> dict:
    return {"noop": True, **({"sleep": sleep} if sleep else {})}


def test_killed_worker_task_is_re_leased_and_completed_by_another(redis_url, workers):
    queue = make_redis_queue(redis_url, name=workers.name, lease_timeout=1.5)
    ids = queue.add_tasks([noop(1.0), noop(0.2), noop(0.2)])
    victim = workers.start("w1", "--lease", "1.5")
    wait_for(lambda: queue.task_info(ids[0]).state is TaskState.PROCESSING, 30, "w1 empieza la primera tarea")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert queue.task_info(ids[0]).state is TaskState.PROCESSING   # nadie la ha marcado
    workers.start("w2", "--lease", "1.5")
    assert queue.join(timeout=60), workers.tail("w2")
    first = queue.task_info(ids[0])
    assert first.state is TaskState.COMPLETED and first.worker_id == "w2" and first.attempts == 2
    assert all(queue.task_info(t).state is TaskState.COMPLETED for t in ids)
    reasons = [e.reason for e in queue.timeline() if e.task_id == ids[0] and e.state is TaskState.PENDING]
    assert any(r and "w1" in r for r in reasons)
    assert queue.get_stats()["retried"] == 1
    assert queue.audit() == []


def test_sigterm_finishes_the_current_task_then_exits(redis_url, workers):
    queue = make_redis_queue(redis_url, name=workers.name, lease_timeout=10)
    first, second = queue.add_tasks([noop(1.0), noop(0.0)])
    proc = workers.start("w1", "--lease", "10")
    wait_for(lambda: queue.task_info(first).state is TaskState.PROCESSING, 30, "w1 empieza la tarea")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, workers.tail("w1")
    assert queue.task_info(first).state is TaskState.COMPLETED
    assert queue.task_info(second).state is TaskState.PENDING      # no pidió más tras la señal
    assert {w["worker_id"]: w["state"] for w in queue.workers()}["w1"] == "stopped"
    assert any("SIGTERM" in r["message"] for r in workers.records("w1"))


def test_sigterm_while_redis_is_down_exits_without_waiting_for_it(tmp_path, workers):
    server = RedisServer(tmp_path / "caido").start()
    try:
        workers.url = server.url
        queue = RedisTaskQueue(server.url, name=workers.name)
        proc = workers.start("w1", "--reconnect-timeout", "120")
        wait_for(lambda: any(w["worker_id"] == "w1" for w in queue.workers()), 30, "w1 se registra en la cola")
        server.stop()
        wait_for(lambda: any("Sin conexión" in r["message"] for r in workers.records("w1")), 30,
                 "w1 avisa de que perdió Redis")
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)       # sin el arreglo esperaría los 120 s de --reconnect-timeout
        assert proc.returncode == 2, workers.tail("w1")
        assert "se deja de esperar" in workers.tail("w1")
    finally:
        server.stop()


def test_redis_restart_mid_run_loses_and_duplicates_nothing(tmp_path, workers):
    server = RedisServer(tmp_path / "aof", aof=True).start()
    try:
        workers.url = server.url
        queue = RedisTaskQueue(server.url, name=workers.name, lease_timeout=30)
        n_tasks = 300
        ids = queue.add_tasks(noop(0.01) for _ in range(n_tasks))
        for worker_id in ("w1", "w2"):
            workers.start(worker_id, "--lease", "30")
        wait_for(lambda: queue.get_stats()["completed"] >= 40, 60, "40 tareas completadas antes del reinicio")
        server.restart()
        assert queue.get_stats()["completed"] < n_tasks       # de verdad se reinició a mitad
        assert queue.join(timeout=90)
        stats = queue.get_stats()
        assert stats["completed"] == n_tasks and stats["failed"] == 0
        assert queue.audit() == []
        done = workers.completions()
        assert sorted(done) == sorted(ids) and set(done.values()) == {1}
        messages = [r["message"] for r in workers.records()]
        assert any("Sin conexión con Redis" in m for m in messages)
        assert not any("descartado" in m for m in messages)
    finally:
        workers.kill_all()
        server.stop()


def test_four_worker_processes_complete_2000_tasks_exactly_once(redis_url, workers):
    queue = make_redis_queue(redis_url, name=workers.name, lease_timeout=30)
    ids = queue.add_tasks(noop() for _ in range(2000))
    for n in range(1, 5):
        workers.start(f"w{n}", "--lease", "30", "--burst")
    workers.wait_all(timeout=90)
    assert all(proc.returncode == 0 for proc in workers.procs.values())
    stats = queue.get_stats()
    assert (stats["completed"], stats["pending"], stats["processing"], stats["failed"]) == (2000, 0, 0, 0)
    assert queue.audit() == []
    done = workers.completions()
    assert sorted(done) == sorted(ids) and set(done.values()) == {1}
    by_worker = Counter(task.worker_id for task in queue.tasks())
    assert sum(by_worker.values()) == 2000 and set(by_worker) <= {"w1", "w2", "w3", "w4"}


def test_enqueue_images_and_process_them_from_the_cli(redis_url, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for n in range(3):
        Image.new("RGB", (24, 16), (40 * n, 90, 160)).save(images / f"photo{n}.jpg")
    out = tmp_path / "output"
    name = unique_name("cli")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "lab.cli.queue_commands"]
    enq = subprocess.run([*base, "enqueue", "--queue", redis_url, "--name", name, str(images / "*.jpg"),
                          "--pipeline", "blur:1,brightness:1.3", "--output-dir", str(out), "--json"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert enq.returncode == 0, enq.stderr
    assert len(json.loads(enq.stdout)["task_ids"]) == 3
    run = subprocess.run([*base, "worker", "--queue", redis_url, "--name", name, "--id", "w1", "--burst"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "[W1] - INFO - 📝 Procesando tarea task-0001" in run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["photo0.jpg", "photo1.jpg", "photo2.jpg"]
    queue = RedisTaskQueue(redis_url, name=name)
    try:
        task = queue.task_info("task-0001")
        assert task.payload["pipeline"] == {"name": "pipeline", "filters": [{"name": "blur", "radius": 1},
                                                                             {"name": "brightness", "factor": 1.3}]}
        assert task.state is TaskState.COMPLETED and queue.audit() == []
        stats = subprocess.run([*base, "stats", "--queue", redis_url, "--name", name],
                               capture_output=True, text=True, env=env, timeout=60)
        assert stats.returncode == 0 and "completed" in stats.stdout and "w1" in stats.stdout
    finally:
        queue.delete()


@pytest.mark.parametrize("command", [["stats"], ["enqueue", "--noop", "1"], ["worker", "--id", "w1"]])
def test_cli_with_unreachable_redis_prints_one_spanish_sentence(command):
    url = f"redis://:secreto@127.0.0.1:{free_port()}/0"
    proc = subprocess.run([sys.executable, "-m", "lab.cli.queue_commands", command[0], "--queue", url, *command[1:]],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr and "secreto" not in proc.stderr
    assert lines[-1].startswith("❌ No se puede conectar con Redis en redis://:***@127.0.0.1")


def test_python_m_lab_knows_the_queue_commands():
    proc = subprocess.run([sys.executable, "-m", "lab", "--help"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 0
    for command in ("worker", "enqueue", "stats"):
        assert command in proc.stdout


def test_password_and_tls_urls_work_for_queue_and_worker_process(tmp_path):
    server = RedisServer(tmp_path / "tls", password="s3creto", tls=True).start()
    try:
        name = unique_name("tls")
        queue = RedisTaskQueue(server.url, name=name)
        ids = queue.add_tasks([noop(), noop()])
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        run = subprocess.run([sys.executable, "-m", "lab.cli.queue_commands", "worker", "--queue", server.url, "--name", name,
                              "--id", "remoto", "--burst"], capture_output=True, text=True, env=env, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "s3creto" not in run.stderr and "rediss://:***@127.0.0.1" in run.stderr
        assert [queue.task_info(t).worker_id for t in ids] == ["remoto", "remoto"]
        assert queue.get_stats()["completed"] == 2
        wrong = server.url.replace("s3creto", "otra")
        proc = subprocess.run([sys.executable, "-m", "lab.cli.queue_commands", "stats", "--queue", wrong],
                              capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 2 and "rechazó la contraseña" in proc.stderr and "otra" not in proc.stderr
        for plain in (f"redis://:s3creto@127.0.0.1:{server.port}/0", server.url.replace("rediss://", "redis://")):
            proc = subprocess.run([sys.executable, "-m", "lab.cli.queue_commands", "stats", "--queue", plain],
                                  capture_output=True, text=True, env=env, timeout=60)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.startswith("❌")
    finally:
        server.stop()
