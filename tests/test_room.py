"""``lab.room`` sin servidor: tareas sintéticas, validación de lo publicado, resumen, tablero, gráficas y CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from lab.errors import InvalidTaskError
from lab.room.charts import plot_room_speedup, plot_room_throughput, plot_room_timeline, speedup_groups
from lab.room.dashboard import room_html
from lab.room.machine import check_name, machine_info, machine_of
from lab.room.published import Rejected, clean_machine, plain_label
from lab.room.recorded import RecordedRoom
from lab.room.report import status_text
from lab.room.server import RoomServer, check_bind, join_line, new_password, stored_password
from lab.room.state import snapshot, summarize
from lab.room.synthetic import check_payload, make_payloads, run_synthetic

HOSTILE = '<script>alert("x")</script>'


def machine(name: str, cores: int = 4, physical: int = 2, measurement=None) -> str:
    info = machine_info(name)
    info.update(cores=cores, physical_cores=physical, cpu_model="CPU de prueba",
                measurement=measurement or [{"workers": 1, "tasks": 6, "wall_time": 1.0},
                                            {"workers": 2, "tasks": 12, "wall_time": 1.2}])
    return json.dumps(info)


def events_for(machine_name: str, start: float, tasks: int, seconds: float = 0.5, first: int = 1) -> list[dict]:
    """Tareas seguidas de un portátil con un worker: processing y completed por tarea."""
    found = []
    for i in range(tasks):
        task = f"task-{first + i:04d}"
        t = start + i * seconds
        found += [{"time": t, "task_id": task, "state": "processing", "worker_id": f"{machine_name}/1", "attempt": 1},
                  {"time": t + seconds, "task_id": task, "state": "completed", "worker_id": f"{machine_name}/1",
                   "attempt": 1}]
    return found


def raw_room(**changes) -> dict:
    raw = {"machines": {"ana": machine("ana"), "beto": machine("beto", 8, 4)},
           "seen": {name: json.dumps({"time": 99.0, "session": "s", "state": "working"}) for name in ("ana", "beto")},
           "marks": [json.dumps({"time": 10.0, "name": "beto", "what": "out"})],
           "events": events_for("ana", 0.0, 10) + events_for("beto", 0.0, 10, 0.25, first=11),
           "stats": {"total": 20, "pending": 0, "processing": 0, "completed": 20, "failed": 0}, "now": 100.0}
    raw.update(changes)
    return raw


# --- tareas sintéticas ---------------------------------------------------------------------------

def test_synthetic_task_is_deterministic_and_timed():
    payload = make_payloads(1, 64, first_seed=7)[0]
    first, second = run_synthetic(payload), run_synthetic(dict(payload))
    assert first["pixels_crc"] == second["pixels_crc"]
    assert run_synthetic({**payload, "seed": 8})["pixels_crc"] != first["pixels_crc"]
    assert all(first[phase] >= 0 for phase in ("load", "pipeline", "save")) and first["output_bytes"] > 0


@pytest.mark.parametrize("payload", [
    {"image_path": "/home/alumno/.ssh/id_rsa", "output_path": "/tmp/x.jpg"}, {"noop": True},
    {"kind": "aula", "seed": 1, "size": 4096}, {"kind": "aula", "seed": -1, "size": 64},
    {"kind": "aula", "seed": True, "size": 64}, {"kind": "aula", "seed": 1, "size": 64, "extra": 1}, [1, 2]])
def test_a_room_worker_only_accepts_synthetic_tasks(payload):
    with pytest.raises(InvalidTaskError):
        check_payload(payload)


def test_names_and_worker_ids():
    assert check_name("José-3") == "José-3"
    for bad in ("", "a b", "x/1", "<b>", "-x", "a" * 33, 7):
        with pytest.raises(ValueError):
            check_name(bad)
    assert machine_of("ana/2") == "ana" and machine_of("<img>/1") is None and machine_of("ana") is None


# --- lo publicado no es de fiar ------------------------------------------------------------------

@pytest.mark.parametrize("name, text, reason", [
    ("ana", "no es json", "JSON"), ("ana", json.dumps({"name": "otra"}), "nombre"),
    (HOSTILE, machine("ana"), "nombre"), ("ana", "x" * 20_000, "bytes"),
    ("ana", json.dumps({**json.loads(machine("ana")), "cores": 10 ** 9}), "cores"),
    ("ana", json.dumps({**json.loads(machine("ana")), "physical_cores": 8}), "physical_cores"),
    ("ana", json.dumps({**json.loads(machine("ana")), "cpu_model": ["lista"]}), "cpu_model"),
    ("ana", json.dumps({**json.loads(machine("ana")), "measurement": [{"workers": 1, "tasks": 1,
                                                                       "wall_time": math.inf}]}), "wall_time"),
    ("ana", json.dumps({**json.loads(machine("ana")), "measurement": "mucho"}), "measurement"),
    ("ana", "[" * 100_000, "bytes")])
def test_a_bad_record_is_rejected_with_a_reason(name, text, reason):
    with pytest.raises(Rejected, match=reason):
        clean_machine(name, text)


def test_free_text_is_trimmed_and_loses_control_characters():
    info = json.loads(machine("ana"))
    info["cpu_model"] = "\x1b[31mRojo\n" + "x" * 500
    clean = clean_machine("ana", json.dumps(info))
    assert "\x1b" not in clean["cpu_model"] and "\n" not in clean["cpu_model"] and len(clean["cpu_model"]) <= 80
    assert plain_label("a$b$") == r"a\$b\$"


# --- resumen del aula ----------------------------------------------------------------------------

def test_summary_rates_and_speedup_against_the_fastest():
    summary = summarize(snapshot(raw_room()))
    by_name = {m["name"]: m for m in summary["machines"]}
    assert by_name["ana"]["tasks_per_second"] == pytest.approx(2.0)     # 10 tareas en 5 s ocupados
    assert by_name["beto"]["tasks_per_second"] == pytest.approx(4.0)
    totals = summary["totals"]
    assert totals["tasks_per_second"] == pytest.approx(20 / 5.0)        # el aula entera estuvo 5 s ocupada
    assert totals["fastest_machine"] == "beto" and totals["speedup_vs_fastest"] == pytest.approx(1.0)
    assert totals["physical_cores"] == 6 and totals["cores"] == 12
    assert {"name", "cores", "physical_cores", "completed", "failed", "tasks_per_second"} <= set(by_name["ana"])


def test_a_task_rescued_by_lease_counts_for_the_laptop_that_lost_it():
    events = events_for("ana", 0.0, 2) + [
        {"time": 2.0, "task_id": "task-0009", "state": "processing", "worker_id": "beto/1", "attempt": 1},
        {"time": 5.0, "task_id": "task-0009", "state": "pending", "worker_id": "beto/1", "attempt": 1},
        {"time": 5.1, "task_id": "task-0009", "state": "processing", "worker_id": "ana/1", "attempt": 2},
        {"time": 5.6, "task_id": "task-0009", "state": "completed", "worker_id": "ana/1", "attempt": 2}]
    by_name = {m["name"]: m for m in summarize(snapshot(raw_room(events=events)))["machines"]}
    assert by_name["beto"]["rescued"] == 1 and by_name["beto"]["completed"] == 0
    assert by_name["ana"]["completed"] == 3


def test_states_lost_left_and_out():
    seen = {"ana": json.dumps({"time": 50.0, "session": "s", "state": "working"}),
            "beto": json.dumps({"time": 99.0, "session": "s", "state": "out"})}
    by_name = {m["name"]: m for m in summarize(snapshot(raw_room(seen=seen)))["machines"]}
    assert by_name["ana"]["state"] == "lost" and by_name["beto"]["state"] == "out"


# --- un portátil malicioso no rompe el tablero -----------------------------------------------------

def garbage_room() -> dict:
    hostile_events = [{"time": 1.0, "task_id": HOSTILE, "state": "processing", "worker_id": f"{HOSTILE}/1"},
                      {"time": "ayer", "task_id": "task-0100", "state": "completed"}, {"state": "otro"}, None]
    raw = raw_room()
    raw["machines"].update({HOSTILE: machine("ana"), "mal": "{]", "\x1b[2J": "{}", "$x$": json.dumps({"name": "$x$"}),
                            "evil": json.dumps({**json.loads(machine("evil")), "cpu_model": HOSTILE})})
    raw["seen"].update({"evil": "{}", HOSTILE: json.dumps({"time": 1, "session": "s", "state": "working"})})
    raw["marks"] += ["nada", json.dumps({"time": 1.0, "name": HOSTILE, "what": "out"})]
    raw["events"] += hostile_events
    return raw


def test_garbage_from_a_laptop_is_rejected_escaped_and_the_dashboard_draws():
    snap = snapshot(garbage_room())
    summary = summarize(snap)
    page = room_html(summary, source=HOSTILE)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert {m["name"] for m in summary["machines"]} == {"ana", "beto", "evil"}
    assert len(summary["rejected"]) == 4
    for figure in (plot_room_throughput(summary), plot_room_timeline(snap), plot_room_speedup(summary)):
        figure.canvas.draw()                    # dibujar de verdad: un $ sin cerrar fallaría aquí
    text = status_text(summary, "redis://:secreta@127.0.0.1:1/0")   # en la terminal: sin códigos de escape
    assert "secreta" not in text and "\x1b" not in text and "ana" in text


def test_speedup_groups_by_physical_cores_with_amdahl():
    groups = speedup_groups(summarize(snapshot(raw_room())))
    assert sorted(groups) == [2, 4] and groups[2]["machines"] == 1
    assert 0 <= groups[2]["fraction"] <= 1


def test_the_recorded_room_loads_and_is_read_only():
    room = RecordedRoom.load()
    summary = summarize(room.snapshot())
    assert summary["totals"]["machines"] >= 4 and summary["totals"]["completed"] > 0
    with pytest.raises(Exception, match="grabada"):
        room.enqueue(10)


# --- servidor y órdenes ---------------------------------------------------------------------------

def test_passwords_are_long_and_the_server_refuses_the_network_without_one(tmp_path):
    assert len(new_password()) * 6 >= 128 and new_password() != new_password()
    assert stored_password(tmp_path) == stored_password(tmp_path)
    assert (tmp_path / "aula-clave.txt").stat().st_mode & 0o077 == 0
    with pytest.raises(ValueError, match="loopback"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ValueError, match="IP"):
        check_bind("mi-portátil", "x")
    assert check_bind("127.0.0.1", None) == "127.0.0.1"
    assert "redis://:k@10.0.0.2:6379/0 --name TU_NOMBRE" in join_line("10.0.0.2", 6379, "k")


def test_server_arguments_open_the_network_and_disable_admin_commands(tmp_path):
    pytest.importorskip("redis")
    from lab.workers.redis.binary import find_redis_server

    binary = find_redis_server()
    if binary is None:
        pytest.skip("no hay servidor Redis")
    args = RoomServer(tmp_path, bind="0.0.0.0", password="x" * 32, binary=binary).arguments()
    assert args[args.index("--bind") + 1] == "0.0.0.0"
    renamed = {args[i + 1] for i, arg in enumerate(args) if arg == "--rename-command"}
    assert {"CONFIG", "MODULE", "SHUTDOWN", "REPLICAOF", "FLUSHALL"} <= renamed


def test_serve_without_password_beyond_loopback_is_a_clear_error():
    run = subprocess.run([sys.executable, "-m", "lab", "room", "serve", "--bind", "0.0.0.0", "--no-password",
                          "--port", "0"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "loopback" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("argv, words", [
    (["join", "redis://127.0.0.1:1/0", "--name", "a b"], "--name"),
    (["join", "http://x", "--name", "ana"], "redis://"),
    (["enqueue", "redis://:clave-secreta@127.0.0.1:1/0", "5", "--size", "9999"], "tamaño"),
    (["serve", "--port", "70000"], "--port")])
def test_room_commands_reject_bad_input_in_one_line(argv, words):
    run = subprocess.run([sys.executable, "-m", "lab", "room", *argv], capture_output=True, text=True, timeout=60)
    assert run.returncode in (1, 2) and words in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "clave-secreta" not in run.stderr + run.stdout
