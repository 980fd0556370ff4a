"""Las órdenes de ``lab`` hablan español también en la ayuda y los errores de uso de argparse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_help_is_in_spanish():
    out = run("lab", "demo", "--help").stdout
    assert out.startswith("uso: python -m lab demo") and "opciones:" in out and "muestra esta ayuda" in out
    assert "usage:" not in out and "show this help" not in out


def test_usage_errors_are_in_spanish():
    result = run("lab", "demo", "nada")
    assert result.returncode == 2
    assert "opción no válida: 'nada'" in result.stderr and "invalid choice" not in result.stderr


# Las opciones se llaman en inglés, como las órdenes; los nombres en español quedan como alias ocultos
# durante una versión (lab.course.commands.OLD_SPELLINGS).
RENAMED = {"--timeout-cuaderno": ("--notebook-timeout", "7", "notebook_timeout", 7.0),
           "--memoria": ("--memory", "300", "memory_mb", 300.0),
           "--fuentes": ("--source", "otra", "source_dir", Path("otra")),
           "--paralelo": ("--parallel", "3", "parallel", 3)}


def test_options_are_in_english_and_the_help_hides_the_old_spellings():
    for command in ("grade", "check"):
        out = run("lab", command, "--help").stdout
        assert "--notebook-timeout" in out and "--memory" in out and "--source" in out
        assert not any(old in out for old in RENAMED), out
    assert "--parallel" in run("lab", "grade", "--help").stdout


def test_old_spanish_spellings_still_work_for_one_release(capsys):
    from lab.__main__ import build_parser
    from lab.course.commands import OLD_SPELLINGS

    assert OLD_SPELLINGS == {old: new for old, (new, *_) in RENAMED.items()}
    parser = build_parser()
    for old, (new, value, dest, expected) in RENAMED.items():
        by_new = parser.parse_args(["grade", new, value])
        assert getattr(by_new, dest) == expected and "ahora se llama" not in capsys.readouterr().err
        by_old = parser.parse_args(["grade", old, value])
        assert vars(by_old) == vars(by_new)
        assert f"{old} ahora se llama {new}" in capsys.readouterr().err
    defaults = parser.parse_args(["check", "x.ipynb"])
    assert (defaults.notebook_timeout, defaults.memory_mb) == (300, 1024)


def test_demo_without_a_name_runs_all_of_them_like_make_demo():
    from lab.__main__ import build_parser

    args = build_parser().parse_args(["demo"])  # antes: «faltan estos argumentos: name»
    assert args.name == "all"
    assert "sin indicarla, all" in run("lab", "demo", "--help").stdout


def test_a_bad_demo_size_says_why_not_the_name_of_a_function():
    for size, fragment in (("0x0", "ancho y alto deben ser >= 1"), ("grande", "usa ANCHOxALTO"),
                           ("100000x100000", "Image.MAX_IMAGE_PIXELS")):
        result = run("lab", "demo", "simple", "--size", size)
        assert result.returncode == 2 and fragment in result.stderr, result.stderr
        assert "parse_size" not in result.stderr and "Traceback" not in result.stderr


def test_a_console_without_utf8_gets_escapes_not_a_traceback():
    """Una consola o un fichero en cp1252/ASCII (Windows): ✅ y tildes salen como \\u2705, sin UnicodeEncodeError."""
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run([sys.executable, "-m", "lab", "demo", "--help"], capture_output=True, cwd=ROOT,
                            env=env, timeout=60)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    assert b"qu\\xe9 demo ejecutar" in result.stdout
