"""Pruebas de ``lab.notebook.plots``: cada gráfica devuelve una Figure con las barras, líneas y textos esperados."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from lab.notebook import analysis, plots
from lab.notebook import gil
from lab.notebook.plot_style import MAX_HEIGHT, OUTCOME_COLORS, PHASE_COLORS, presentation_style
from PIL import Image
from plot_data import async_events, fake_runs, hand_timeline, simulate

ENGLISH = ("Time", "Load", "Save", "Completed", "Failed", "Pending", "Processing", "tasks", "seconds",
           "No data", "Healthy", "Ideal speedup", "Measured")


@pytest.fixture(scope="module")
def sim():
    return simulate()


def texts(fig: Figure) -> list[str]:
    """Todos los textos visibles de la figura (títulos, etiquetas, marcas, leyendas, anotaciones)."""
    fig.canvas.draw()  # crea las etiquetas de las marcas
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def assert_spanish(fig: Figure, *expected: str) -> None:
    found = texts(fig)
    joined = "\n".join(found)
    for text in expected:
        assert text in joined, f"falta {text!r} en {found}"
    for word in ENGLISH:
        assert word not in joined, f"texto en inglés {word!r} en {found}"


def legend_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def render(fig: Figure, path) -> None:
    """Guarda en PNG convirtiendo en error cualquier aviso (p. ej. un glifo que falta en la fuente)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- desglose ---------------------------------------------------------------------------

def test_breakdown_has_three_stacked_bars_per_task_with_totals(sim, tmp_path):
    results = sim["results"]
    fig = plots.plot_breakdown(results)
    ax = fig.axes[0]
    assert len(ax.containers) == 3 and len(ax.patches) == 3 * len(results) == 33
    colours = [matplotlib.colors.to_hex(c.patches[0].get_facecolor()) for c in ax.containers]
    assert colours == [PHASE_COLORS[p].lower() for p in analysis.PHASES]
    shares = analysis.breakdown_totals(results)["shares"]
    assert legend_labels(ax) == [f"Carga ({shares['load'] * 100:.0f} %)", f"Pipeline ({shares['pipeline'] * 100:.0f} %)",
                                 f"Guardado ({shares['save'] * 100:.1f} %)"]
    assert sum(t.get_text().endswith(" ms") for t in ax.texts) == len(results)
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["task-0001", "task-0002", "task-0003"]
    assert_spanish(fig, "Desglose del tiempo por tarea", "Tiempo (s)")
    render(fig, tmp_path / "desglose.png")


def test_breakdown_with_many_tasks_uses_short_labels(tmp_path):
    many = simulate(workers=4, tasks=25, seed=2)["results"]
    fig = plots.plot_breakdown(many)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    # 24 tareas (una falla): una de cada dos etiquetas, solo el número, y sin totales que se pisen
    assert labels[:3] == ["1", "3", "5"] and len(labels) <= 14 and len(fig.axes[0].patches) == 3 * len(many)
    assert not fig.axes[0].texts
    render(fig, tmp_path / "desglose-25.png")


def test_filter_breakdown_one_result_and_many(sim, tmp_path):
    one = plots.plot_filter_breakdown(sim["results"][0])
    ax = one.axes[0]
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1. grayscale", "2. blur", "3. sharpen"]
    assert_spanish(one, "Tiempo por filtro del pipeline", "Tiempo (ms)")
    many = plots.plot_filter_breakdown(sim["results"])
    assert len(many.axes[0].patches) == 3
    assert_spanish(many, "mín–máx de 11 tareas")
    render(many, tmp_path / "filtros.png")


# --- línea de tiempo -----------------------------------------------------------------------

def test_timeline_has_one_bar_per_interval_and_marks_requeues(sim, tmp_path):
    fig = plots.plot_timeline(sim["events"])
    ax = fig.axes[0]
    intervals = analysis.intervals_from_timeline(sim["events"])
    assert len(ax.patches) == len(intervals) == 13
    assert [t.get_text() for t in ax.get_yticklabels()] == ["worker-1", "worker-2", "worker-3"]
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1 and matplotlib.colors.to_hex(hatched[0].get_facecolor()) == OUTCOME_COLORS["requeued"].lower()
    assert legend_labels(ax) == ["Completada", "Fallida", "Reencolada (concesión perdida)"]
    assert ax.get_xlim()[0] == 0  # segundos desde el primer evento
    assert_spanish(fig, "Línea de tiempo por worker", "Segundos desde el primer evento")
    render(fig, tmp_path / "linea.png")


