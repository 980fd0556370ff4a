"""El texto de ``--pipeline`` de ``python -m lab enqueue`` (no necesita Redis)."""

from __future__ import annotations

import json

import pytest

from lab.cli.queue_commands import parse_pipeline
from lab.errors import FilterSpecError


def test_short_form_with_positional_and_named_parameters():
    spec = parse_pipeline("blur:3, brightness:1.3,resize:width=32,grayscale")
    assert spec == {"name": "pipeline", "filters": [
        {"name": "blur", "radius": 3}, {"name": "brightness", "factor": 1.3},
        {"name": "resize", "width": 32}, {"name": "grayscale"}]}


def test_json_text_and_json_file_give_the_same_spec(tmp_path):
    text = '{"name": "pipeline", "filters": [{"name": "blur", "radius": 3}]}'
    path = tmp_path / "pipeline.json"
    path.write_text(text, encoding="utf-8")
    assert parse_pipeline(text) == parse_pipeline(str(path)) == json.loads(text)
    assert parse_pipeline('[{"name": "blur", "radius": 3}]') == json.loads(text)


@pytest.mark.parametrize("text, expected", [
    ("brilo:2", "Filtro desconocido 'brilo'"),
    ("blur:1:2:3", "admite 1 parámetro por posición"),
    ("blur:-4", "El pipeline 'blur:-4' no es válido: .*radius"),
    ('{"name": ', "no es JSON válido"),
])
def test_bad_pipelines_give_a_clear_error(text, expected):
    with pytest.raises(FilterSpecError, match=expected):
        parse_pipeline(text)


@pytest.mark.parametrize("poll", ["0", "-1", "nan"])
def test_worker_refuses_a_poll_interval_that_would_spin(capsys, poll):
    from lab.cli.queue_commands import main

    code = main(["worker", "--queue", "redis://127.0.0.1:1/0", "--id", "w1", "--poll", poll])
    err = capsys.readouterr().err
    assert code == 2 and "--poll debe ser un número de segundos > 0" in err and err.count("\n") == 1
