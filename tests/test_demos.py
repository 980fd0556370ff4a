"""Las demos de la guía y la CLI ``python -m lab``: con imágenes diminutas en carpetas temporales."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests._workers_helpers import tiny_image
from lab.notebook import demos
from lab.__main__ import build_parser, main
from lab.workers import configure_logging

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def images(tmp_path):
    for i in range(1, 4):
        tiny_image(tmp_path / "images" / f"photo{i}.jpg", color=(70 * i, 100, 30))
    return tmp_path / "images"


@pytest.fixture(autouse=True)
def guide_format():
    yield
    configure_logging(json=False)


def run_cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_demo_simple_command_prints_the_guide_table(images, tmp_path):
    proc = run_cli("demo", "simple", "--images-dir", str(images), "--output-dir", str(tmp_path / "out"),
                   "--size", "original", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for text in ("Total de tareas | 3", "Completadas     | 3 ✅", "Fallidas        | 0", "Tiempo total",
                 "Tiempo promedio", "Tasa de éxito   | 100.0%", "Carga de imagen", "Pipeline (3 filtros)",
                 "Guardado", "✅ Worker saludable", "⏱️  Desglose de tiempos (media por tarea):"):
        assert text in proc.stdout, text
    assert "- [Worker-1] - INFO - 📝 Procesando tarea task-0001" in proc.stderr
    assert len(list((tmp_path / "out" / "simple").glob("*.jpg"))) == 3


def test_demo_json_logs_are_json_lines(images, tmp_path):
    proc = run_cli("demo", "simple", "--images-dir", str(images), "--output-dir", str(tmp_path / "out"),
                   "--size", "48x32", "--json-logs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert len(records) == 6 and {r["worker_id"] for r in records} == {"worker-1"}
    assert (tmp_path / "out" / "entradas-48x32").is_dir()


def test_demo_async_and_multiple_in_process(images, tmp_path):
    lines: list[str] = []
    summaries = demos.run_demo("all", images, tmp_path / "out", size=(48, 32), out=lines.append)
    simple, asynchronous, multiple = summaries
    assert (simple["total"], simple["completed"], simple["failed"]) == (3, 3, 0)
    assert (asynchronous["total"], asynchronous["completed"]) == (6, 6)
    assert 1 <= asynchronous["peak_concurrency"] <= 3
    assert (multiple["total"], multiple["completed"], multiple["success_rate"]) == (12, 12, 1.0)
    assert multiple["speedup"] > 0 and multiple["wall_time_one_worker"] > 0
    text = "\n".join(lines)
    assert "Speedup" in text and "worker-3" in text and "Concurrencia máxima observada" in text
    assert "núcleos físicos" in text and "Breakdown" not in text
    assert len(list((tmp_path / "out" / "multiple-3").glob("*.jpg"))) == 12


def test_demo_multiple_with_processes(images, tmp_path):
    lines: list[str] = []
    (summary,) = demos.run_demo("multiple", images, tmp_path / "out", size=None, kind="process", out=lines.append)
    assert (summary["completed"], summary["failed"], summary["kind"]) == (12, 0, "process")
    assert "procesos" in lines[0]


def test_a_missing_images_folder_is_a_clear_error(tmp_path):
    proc = run_cli("demo", "simple", "--images-dir", str(tmp_path / "nada"), "--output-dir",
                   str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.startswith("❌") and "nada" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_usage_errors(capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit):
        main(["demo", "nope"])
    with pytest.raises(SystemExit):
        main(["demo", "simple", "--size", "grande"])
    assert "demo" in build_parser().format_help()


def test_every_command_of_the_guide_and_the_course_is_in_the_front():
    help_text = build_parser().format_help()
    for command in ("demo", "worker", "enqueue", "stats", "redis", "student", "grade", "check", "nav", "bench"):
        assert f"    {command} " in help_text


def test_parse_size():
    assert demos.parse_size("1920x1080") == (1920, 1080) and demos.parse_size("original") is None
    for bad in ("0x10", "abc", "10"):
        with pytest.raises(ValueError):
            demos.parse_size(bad)


def test_ctrl_c_stops_gracefully_and_propagates():
    started, release, stopped = threading.Event(), threading.Event(), []

    def target():
        started.set()
        assert release.wait(10)

    def stop():
        stopped.append(True)
        release.set()

    def interrupt():
        assert started.wait(10)
        signal.raise_signal(signal.SIGINT)

    messages: list[str] = []
    helper = threading.Thread(target=interrupt)
    helper.start()
    with pytest.raises(KeyboardInterrupt):
        demos.run_interruptibly(target, stop, messages.append)
    helper.join()
    assert stopped == [True] and "Ctrl-C" in messages[0]


def test_errors_in_the_demo_thread_are_raised():
    def target():
        raise ValueError("fallo")

    with pytest.raises(ValueError, match="fallo"):
        demos.run_interruptibly(target, lambda: None)


def test_results_table_is_aligned_by_display_width_with_emoji():
    from lab.notebook.demos import display_width, format_results

    assert display_width("3 ✅") == 4 and display_width("Tasa de éxito") == 13 and display_width("⏱️") == 2
    summary = {"total": 3, "completed": 3, "failed": 1, "wall_time": 0.619, "average_time": 0.206,
               "success_rate": 0.75, "load": 0.1, "first_load": 0.179, "pipeline": 0.138, "save": 0.007}
    table = [line for line in format_results(summary, 3).splitlines() if line.startswith("|")]
    assert len(table) == 8
    # Todas las filas ocupan lo mismo en pantalla y los separadores «|» caen en las mismas columnas.
    assert len({display_width(line) for line in table}) == 1
    columns = {tuple(display_width(line[:i]) for i, char in enumerate(line) if char == "|") for line in table}
    assert len(columns) == 1
    assert any("3 ✅" in line for line in table) and any("1 ❌" in line for line in table)