def test_timeline_of_hand_made_events_and_async_lanes(tmp_path):
    fig = plots.plot_timeline([e.to_dict() for e in hand_timeline()])
    ax = fig.axes[0]
    assert len(ax.patches) == 5
    assert legend_labels(ax) == ["Completada", "Fallida", "Reencolada (concesión perdida)", "En proceso"]
    lanes = plots.plot_timeline(async_events())
    ax = lanes.axes[0]
    assert len({round(p.get_y(), 6) for p in ax.patches}) == 3  # tres carriles en la fila de async-1
    assert "Abandonada" in legend_labels(ax)
    assert any(p.get_hatch() == "xx" for p in ax.patches)
    render(lanes, tmp_path / "async.png")


# --- speedup ---------------------------------------------------------------------------------

def test_speedup_shows_measured_ideal_and_amdahl_with_serial_fraction(tmp_path):
    runs = [{"workers": n, "wall_time": 10.0 / analysis.amdahl_speedup(n, 0.12), "tasks": 12} for n in (1, 2, 4)]
    runs += [{"workers": 2, "wall_time": 6.0, "tasks": 12}, {"workers": 2, "wall_time": 5.2, "tasks": 12}]
    fig = plots.plot_speedup(runs, cores=4)
    ax = fig.axes[0]
    labels = legend_labels(ax)
    # Solo la primera ronda tiene 1 worker: la fracción sale de las medianas, sin rango por rondas.
    assert labels == ["Ideal: min(workers, 4 núcleos)", "Amdahl: f ≈ 12 % (una ronda: sin margen)",
                      "Medido (mediana y mín–máx de 3 rondas)"]
    ideal = ax.get_lines()[0]
    assert list(ideal.get_xdata()) == [1, 2, 3, 4] and list(ideal.get_ydata()) == [1, 2, 3, 4]
    assert len(ax.containers) == 1  # la barra de error de lo medido
    measured = ax.containers[0].lines[0]
    assert list(measured.get_xdata()) == [1, 2, 4]
    assert sum(t.get_text().endswith("×") for t in ax.texts) == 3
    assert_spanish(fig, "Speedup: medido, ideal y Amdahl", "Workers", "Speedup (×)")
    render(fig, tmp_path / "speedup.png")


def test_speedup_on_two_cores_caps_ideal_and_draws_the_cores_line(tmp_path):
    fig = plots.plot_speedup(fake_runs(cores=2, max_workers=6), cores=2)
    ax = fig.axes[0]
    assert list(ax.get_lines()[0].get_ydata()) == [1, 2, 2, 2, 2, 2]
    assert any(list(line.get_xdata()) == [2, 2] for line in ax.get_lines())  # línea vertical en 2 núcleos
    render(fig, tmp_path / "speedup-2.png")


def test_speedup_without_serial_run_or_with_one_point():
    no_base = plots.plot_speedup([{"workers": 2, "wall_time": 3.0}], cores=2)
    assert_spanish(no_base, "Falta una ejecución con 1 worker")
    one = plots.plot_speedup([{"workers": 1, "wall_time": 3.0}], cores=2)
    assert not any("Amdahl" in label for label in legend_labels(one.axes[0]))
    with pytest.raises(ValueError, match="cores debe ser >= 1"):
        plots.plot_speedup([], cores=0)


def test_speedup_with_rounds_draws_the_amdahl_band_and_the_range(tmp_path):
    fig = plots.plot_speedup(fake_runs(cores=4, max_workers=6, repeats=3), cores=4)
    ax = fig.axes[0]
    labels = legend_labels(ax)
    assert labels[1].startswith("Amdahl: f ≈ ") and "(rango " in labels[1]
    assert labels[2] == "Medido (mediana y mín–máx de 3 rondas)"
    assert len(ax.collections) >= 1  # la banda entre la menor y la mayor fracción por ronda
    assert len(ax.containers) == 1
    render(fig, tmp_path / "speedup-banda.png")


