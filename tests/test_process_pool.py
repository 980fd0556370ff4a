"""ProcessWorkerPool: cada tarea una vez, estadísticas y logs en el padre, errores en español, parada ordenada."""

from __future__ import annotations

import collections
import logging
import multiprocessing
import os

import pytest

from tests._process_helpers import PidLogFilter
from tests._workers_helpers import RecordingHandler, tiny_image
from lab.errors import CorruptImageError, ImageNotFoundError, InvalidTaskError
from lab.filters import BlurFilter, BrightnessFilter, Filter, FilterPipeline, SharpenFilter
from lab.workers import TaskQueue, TaskState, WorkerPool
from lab.workers.logs import GuideFormatter
from lab.workers.process.child import rebuild_error
from lab.workers.pool import ProcessWorkerPool
from lab.workers.process.worker import WorkerProcessError, pipeline_spec


@pytest.fixture
def records():
    """Los registros que llegan al logger ``lab.worker`` del padre (nivel INFO)."""
    logger = logging.getLogger("lab.worker")
    handler, level = RecordingHandler(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def _payloads(tmp_path, n, size=(48, 32)):
    return [{"image_path": str(tiny_image(tmp_path / "in" / f"img{i}.jpg", size=size)),
             "output_path": str(tmp_path / "out" / f"img{i}.jpg")} for i in range(n)]


def _our_children():
    return [p for p in multiprocessing.active_children() if p.name.startswith("lab-")]


def test_every_task_once_with_stats_breakdown_and_child_logs_in_the_parent(tmp_path, records):
    pipeline = FilterPipeline([BlurFilter(radius=1), BrightnessFilter(factor=1.2), SharpenFilter(), PidLogFilter()])
    with ProcessWorkerPool(2, pipeline, _payloads(tmp_path, 8)) as pool:
        stats = pool.run()
    queue = pool.queue
    assert queue.audit() == [] and queue.get_stats()["completed"] == 8
    finished = collections.Counter(e.task_id for e in queue.timeline() if e.state is TaskState.COMPLETED)
    assert sorted(finished) == [f"task-{i:04d}" for i in range(1, 9)] and set(finished.values()) == {1}
    assert all((tmp_path / "out" / f"img{i}.jpg").is_file() for i in range(8))
    assert stats["tasks_completed"] == 8 and stats["kind"] == "process" and stats["size"] == 2
    assert stats["load_time"] > 0 and stats["save_time"] > 0
    assert set(stats["filter_times"]) == {"blur", "brightness", "sharpen", "test_pid_log"}
    assert sum(w["tasks_completed"] for w in stats["workers"].values()) == 8
    # Los registros del hijo llegan al logger del worker en el padre, con su contexto y el formato de la guía.
    child = [r for r in records if "procesada en pid=" in r.getMessage()]
    assert len(child) == 8
    pids = {int(r.getMessage().rsplit("=", 1)[1]) for r in child}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {r.worker_id for r in child} <= {"worker-1", "worker-2"} and all(r.task_id for r in child)
    line = GuideFormatter().format(child[0])
    assert " - [Worker-" in line and " - WARNING - procesada en pid=" in line
    assert sum("✅ Tarea completada" in r.getMessage() for r in records) == 8
    assert _our_children() == []


def test_a_bad_task_fails_with_a_spanish_message_and_the_others_finish(tmp_path, records):
    payloads = _payloads(tmp_path, 3)
    payloads.insert(1, {"image_path": str(tmp_path / "no-existe.jpg"), "output_path": str(tmp_path / "x.jpg")})
    payloads.append({"image_path": "a.jpg"})  # sin output_path
    pool = ProcessWorkerPool(2, [{"name": "blur", "radius": 1}], payloads)
    stats = pool.run()
    pool.stop()
    tasks = {t.id: t for t in pool.queue.tasks()}
    assert stats["tasks_completed"] == 3 and stats["tasks_failed"] == 2
    assert tasks["task-0002"].state is TaskState.FAILED
    assert "no existe la imagen de entrada" in tasks["task-0002"].error and "no-existe.jpg" in tasks["task-0002"].error
    assert "no tiene la clave 'output_path'" in tasks["task-0005"].error
    assert any(r.levelno == logging.ERROR and "task-0002" in r.getMessage() for r in records)


def test_a_dead_child_fails_only_its_task_and_is_replaced(tmp_path):
    payloads = _payloads(tmp_path, 3)
    payloads[1]["pipeline"] = [{"name": "test_exit_process"}]
    pool = ProcessWorkerPool(1, FilterPipeline([PidLogFilter()]), payloads, retry=0)
    stats = pool.run()
    pool.stop()
    tasks = pool.queue.tasks()
    assert [t.state for t in tasks] == [TaskState.COMPLETED, TaskState.FAILED, TaskState.COMPLETED]
    assert "terminó inesperadamente" in tasks[1].error and "código de salida 3" in tasks[1].error
    assert stats["tasks_completed"] == 2 and stats["tasks_failed"] == 1


def test_worker_pool_kind_process_and_graceful_stop(tmp_path):
    queue = TaskQueue()
    pool = WorkerPool(2, [{"name": "sharpen"}], queue, kind="process")
    pool.start(forever=True, wait=False)
    queue.add_tasks(_payloads(tmp_path, 4))
    assert queue.join(timeout=120)
    assert pool.stop(timeout=60) is True
    assert queue.get_stats()["completed"] == 4 and pool.get_stats()["tasks_completed"] == 4
    assert all(not t.is_alive() for t in pool.threads)


def test_the_pipeline_must_travel_as_json():
    class LocalFilter(Filter):
        def apply(self, image):
            return image

    LocalFilter.__module__ = "__main__"
    with pytest.raises(TypeError, match="cuaderno o script principal"):
        pipeline_spec(FilterPipeline([LocalFilter()]), "El worker w")
    with pytest.raises(TypeError, match="como JSON"):
        pipeline_spec(object(), "El worker w")
    spec, modules = pipeline_spec(FilterPipeline([BlurFilter(radius=2), PidLogFilter()]), "w")
    assert spec == {"name": "pipeline", "filters": [{"name": "blur", "radius": 2}, {"name": "test_pid_log"}]}
    assert modules == ["tests._process_helpers"]
    with pytest.raises(ValueError, match="fork"):
        ProcessWorkerPool(1, [{"name": "blur"}], [], start_method="fork")
    with pytest.raises(TypeError, match="SimpleWorker"):
        WorkerPool(1, [{"name": "blur"}], TaskQueue(), kind="process", worker_class=dict)


def test_errors_are_rebuilt_with_their_class_so_retries_behave_the_same():
    error = rebuild_error("ImageNotFoundError", "No existe la imagen de entrada 'x.jpg'.", "x.jpg", "traza")
    assert isinstance(error, ImageNotFoundError) and error.path == "x.jpg" and error.remote_traceback == "traza"
    assert isinstance(rebuild_error("CorruptImageError", "m", None, ""), CorruptImageError)
    assert isinstance(rebuild_error("InvalidTaskError", "m", None, ""), InvalidTaskError)
    assert type(rebuild_error("ValueError", "m", None, "")) is ValueError
    weird = rebuild_error("PillowInternalError", "boom", None, "")
    assert isinstance(weird, RuntimeError) and "PillowInternalError: boom" in str(weird)
    assert issubclass(WorkerProcessError, Exception)


def test_terminate_kills_the_children_and_fails_their_tasks(tmp_path):
    import time

    pool = ProcessWorkerPool(1, [{"name": "test_block"}], _payloads(tmp_path, 2))  # registrado al importar

    pool.start(wait=False)
    deadline = time.monotonic() + 60
    while pool.queue.get_stats()["processing"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # espera a que el worker tenga la tarea (un estado, no un tiempo)
    pool.terminate()
    assert pool.join(timeout=60)
    first, second = pool.queue.tasks()
    assert first.state is TaskState.FAILED and "detenido con terminate()" in first.error
    assert second.state is TaskState.PENDING  # el worker no pidió más tareas
    pool.stop()
    assert _our_children() == []
