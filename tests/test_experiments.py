"""Tests de ``lab.notebook.experiments``: los datos que muestran los paneles, sin navegador y con cargas diminutas."""

from __future__ import annotations

import asyncio
import json

import pytest

from lab.notebook import experiments
from lab.errors import FilterSpecError
from lab.notebook.plots import plot_breakdown, plot_speedup, plot_timeline

SIZE = (96, 64)


@pytest.fixture
def dirs(tmp_path):
    return {"workload_dir": tmp_path / "entradas", "output_dir": tmp_path / "salidas"}


def test_workers_experiment_collects_runs_timelines_and_results(dirs):
    progress = []
    data = experiments.run_workers_experiment((1, 2), n_images=4, size=SIZE, repeats=2,
                                              on_progress=lambda done, total: progress.append((done, total)),
                                              **dirs)
    assert [run["workers"] for run in data["runs"]] == [1, 2, 1, 2]  # rondas intercaladas
    assert [run["repeat"] for run in data["runs"]] == [1, 1, 2, 2]
    assert data["cores"] >= 1 and data["worker_counts"] == [1, 2] and data["kind"] == "thread"
    for run in data["runs"]:
        assert run["tasks"] == 4 and run["completed"] == 4 and run["failed"] == 0
        assert run["wall_time"] > 0 and run["audit"] == []
        assert sum(w["tasks_completed"] for w in run["per_worker"].values()) == 4
        assert len(run["per_worker"]) == run["workers"]
    assert set(data["timelines"]) == {1, 2} and set(data["results"]) == {1, 2}
    for n in (1, 2):
        results = data["results"][n]
        assert sorted(r["task_id"] for r in results) == ["task-0001", "task-0002", "task-0003", "task-0004"]
        assert all(r["load"] >= 0 and r["pipeline"] > 0 and r["save"] >= 0 for r in results)
        assert all(r["worker_id"].startswith("worker-") for r in results)
        states = [e["state"] for e in data["timelines"][n]]
        assert states.count("completed") == 4 and states.count("processing") == 4
        assert data["failures"][n] == []
    assert [row["workers"] for row in data["summary"]] == [1, 2]
    assert data["summary"][0]["speedup"] == pytest.approx(1.0)
    assert data["summary"][0]["runs"] == 2
    assert data["serial_fraction"] is None or 0.0 <= data["serial_fraction"] <= 1.0
    # La barra: empieza en 0, nunca retrocede y acaba en el total (imágenes × tamaños × repeticiones).
    assert progress[0] == (0, 16) and progress[-1] == (16, 16)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    json.dumps(data)  # datos JSON, sin objetos
    # Lo consumen las gráficas de lab.notebook.plots.
    plot_speedup(data["runs"], cores=data["cores"])
    plot_timeline(data["timelines"][2])
    plot_breakdown(data["results"][2])


def test_workers_experiment_reuses_the_same_workload(dirs):
    first = experiments.run_workers_experiment((1,), n_images=2, size=SIZE, **dirs)
    files = sorted(p.name for p in dirs["workload_dir"].glob("work-*.jpg"))
    assert files == ["work-0001.jpg", "work-0002.jpg"]
    assert [r["image_path"] for r in first["results"][1]] == [str(dirs["workload_dir"] / f) for f in files]
    outputs = sorted(p.name for p in (dirs["output_dir"] / "1-workers").glob("*.jpg"))
    assert outputs == files


@pytest.mark.parametrize("name", experiments.pipeline_names())
def test_named_pipelines_build_and_run(name, dirs):
    assert callable(experiments.make_pipeline(name).apply)
    data = experiments.run_workers_experiment((1,), n_images=1, size=SIZE, pipeline=name, **dirs)
    assert data["pipeline"] == name and data["runs"][0]["completed"] == 1


def test_default_pipeline_is_the_guide_one():
    pipeline = experiments.make_pipeline()
    assert [f.name for f in pipeline.leaves()] == ["blur", "brightness"]
    assert experiments.DEFAULT_PIPELINE in experiments.pipeline_names()


def test_unknown_pipeline_name_is_a_clear_error():
    with pytest.raises(ValueError, match="No hay ningún pipeline llamado 'turbo'"):
        experiments.make_pipeline("turbo")


@pytest.mark.parametrize("kwargs, message", [
    ({"worker_counts": ()}, "no puede estar vacío"),
    ({"worker_counts": (1, 1)}, "repetidos"),
    ({"worker_counts": (0, 2)}, "Cada número de workers"),
    ({"worker_counts": (1,), "repeats": 0}, "repeats"),
    ({"worker_counts": (1,), "n_images": 0}, "n_images"),
])
def test_bad_arguments_are_rejected_before_any_work(kwargs, message, dirs):
    with pytest.raises(ValueError, match=message):
        experiments.run_workers_experiment(size=SIZE, **kwargs, **dirs)
    assert not dirs["workload_dir"].exists()


