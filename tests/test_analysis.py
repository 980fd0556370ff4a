"""Pruebas de ``lab.notebook.analysis``: speedup, Amdahl, resumen de ejecuciones, línea de tiempo y desglose."""

from __future__ import annotations

import json
import math

import pytest

from lab.notebook import analysis
from plot_data import async_events, fake_result, hand_timeline, simulate

# --- speedup, eficiencia, Amdahl ----------------------------------------------------------

def test_speedup_and_efficiency():
    assert analysis.speedup(8.0, 2.0) == 4.0
    assert analysis.speedup(3, 4) == 0.75
    assert analysis.efficiency(4.0, 8) == 0.5
    assert analysis.efficiency(analysis.speedup(8.0, 2.0), 4) == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: analysis.speedup(8.0, 0), "t_parallel debe ser > 0"),
    (lambda: analysis.speedup(-1.0, 2.0), "t_serial debe ser > 0"),
    (lambda: analysis.speedup(8.0, math.inf), "t_parallel debe ser un número finito"),
    (lambda: analysis.efficiency(2.0, 0), "workers debe ser >= 1"),
    (lambda: analysis.ideal_speedup(4, 0), "cores debe ser >= 1"),
    (lambda: analysis.amdahl_speedup(4, 1.5), "serial_fraction debe estar entre 0 y 1"),
    (lambda: analysis.amdahl_speedup(0.5, 0.1), "workers debe ser >= 1"),
])
def test_bad_numbers_raise_value_error_in_spanish(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("call", [
    lambda: analysis.speedup("8", 2), lambda: analysis.speedup(True, 2),
    lambda: analysis.efficiency(2.0, 2.5), lambda: analysis.ideal_speedup(None, 2),
])
def test_wrong_types_raise_type_error(call):
    with pytest.raises(TypeError, match="debe ser un"):
        call()


def test_ideal_speedup_is_capped_by_cores():
    assert [analysis.ideal_speedup(n, 2) for n in (1, 2, 3, 8)] == [1, 2, 2, 2]
    assert analysis.ideal_speedup(3, 8) == 3


def test_amdahl_speedup_limits():
    assert analysis.amdahl_speedup(1, 0.3) == pytest.approx(1.0)
    assert analysis.amdahl_speedup(8, 0.0) == pytest.approx(8.0)
    assert analysis.amdahl_speedup(8, 1.0) == pytest.approx(1.0)
    assert analysis.amdahl_speedup(4, 0.2) == pytest.approx(1 / (0.2 + 0.8 / 4))
    assert analysis.amdahl_speedup(10**9, 0.25) == pytest.approx(4.0, rel=1e-6)  # límite 1/f


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.12, 0.5, 1.0])
def test_fit_amdahl_recovers_a_known_serial_fraction(fraction):
    points = [(n, analysis.amdahl_speedup(n, fraction)) for n in (1, 2, 3, 4, 8)]
    assert analysis.fit_amdahl(points) == pytest.approx(fraction, abs=1e-6)


def test_fit_amdahl_with_a_single_point_and_with_dicts():
    assert analysis.fit_amdahl([(2, analysis.amdahl_speedup(2, 0.3))]) == pytest.approx(0.3, abs=1e-6)
    rows = [{"workers": 1, "speedup": 1.0}, {"workers": 4, "speedup": analysis.amdahl_speedup(4, 0.1)}]
    assert analysis.fit_amdahl(rows) == pytest.approx(0.1, abs=1e-6)


def test_fit_amdahl_uses_only_points_up_to_cores():
    points = [(1, 1.0), (2, analysis.amdahl_speedup(2, 0.1)), (4, 1.8), (8, 1.7)]  # meseta por falta de núcleos
    assert analysis.fit_amdahl(points, cores=2) == pytest.approx(0.1, abs=1e-6)
    assert analysis.fit_amdahl(points) > 0.2  # sin cores, la meseta infla la fracción serie


def test_fit_amdahl_clamps_to_zero_and_one():
    assert analysis.fit_amdahl([(2, 2.5), (4, 5.0)]) == 0.0  # superlineal
    assert analysis.fit_amdahl([(2, 0.5), (4, 0.4)]) == 1.0  # más lento que en serie


def _rounds(times_by_round):
    return [{"workers": n, "wall_time": t, "tasks": 8, "repeat": r}
            for r, times in enumerate(times_by_round, start=1) for n, t in times.items()]


