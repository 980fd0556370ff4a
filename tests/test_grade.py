"""``lab.course.grade``: la corrección por ejercicio con un núcleo real (pocos arranques: cada uno cuesta ~1 s)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.course import grade
from lab.course.grade import FAILED, NOT_RUN, PASSED, CellResult, grade_notebook, summarize
from lab.course.release import make_student


def cell(source: str, exercise: str | None = None, *, check: bool = False, markdown: bool = False):
    tags = ([f"ejercicio:{exercise}"] if exercise else []) + (["comprobacion"] if check else [])
    factory = new_markdown_cell if markdown else new_code_cell
    return factory(source, metadata={"tags": tags} if tags else {})


def solution_notebook():
    return new_notebook(cells=[
        cell("import math"),
        cell("### Ejercicio 1.1: Speedup", "1.1", markdown=True),
        cell("def speedup(t1, tn):\n    ### BEGIN SOLUTION\n    return t1 / tn\n    ### END SOLUTION", "1.1"),
        cell("r = speedup(8.0, 2.0)\nassert r == 4.0, f'speedup(8.0, 2.0) debería ser 4.0 y devolvió {r}'",
             "1.1", check=True),
        cell("assert speedup(3.0, 3.0) == 1.0", "1.1", check=True),
        cell("### Ejercicio 1.2: Raíz", "1.2", markdown=True),
        cell("class Calc:\n    def raiz(self, x):\n        ### BEGIN SOLUTION\n        return math.sqrt(x)\n"
             "        ### END SOLUTION", "1.2"),
        cell("assert Calc().raiz(9) == 3", "1.2", check=True),
        cell("print('fin')"),
    ])


def write(nb, path):
    nbformat.write(nb, path)
    return path


def test_solutions_pass_and_student_version_fails_only_at_check_cells(tmp_path):
    source = solution_notebook()
    solved = grade_notebook(write(source, tmp_path / "soluciones.ipynb"), timeout=20)
    assert [(e.id, e.title, e.status) for e in solved.exercises] == [("1.1", "Speedup", PASSED),
                                                                      ("1.2", "Raíz", PASSED)]
    assert solved.passed and all(c.status == "ok" for c in solved.cells)

    student = grade_notebook(write(make_student(source), tmp_path / "alumnado.ipynb"), timeout=20)
    failing = {c.index for c in student.cells if c.status != "ok"}
    checks = {c.index for c in student.cells if c.check}
    assert failing == checks
    for c in student.cells:
        if c.check:
            assert c.status == "error" and c.message.startswith(f"NotImplementedError: Ejercicio {c.exercise}:")
    assert [e.status for e in student.exercises] == [FAILED, FAILED]
    assert not student.passed


def test_partial_solution_gets_a_mixed_report_and_cli_writes_json_and_junit(tmp_path, capsys):
    nb = solution_notebook()
    nb.cells[2].source = "def speedup(t1, tn):\n    t1 / tn"  # se olvida del return
    nb.cells.insert(8, cell("### Ejercicio 1.3: sin comprobar", "1.3", markdown=True))
    nb.cells.append(cell("undefined_name"))
    path = write(make_student(nb), tmp_path / "parcial.ipynb")  # 1.2 queda sin resolver
    out = tmp_path / "notas"
    assert grade.main([str(path), "--timeout", "20", "--out", str(out)]) == 1

    table = capsys.readouterr().out
    assert "1.1 Speedup" in table and "speedup(8.0, 2.0) debería ser 4.0 y devolvió None" in table
    assert "\x1b[" not in table
    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    rows = {e["id"]: (e["status"], e["message"]) for e in report["notebooks"][0]["exercises"]}
    assert rows == {
        "1.1": (FAILED, "celda 3: AssertionError: speedup(8.0, 2.0) debería ser 4.0 y devolvió None"),
        "1.2": (FAILED, "celda 7: NotImplementedError: Ejercicio 1.2: falta tu solución; escríbela en lugar "
                        "de esta línea."),
        "1.3": (NOT_RUN, "no tiene celdas de comprobación (etiqueta 'comprobacion')."),
        "celda 10": (FAILED, "NameError: name 'undefined_name' is not defined"),
    }
    assert report["passed"] is False
    suite = ET.parse(out / "notas.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "3", "1")


def test_infinite_loop_and_dead_kernel_fail_and_later_exercises_are_still_graded(tmp_path):
    nb = new_notebook(cells=[
        cell("import os\nbase = 41"),
        cell("def espera():\n    while True:\n        pass", "1.1"),
        cell("espera()", "1.1", check=True),
        cell("assert base + 1 == 42", "1.2", check=True),
        cell("os._exit(3)", "1.3", check=True),
        cell("assert base == 41", "1.4", check=True),
    ])
    report = grade_notebook(write(nb, tmp_path / "bucle.ipynb"), timeout=5)
    rows = {e.id: (e.status, e.message) for e in report.exercises}
    assert rows["1.1"][0] == FAILED and "Tiempo agotado" in rows["1.1"][1]
    assert rows["1.2"] == (PASSED, "")
    assert rows["1.3"][0] == FAILED and "murió" in rows["1.3"][1]
    assert rows["1.4"] == (PASSED, ""), "tras reiniciar el núcleo se repiten las celdas que habían ido bien"


def test_checks_that_never_ran_are_reported_as_not_graded_with_the_reason():
    nb = new_notebook(cells=[cell("x = 1", "2.1"), cell("# Comprobación 2.1: x existe\nassert x", "2.1", check=True),
                             cell("assert x", "2.2", check=True), cell("y = 2")])
    cells = [CellResult(0, "2.1", False, "ok"), CellResult(1, "2.1", True, "timeout", "Tiempo agotado"),
             CellResult(2, "2.2", True, "not_run", "No se ejecutó: no arrancó el núcleo"),
             CellResult(3, None, False, "not_run", "No se ejecutó: no arrancó el núcleo")]
    report = summarize(nb, cells, "x.ipynb")
    assert [(e.id, e.status, e.message) for e in report.exercises] == [
        ("2.1", FAILED, "Comprobación 2.1: Tiempo agotado"),
        ("2.2", NOT_RUN, "No se ejecutó: no arrancó el núcleo")]
    assert report.summary() == {PASSED: 0, FAILED: 1, NOT_RUN: 1}
    assert "2.2" in grade.format_table(report)


def test_a_notebook_without_exercises_is_not_a_pass():
    report = summarize(new_notebook(cells=[cell("x = 1")]), [CellResult(0, None, False, "ok")])
    assert not report.passed and report.exercises[0].status == NOT_RUN


def test_error_line_is_one_clean_line_even_without_a_message():
    traceback = ["\x1b[0;31mAssertionError\x1b[0m  Traceback", "\x1b[0;32m----> 3\x1b[0m assert f(2) == 4",
                 "AssertionError: "]
    assert grade.error_line({"ename": "AssertionError", "evalue": "", "traceback": traceback}) == \
        "AssertionError en: assert f(2) == 4"
    assert grade.error_line({"ename": "ValueError", "evalue": "\x1b[1mmal\x1b[0m\nsegunda línea"}) == \
        "ValueError: mal"


def test_cli_rejects_missing_notebooks(tmp_path, capsys):
    assert grade.main([str(tmp_path / "no-existe.ipynb")]) == 2
    assert "no encuentro" in capsys.readouterr().err


def test_an_unreadable_notebook_is_reported_not_graded(tmp_path, capsys):
    broken = tmp_path / "roto.ipynb"
    broken.write_text("{ esto no es un cuaderno", encoding="utf-8")
    assert grade.main([str(broken), "--out", str(tmp_path)]) == 1
    assert "No se pudo leer el cuaderno" in capsys.readouterr().out
    report = json.loads((tmp_path / "notas.json").read_text(encoding="utf-8"))
    assert report["notebooks"][0]["exercises"][0]["status"] == NOT_RUN
