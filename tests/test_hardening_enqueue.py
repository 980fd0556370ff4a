"""``python -m lab enqueue`` con entradas hostiles: se rechazan con una frase en español, sin traza.

Todas estas comprobaciones ocurren antes de conectar con Redis (la URL apunta a un puerto
cerrado a propósito): si algo no se puede encolar, no se encola nada.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image

from lab import PROJECT_DIR
from lab.cli.queue_commands import main, parse_pipeline
from lab.errors import FilterSpecError
from lab.filters.validation import MAX_SPEC_DEPTH

NOWHERE = "redis://127.0.0.1:1/0"


def _enqueue(cwd, *args):
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    env.pop("LAB_QUEUE_URL", None)
    return subprocess.run([sys.executable, "-m", "lab", "enqueue", "--queue", NOWHERE, *args],
                          capture_output=True, cwd=cwd, env=env, timeout=120)


def _enqueue_here(capsys, monkeypatch, cwd, *args):
    """Lo mismo que ``_enqueue`` sin lanzar otro Python (más rápido): ``(código, stderr)``."""
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("LAB_QUEUE_URL", raising=False)
    code = main(["enqueue", "--queue", NOWHERE, *args])
    return code, capsys.readouterr().err


def _nested_json(levels):
    return "[" * (levels - 1) + '{"name": "blur"}' + "]" * (levels - 1)


@pytest.mark.parametrize("levels", [MAX_SPEC_DEPTH + 1, 330, 100_000])
def test_a_deeply_nested_pipeline_file_is_a_filter_spec_error(tmp_path, levels):
    path = tmp_path / "p.json"
    path.write_text(_nested_json(levels), encoding="utf-8")
    with pytest.raises(FilterSpecError, match=f"{MAX_SPEC_DEPTH}.*MAX_SPEC_DEPTH") as info:
        parse_pipeline(str(path))
    assert "p.json" in str(info.value)
    with pytest.raises(FilterSpecError, match="MAX_SPEC_DEPTH"):
        parse_pipeline(_nested_json(levels))  # el mismo JSON en la línea de órdenes


def test_the_deepest_allowed_pipeline_file_is_accepted(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(_nested_json(MAX_SPEC_DEPTH), encoding="utf-8")
    assert parse_pipeline(str(path))["name"] == "pipeline"


@pytest.mark.parametrize("content, fragment", [
    (None, "No existe el fichero de pipeline"),
    ('[{"name": "blur"}] ñ'.encode("latin-1"), "no está en UTF-8"),
    (b'[{"name": "blur", "radius": 1e300}]', "'radius' debe ser un número >= 0 y <= 1000"),
    (b'[{"name": "blur"', "no es JSON válido"),
])
def test_pipeline_files_that_cannot_be_used_name_the_file(tmp_path, content, fragment):
    path = tmp_path / "mi-pipeline.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FilterSpecError) as info:
        parse_pipeline(str(path))
    assert fragment in str(info.value) and "mi-pipeline.json" in str(info.value)


@pytest.mark.parametrize("levels", [330, 100_000])
def test_enqueue_with_a_deep_pipeline_file_prints_one_spanish_line(tmp_path, capsys, monkeypatch, levels):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.jpg")
    (tmp_path / "p.json").write_text(_nested_json(levels), encoding="utf-8")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "ok.jpg", "--pipeline", "p.json")
    assert code == 2 and "Traceback" not in err and "RecursionError" not in err
    assert "p.json" in err and "MAX_SPEC_DEPTH" in err and len(err.splitlines()) == 1


@pytest.mark.skipif(sys.platform != "linux", reason="nombres con bytes no UTF-8: Linux")
def test_enqueue_refuses_a_non_utf8_file_name_and_names_it(tmp_path):
    """Desde fuera, como en una terminal: el nombre llega en bytes a ``python -m lab``."""
    Image.new("RGB", (4, 4)).save(os.fsencode(tmp_path) + b"/foto\xff.jpg")
    run = _enqueue(tmp_path, os.fsdecode(b"foto\xff.jpg"), "--pipeline", "blur:1")
    err = run.stderr.decode("utf-8")  # la salida de error es UTF-8 válido
    assert run.returncode == 2 and "Traceback" not in err and "codec" not in err
    assert "foto\\xff.jpg" in err and "UTF-8" in err and "no se ha encolado nada" in err


@pytest.mark.skipif(sys.platform != "linux", reason="nombres con bytes no UTF-8: Linux")
def test_a_glob_that_matches_a_non_utf8_name_enqueues_nothing(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(os.fsencode(tmp_path) + b"/foto\xff.jpg")
    Image.new("RGB", (4, 4)).save(tmp_path / "buena.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "*.jpg", "--pipeline", "blur:1")
    assert code == 2 and "foto\\xff.jpg" in err and "no se ha encolado nada" in err
    err.encode("utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="nombres con bytes no UTF-8: Linux")
def test_enqueue_refuses_a_non_utf8_output_folder(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(tmp_path / "buena.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "buena.jpg", "--pipeline", "blur:1",
                              "--output-dir", os.fsdecode(b"sal\xff"))
    assert code == 2 and "sal\\xff" in err and "carpeta de salida" in err


def test_enqueue_with_an_out_of_range_parameter_is_refused(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "ok.jpg", "--pipeline", "brightness:1e39")
    assert code == 2 and "'factor' debe ser un número > 0 y <= 255" in err
