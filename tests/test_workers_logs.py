"""El logging de los workers: formato de la guía, campos extra, líneas JSON y sin duplicados."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests._workers_helpers import NoOpWorker, RecordingHandler
from lab.workers import SimpleWorker, TaskQueue, configure_logging, use_json_logs
from lab.workers.logs import display_name

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - \[(?P<name>[^\]]+)\] - (?P<level>[A-Z]+) - (?P<msg>.*)$")


@pytest.fixture(autouse=True)
def guide_format():
    yield
    configure_logging(json=False, level=logging.INFO, stream="stderr")


def run_two_tasks(worker_id="worker-1"):
    queue = TaskQueue()
    queue.add_task({"image_path": "a", "output_path": "b"})
    queue.add_task({"image_path": "a"})  # NoOpWorker la completa igualmente
    worker = NoOpWorker(worker_id, None, queue)
    worker.start()
    return worker


def test_lines_follow_the_guide_format(capsys):
    worker = run_two_tasks()
    worker.logger.info("Procesando imagen...")
    worker.logger.error("Error: archivo no encontrado")
    lines = capsys.readouterr().err.splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["name"], m["level"]) for m in parsed] == [("Worker-1", "INFO")] * 5 + [("Worker-1", "ERROR")]
    assert parsed[0]["msg"] == "📝 Procesando tarea task-0001"
    assert re.fullmatch(r"✅ Tarea completada en \d+\.\d{3}s", parsed[1]["msg"])
    assert parsed[4]["msg"] == "Procesando imagen..." and parsed[5]["msg"] == "Error: archivo no encontrado"
    assert isinstance(worker.logger, logging.Logger) and worker.logger.name == "lab.worker.worker-1"


def test_every_record_carries_the_worker_fields():
    handler = RecordingHandler()
    root = logging.getLogger("lab.worker")
    root.addHandler(handler)
    try:
        worker = run_two_tasks()
        worker.logger.info("fuera de una tarea")
    finally:
        root.removeHandler(handler)
    records = handler.records
    for record in records:
        assert record.worker_id == "worker-1"
        for key in ("task_id", "attempt", "duration"):
            assert hasattr(record, key)
    start, done = records[0], records[1]
    assert (start.task_id, start.attempt, start.duration) == ("task-0001", 1, None)
    assert done.task_id == "task-0001" and done.attempt == 1 and done.duration >= 0
    assert records[-1].task_id is None and records[-1].attempt is None


def test_json_lines_mode_parses(capsys):
    use_json_logs()
    run_two_tasks()
    lines = capsys.readouterr().err.splitlines()
    data = [json.loads(line) for line in lines]
    assert len(data) == 4
    assert data[0]["message"] == "📝 Procesando tarea task-0001" and data[0]["level"] == "INFO"
    assert data[1]["task_id"] == "task-0001" and data[1]["worker_id"] == "worker-1"
    assert data[1]["attempt"] == 1 and isinstance(data[1]["duration"], float)
    use_json_logs(False)
    run_two_tasks()
    assert LINE.match(capsys.readouterr().err.splitlines()[0])


def test_many_workers_with_the_same_id_do_not_duplicate_lines(capsys):
    for _ in range(3):
        worker = SimpleWorker("worker-1", None, TaskQueue())
        configure_logging()
    worker.logger.info("una sola vez")
    assert capsys.readouterr().err.count("una sola vez") == 1
    root = logging.getLogger("lab.worker")
    assert sum(getattr(h, "_lab_worker_handler", False) for h in root.handlers) == 1
    assert len(worker.logger.filters) == 1 and not worker.logger.handlers


def test_stream_and_level_are_configurable(capsys):
    configure_logging(stream="stdout", level="WARNING")
    worker = run_two_tasks()
    worker.logger.warning("aviso")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1 and "aviso" in captured.out
    with pytest.raises(ValueError):
        configure_logging(stream="fichero")


def test_display_name_capitalises_the_worker_id():
    assert display_name("worker-1") == "Worker-1" and display_name("Worker-2") == "Worker-2"
    assert display_name("w") == "W"
