"""``python -m lab check`` sin la fuente del profesorado: la huella del cuaderno dice qué se publicó.

En la copia del alumnado (``python -m lab release``) no están ``ejercicios/soluciones/`` ni las
comprobaciones ocultas. El cuaderno lleva en sus metadatos la huella de sus celdas de código
publicadas (``lab.course.fingerprint``): con ella se reconstruye como lo haría el corrector, solo
con las comprobaciones visibles:

- las celdas de respuesta se toman de la entrega (por id de celda o, si no, por la etiqueta del
  ejercicio); las que faltan dejan el ejercicio *no entregado*;
- las demás (preparación y comprobaciones) deben seguir como se publicaron: se buscan por id o
  por su código. Una que ha cambiado o no está **no se ejecuta**: esa celda cuenta como fallida,
  con un mensaje que dice qué pasó y cómo recuperarla;
- las celdas que añadió el alumnado no se ejecutan (al corregir tampoco): se avisa.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat

from lab.course.fingerprint import ANSWER, CHECK, digest, record_of
from lab.course.rebuild import Rebuilt, Unmatchable, exercises_of
from lab.course.release import exercise_of, is_check
from lab.course.results import NotebookReport, summarize
from lab.course.runner import Limits, run_cells
from lab.course.submission import read_submission

RESTORE = ("no es la que se publicó, así que no se ha ejecutado: recupérala (vuelve a descargar el cuaderno "
           "o cópiala de la versión publicada) y repite la comprobación.")


def _cell(entry: dict, source: str, tags: list[str] = ()) -> nbformat.NotebookNode:
    """Una celda del cuaderno reconstruido, con la etiqueta de ejercicio de la huella (no la de la entrega)."""
    keep = [t for t in tags if t == "raises-exception" and entry["role"] not in (ANSWER, CHECK)]
    exercise = [f"ejercicio:{entry['exercise']}"] if entry.get("exercise") else []
    return nbformat.v4.new_code_cell(source, metadata={"tags": exercise + keep})


def _placeholder(entry: dict, what: str) -> nbformat.NotebookNode:
    """Una celda que ocupa el sitio de una publicada que falta o cambió (no hace nada; su fallo lo pone ``problems``)."""
    kind = "Comprobación" if entry["role"] == CHECK else "Celda de preparación"
    name = f"{kind} {entry['exercise']}" if entry.get("exercise") else kind
    return _cell(entry, f"# {name} ({what})\npass")


def rebuild_published(nb: nbformat.NotebookNode) -> tuple[Rebuilt, dict[int, str], list[int]]:
    """El cuaderno que se comprueba, los fallos por celda (cambiada o borrada) y las celdas añadidas (índices).

    Lanza ``Unmatchable`` si el cuaderno no tiene huella (no salió de ``python -m lab student``).
    """
    record = record_of(nb)
    if record is None:
        raise Unmatchable("el cuaderno no tiene la huella de la versión publicada (metadatos 'lab'): ¿es un "
                          "cuaderno de ejercicios del curso? Descárgalo de nuevo y copia en él tus respuestas.")
    entries = record["cells"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    used: set[int] = set()
    chosen: dict[int, nbformat.NotebookNode] = {}

    def take(pos: int, cell: nbformat.NotebookNode) -> None:
        chosen[pos] = cell
        used.add(id(cell))

    for pos, entry in enumerate(entries):  # 1. por id de celda
        found = next((c for c in code if entry.get("id") and c.get("id") == entry["id"] and id(c) not in used), None)
        if found is not None:
            take(pos, found)
    for pos, entry in enumerate(entries):  # 2. las no respuestas, por su código; las respuestas, por su ejercicio
        if pos in chosen:
            continue
        if entry["role"] != ANSWER:
            found = next((c for c in code if id(c) not in used and digest(c.source) == entry["sha256"]), None)
        else:
            found = next((c for c in code if id(c) not in used and exercise_of(c) == entry.get("exercise")
                          and not is_check(c) and c.get("id") not in {e.get("id") for e in entries}), None)
        if found is not None:
            take(pos, found)
    cells, roles, problems, missing = [], [], {}, set()
    for pos, entry in enumerate(entries):
        got = chosen.get(pos)
        if entry["role"] == ANSWER:
            cell = _cell(entry, got.source if got is not None else "pass")
            if got is None:
                missing.add(entry.get("exercise"))
        elif got is None or digest(got.source) != entry["sha256"]:
            what = "borrada" if got is None else "cambiada"
            cell = _placeholder(entry, what)
            problems[len(cells)] = f"esta celda está {what}: {RESTORE}" if got is None else f"esta celda {RESTORE}"
        else:
            cell = _cell(entry, got.source, got.metadata.get("tags", []))
        cells.append(cell)
        roles.append(entry["role"])
    added = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and id(c) not in used and c.source.strip()]
    built = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    return Rebuilt(built, roles, exercises_of(nb), missing - {None}), problems, added


def check_published(path: Path, limits: Limits, label: str = "") -> tuple[NotebookReport, list[int]]:
    """Comprueba ``path`` con su huella (sin fuente): el informe y las celdas añadidas, que no se ejecutan.

    Lanza ``Unmatchable`` si no es un cuaderno o no tiene huella.
    """
    rebuilt, problems, added = rebuild_published(read_submission(path))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="comprobacion-") as workdir:
        cells = run_cells(rebuilt, Path(workdir), limits)
    for cell in cells:
        if cell.index in problems:
            cell.status, cell.message = "error", problems[cell.index]
    return summarize(rebuilt, cells, label or str(path), time.perf_counter() - start), added