def test_amdahl_estimate_on_four_cores_gives_a_range_and_a_ceiling():
    rounds = [{n: 10 / analysis.amdahl_speedup(n, f) for n in (1, 2, 3, 4, 6)} for f in (0.08, 0.10, 0.12)]
    est = analysis.amdahl_estimate(_rounds(rounds), cores=4)
    assert est["points"] == 3 and est["rounds"] == 3 and est["reliable"] and est["reason"] is None
    assert est["low"] == pytest.approx(0.08, abs=1e-4) and est["high"] == pytest.approx(0.12, abs=1e-4)
    assert est["low"] <= est["fraction"] <= est["high"]
    assert est["ceiling"] == pytest.approx((1 / 0.12, 1 / 0.08), rel=1e-3)


def test_amdahl_estimate_on_two_cores_is_not_reliable_and_has_no_ceiling():
    # El caso del informe: una ronda da 1.99x con 2 workers (f ≈ 0,5 %) y otra 1.7x (f ≈ 18 %).
    rounds = [{1: 1.0, 2: 1 / 1.99, 3: 1 / 1.95}, {1: 1.0, 2: 1 / 1.7, 3: 1 / 1.65}]
    est = analysis.amdahl_estimate(_rounds(rounds), cores=2)
    assert est["points"] == 1 and not est["reliable"] and est["ceiling"] is None
    assert "un tamaño útil" in est["reason"]
    assert est["low"] < 0.01 and est["high"] == pytest.approx(2 / 1.7 - 1, abs=1e-3)


def test_amdahl_estimate_flags_one_round_and_rounds_that_disagree():
    one = analysis.amdahl_estimate(_rounds([{1: 1.0, 2: 0.55, 4: 0.3}]), cores=4)
    assert not one["reliable"] and "una sola ronda" in one["reason"]
    noisy = analysis.amdahl_estimate(_rounds([{1: 1.0, 2: 0.5, 4: 0.25}, {1: 1.0, 2: 0.7, 4: 0.5}]), cores=4)
    assert not noisy["reliable"] and "no se ponen de acuerdo" in noisy["reason"]
    assert noisy["ceiling"] is None


def test_amdahl_estimate_without_usable_sizes():
    est = analysis.amdahl_estimate(_rounds([{1: 1.0, 3: 0.6}]), cores=2)
    assert est["fraction"] is None and est["points"] == 0 and "entre 2 y 2 workers" in est["reason"]


def test_amdahl_estimate_without_repeat_keys_uses_the_order_of_the_runs():
    runs = [{"workers": n, "wall_time": t} for n, t in ((1, 1.0), (2, 0.55), (1, 1.0), (2, 0.6))]
    assert analysis.amdahl_estimate(runs, cores=2)["rounds"] == 2


@pytest.mark.parametrize("points, cores", [([], None), ([(1, 1.0)], None), ([(1, 1.0), (4, 3.0)], 1)])
def test_fit_amdahl_needs_a_point_with_several_workers(points, cores):
    with pytest.raises(ValueError, match="más de 1 worker"):
        analysis.fit_amdahl(points, cores=cores)


# --- resumen de ejecuciones ----------------------------------------------------------------

RUNS = [{"workers": 1, "wall_time": 8.0, "tasks": 12}, {"workers": 1, "wall_time": 8.4, "tasks": 12},
        {"workers": 1, "wall_time": 7.6, "tasks": 12}, {"workers": 2, "wall_time": 4.0, "tasks": 12},
        {"workers": 2, "wall_time": 5.0, "tasks": 12}, {"workers": 4, "wall_time": 4.4, "tasks": 12}]


def test_summarise_runs_median_min_max_speedup_efficiency():
    rows = analysis.summarise_runs(reversed(RUNS))
    assert [r["workers"] for r in rows] == [1, 2, 4]
    one, two, four = rows
    assert (one["median"], one["min"], one["max"], one["runs"]) == (8.0, 7.6, 8.4, 3)
    assert one["speedup"] == 1.0 and one["efficiency"] == 1.0
    assert two["median"] == 4.5
    assert two["speedup"] == pytest.approx(8.0 / 4.5)
    assert (two["speedup_min"], two["speedup_max"]) == (pytest.approx(1.6), pytest.approx(2.0))
    assert two["efficiency"] == pytest.approx(8.0 / 4.5 / 2)
    assert four["speedup"] == pytest.approx(8.0 / 4.4) and four["tasks"] == 12


