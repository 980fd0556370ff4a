"""Tests de ``lab.notebook.widgets``: lo mismo que hace el botón, sin navegador y con cargas diminutas."""

from __future__ import annotations

import base64
import re
import threading

import pytest

from lab.notebook import experiments, widgets
from lab.errors import OutputWriteError
from lab.workers import SimpleWorker, TaskQueue, WorkerPool

SIZE = (96, 64)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def dirs(tmp_path):
    return {"workload_dir": tmp_path / "entradas", "output_dir": tmp_path / "salidas"}


def images(output_widget):
    return [base64.b64decode(o["data"]["image/png"]) for o in output_widget.outputs if "image/png" in o["data"]]


def test_workers_panel_button_runs_the_experiment_and_draws_three_charts(dirs):
    panel = widgets.WorkersPanel(workers=2, n_images=3, size=SIZE, **dirs)
    panel.button.click()
    assert panel.wait(timeout=120)
    assert panel.error is None, panel.error
    assert panel.progress.max == 3 * 2 and panel.progress.value == panel.progress.max
    pngs = images(panel.chart)
    assert len(pngs) == 3 and all(png.startswith(PNG) for png in pngs)  # speedup, línea de tiempo, desglose
    assert not panel.button.disabled
    assert panel.data["worker_counts"] == [1, 2]
    assert "Speedup con 2" in panel.status.value


def test_workers_panel_uses_slider_dropdown_and_image_count(dirs):
    panel = widgets.WorkersPanel(workers=1, n_images=2, size=SIZE, **dirs)
    panel.workers.value, panel.images.value = 3, 2
    panel.pipeline.value = "ligero: gris + resize"
    panel.run(wait=True)
    assert panel.data["worker_counts"] == [1, 2, 3]
    assert panel.data["n_images"] == 2 and panel.data["pipeline"] == "ligero: gris + resize"
    assert panel.progress.value == 6


def test_panels_carry_the_css_classes_of_the_browser_tests():
    panel = widgets.WorkersPanel()
    assert "lab-workers-slider" in panel.workers._dom_classes
    assert "lab-run-button" in panel.button._dom_classes
    assert "lab-progress" in panel.progress._dom_classes
    assert "lab-chart" in panel.chart._dom_classes
    assert panel.workers.description == "Workers" and (panel.workers.min, panel.workers.max) == (1, 8)
    assert panel.button.description == "Ejecutar"
    concurrency = widgets.ConcurrencyPanel()
    assert "lab-concurrency-slider" in concurrency.max_concurrent._dom_classes
    assert concurrency.max_concurrent.value == 3


def test_button_is_disabled_while_running_and_a_second_click_does_nothing(monkeypatch):
    gate, calls = threading.Event(), []

    def slow_experiment(counts, *args, on_progress=None, **kwargs):
        calls.append(counts)
        on_progress(1, 4)
        gate.wait(30)
        raise OutputWriteError("No se puede crear 'output/x.jpg': disco lleno.")

    monkeypatch.setattr(experiments, "run_workers_experiment", slow_experiment)
    panel = widgets.WorkersPanel(workers=2)
    panel.button.click()
    assert panel.button.disabled and panel.running
    panel.button.click()  # no lanza otro experimento
    gate.set()
    assert panel.wait(timeout=30)
    assert calls == [(1, 2)]
    assert not panel.button.disabled


def test_errors_show_as_one_spanish_sentence(monkeypatch):
    def broken(*args, **kwargs):
        raise OutputWriteError("No se puede crear 'output/x.jpg': disco lleno.")

    monkeypatch.setattr(experiments, "run_workers_experiment", broken)
    panel = widgets.WorkersPanel()
    panel.run(wait=True)
    assert panel.status.value == ("❌ No se pudo ejecutar el experimento: No se puede crear "
                                  "&#x27;output/x.jpg&#x27;: disco lleno.")
    assert panel.error == "No se puede crear 'output/x.jpg': disco lleno"
    assert "Traceback" not in panel.status.value and not panel.button.disabled


def test_concurrency_panel_draws_the_timeline_and_keeps_a_history(dirs):
    panel = widgets.ConcurrencyPanel(max_concurrent=2, n_tasks=4, size=SIZE, **dirs)
    panel.run(wait=True)
    panel.max_concurrent.value = 1
    panel.run(wait=True)
    assert panel.error is None, panel.error
    assert panel.progress.value == panel.progress.max == 4
    assert len(images(panel.chart)) == 1
    assert [h["max_concurrent"] for h in panel.history] == [2, 1]
    assert panel.history[1]["peak_overlap"] == 1
    assert "límite 1" in panel.status.value


class GatedWorker(SimpleWorker):
    """Worker sin imágenes que no termina su tarea hasta que el test abre la puerta."""

    gate: threading.Event

    def process_task(self, task):
        if not self.gate.wait(30):
            raise TimeoutError("puerta cerrada")
        if task.payload.get("fail"):
            raise RuntimeError("fallo provocado")
        return {"load": 0.0, "pipeline": 0.0, "save": 0.0}


