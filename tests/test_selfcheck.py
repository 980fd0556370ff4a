"""La huella del cuaderno publicado (``check`` sin la fuente) y reconocer una entrega por su contenido (sin kernel)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.course.fingerprint import ANSWER, CHECK, INSTRUCTOR, record_of
from lab.course.identify import by_name, identify, load_sources
from lab.course.published import rebuild_published
from lab.course.rebuild import Unmatchable
from lab.course.release import SOURCE_DIR, make_student


def tagged(factory, source: str, *tags: str):
    return factory(source, metadata={"tags": list(tags)})


def source_notebook():
    return new_notebook(cells=[
        tagged(new_markdown_cell, "## Ejercicio 1.1: Doble", "ejercicio:1.1"),
        new_code_cell("import math"),
        tagged(new_code_cell, "def doble(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
               "ejercicio:1.1"),
        tagged(new_code_cell, "# Comprobación 1.1 a: doble(2)\nassert doble(2) == 4", "ejercicio:1.1", "comprobacion"),
        tagged(new_code_cell, "assert doble(5) == 10", "ejercicio:1.1", "comprobacion-oculta"),
        tagged(new_code_cell, "# Comprobación 1.1 b: doble(0)\nassert doble(0) == 0", "ejercicio:1.1", "comprobacion"),
    ])


def test_the_student_version_carries_its_id_and_a_digest_of_every_published_code_cell():
    student = make_student(source_notebook(), "07-Prueba.ipynb")
    record = record_of(student)
    assert record["notebook"] == "07-Prueba"
    assert [(c["role"], c["exercise"], "sha256" in c) for c in record["cells"]] == [
        (INSTRUCTOR, None, True), (ANSWER, "1.1", False), (CHECK, "1.1", True), (CHECK, "1.1", True)]
    assert [c["id"] for c in record["cells"]] == [c.id for c in student.cells if c.cell_type == "code"]
    assert "doble(5)" not in nbformat.writes(student), "la huella no lleva nada de las comprobaciones ocultas"


def test_an_untouched_notebook_rebuilds_as_published_and_answers_come_from_the_submission():
    student = make_student(source_notebook(), "07-Prueba.ipynb")
    student.cells[2].source = "def doble(x):\n    return x + x"
    built, problems, added = rebuild_published(student)
    assert (problems, added, built.missing) == ({}, [], set())
    assert [c.source for c in built.nb.cells] == [c.source for c in student.cells if c.cell_type == "code"]
    assert built.roles == [INSTRUCTOR, ANSWER, CHECK, CHECK] and [e.id for e in built.exercises] == ["1.1"]


def test_an_edited_a_deleted_and_an_added_cell_are_noticed_and_the_edited_check_is_not_run():
    student = make_student(source_notebook(), "07-Prueba.ipynb")
    student.cells[3].source = "# Comprobación 1.1 a: doble(2)\npass"  # editada
    del student.cells[4]  # borrada
    student.cells.append(new_code_cell("def ayuda():\n    return 1"))  # añadida
    built, problems, added = rebuild_published(student)
    assert sorted(problems) == [2, 3] and "cambiada" not in problems[2] and "borrada" in problems[3]
    assert all("no se ha ejecutado" in p for p in problems.values())
    assert built.nb.cells[2].source == "# Comprobación 1.1 (cambiada)\npass"
    assert added == [4]


def test_new_cell_ids_still_match_checks_by_code_and_answers_by_exercise():
    student = make_student(source_notebook(), "07-Prueba.ipynb")
    for number, cell in enumerate(student.cells):
        cell.id = f"nueva-{number}"
    student.cells[2].source = "def doble(x):\n    return 2 * x"
    built, problems, added = rebuild_published(student)
    assert (problems, added) == ({}, []) and built.nb.cells[1].source.endswith("return 2 * x")


def test_a_notebook_without_the_fingerprint_is_not_checkable_with_a_clear_reason():
    student = make_student(source_notebook(), "07-Prueba.ipynb")
    del student.metadata["lab"]
    with pytest.raises(Unmatchable, match="huella"):
        rebuild_published(student)


@pytest.fixture(scope="module")
def sources():
    return load_sources(SOURCE_DIR)


def test_a_renamed_submission_is_recognised_by_its_content(sources):
    real = nbformat.read(SOURCE_DIR / "05-Varios-workers-y-speedup.ipynb", as_version=4)
    student = make_student(real, "05-Varios-workers-y-speedup.ipynb")
    assert identify(student, "entrega.ipynb", sources).id == "05-Varios-workers-y-speedup"
    del student.metadata["lab"]  # Colab, por ejemplo, puede perder los metadatos: quedan las etiquetas
    assert identify(student, "Copia de 06-Concurrencia-limitada.ipynb", sources).id == "05-Varios-workers-y-speedup"
    for cell in student.cells:
        cell.metadata = {}  # sin etiquetas: los ids de celda
    assert identify(student, "x.ipynb", sources).id == "05-Varios-workers-y-speedup"
    answer = next(c for c in student.cells if "def run_in_threads" in c.source)
    bare = new_notebook(cells=[new_code_cell(answer.source)])  # ni ids ni etiquetas: lo que define
    assert identify(bare, "x.ipynb", sources).id == "05-Varios-workers-y-speedup"
    assert identify(new_notebook(cells=[new_code_cell("print(1)")]), "x.ipynb", sources) is None


def test_an_unreadable_submission_falls_back_to_its_file_name(sources):
    assert identify(None, "Copia de 05-Varios-workers-y-speedup.ipynb", sources).id == "05-Varios-workers-y-speedup"
    assert identify(None, "perezana_late_12_34_07-Reintentos.ipynb", sources) is None
    assert by_name("08-Tareas.ipynb", sources).id == "08-Tareas-en-JSON"
