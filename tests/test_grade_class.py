"""Una clase entera en una orden: ``python -m lab grade ENTREGAS/`` con notas.csv, notas.json y devoluciones.

El test rápido usa una clase pequeña con una fuente sintética. La clase de 30 estudiantes con
los cuadernos reales es un script: ``python tests/test_grade_class.py [CARPETA]`` la genera y la
corrige midiendo el tiempo (con ``LAB_CLASE_GRANDE=1`` también se ejecuta como test).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.course import grade
from lab.course.release import SOURCE_DIR, make_student

ROOT = Path(__file__).resolve().parents[1]


def _source():
    code = "def doble(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
    return new_notebook(cells=[
        new_markdown_cell("### Ejercicio 1.1: Doble", metadata={"tags": ["ejercicio:1.1", "puntos:2"]}),
        new_code_cell(code, metadata={"tags": ["ejercicio:1.1"]}),
        new_code_cell("assert doble(2) == 4, 'doble(2) debería ser 4'", metadata={"tags": ["ejercicio:1.1", "comprobacion"]}),
        new_markdown_cell("### Ejercicio 1.2: Triple", metadata={"tags": ["ejercicio:1.2"]}),
        new_code_cell(code.replace("doble", "triple").replace("2 * x", "3 * x"), metadata={"tags": ["ejercicio:1.2"]}),
        new_code_cell("assert triple(2) == 6", metadata={"tags": ["ejercicio:1.2", "comprobacion"]}),
    ])


def test_a_small_class_gets_a_gradebook_feedback_and_survives_broken_submissions(tmp_path, capsys):
    sources, entregas, out = tmp_path / "fuentes", tmp_path / "ENTREGAS", tmp_path / "notas"
    sources.mkdir()
    nbformat.write(_source(), sources / "01-Prueba.ipynb")
    source = nbformat.read(sources / "01-Prueba.ipynb", as_version=4)
    unsolved = make_student(source)
    bomb = make_student(source)
    bomb.cells[1].source = "def doble(x):\n    return 2 * x\n\nbasura = bytearray(8 * 1024 ** 3)\n"
    bomb.cells[4].source = source.cells[4].source
    files = {"ana/01-Prueba.ipynb": nbformat.writes(source), "bruno/01-Prueba.ipynb": nbformat.writes(unsolved),
             "carla/01-Prueba.ipynb": "{ no es JSON", "dani/entrega.txt": "mi solución está en el correo",
             "eva/01-Prueba.ipynb": nbformat.writes(bomb)}
    for name, text in files.items():
        (entregas / name).parent.mkdir(parents=True, exist_ok=True)
        (entregas / name).write_text(text, encoding="utf-8")
    args = [str(entregas), "--source", str(sources), "--out", str(out), "--timeout", "20", "--memory", "300"]
    assert grade.main(args) == 1
    printed = capsys.readouterr()
    assert "Corrigiendo 6 cuadernos de 5 estudiantes" in printed.out and "[6/6]" in printed.err

    rows = list(csv.reader((out / "notas.csv").open(encoding="utf-8-sig")))
    assert rows[0] == ["alumno", "1.1 (máx. 2)", "1.2 (máx. 1)", "total", "máximo", "porcentaje", "observaciones"]
    table = {r[0]: r[1:] for r in rows[1:]}
    assert table["ana"] == ["2", "1", "3", "3", "100", ""]
    assert table["bruno"] == ["0", "0", "0", "3", "0", ""]
    assert table["carla"][:3] == ["0", "0", "0"] and table["carla"][-1].startswith("no evaluable: '01-Prueba.ipynb' no es JSON")
    assert "01-Prueba.ipynb no entregado" in table["dani"][-1] and "entrega.txt' no es un cuaderno" in table["dani"][-1]
    assert table["eva"][:3] == ["0", "1", "1"], "la bomba de memoria suspende a eva, y solo a ella"

    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    eva = next(n for n in report["notebooks"] if n["student"] == "eva")
    assert "MemoryError" in eva["exercises"][0]["message"]
    assert {"path", "exercises"} <= set(report["notebooks"][0]) and {"id", "status", "message"} <= set(eva["exercises"][0])
    feedback = (out / "devoluciones" / "bruno.md").read_text(encoding="utf-8")
    assert "**Nota: 0 de 3 puntos**" in feedback and "| 1.1 Doble | ❌ suspendido | 0 / 2 |" in feedback
    assert "raise NotImplementedError" in feedback and "BEGIN SOLUTION" not in feedback
    assert sorted(p.name for p in (out / "devoluciones").iterdir()) == [f"{n}.md" for n in ("ana", "bruno", "carla", "dani", "eva")]


# --- La clase de 30 estudiantes (script) ---------------------------------------------------------

ANSWERS = {"48fe299b": "5.1", "ccce3034": "5.2", "6cecf16d": "6.1"}


def make_class(folder: Path, students: int = 30, seed: int = 3) -> None:
    """Una clase sintética con mezclas de cuadernos 05 y 06 resueltos, sin resolver, rotos y con trampas."""
    rng = random.Random(seed)
    sources = {p.name: nbformat.read(p, as_version=4) for p in sorted(SOURCE_DIR.glob("0[56]-*.ipynb"))}
    tricks = ["def speedup(a, b):\n    return 0\nget_ipython().ast_transformers.append(__import__('ast').NodeTransformer())",
              "import lab.course.expect as e\ne.same = lambda a, b: True\ndef speedup(a, b):\n    return 0"]
    for n in range(students):
        who = folder / f"alumno{n + 1:02d}"
        who.mkdir(parents=True)
        kind = rng.choice(["resuelto", "resuelto", "a medias", "sin resolver", "roto", "trampa"])
        for name, source in sources.items():
            nb = make_student(source)
            for cell in nb.cells:
                original = next((c for c in source.cells if c.get("id") == cell.get("id")), None)
                if cell.get("id") in ANSWERS and (kind == "resuelto" or (kind == "a medias" and rng.random() < 0.5)):
                    cell.source = original.source
                if kind == "trampa" and cell.get("id") == "ccce3034":
                    cell.source = rng.choice(tricks)
            if kind == "roto" and name.startswith("06"):
                (who / name).write_text('{"cells": [', encoding="utf-8")
                continue
            nbformat.write(nb, who / name)


@pytest.mark.skipif(not os.environ.get("LAB_CLASE_GRANDE"), reason="clase de 30: export LAB_CLASE_GRANDE=1")
def test_thirty_students_in_one_command(tmp_path):
    make_class(tmp_path / "ENTREGAS")
    done = subprocess.run([sys.executable, "-m", "lab", "grade", str(tmp_path / "ENTREGAS"), "--out", str(tmp_path / "notas")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 1 and (tmp_path / "notas" / "notas.csv").is_file()
    assert len((tmp_path / "notas" / "notas.csv").read_text(encoding="utf-8-sig").splitlines()) == 31


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/clase-30")
    make_class(target / "ENTREGAS")
    start = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "lab", "grade", str(target / "ENTREGAS"), "--out", str(target / "notas")],
                           cwd=ROOT)
    print(f"Tiempo total: {time.perf_counter() - start:.1f} s (código de salida {code})")
