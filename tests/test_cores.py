"""``lab.notebook.cores.cpu_cores``: núcleos lógicos y físicos; el ideal de speedup usa los físicos."""

from __future__ import annotations

import os

import psutil
import pytest

from lab.notebook import cores, experiments


def test_logical_are_os_cpu_count_and_physical_are_at_most_as_many():
    found = cores.cpu_cores()
    assert found.logical == (os.cpu_count() or 1)
    assert 1 <= found.physical <= found.logical
    assert found == (found.logical, found.physical)  # se desempaqueta: lógicos, físicos = cpu_cores()


def test_hyperthreading_laptop_reports_four_physical_of_eight_logical(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 8 if logical else 4)
    assert cores.cpu_cores() == cores.CpuCores(logical=8, physical=4)


def test_unknown_physical_cores_fall_back_to_logical_with_a_warning(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 6 if logical else None)
    with pytest.warns(RuntimeWarning, match="núcleos físicos.*6 lógicos"):
        assert cores.cpu_cores() == (6, 6)


def test_the_speedup_experiment_uses_physical_cores_for_the_ideal(monkeypatch, tmp_path):
    monkeypatch.setattr(experiments, "cpu_cores", lambda: cores.CpuCores(logical=8, physical=4))
    data = experiments.run_workers_experiment([1], n_images=2, size=(32, 24), workload_dir=tmp_path / "in",
                                              output_dir=tmp_path / "out")
    assert data["cores"] == 4