def test_speedup_of_a_single_round_says_so_and_draws_no_range():
    fig = plots.plot_speedup(fake_runs(cores=2, max_workers=4, repeats=1), cores=2)
    ax = fig.axes[0]
    labels = legend_labels(ax)
    assert labels[1].endswith("(un solo punto: poco fiable)")
    assert labels[2] == "Medido (una ejecución por tamaño)"
    assert not ax.containers and not ax.collections  # ni barras de error ni banda que la leyenda no promete


# --- reintentos de muchos clientes ----------------------------------------------------------------

def test_backoff_plot_shows_the_thundering_herd_and_full_jitter_spreading_it(tmp_path):
    fig = plots.plot_backoff(clients=200, seed=1)
    axes = fig.axes
    assert len(axes) == 3
    titles = [ax.get_title(loc="left") for ax in axes]
    peaks = [int(title.rsplit("pico de ", 1)[1].split()[0]) for title in titles]
    assert peaks[0] == 200  # sin jitter, los 200 vuelven en el mismo intervalo
    assert peaks[2] < 100 and peaks[2] < peaks[1] < peaks[0]
    assert sum(patch.get_height() for patch in axes[0].patches) == 200 * 6  # 6 reintentos por cliente
    assert_spanish(fig, "Reintentos", "Segundos desde el fallo (200 clientes", "tope max_delay = 8 s",
                   "Full jitter")
    render(fig, tmp_path / "backoff.png")


def test_backoff_plot_validates_its_arguments():
    with pytest.raises(ValueError):
        plots.plot_backoff(clients=0)
    with pytest.raises(ValueError):
        plots.plot_backoff(bin_width=0)


# --- estados de la cola y salud -----------------------------------------------------------------

def test_queue_states_stack_four_states(sim, tmp_path):
    fig = plots.plot_queue_states(sim["events"])
    ax = fig.axes[0]
    areas = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(areas) == 4
    assert legend_labels(ax) == ["Pendientes", "En proceso", "Fallidas", "Completadas"]
    assert ax.get_ylim()[1] >= 12
    assert_spanish(fig, "Estado de la cola en el tiempo", "Tareas")
    render(fig, tmp_path / "estados.png")


def test_health_dashboard_one_row_per_worker(sim, tmp_path):
    fig = plots.plot_health(sim["health"])
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 5 * (1 + 3)
    assert cells[:5] == ["Estado", "Worker", "Completadas", "Fallidas", "Último latido"]
    assert cells.count("✔") == 2 and cells.count("✘") == 1
    assert [c for c in cells if c.startswith("worker-")] == ["worker-1", "worker-2", "worker-3"]
    assert_spanish(fig, "Salud de los workers: 2 de 3 sanos", "hace ")
    render(fig, tmp_path / "salud.png")


# --- casos comunes a todas ---------------------------------------------------------------------

EMPTY_CALLS = {
    "breakdown": lambda **kw: plots.plot_breakdown([], **kw),
    "filters": lambda **kw: plots.plot_filter_breakdown([], **kw),
    "filters-no-filters": lambda **kw: plots.plot_filter_breakdown({"filters": []}, **kw),
    "timeline": lambda **kw: plots.plot_timeline([], **kw),
    "timeline-only-pending": lambda **kw: plots.plot_timeline([{"time": 1.0, "task_id": "t", "state": "pending"}], **kw),
    "speedup": lambda **kw: plots.plot_speedup([], cores=2, **kw),
    "queue": lambda **kw: plots.plot_queue_states([], **kw),
    "health": lambda **kw: plots.plot_health([], **kw),
}


@pytest.mark.parametrize("name", EMPTY_CALLS)
def test_empty_data_draws_a_note(name, tmp_path):
    fig = EMPTY_CALLS[name]()
    assert isinstance(fig, Figure)
    assert_spanish(fig, "Sin datos todavía")
    render(fig, tmp_path / f"{name}.png")


@pytest.mark.parametrize("name", EMPTY_CALLS)
def test_ax_argument_draws_into_the_given_axes(name):
    with presentation_style():
        fig, (left, right) = plt.subplots(1, 2)
    plt.close(fig)
    assert EMPTY_CALLS[name](ax=right) is fig
    assert "Sin datos todavía" in [t.get_text() for t in right.texts] and not left.texts