def gated_pool(n_workers, payloads):
    queue = TaskQueue()
    for payload in payloads:
        queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg", **payload})
    GatedWorker.gate = threading.Event()
    return WorkerPool(n_workers, None, queue, worker_class=GatedWorker), GatedWorker.gate


def test_health_dashboard_refreshes_while_workers_run_and_stops_by_itself():
    pool, gate = gated_pool(2, [{}, {}, {}])
    dashboard = widgets.HealthDashboard(pool, interval=0.01)
    assert "lab-health" in dashboard.html._dom_classes
    assert "esperando" in dashboard.html.value and "0 de 2" not in dashboard.html.value
    pool.start(wait=False)
    dashboard.start()
    first = dashboard.html.value
    while "ocupado" not in dashboard.html.value or dashboard.html.value == first:
        assert dashboard.running
        threading.Event().wait(0.01)
    assert "task-0001" in dashboard.html.value or "task-0002" in dashboard.html.value
    gate.set()
    pool.join()
    assert dashboard.join(timeout=30)  # se para solo al terminar los workers
    final = dashboard.html.value
    assert "parado" in final and "ocupado" not in final
    assert sum(row["tasks_completed"] for row in dashboard.rows()) == 3
    assert dashboard.finished


def test_health_dashboard_shows_unhealthy_workers_and_why():
    pool, gate = gated_pool(1, [{"fail": True}] * 5)
    gate.set()
    pool.start()
    dashboard = widgets.HealthDashboard(pool)
    row = dashboard.rows()[0]
    assert not row["healthy"] and row["tasks_failed"] == 5
    assert "❌" in dashboard.html.value and "0 de 1 sanos" in dashboard.html.value
    assert "Fallaron el 100%" in dashboard.html.value
    # Proyector: letra de 18 px y los motivos en su propia fila, a lo ancho (no en una columna estrecha).
    assert "font-size:18px" in dashboard.html.value
    assert re.search(r'<tr><td></td><td colspan="6"[^>]*>Motivo: Fallaron el 100%', dashboard.html.value)


def test_health_dashboard_stop_ends_the_refresh_of_idle_workers():
    queue = TaskQueue()
    workers = [SimpleWorker(f"worker-{i}", [{"name": "blur"}], queue) for i in (1, 2)]
    dashboard = widgets.watch(workers, interval=0.01)
    assert dashboard.running
    dashboard.stop()
    assert not dashboard.running and dashboard.refreshes >= 2
    assert dashboard.html.value.count("</tr>") == 3  # cabecera + 2 workers


def test_figure_output_is_a_png_display_data():
    from lab.notebook.plots import plot_speedup

    output = widgets.figure_output(plot_speedup([{"workers": 1, "wall_time": 2.0}, {"workers": 2, "wall_time": 1.1}],
                                                cores=2))
    assert output["output_type"] == "display_data"
    assert base64.b64decode(output["data"]["image/png"]).startswith(PNG)


def test_concurrency_history_is_a_spanish_table_with_spacing(dirs):
    panel = widgets.ConcurrencyPanel(max_concurrent=2, n_tasks=3, size=SIZE, **dirs)
    panel.run(wait=True)
    status = panel.status.value
    for header in ("Ejecución", "Límite a la vez", "Tareas", "Tiempo", "Pico observado"):
        assert f">{header}</th>" in status
    assert "max_concurrent" not in status and "padding:4px 14px" in status
    assert status.count("<tr>") == 2  # cabecera y una ejecución


def test_concurrency_panel_default_workload_takes_a_few_seconds():
    panel = widgets.ConcurrencyPanel()
    assert panel.tasks.value == 24 and panel.size == (1920, 1080)
    assert panel.pipeline.value.startswith("pesado")


def test_workers_panel_rounds_slider_reaches_the_experiment(monkeypatch):
    seen = {}

    def fake(counts, *args, repeats=1, on_progress=None, **kwargs):
        seen["repeats"] = repeats
        raise OutputWriteError("basta")

    monkeypatch.setattr(experiments, "run_workers_experiment", fake)
    panel = widgets.WorkersPanel(workers=2)
    panel.repeats.value = 3
    panel.run(wait=True)
    assert seen == {"repeats": 3} and "lab-repeats-slider" in panel.repeats._dom_classes


def test_workers_panel_says_when_amdahl_is_not_reliable(dirs):
    panel = widgets.WorkersPanel(workers=2, n_images=2, size=SIZE, repeats=2, **dirs)
    panel.run(wait=True)
    assert panel.error is None, panel.error
    assert "2 rondas" in panel.status.value
    assert "poco fiable" in panel.status.value  # con 1 y 2 workers solo hay un punto útil, tenga los núcleos que tenga