def test_invalid_pipeline_spec_fails_with_the_filter_error(dirs):
    with pytest.raises(FilterSpecError):
        experiments.run_workers_experiment((1,), n_images=1, size=SIZE, pipeline=[{"name": "no-existe"}], **dirs)


class Broken:
    """Pipeline que siempre falla: las tareas se marcan fallidas y el experimento sigue."""

    def apply(self, image):
        raise RuntimeError("filtro roto")


def test_failed_tasks_are_reported_not_raised(dirs):
    data = experiments.run_workers_experiment((1, 2), n_images=2, size=SIZE, pipeline=Broken(), **dirs)
    assert all(run["failed"] == 2 and run["completed"] == 0 for run in data["runs"])
    assert data["results"][2] == []
    failures = data["failures"][2]
    assert [f["task_id"] for f in sorted(failures, key=lambda f: f["task_id"])] == ["task-0001", "task-0002"]
    assert all("filtro roto" in f["error"] for f in failures)


def event(time, task, state, worker="w"):
    return {"time": time, "task_id": task, "state": state, "worker_id": worker, "attempt": 1}


def test_peak_overlap_counts_simultaneous_tasks():
    events = [event(0, "a", "processing"), event(1, "b", "processing"), event(2, "c", "processing"),
              event(3, "a", "completed"), event(3, "d", "processing"), event(4, "b", "completed"),
              event(5, "c", "completed"), event(6, "d", "completed")]
    assert experiments.peak_overlap(events) == 3
    back_to_back = [event(0, "a", "processing"), event(1, "a", "completed"),
                    event(1, "b", "processing"), event(2, "b", "completed")]
    assert experiments.peak_overlap(back_to_back) == 1
    assert experiments.peak_overlap([]) == 0


def test_async_experiment_respects_max_concurrent(dirs):
    progress = []
    data = experiments.run_async_experiment(2, 5, SIZE, on_progress=lambda d, t: progress.append((d, t)), **dirs)
    assert data["completed"] == 5 and data["failed"] == 0 and data["audit"] == []
    assert 1 <= data["peak_overlap"] <= 2 and 1 <= data["peak_concurrency"] <= 2
    assert data["max_concurrent"] == 2 and data["wall_time"] > 0
    assert progress[0] == (0, 5) and progress[-1] == (5, 5)
    assert {e["worker_id"] for e in data["timeline"] if e["state"] == "processing"} == {"worker-async"}
    json.dumps(data)


def test_async_experiment_with_one_slot_never_overlaps(dirs):
    data = experiments.run_async_experiment(1, 3, SIZE, **dirs)
    assert data["peak_overlap"] == 1 and data["peak_concurrency"] == 1


def test_async_experiment_works_inside_a_running_event_loop(dirs):
    async def notebook_cell():  # como en Jupyter: ya hay un bucle en marcha en este hilo
        return experiments.run_async_experiment(2, 2, SIZE, **dirs)

    assert asyncio.run(notebook_cell())["completed"] == 2


def test_async_experiment_can_be_awaited(dirs):
    data = asyncio.run(experiments.arun_async_experiment(3, 3, SIZE, **dirs))
    assert data["completed"] == 3 and data["peak_overlap"] <= 3


def test_async_experiment_rejects_bad_max_concurrent(dirs):
    with pytest.raises(ValueError, match="max_concurrent"):
        experiments.run_async_experiment(0, 2, SIZE, **dirs)


def test_workers_experiment_with_processes(dirs):
    data = experiments.run_workers_experiment((1, 2), n_images=2, size=SIZE, kind="process", **dirs)
    assert data["kind"] == "process"
    assert [run["completed"] for run in data["runs"]] == [2, 2]
    assert all(run["audit"] == [] for run in data["runs"])


def test_experiments_are_quiet_unless_asked(dirs, capsys):
    from lab.workers import configure_logging

    level = configure_logging().level
    configure_logging(level="INFO")  # otro test pudo subirlo; se restaura al final
    try:
        _check_quiet_and_loud(dirs, capsys)
    finally:
        configure_logging(level=level)


def _check_quiet_and_loud(dirs, capsys):
    experiments.run_workers_experiment((1,), n_images=1, size=SIZE, **dirs)
    experiments.run_async_experiment(1, 1, SIZE, **dirs)
    captured = capsys.readouterr()
    assert "Procesando tarea" not in captured.out + captured.err
    experiments.run_workers_experiment((1,), n_images=1, size=SIZE, quiet=False, **dirs)
    captured = capsys.readouterr()
    assert "📝 Procesando tarea task-0001" in captured.out + captured.err
