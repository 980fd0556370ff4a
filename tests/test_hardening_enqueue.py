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
from lab.cli.queue_commands import main
from lab.cli.queue_input import parse_pipeline
from lab.errors import FilterSpecError
from lab.filters.validation import MAX_SPEC_DEPTH

NOWHERE = "redis://127.0.0.1:1/0"


def _enqueue(cwd, *args):
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    for variable in ("LAB_QUEUE_URL", "LAB_REDIS_URL"):
        env.pop(variable, None)
    return subprocess.run([sys.executable, "-m", "lab", "enqueue", "--queue", NOWHERE, *args],
                          capture_output=True, cwd=cwd, env=env, timeout=120)


def _enqueue_here(capsys, monkeypatch, cwd, *args):
    """Lo mismo que ``_enqueue`` sin lanzar otro Python (más rápido): ``(código, stderr)``."""
    monkeypatch.chdir(cwd)
    for variable in ("LAB_QUEUE_URL", "LAB_REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    code = main(["enqueue", "--queue", NOWHERE, *args])
    return code, capsys.readouterr().err


def _run_here(capsys, monkeypatch, *argv, env=None):
    """``python -m lab.cli.queue_commands *argv`` en este proceso: ``(código, stdout, stderr)``."""
    for variable in ("LAB_QUEUE_URL", "LAB_REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in (env or {}).items():
        monkeypatch.setenv(variable, value)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_spanish_line(code, err, *fragments):
    """Un error de usuario: código 2, sin traza, una sola línea ❌ con los fragmentos."""
    lines = [line for line in err.splitlines() if line.startswith("❌")]
    assert code == 2 and "Traceback" not in err and "Error:" not in err, err
    assert len(lines) == 1 and all(fragment in lines[0] for fragment in fragments), err


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


# --- la cola: --queue en blanco, memory://, LAB_REDIS_URL ------------------------------------

@pytest.mark.parametrize("command", [["stats"], ["enqueue", "--noop", "2"], ["worker", "--id", "w1", "--burst"]])
@pytest.mark.parametrize("blank", [" ", ""])
def test_a_blank_queue_is_one_line_and_nothing_is_enqueued(capsys, monkeypatch, command, blank):
    code, out, err = _run_here(capsys, monkeypatch, *command, "--queue", blank)
    _one_spanish_line(code, err, "--queue está en blanco")
    assert out == ""  # antes: 2 tareas «encoladas» en una cola en memoria que moría con el proceso


@pytest.mark.parametrize("command", [["stats"], ["enqueue", "--noop", "2"]])
def test_a_blank_environment_variable_is_named(capsys, monkeypatch, command):
    code, _, err = _run_here(capsys, monkeypatch, *command, env={"LAB_REDIS_URL": "  "})
    _one_spanish_line(code, err, "LAB_REDIS_URL está en blanco")


def test_the_queue_commands_read_lab_redis_url_like_the_notebooks(capsys, monkeypatch):
    code, _, err = _run_here(capsys, monkeypatch, "stats", env={"LAB_REDIS_URL": NOWHERE})
    _one_spanish_line(code, err, "No se puede conectar con Redis en redis://127.0.0.1:1/0")
    assert "⚠️" not in err


def test_the_old_lab_queue_url_still_works_for_one_release_with_a_warning(capsys, monkeypatch):
    code, _, err = _run_here(capsys, monkeypatch, "stats", env={"LAB_QUEUE_URL": NOWHERE})
    _one_spanish_line(code, err, "redis://127.0.0.1:1/0")
    assert "LAB_QUEUE_URL está obsoleta" in err and "usa LAB_REDIS_URL" in err
    code, _, err = _run_here(capsys, monkeypatch, "stats",
                             env={"LAB_REDIS_URL": NOWHERE, "LAB_QUEUE_URL": "redis://otro:6379/0"})
    assert "se ignora LAB_QUEUE_URL" in err and "redis://127.0.0.1:1/0" in err


def test_without_any_queue_the_error_says_how_to_get_one(capsys, monkeypatch):
    code, _, err = _run_here(capsys, monkeypatch, "stats")
    _one_spanish_line(code, err, "--queue", "LAB_REDIS_URL", "python -m lab redis")


@pytest.mark.parametrize("url, fragment", [("memory://", "solo vive dentro de un proceso"),
                                           ("http://127.0.0.1:6379", "no es una URL de Redis")])
def test_a_queue_that_is_not_redis_is_refused_before_doing_anything(capsys, monkeypatch, url, fragment):
    code, out, err = _run_here(capsys, monkeypatch, "enqueue", "--queue", url, "--noop", "1")
    _one_spanish_line(code, err, fragment, "'enqueue'")
    assert out == ""


# --- números y nombres de las opciones ------------------------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    (["enqueue", "--noop", "-3"], "--noop debe ser un entero entre 1 y 1000000 y recibió -3"),
    (["enqueue", "--noop", "0"], "--noop debe ser un entero entre 1"),
    (["enqueue", "--noop", "2000000"], "--noop debe ser un entero entre 1 y 1000000"),
    (["enqueue", "--noop", "2", "--sleep", "-1"], "--sleep debe ser un número de segundos >= 0"),
    (["enqueue", "--noop", "2", "--sleep", "nan"], "--sleep debe ser un número de segundos >= 0"),
    (["stats", "--stale", "-1"], "--stale debe ser un número de segundos > 0"),
    (["stats", "--name", " "], "--name debe ser un nombre con letras"),
    (["worker", "--id", " "], "--id está en blanco"),
    (["worker", "--id", "w1", "--quality", "500"], "--quality debe ser un entero entre 1 y 100 y recibió 500"),
    (["worker", "--id", "w1", "--lease", "-1"], "--lease debe ser un número de segundos >= 0 (sin concesiones)"),
    (["worker", "--id", "w1", "--lease", "nan"], "--lease debe ser un número de segundos"),
    (["worker", "--id", "w1", "--max-attempts", "0"], "--max-attempts debe ser un entero >= 1"),
    (["worker", "--id", "w1", "--reconnect-timeout", "-1"], "--reconnect-timeout debe ser un número de segundos"),
])
def test_bad_numbers_and_names_are_one_line_naming_the_option(capsys, monkeypatch, argv, fragment):
    code, out, err = _run_here(capsys, monkeypatch, *argv, "--queue", NOWHERE)
    _one_spanish_line(code, err, fragment)  # antes de conectar: la URL apunta a un puerto cerrado
    assert "No se puede conectar" not in err and out == ""


