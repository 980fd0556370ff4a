"""Tests de ``lab.notebook.gil``: la medida de 1 hilo frente a N y su gráfica (sin afirmar tiempos)."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from lab.notebook import gil


@pytest.mark.parametrize("name", list(gil.OPERATIONS))
def test_every_operation_can_be_measured(name):
    row = gil.measure_gil(name, gil.gil_image((64, 48)), threads=2, calls=1, rounds=1)
    assert row["operation"] == name and row["threads"] == 2 and row["calls"] == 1
    assert row["one_thread"] > 0 and row["n_threads"] > 0
    assert row["speedup"] == pytest.approx(row["one_thread"] / row["n_threads"])
    assert row["releases_gil"] is gil.OPERATIONS[name][0]


def test_the_guide_split_of_operations():
    releases = {name for name, (free, _) in gil.OPERATIONS.items() if free}
    assert {"GaussianBlur(3)", "SHARPEN", "resize (LANCZOS)", "decodificar JPEG",
            "guardar JPEG en fichero"} <= releases
    assert {"ImageEnhance.Brightness (blend)", "JPEG a BytesIO"}.isdisjoint(releases)


def test_calls_are_chosen_from_a_fake_clock():
    ticks = iter(range(1000))
    row = gil.measure_gil("SHARPEN", gil.gil_image((32, 24)), clock=lambda: next(ticks) * 0.01,
                          rounds=1, target=0.2)
    assert row["calls"] == 10  # 0.2 s / 2 hilos / 0.01 s por llamada


def test_unknown_operation_and_bad_threads_are_clear_errors():
    with pytest.raises(ValueError, match="No conozco la operación 'magia'"):
        gil.measure_gil("magia")
    with pytest.raises(ValueError, match="threads"):
        gil.measure_gil("SHARPEN", threads=0)


def test_gil_table_and_plot():
    rows = gil.gil_table(["SHARPEN", "JPEG a BytesIO"], size=(48, 32), calls=1, rounds=1)
    assert [row["operation"] for row in rows] == ["SHARPEN", "JPEG a BytesIO"]
    fig = gil.plot_gil(rows, cores=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].patches) == 2
    assert isinstance(gil.plot_gil([]), Figure)


def test_threads_versus_processes_measures_both_pipelines(tmp_path):
    from lab.notebook.gil import POOL_PIPELINES, compare_threads_processes, plot_pools

    data = compare_threads_processes(n_images=2, size=(64, 48), workers=2, rounds=1,
                                     workload_dir=tmp_path / "in", output_dir=tmp_path / "out")
    assert data["workers"] == 2 and data["startup"] >= 0
    assert [row["pipeline"] for row in data["rows"]] == list(POOL_PIPELINES)
    assert [row["releases_gil"] for row in data["rows"]] == [False, True]
    for row in data["rows"]:
        assert row["one"] > 0 and row["threads"] > 0 and row["processes"] > 0
        assert row["speedup_processes"] == pytest.approx(row["one"] / row["processes"])
    fig = plot_pools(data)
    fig.canvas.draw()
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "¿Hilos o procesos?" in texts and any("no suelta el GIL" in t for t in texts)
