"""Los ejercicios de clase, hechos como en el aula: JupyterLab real en Chromium, a 1366×768 (un proyector).

Para cada ejercicio marcado **en clase** en ``notebooks/ejercicios/``: Run All con el cuaderno sin
resolver (las comprobaciones fallan con «falta tu solución» y JupyterLab para ahí), escribir la
respuesta (la de ``ejercicios/soluciones/``, sin las marcas ``BEGIN/END SOLUTION``) en su celda,
ejecutar solo esa celda y después cada una de sus comprobaciones, sin volver a ejecutar nada de
arriba. Cada comprobación debe pasar e imprimir su línea ✅. En el proyector, sin resolver, la
comprobación dice «falta tu solución» en una sola línea (sin traza) y cada celda de comprobación
cabe entera en la pantalla con su salida: tras ejecutarla se ve el resultado, no solo el código.
Las capturas quedan en ``test-artifacts/browser/<test>/``: la de después de las comprobaciones es
la que hay que mirar.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from notebook_ui import NotebookUI

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
PROJECTOR = {"width": 1366, "height": 768}
MARKER = re.compile(r"^[ \t]*#{2,}[ \t]*(BEGIN|END) SOLUTION[ \t]*(\n|$)", re.M)


def _exercise(cell) -> str | None:
    return next((tag.split(":", 1)[1] for tag in cell.metadata.get("tags", []) if tag.startswith("ejercicio:")), None)


def in_class_exercises() -> list[tuple[str, str]]:
    """(cuaderno, ejercicio) de cada ejercicio cuyo enunciado dice **en clase**."""
    found = []
    for path in sorted((REPO / "notebooks" / "ejercicios").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            exercise = _exercise(cell)
            if cell.cell_type == "markdown" and exercise and "**en clase**" in cell.source:
                found.append((path.name, exercise))
    return found


def answer_sources(name: str, exercise: str) -> list[str]:
    """Lo que escribe el alumno: las celdas de respuesta de la solución, sin las marcas."""
    solutions = nbformat.read(REPO / "ejercicios" / "soluciones" / name, as_version=4)
    return [MARKER.sub("", cell.source) for cell in solutions.cells
            if cell.cell_type == "code" and _exercise(cell) == exercise and not _checks(cell)]


def _checks(cell) -> bool:
    return any(tag.startswith("comprobacion") for tag in cell.metadata.get("tags", []))


# Alto de la celda y de la zona visible del cuaderno (el primer antepasado con barra de desplazamiento), en px.
FIT_JS = """(cell) => {
  let view = cell.parentElement;
  while (view && !/(auto|scroll)/.test(getComputedStyle(view).overflowY)) view = view.parentElement;
  return {cell: cell.getBoundingClientRect().height, view: view ? view.clientHeight : window.innerHeight};
}"""
# El texto que se ve en las salidas de error de una celda (la traza, tal como la pinta JupyterLab).
ERROR_TEXT_JS = """(cell) => [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map((o) => o.innerText).join('\\n')"""


def assert_fits(ui, index: int, when: str) -> None:
    """La celda ``index``, código y salida, cabe en la zona visible del cuaderno (un proyector de 768 px)."""
    size = ui.cell_node(index).evaluate(FIT_JS)
    assert size["cell"] <= size["view"], (
        f"{when}, la celda {index} mide {size['cell']:.0f} px y en pantalla caben {size['view']:.0f}: en el "
        f"proyector no se ven a la vez el código y su resultado")


EXERCISES = in_class_exercises()


def test_there_is_an_exercise_for_class():
    assert EXERCISES, "Ningún ejercicio de notebooks/ejercicios/ dice **en clase** en su enunciado"
    for name, exercise in EXERCISES:
        assert all("SOLUTION" not in source for source in answer_sources(name, exercise))


@pytest.mark.parametrize("name, exercise", EXERCISES, ids=[exercise for _, exercise in EXERCISES])
def test_in_class_exercise_passes_once_answered(page, lab_server, shots, name, exercise):
    page.set_viewport_size(PROJECTOR)
    ui = NotebookUI(page, lab_server, f"ejercicios/{name}", shots)
    ui.open()
    ui.start_run_all()
    cells = ui.wait_run_all_settled()
    mine = [c for c in cells if f"ejercicio:{exercise}" in c["tags"]]
    answers = [c for c in mine if not any(tag.startswith("comprobacion") for tag in c["tags"])]
    checks = [c for c in mine if "comprobacion" in c["tags"]]
    sources = answer_sources(name, exercise)
    assert answers and checks and len(sources) == len(answers), (
        f"{name}: {exercise} tiene {len(answers)} celdas de respuesta, {len(checks)} comprobaciones y "
        f"{len(sources)} respuestas en la solución")
    first_check = next((c for c in checks if c["count"] is not None), None)
    if first_check is not None:  # Run All llegó a la comprobación: sin respuesta, debe decirlo
        assert first_check["error"] and "falta tu solución" in first_check["error"], (
            f"Sin respuesta, la comprobación de {exercise} dice {first_check['error']!r}, no «falta tu solución»")
        shown = [line for line in ui.cell_node(first_check["index"]).evaluate(ERROR_TEXT_JS).splitlines()
                 if line.strip()]
        assert len(shown) == 1 and "falta tu solución" in shown[0], (
            f"Sin respuesta, la comprobación de {exercise} debería mostrar una sola línea con «falta tu solución» "
            f"y muestra {len(shown)}: {shown[:3]}...")
        assert_fits(ui, first_check["index"], "Sin resolver")
    ui.screenshot("sin-resolver", ui.cell_node(checks[0]["index"]))

    for cell, source in zip(answers, sources):
        ui.write_cell(cell["index"], source)
        ran = ui.run_cell(cell["index"])
        assert not ran["error"], f"La respuesta de {exercise} da error al ejecutarla: {ran['error']}"
    ui.screenshot("respuesta", ui.cell_node(answers[-1]["index"]))
    for cell in checks:
        ran = ui.run_cell(cell["index"])
        ui.screenshot(f"comprobacion-{cell['index']}", ui.cell_node(cell["index"]).locator(".jp-Cell-outputArea"))
        assert not ran["error"], (f"Con la respuesta escrita y ejecutada (sin volver a ejecutar lo de arriba), "
                                  f"la comprobación de la celda {cell['index']} falla: {ran['error']}")
        assert "✅" in ran["text"], f"La comprobación de la celda {cell['index']} pasa sin decirlo: {ran['text']!r}"
        assert_fits(ui, cell["index"], "Resuelto")
