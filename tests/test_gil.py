"""Tests de ``lab.gil``: la medida de 1 hilo frente a N y su gráfica (sin afirmar tiempos)."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from lab import gil


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