def test_images_and_noop_together_are_refused(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "ok.jpg", "--noop", "3")
    _one_spanish_line(code, err, "imágenes o --noop N, no las dos")


# --- imágenes que el worker no podría procesar ----------------------------------------------

def test_a_quality_out_of_range_is_refused_at_enqueue(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "ok.jpg", "--pipeline", "blur:1", "--quality", "500")
    _one_spanish_line(code, err, "--quality debe ser un entero entre 1 y 100 y recibió 500")


@pytest.mark.parametrize("name, content, fragment", [
    ("notas.jpg", b"esto es texto, no una foto\n", "no es una imagen que Pillow reconozca"),
    ("vacia.png", b"", "está vacía"),
    ("falta.jpg", None, "No existe la imagen de entrada"),
])
def test_a_file_that_is_not_an_image_is_refused_at_enqueue(tmp_path, capsys, monkeypatch, name, content, fragment):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.jpg")
    if content is not None:
        (tmp_path / name).write_bytes(content)
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "ok.jpg", name, "--pipeline", "blur:1")
    _one_spanish_line(code, err, fragment, name, "no se ha encolado nada")


def test_an_image_whose_output_format_cannot_be_written_is_refused_at_enqueue(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(tmp_path / "foto.ppm")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "foto.ppm", "--pipeline", "blur:1")
    _one_spanish_line(code, err, "foto.ppm", "'.ppm'", "no se ha encolado nada")


def test_a_glob_that_matches_nothing_names_the_pattern(tmp_path, capsys, monkeypatch):
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "fotos/*.jpg", "--pipeline", "blur:1")
    _one_spanish_line(code, err, "Ninguna imagen coincide con 'fotos/*.jpg'")


def test_a_folder_is_not_an_image(tmp_path, capsys, monkeypatch):
    (tmp_path / "carpeta.jpg").mkdir()
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "carpeta.jpg", "--pipeline", "blur:1")
    _one_spanish_line(code, err, "es una carpeta")


def test_an_output_that_would_overwrite_the_input_is_refused(tmp_path, capsys, monkeypatch):
    Image.new("RGB", (4, 4)).save(tmp_path / "foto.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "foto.jpg", "--pipeline", "blur:1", "--output-dir", ".")
    _one_spanish_line(code, err, "'foto.jpg' sería el mismo fichero", "--output-dir", "no se ha encolado nada")


def test_two_images_that_would_share_an_output_are_refused(tmp_path, capsys, monkeypatch):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (4, 4)).save(tmp_path / folder / "foto.jpg")
    code, err = _enqueue_here(capsys, monkeypatch, tmp_path, "a/foto.jpg", "b/foto.jpg", "--pipeline", "blur:1")
    _one_spanish_line(code, err, "'a/foto.jpg' y 'b/foto.jpg' se guardarían las dos", "no se ha encolado nada")
