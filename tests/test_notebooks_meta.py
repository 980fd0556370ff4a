"""Los cuadernos como ficheros: completos, sin salidas, con su barra de navegación al día."""

from __future__ import annotations

import json

import nbformat
import pytest

from lab.course import nav

EXPECTED = ["00-Indice", "01-Filtros-y-pipeline", "02-Cola-de-tareas", "03-SimpleWorker",
            "04-Logging-y-estadisticas", "05-Multiples-workers", "06-AsyncWorker",
            "07-Fallos-reintentos-y-salud", "08-Hacia-Redis"]
NOTEBOOKS = nav.lesson_notebooks()


def test_the_whole_series_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


def test_navigation_bars_are_up_to_date():
    stale = nav.update(check=True)
    assert not stale, f"Barras desfasadas en {[p.name for p in stale]}: ejecuta `python -m lab.course.nav`."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: hay una celda con salidas guardadas; límpialas antes de hacer commit."
    assert path.name.isascii()
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem != "00-Indice"], ids=lambda p: p.stem)
def test_lesson_has_objectives_exercises_and_further_reading(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for heading in ("Objetivos", "Ejercicios", "Para saber más"):
        assert f"## {heading}" in markdown, f"{path.name} no tiene la sección «{heading}»"
    assert markdown.rindex("## Para saber más") > markdown.rindex("## Ejercicios")
    assert "lab." in markdown, f"{path.name} no dice en qué módulo de lab vive la pieza terminada"


def test_index_links_every_notebook():
    index = json.dumps(nbformat.read(nav.NOTEBOOKS_DIR / "00-Indice.ipynb", as_version=4).cells)
    for name in EXPECTED[1:]:
        assert f"{name}.ipynb" in index