def test_summarise_runs_without_serial_baseline():
    rows = analysis.summarise_runs([{"workers": 2, "wall_time": 4.0}])
    assert rows[0]["speedup"] is None and rows[0]["efficiency"] is None
    rows = analysis.summarise_runs([{"workers": 2, "wall_time": 4.0}], t_serial=8.0)
    assert rows[0]["speedup"] == 2.0 and rows[0]["efficiency"] == 1.0
    assert analysis.summarise_runs([]) == []


@pytest.mark.parametrize("runs, message", [
    ([{"workers": 1}], "La ejecución 1 no tiene la clave 'wall_time'"),
    ([{"wall_time": 1.0}], "La ejecución 1 no tiene la clave 'workers'"),
    ([{"workers": 0, "wall_time": 1.0}], "workers de la ejecución 1 debe ser >= 1"),
    ([{"workers": 1, "wall_time": 0}], "wall_time de la ejecución 1 debe ser > 0"),
    ([{"workers": 1, "wall_time": 1.0, "tasks": 12}, {"workers": 2, "wall_time": 1.0, "tasks": 6}],
     "mismo número de tareas"),
])
def test_summarise_runs_rejects_bad_runs(runs, message):
    with pytest.raises(ValueError, match=message):
        analysis.summarise_runs(runs)


# --- línea de tiempo -------------------------------------------------------------------------

EXPECTED_INTERVALS = [("w1", "t1", 1.0, 3.0, "completed", 1), ("w2", "t2", 1.5, 4.0, "requeued", 1),
                      ("w1", "t2", 4.0, 6.0, "completed", 2), ("w3", "t3", 5.0, 6.5, "failed", 1),
                      ("w3", "t4", 7.0, 7.5, "processing", 1)]


def test_intervals_from_a_hand_made_timeline_with_a_requeue():
    assert analysis.intervals_from_timeline(hand_timeline()) == EXPECTED_INTERVALS


def test_intervals_accept_dicts_from_json_in_any_order_and_now():
    dicts = json.loads(json.dumps([e.to_dict() for e in reversed(hand_timeline())]))
    intervals = analysis.intervals_from_timeline(dicts, now=9.0)
    assert intervals[:-1] == EXPECTED_INTERVALS[:-1]
    assert intervals[-1] == ("w3", "t4", 7.0, 9.0, "processing", 1)
    assert intervals[0].worker_id == "w1" and intervals[0].outcome == "completed"


def test_abandoned_task_and_lanes_of_an_async_worker():
    intervals = analysis.intervals_from_timeline(async_events())
    assert [iv.outcome for iv in intervals].count("abandoned") == 1
    assert {iv.worker_id for iv in intervals} == {"async-1"}
    lanes = analysis.assign_lanes(intervals)
    assert max(lanes) == 2  # tres tareas a la vez
    by_lane: dict[int, list] = {}
    for iv, lane in zip(intervals, lanes):
        by_lane.setdefault(lane, []).append(iv)
    for same_lane in by_lane.values():  # dentro de un carril nada se solapa
        assert all(a.end <= b.start for a, b in zip(same_lane, same_lane[1:]))


def test_lanes_of_sync_workers_are_all_zero():
    assert analysis.assign_lanes(analysis.intervals_from_timeline(hand_timeline())) == [0] * 5


def test_states_over_time_of_the_hand_made_timeline():
    series = analysis.states_over_time(hand_timeline())
    assert series["times"] == [0.0, 1.0, 1.5, 3.0, 4.0, 5.0, 6.0, 6.5, 7.0, 7.5]
    assert series["pending"] == [4, 3, 2, 2, 2, 1, 1, 1, 0, 1]
    assert series["processing"] == [0, 1, 2, 1, 1, 2, 1, 0, 1, 1]
    assert series["completed"] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert series["failed"] == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert analysis.states_over_time([]) == {"times": [], "pending": [], "processing": [],
                                             "completed": [], "failed": []}


