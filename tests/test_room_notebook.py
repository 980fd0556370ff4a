"""El cuaderno del profesorado (``notebooks/profesorado/Aula.ipynb``) ejecutado contra un aula de 8 portátiles simulados.

El kernel recibe ``LAB_AULA_URL`` (con contraseña) como en clase. Se comprueba que el cuaderno corre entero, que
dibuja el tablero y las tres gráficas, que la cola queda vacía y que la contraseña no aparece en ninguna parte del
cuaderno ejecutado (salidas ni estado de los widgets).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lab.room.state import summarize
from tests.room_support import room_server, wait_for, working  # noqa: F401

pytestmark = [pytest.mark.redis, pytest.mark.timeout(900)]

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "profesorado" / "Aula.ipynb"


def test_the_instructor_notebook_runs_against_a_room_and_never_shows_the_password(room_server, monkeypatch):
    server, room, laptops = room_server
    names = [f"p{i}" for i in range(1, 9)]
    for number, name in enumerate(names):
        cpus = "2" if number % 2 == 0 else "1"
        laptops.join(name, "--workers", cpus, "--measure", cpus, "--cpus", cpus)
    wait_for(lambda: working(room, names), 240, "los 8 portátiles trabajando")
    monkeypatch.setenv("LAB_AULA_URL", server.url)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert server.password not in json.dumps(notebook)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    table = next(o["data"]["text/html"] for o in outputs if "lab-room" in o.get("data", {}).get("text/html", ""))
    assert all(f">{name}</b>" in table for name in names)
    totals = summarize(room.snapshot())["totals"]
    assert totals["completed"] == 300 and totals["pending"] == totals["processing"] == 0
