"""El cuaderno 07 de verdad, ejecutado de principio a fin: el panel de salud acaba con worker-3 enfermo.

La demo promete que ``worker-3`` (el del disco lleno) deja de estar sano. Antes dependía de
cuántas tareas le tocaran (hacían falta 5 fallos y a veces recibía 4). Este test ejecuta el
cuaderno entero con nbclient, añade una celda al final que lee la salud de ``equipo`` y
comprueba el resultado: si el cuaderno dejara de cumplir su promesa, falla.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07-Fallos-reintentos-y-salud.ipynb"

pytestmark = pytest.mark.timeout(600)

PROBE = """
import json as _json
print("SALUD=" + _json.dumps({w.worker_id: {"healthy": w.is_healthy(), "failed": w.get_stats()["tasks_failed"],
                                          "completed": w.get_stats()["tasks_completed"]} for w in equipo}))
"""


def test_notebook_07_ends_with_worker_3_unhealthy():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
                   ).execute()
    outputs = "".join(out.get("text", "") for out in notebook.cells[-1].outputs if out.get("output_type") == "stream")
    health = json.loads(outputs.split("SALUD=", 1)[1])
    assert health["worker-3"]["healthy"] is False, health
    assert health["worker-3"]["failed"] >= 3 and health["worker-3"]["completed"] == 0, health
    assert health["worker-1"]["healthy"] and health["worker-2"]["healthy"], health
    summary = next(cell for cell in notebook.cells if cell.get("id") == "nb07-038")
    printed = "".join(out.get("text", "") for out in summary.outputs)
    assert "❌ worker-3" in printed and "✅ worker-1" in printed and "✅ worker-2" in printed, printed
