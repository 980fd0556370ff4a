"""``lab.course.grade``: reconstrucción desde la fuente, nota por ejercicio y fallos honrados (un kernel por cuaderno: ~1 s cada uno)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.course import grade
from lab.course.grade import FAILED, NOT_RUN, PASSED, CellResult, grade_submission, summarize
from lab.course.rebuild import ANSWER, CHECK, HIDDEN, INSTRUCTOR, Rebuilt, Unmatchable, exercises_of, rebuild
from lab.course.release import make_student
from lab.course.results import UNGRADABLE
from lab.course.runner import Limits
from lab.course.submission import read_submission

LIMITS = Limits(cell_timeout=20, notebook_timeout=120)


def cell(source: str, exercise: str | None = None, *, check: bool = False, hidden: bool = False,
         markdown: bool = False, tags: tuple[str, ...] = ()):
    all_tags = ([f"ejercicio:{exercise}"] if exercise else []) + (["comprobacion"] if check else []) \
        + (["comprobacion-oculta"] if hidden else []) + list(tags)
    factory = new_markdown_cell if markdown else new_code_cell
    return factory(source, metadata={"tags": all_tags} if all_tags else {})


SPEEDUP = "def speedup(t1, tn):\n    ### BEGIN SOLUTION\n    return t1 / tn\n    ### END SOLUTION"
RAIZ = "class Calc:\n    def raiz(self, x):\n        ### BEGIN SOLUTION\n        return math.sqrt(x)\n        ### END SOLUTION"


def source_notebook():
    """Una fuente con dos ejercicios (el 1.1 vale 2 puntos y tiene una comprobación oculta)."""
    return new_notebook(cells=[
        cell("import math"),
        cell("### Ejercicio 1.1: Speedup\n\n*Nivel: básico · unos 5 min · 2 puntos*", "1.1", markdown=True,
             tags=("puntos:2",)),
        cell(SPEEDUP, "1.1"),
        cell("r = speedup(8.0, 2.0)\nassert r == 4.0, f'speedup(8.0, 2.0) debería ser 4.0 y devolvió {r}'",
             "1.1", check=True),
        cell("assert speedup(3.0, 3.0) == 1.0", "1.1", check=True),
        cell("# Comprobación oculta 1.1\nassert speedup(9.0, 3.0) == 3.0, 'otros números'", "1.1", hidden=True),
        cell("### Ejercicio 1.2: Raíz", "1.2", markdown=True),
        cell(RAIZ, "1.2"),
        cell("assert Calc().raiz(9) == 3", "1.2", check=True),
        cell("print('fin')"),
    ])


def answers(nb, **by_exercise: str):
    """Pone respuestas (por ejercicio, ``e1_1="..."``) en las celdas de respuesta de ``nb``."""
    for c in nb.cells:
        key = "e" + (c.metadata.get("tags", [""])[0].removeprefix("ejercicio:").replace(".", "_"))
        if c.cell_type == "code" and key in by_exercise and "comprobacion" not in c.metadata.get("tags", []) \
                and ("def " in c.source or "class " in c.source):
            c.source = by_exercise[key]
    return nb


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / "soluciones"
    folder.mkdir()
    nbformat.write(source_notebook(), folder / "01-Prueba.ipynb")
    return folder


def write(nb, path):
    nbformat.write(nb, path)
    return path


def test_exercises_points_and_labels_come_from_the_source():
    found = exercises_of(source_notebook())
    assert [(e.id, e.title, e.points, e.level, e.minutes) for e in found] == [
        ("1.1", "Speedup", 2.0, "básico", 5), ("1.2", "Raíz", 1.0, "", None)]


def test_solutions_pass_and_student_version_fails_only_at_check_cells(sources, tmp_path):
    solved = grade_submission(sources / "01-Prueba.ipynb", source_dir=sources, limits=LIMITS)
    assert [(e.id, e.title, e.status, e.points) for e in solved.exercises] == [
        ("1.1", "Speedup", PASSED, 2.0), ("1.2", "Raíz", PASSED, 1.0)]
    assert solved.passed and (solved.points, solved.max_points) == (3.0, 3.0)
    assert [c.role for c in solved.cells] == [INSTRUCTOR, ANSWER, CHECK, CHECK, HIDDEN, ANSWER, CHECK, INSTRUCTOR]

    path = write(make_student(nbformat.read(sources / "01-Prueba.ipynb", as_version=4)), tmp_path / "01-Prueba.ipynb")
    student = grade_submission(path, source_dir=sources, limits=LIMITS)
    assert {c.index for c in student.cells if c.status != "ok"} == {c.index for c in student.cells if c.check}
    for c in student.cells:
        if c.check:
            assert c.message.startswith(f"NotImplementedError: Ejercicio {c.exercise}:")
    assert [e.status for e in student.exercises] == [FAILED, FAILED] and student.points == 0
    assert "raise NotImplementedError" in student.exercises[0].hint


def test_hidden_checks_catch_a_hard_coded_answer_and_check_skips_them(sources, tmp_path, capsys):
    nb = answers(make_student(source_notebook()), e1_1="def speedup(t1, tn):\n    return 4.0 if t1 == 8.0 else 1.0",
                 e1_2=RAIZ)
    path = write(nb, tmp_path / "01-Prueba.ipynb")
    graded = grade_submission(path, source_dir=sources, limits=LIMITS)
    assert graded.exercises[0].status == FAILED
    assert graded.exercises[0].message == "Comprobación oculta 1.1 (comprobación oculta): AssertionError: otros números"
    from lab.__main__ import main as lab_main
    capsys.readouterr()
    assert lab_main(["check", str(path), "--source", str(sources), "--timeout", "20"]) == 0
    assert "2 aprobado" in capsys.readouterr().out


def test_partial_solution_gets_a_mixed_report_and_cli_writes_json_junit_and_csv(sources, tmp_path, capsys):
    nb = make_student(source_notebook())
    answers(nb, e1_1="def speedup(t1, tn):\n    t1 / tn")  # se olvida del return; 1.2 sin resolver
    nb.cells.append(cell("undefined_name"))  # celda añadida por el alumnado: no se usa al corregir
    path = write(nb, tmp_path / "01-Prueba.ipynb")
    out = tmp_path / "notas"
    assert grade.main([str(path), "--timeout", "20", "--source", str(sources), "--out", str(out)]) == 1

    table = capsys.readouterr().out
    assert "1.1 Speedup" in table and "speedup(8.0, 2.0) debería ser 4.0 y devolvió None" in table
    assert "\x1b[" not in table and "0 de 3 puntos" in table
    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    rows = {e["id"]: (e["status"], e["message"]) for e in report["notebooks"][0]["exercises"]}
    assert rows == {
        "1.1": (FAILED, "celda 3: AssertionError: speedup(8.0, 2.0) debería ser 4.0 y devolvió None"),
        "1.2": (FAILED, "celda 8: NotImplementedError: Ejercicio 1.2: falta tu solución; escríbela en lugar "
                        "de esta línea."),
    }
    assert report["passed"] is False and report["notebooks"][0]["max_points"] == 3.0
    suite = ET.parse(out / "notas.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "2", "0")
    lines = (out / "notas.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "alumno,1.1 (máx. 2),1.2 (máx. 1),total,máximo,porcentaje,observaciones"
    assert lines[1] == "-,0,0,0,3,0,"


def test_honest_failures_are_graded_right_and_later_exercises_still_count(tmp_path):
    source = new_notebook(cells=[cell("import os\nbase = 41")] + [
        c for n, body in enumerate(["return 1", "return 2", "return 3", "return 4", "return base + 1"], start=1)
        for c in (cell(f"def f{n}():\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION", f"1.{n}"),
                  cell(f"assert f{n}() == {n if n < 5 else 42}", f"1.{n}", check=True))])
    folder = tmp_path / "fuentes"
    folder.mkdir()
    write(source, folder / "02-Fallos.ipynb")
    student = make_student(source)
    bodies = {"f1": "while True:\n        pass", "f2": "os._exit(3)", "f3": "raise SystemExit(0)",
              "f4": "print('aprobado')", "f5": "return base + 1"}
    for c in student.cells:
        for name, body in bodies.items():
            if c.source.startswith(f"def {name}():"):
                c.source = f"def {name}():\n    {body}"
    report = grade_submission(write(student, tmp_path / "02-Fallos.ipynb"), source_dir=folder,
                              limits=Limits(cell_timeout=5, notebook_timeout=120))
    rows = {e.id: (e.status, e.message) for e in report.exercises}
    assert rows["1.1"][0] == FAILED and "Tiempo agotado" in rows["1.1"][1]
    assert rows["1.2"][0] == FAILED and "murió" in rows["1.2"][1]
    assert rows["1.3"][0] == FAILED and "SystemExit" in rows["1.3"][1]
    assert rows["1.4"][0] == FAILED and "AssertionError" in rows["1.4"][1]
    assert rows["1.5"] == (PASSED, ""), "tras reiniciar el kernel se repiten las celdas que habían ido bien"


def test_rebuild_takes_only_answers_and_matches_by_id_tag_or_names():
    source = source_notebook()
    student = make_student(source)
    for c in student.cells:
        if "comprobacion" in c.metadata.get("tags", []):
            c.source, c.metadata["tags"] = "pass", c.metadata["tags"] + ["raises-exception"]
    built = rebuild(source, student)
    assert [c.source for c in built.nb.cells if "comprobacion" in c.metadata.get("tags", [])] == \
        [c.source for c in source.cells if "comprobacion" in c.metadata.get("tags", [])]
    assert not any("raises-exception" in c.metadata.get("tags", []) for c in built.nb.cells)
    assert built.missing == set() and "raise NotImplementedError" in built.nb.cells[2].source

    renamed = make_student(source)  # sin ids: por etiqueta; sin etiquetas tampoco: por los nombres que define
    answers(renamed, e1_1="def speedup(t1, tn):\n    return 0", e1_2="class Calc:\n    pass")
    for c in renamed.cells:
        c.id = f"nuevo-{id(c)}"[:60]
        if c.source.startswith("class Calc"):
            c.metadata = {}
    built = rebuild(source, renamed)
    assert built.nb.cells[2].source.endswith("return 0") and built.nb.cells[7].source == "class Calc:\n    pass"

    dropped = make_student(source)
    dropped.cells = [c for c in dropped.cells if "ejercicio:1.2" not in c.metadata.get("tags", [])]
    built = rebuild(source, dropped)
    assert built.missing == {"1.2"} and "raise NotImplementedError" in built.nb.cells[7].source
    assert not any("comprobacion-oculta" in c.metadata.get("tags", [])
                   for c in rebuild(source, student, hidden=False).nb.cells)


@pytest.mark.parametrize("cells, reason", [
    ([], "no tiene ninguna celda"),
    ([cell("print('otro cuaderno')"), cell("# Otro", markdown=True)], "ninguna celda"),
])
def test_a_submission_that_cannot_be_matched_is_not_gradable(cells, reason):
    with pytest.raises(Unmatchable, match=reason):
        rebuild(source_notebook(), new_notebook(cells=cells))


@pytest.mark.parametrize("name, text, reason", [
    ("entrega.txt", "hola", "no es un cuaderno de Jupyter"),
    ("01-Prueba.ipynb", "", "está vacío"),
    ("01-Prueba.ipynb", "{ esto no es JSON", "no es JSON válido"),
    ("01-Prueba.ipynb", "[1, 2]", "no un cuaderno"),
])
def test_unreadable_submissions_are_reported_with_the_reason(tmp_path, sources, name, text, reason):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Unmatchable, match=reason):
        read_submission(path)
    report = grade_submission(path, source=sources / "01-Prueba.ipynb", limits=LIMITS)
    assert reason in report.ungradable and not report.passed
    assert [e.status for e in report.exercises] == [UNGRADABLE, UNGRADABLE] and report.points == 0


def test_checks_that_never_ran_are_reported_as_not_graded_with_the_reason():
    nb = new_notebook(cells=[cell("x = 1", "2.1"), cell("# Comprobación 2.1: x existe\nassert x", "2.1", check=True),
                             cell("assert x", "2.2", check=True), cell("y = 2")])
    built = Rebuilt(nb, [ANSWER, CHECK, CHECK, INSTRUCTOR], exercises_of(nb))
    cells = [CellResult(0, "2.1", ANSWER, "ok"), CellResult(1, "2.1", CHECK, "timeout", "Tiempo agotado"),
             CellResult(2, "2.2", CHECK, "not_run", "No se ejecutó: no arrancó el kernel"),
             CellResult(3, None, INSTRUCTOR, "not_run", "No se ejecutó: no arrancó el kernel")]
    report = summarize(built, cells, "x.ipynb")
    assert [(e.id, e.status, e.message) for e in report.exercises] == [
        ("2.1", FAILED, "Comprobación 2.1: Tiempo agotado"),
        ("2.2", NOT_RUN, "No se ejecutó: no arrancó el kernel")]
    assert report.summary() == {PASSED: 0, FAILED: 1, NOT_RUN: 1}
    assert "2.2" in grade.format_table(report) and "bucle" in report.exercises[0].hint


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
