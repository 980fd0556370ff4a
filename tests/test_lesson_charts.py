"""Cada lección, ejecutada en un kernel nuevo como en clase (Run All): cada gráfica sale como imagen.

Una celda «dibuja» si en su nivel superior llama a una función ``plot_*`` o a ``antes_y_despues``
(sola o dentro de ``display(...)``). Cada una debe tener al menos una salida ``image/png``, y ninguna
salida de ninguna celda puede ser solo el texto ``<Figure size ...>`` (lo que se ve cuando el
backend *inline* aún no estaba cargado al crear la figura). Además, cada imagen cabe en una pantalla
de proyector de 768 px de alto (como mucho ``MAX_PNG_HEIGHT`` px).
"""

from __future__ import annotations

import ast
import base64
import io
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("0*.ipynb"))
DRAWERS = ("antes_y_despues",)
MAX_PNG_HEIGHT = 620  # 768 px de pantalla menos las barras del navegador y de JupyterLab

pytestmark = pytest.mark.timeout(600)


def _called_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "display" and node.args:
            return _called_name(node.args[0])
        return node.func.id
    return None


def draws(source: str) -> bool:
    """``True`` si la celda llama en su nivel superior a ``plot_*`` o a ``antes_y_despues``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # magias de IPython: no son celdas de gráficas
        return False
    names = [_called_name(statement.value) for statement in tree.body if isinstance(statement, ast.Expr)]
    return any(name and (name.startswith("plot_") or name in DRAWERS) for name in names)


def test_draws_finds_the_calls_that_show_a_chart():
    assert draws("from x import plot_a\n\nplot_a(datos)")
    assert draws("display(plot_timeline(t))\nprint('hecho')")
    assert draws("antes_y_despues(a, b, 'gris')")
    assert not draws("fig = plot_a(datos)")  # asignada: la celda no la muestra
    assert not draws("def antes_y_despues(a, b, t):\n    plt.show()")
    assert not draws("if TODAS:\n    display(plot_gil(filas))")


def _png_heights(outputs: list) -> list[int]:
    heights = []
    for output in outputs:
        data = output.get("data", {})
        if "image/png" in data:
            heights.append(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).height)
    return heights


def _figure_text(outputs: list) -> list[str]:
    return [output["data"]["text/plain"] for output in outputs
            if output.get("data", {}).get("text/plain", "").startswith("<Figure")
            and "image/png" not in output["data"]]


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_every_chart_is_an_image_on_a_fresh_kernel(lesson, tmp_path):
    notebook = nbformat.read(lesson, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(lesson.parent)}}).execute()
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        where = f"celda {index} «{cell.source.splitlines()[-1][:60] if cell.source else ''}»"
        texts = _figure_text(cell.outputs)
        if texts:
            problems.append(f"{where}: la gráfica salió como texto {texts[0]!r}, no como imagen")
        heights = _png_heights(cell.outputs)
        if draws(cell.source) and not heights:
            problems.append(f"{where}: dibuja una gráfica y no tiene ninguna salida image/png")
        problems += [f"{where}: imagen de {h} px de alto (no cabe en 768 px; máximo {MAX_PNG_HEIGHT})"
                     for h in heights if h > MAX_PNG_HEIGHT]
    assert not problems, f"{lesson.name}:\n" + "\n".join(problems)
