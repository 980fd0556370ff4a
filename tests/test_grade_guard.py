"""El guardián dentro del kernel (``lab.course.guard``): nada que alcance el código del alumnado decide la nota.

Con una fuente sintética de dos ejercicios (el 1.1 con una comprobación oculta): una respuesta que
cambia ``same``, ``all`` o las ayudas mientras la comprobación la llama; una que falsifica la
respuesta del kernel al corrector; una que busca la comprobación oculta después de que se
ejecute; una que cambia el código de una función del curso y una que usa ``sys.settrace``.
Ninguna aprueba; la honrada, sí.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.course.collect import Student
from lab.course.gradebook import Job, grade_all
from lab.course.release import make_student
from lab.course.results import FAILED, PASSED
from lab.course.runner import Limits

CHECK = '''from lab.course.expect import same

r = doble(2)
assert same(r, 4), f"doble(2) debería ser 4 y es {r!r}"
assert all([same(doble(3), 6)]), "doble(3) debería ser 6"
'''
HIDDEN = 'secreto_oculto = "xyz-comprobacion-oculta"\nassert same(doble(5), 10)\n'


def source():
    answer = "def {0}(x):\n    ### BEGIN SOLUTION\n    return {1} * x\n    ### END SOLUTION"
    return new_notebook(cells=[
        new_code_cell("import math\nfrom lab.notebook import analysis"),
        new_markdown_cell("### Ejercicio 1.1: Doble", metadata={"tags": ["ejercicio:1.1"]}),
        new_code_cell(answer.format("doble", 2), metadata={"tags": ["ejercicio:1.1"]}),
        new_code_cell(CHECK, metadata={"tags": ["ejercicio:1.1", "comprobacion"]}),
        new_code_cell(HIDDEN, metadata={"tags": ["ejercicio:1.1", "comprobacion-oculta"]}),
        new_markdown_cell("### Ejercicio 1.2: Triple", metadata={"tags": ["ejercicio:1.2"]}),
        new_code_cell(answer.format("triple", 3), metadata={"tags": ["ejercicio:1.2"]}),
        new_code_cell("assert triple(2) == 6", metadata={"tags": ["ejercicio:1.2", "comprobacion"]}),
    ])


GOOD_11, GOOD_12 = "def doble(x):\n    return x + x\n", "def triple(x):\n    return x + x + x\n"
DURING_THE_CHECK = '''def doble(x):
    import builtins
    import lab.course.expect as ayudas
    globals()["same"] = ayudas.same = lambda a, b: True
    builtins.all = lambda valores: True
    return 0
'''
FORGED_REPLY = '''def doble(x):
    return 0


def responde(self, expressions):
    return {k: {"status": "ok", "data": {"text/plain": "['1\\\\x1fok\\\\x1f0']"}, "metadata": {}} for k in expressions}


type(get_ipython()).user_expressions = responde
'''
TRACES = '''import glob, linecache
marca = "-".join(["xyz", "comprobacion", "oculta"])  # sin escribirla: esta celda también queda en In
rastro = [k for k, v in globals().items() if k.startswith("secreto") or (v == marca and k != "marca")]
rastro += [c for c in globals().get("In", []) if marca in c]
rastro += [k for k, v in linecache.cache.items() if marca in "".join(v[2] or [])]
rastro += [p for p in glob.glob("*.ipynb") + glob.glob("/tmp/**/*.ipynb", recursive=True) if "Doble" in p]  # el reconstruido
rastro += [p for p in [get_ipython().kernel.get_parent()] if marca in str(p)]
assert not rastro, f"encontré la comprobación oculta: {rastro}"
''' + GOOD_12
PROTECTED = GOOD_11 + "analysis.speedup.__code__ = (lambda t1, tn: 0).__code__\n"
SETTRACE = '''import sys


def doble(x):
    return 0


def salta(frame, event, arg):
    return None


sys.settrace(salta)
'''

CASES = {  # nombre: ({ejercicio: respuesta}, {ejercicio: estado}, texto del mensaje del 1.1 o "")
    "honrada": ({"1.1": GOOD_11, "1.2": GOOD_12}, {"1.1": PASSED, "1.2": PASSED}, ""),
    "cambia_durante_la_comprobacion": ({"1.1": DURING_THE_CHECK}, {"1.1": FAILED}, "doble(2) debería ser 4"),
    "respuesta_falsificada": ({"1.1": FORGED_REPLY}, {"1.1": FAILED}, "no recibió una respuesta válida"),
    "rastro_de_la_oculta": ({"1.1": GOOD_11, "1.2": TRACES}, {"1.1": PASSED, "1.2": PASSED}, ""),
    "codigo_del_curso": ({"1.1": PROTECTED}, {"1.1": FAILED}, "no deja cambiar __code__ de speedup"),
    "settrace": ({"1.1": SETTRACE}, {"1.1": FAILED}, "no deja usar sys.settrace"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guardian")
    nbformat.write(source(), folder / "01-Doble.ipynb")
    jobs = []
    for name, (answers, _, _) in CASES.items():
        nb = make_student(source())
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            exercise = next((t.split(":")[1] for t in tags if t.startswith("ejercicio:")), None)
            if cell.cell_type == "code" and exercise in answers and "comprobacion" not in tags:
                cell.source = answers[exercise]
        (folder / name).mkdir()
        nbformat.write(nb, folder / name / "01-Doble.ipynb")
        jobs.append(Job(Student(name), folder / name / "01-Doble.ipynb", folder / "01-Doble.ipynb", name))
    return {r.student: r for r in grade_all(jobs, Limits(cell_timeout=20, notebook_timeout=60), parallel=2)}


@pytest.mark.parametrize("name", list(CASES))
def test_nothing_the_answer_reaches_decides_the_grade(graded, name):
    _, expected, message = CASES[name]
    rows = {e.id: e for e in graded[name].exercises}
    assert {k: rows[k].status for k in expected} == expected, [(e.id, e.status, e.message) for e in rows.values()]
    assert message in rows["1.1"].message, rows["1.1"].message