def test_charts_compose_in_one_figure(sim, tmp_path):
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 10), layout="constrained")
    plt.close(fig)
    assert plots.plot_timeline(sim["events"], ax=top) is fig
    assert plots.plot_queue_states(sim["events"], ax=bottom) is fig
    assert len(top.patches) == 13 and len(bottom.collections) == 4
    render(fig, tmp_path / "compuesta.png")


def test_plots_leave_global_state_alone(sim):
    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    figures = plt.get_fignums()
    plots.plot_breakdown(sim["results"])
    plots.plot_speedup(fake_runs(), cores=2)
    with presentation_style():
        assert matplotlib.rcParams["axes.titlesize"] == 22
    assert dict(matplotlib.rcParams) == before and matplotlib.get_backend() == backend
    assert plt.get_fignums() == figures  # no quedan en pyplot: no se muestran dos veces ni se acumulan



# --- en un cuaderno: imagen a la primera y tamaño de proyector ---------------------------------------

FRESH_KERNEL = """
import sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell(sys.argv[1])
formats, _ = shell.display_formatter.format(shell.ev(sys.argv[2]))
print(sorted(formats))
"""


@pytest.mark.parametrize("setup, expression", [
    ("from lab.notebook.plots import plot_backoff", "plot_backoff(clients=20)"),
    ("from lab.notebook.plots import plot_breakdown", "plot_breakdown([])"),
    ("from lab.notebook.gil import plot_gil", "plot_gil([])"),
])
def test_a_chart_is_a_png_in_a_fresh_kernel(setup, expression):
    """Como la primera celda que dibuja en un kernel recién arrancado: el backend inline aún no se ha cargado."""
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    done = subprocess.run([sys.executable, "-c", FRESH_KERNEL, setup, expression], capture_output=True,
                          text=True, env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert "'image/png'" in done.stdout.splitlines()[-1], done.stdout


def test_no_chart_builds_a_bare_figure():
    """``Figure()`` sin pyplot no carga el backend inline y sale como texto: todas usan ``new_figure``."""
    folder = Path(plots.__file__).parent
    bare = [f"{path.name}:{node.lineno}" for path in sorted(folder.glob("*.py"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Figure"]
    assert not bare, f"Figuras creadas con Figure(): {bare}"


def _all_charts(sim):
    rows = [{"operation": name, "releases_gil": releases, "threads": 2, "calls": 1, "one_thread": 0.2,
             "n_threads": 0.1 if releases else 0.2, "speedup": 2.0 if releases else 1.0}
            for name, (releases, _) in gil.OPERATIONS.items()]
    many = simulate(workers=8, tasks=40, seed=11)
    return {"desglose-12": plots.plot_breakdown(simulate(tasks=12, dying_worker=None)["results"]),
            "desglose-40": plots.plot_breakdown(many["results"]),
            "linea-8": plots.plot_timeline(many["events"]), "salud-8": plots.plot_health(many["health"]),
            "speedup": plots.plot_speedup(fake_runs(cores=4, max_workers=8), cores=4),
            "estados": plots.plot_queue_states(sim["events"]), "backoff": plots.plot_backoff(),
            "gil-7": gil.plot_gil(rows, cores=2)}


def test_every_chart_fits_a_768_px_screen(sim, tmp_path):
    for name, fig in _all_charts(sim).items():
        assert fig.get_figheight() <= MAX_HEIGHT, name
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=100)
        with Image.open(path) as image:
            assert image.height <= 620, f"{name}: {image.height} px de alto"


def test_speedup_legend_shows_the_band_and_the_dash_dot_pattern():
    fig = plots.plot_speedup(fake_runs(cores=4, max_workers=6, repeats=3), cores=4)
    legend = fig.axes[0].get_legend()
    fig.canvas.draw()
    labels = [text.get_text() for text in legend.get_texts()]
    band = legend.legend_handles[1]  # la entrada de Amdahl: su banda, con la línea encima
    assert labels[1].startswith("Amdahl") and isinstance(band, Rectangle) and band.get_facecolor()[3] == 0.3
    assert [line for line in legend.findobj(Line2D) if line.get_linestyle() == "-."], "Amdahl sin trazo-punto"
    assert legend.handlelength >= 3, "con una muestra corta, el trazo-punto parece una línea continua"
