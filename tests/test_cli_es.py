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