def test_real_queue_timeline_adds_up():
    sim = simulate()
    series = analysis.states_over_time(sim["events"])
    totals = [sum(series[s][i] for s in analysis.STATES) for i in range(len(series["times"]))]
    assert totals[-1] == 12 and series["completed"][-1] == 11 and series["failed"][-1] == 1
    intervals = analysis.intervals_from_timeline(sim["queue"].timeline())
    assert sorted(iv.outcome for iv in intervals).count("requeued") == 1
    assert len(intervals) == 13  # 12 tareas + el intento perdido por el worker que murió


@pytest.mark.parametrize("events, message", [
    ([{"time": 1.0, "task_id": "t1"}], "El evento 1 no tiene la clave 'state'"),
    ([{"time": 1.0, "task_id": "t1", "state": "done"}], "estado desconocido 'done'"),
    ([{"time": "ayer", "task_id": "t1", "state": "pending"}], "time del evento 1 debe ser un número"),
])
def test_bad_events_are_rejected(events, message):
    with pytest.raises((ValueError, TypeError), match=message):
        analysis.intervals_from_timeline(events)


def test_empty_timeline():
    assert analysis.intervals_from_timeline([]) == []


# --- desglose de tiempos --------------------------------------------------------------------

def test_breakdown_totals_sums_and_shares():
    results = [{"task_id": "a", "load": 1.0, "pipeline": 2.0, "save": 1.0, "filters": []},
               {"image_path": "images/b.jpg", "load": 1.0, "pipeline": 4.0, "save": 1.0, "filters": []}]
    totals = analysis.breakdown_totals(results)
    assert (totals["tasks"], totals["load"], totals["pipeline"], totals["save"], totals["total"]) == (2, 2, 6, 2, 10)
    assert totals["shares"] == {"load": 0.2, "pipeline": 0.6, "save": 0.2}
    assert [row["label"] for row in analysis.breakdown_rows(results)] == ["a", "b.jpg"]
    empty = analysis.breakdown_totals([])
    assert empty["total"] == 0 and empty["shares"]["load"] == 0.0


def test_breakdown_rejects_missing_phase_naming_the_task():
    with pytest.raises(ValueError, match="El resultado de task-0003 no tiene la clave 'save'"):
        analysis.breakdown_totals([{"task_id": "task-0003", "load": 0.1, "pipeline": 0.2}])
    with pytest.raises(ValueError, match="load de x no puede ser negativo"):
        analysis.breakdown_rows([{"task_id": "x", "load": -0.1, "pipeline": 0.2, "save": 0.1}])


def test_filter_times_mean_min_max_in_pipeline_order():
    results = [{"filters": [["blur", 0.1], ["sharpen", 0.3], ["blur", 0.2]]},
               {"filters": [("blur", 0.3), {"name": "sharpen", "seconds": 0.1}, ("blur", 0.2)]}]
    rows = analysis.filter_times(results)
    assert [r["filter"] for r in rows] == ["1. blur", "2. sharpen", "3. blur"]
    assert rows[0]["mean"] == pytest.approx(0.2) and (rows[0]["min"], rows[0]["max"]) == (0.1, 0.3)
    assert rows[2]["count"] == 2
    with pytest.raises(ValueError, match="El filtro 1 de tarea 1 debe ser"):
        analysis.filter_times([{"filters": [["blur"]]}])


def test_results_as_objects_with_to_dict():
    core = pytest.importorskip("lab.core")
    data = fake_result("task-0001", "worker-1", "images/a.jpg", __import__("random").Random(1))
    keys = [k for k in data if k not in ("task_id", "worker_id")]
    result = core.ImageResult.from_dict({k: data[k] for k in keys})
    assert analysis.breakdown_totals([result])["load"] == data["load"]


def test_health_rows_defaults_order_and_errors():
    rows = analysis.health_rows([{"worker_id": "worker-10", "healthy": True, "tasks_completed": 3},
                                 {"worker_id": "worker-2", "healthy": False, "heartbeat_age": 4}])
    assert [r["worker_id"] for r in rows] == ["worker-2", "worker-10"]
    assert rows[0] == {"worker_id": "worker-2", "healthy": False, "heartbeat_age": 4.0,
                       "tasks_completed": 0, "tasks_failed": 0}
    with pytest.raises(ValueError, match="tasks_failed de w debe ser un entero >= 0"):
        analysis.health_rows([{"worker_id": "w", "tasks_failed": -1}])
    with pytest.raises(ValueError, match="El worker 1 no tiene la clave 'worker_id'"):
        analysis.health_rows([{"healthy": True}])

