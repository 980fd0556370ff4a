"""El texto de ``--pipeline`` de ``python -m lab enqueue`` (no necesita Redis)."""

from __future__ import annotations

import json

import pytest

from lab.cli.queue_input import parse_pipeline
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


# --- con un Redis de verdad -------------------------------------------------------------------

def _cli(capsys, *argv):
    from lab.cli.queue_commands import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.redis
@pytest.mark.parametrize("asked, shown", [(["--lease", "0"], "--lease 0 (sin concesiones)"),
                                          (["--lease", "5", "--max-attempts", "7"], "--lease 5 y --max-attempts 7")])
def test_a_worker_that_asks_for_another_configuration_gets_a_readable_sentence(redis_url, capsys, asked, shown):
    from tests.redis_support import unique_name

    name = unique_name("cli-config")
    assert _cli(capsys, "worker", "--queue", redis_url, "--name", name, "--id", "w1", "--burst")[0] == 0
    code, _, err = _cli(capsys, "worker", "--queue", redis_url, "--name", name, "--id", "w1", "--burst", *asked)
    line = err.strip().splitlines()[-1]
    assert code == 2 and line.startswith("❌") and "Traceback" not in err
    assert f"La cola '{name}' ya está configurada (concesión 30s, 3 entregas como mucho; retención: " in line
    assert f"este worker pidió {shown}" in line and "--name" in line
    assert "Retention(" not in err and "lease_timeout=" not in err and "None" not in err


@pytest.mark.redis
def test_enqueue_noop_prints_the_ids_and_rejects_negative_counts_before_connecting(redis_url, capsys):
    from tests.redis_support import unique_name

    name = unique_name("cli-noop")
    code, out, _ = _cli(capsys, "enqueue", "--queue", redis_url, "--name", name, "--noop", "3")
    assert code == 0 and "3 tareas encoladas" in out and "task-0001 … task-0003" in out
    code, out, err = _cli(capsys, "enqueue", "--queue", redis_url, "--name", name, "--noop", "-3")
    assert code == 2 and "--noop debe ser un entero" in err and "IndexError" not in err and out == ""
    code, out, _ = _cli(capsys, "stats", "--queue", redis_url, "--name", name, "--json")
    assert json.loads(out)["stats"]["total"] == 3


@pytest.mark.redis
def test_the_persistence_warning_gives_a_fix_that_works_without_redis_cli(tmp_path):
    """El aviso manda a ``python -m lab redis --aof``; ese servidor guarda cada cambio (appendfsync always)."""
    import os
    import signal
    import subprocess
    import sys

    from lab import PROJECT_DIR
    from lab.workers.redis.queue import RedisTaskQueue
    from tests.redis_support import RedisServer

    server = RedisServer(tmp_path / "sin-persistencia").start()
    try:
        warning = RedisTaskQueue(server.url, name="aviso").persistence_problem()
    finally:
        server.stop()
    assert warning and "no guarda nada en disco" in warning and "redis-cli" not in warning
    assert "python -m lab redis --aof" in warning and "--appendfsync always" in warning
    command = [sys.executable, "-m", "lab", "redis", "--aof", "--port", "0", "--dir", str(tmp_path / "aof")]
    proc = subprocess.Popen(command, cwd=PROJECT_DIR, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        words = (word for line in iter(proc.stdout.readline, "") for word in line.split())
        url = next(word for word in words if word.startswith("redis://"))
        queue = RedisTaskQueue(url, name="aviso")
        assert queue.persistence_problem() is None
        config = {**queue._client.config_get("appendonly"), **queue._client.config_get("appendfsync")}
        assert config == {"appendonly": "yes", "appendfsync": "always"}  # «cada cambio», no everysec
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


@pytest.mark.parametrize("argv, fragment", [
    (["--port", "99999"], "--port debe ser un puerto entre 0 y 65535"),
    (["--port", "-5"], "--port debe ser un puerto entre 0 y 65535"),
    (["--measure", "-1"], "--measure debe ser un número de arranques >= 1"),
    (["--dir", "README.md"], "No se puede usar --dir 'README.md'"),
])
def test_the_redis_command_explains_bad_options_without_a_traceback(capsys, monkeypatch, argv, fragment):
    from lab import PROJECT_DIR
    from lab.__main__ import main

    monkeypatch.chdir(PROJECT_DIR)
    code = main(["redis", *argv])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and "Traceback" not in err and len(err.splitlines()) == 1
