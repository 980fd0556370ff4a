"""Entregas manipuladas, como las haría quien quiere la nota sin el trabajo: ninguna sale aprobada.

Se corrigen de una vez (en paralelo) sobre los cuadernos reales 05 y 06; también soluciones
honradas escritas de otra forma, que sí deben aprobar, y los fallos «justos» del issue:
5.1 sin hilos o en serie y 6.1 en lotes fijos. Ninguna línea de aquí copia una de las
soluciones (``lab.course.leaks``); la respuesta buena del 5.2 se lee de la fuente. Este
fichero no va en la copia del alumnado (``python -m lab release`` no lleva ``tests/``).
"""

from __future__ import annotations

import nbformat
import pytest

from lab.course import kernel
from lab.course.collect import Student
from lab.course.gradebook import Job, grade_all
from lab.course.release import SOURCE_DIR, make_student
from lab.course.results import FAILED, PASSED
from lab.course.runner import Limits

NB05, NB06 = SOURCE_DIR / "05-Varios-workers-y-speedup.ipynb", SOURCE_DIR / "06-Concurrencia-limitada.ipynb"
A51, A52, A61 = "48fe299b", "ccce3034", "6cecf16d"  # ids de las celdas de respuesta en la fuente
LIMITS = Limits(cell_timeout=30, notebook_timeout=120)

GOOD52 = next(c.source for c in nbformat.read(NB05, as_version=4).cells if c.get("id") == A52)
WRONG52 = '''def speedup(a, b):
    return 0

def efficiency(s, w):
    return 0

def scaling_table(t):
    if 1 not in t:
        raise ValueError(1)
    return []
'''
ALWAYS_EQUAL = '''class Siempre:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__

def speedup(a, b):
    return Siempre()

def efficiency(s, w):
    return Siempre()

def scaling_table(t):
    if 1 not in t:
        raise ValueError("falta 1")
    return [{"workers": n, "time": Siempre(), "speedup": Siempre(), "efficiency": Siempre()} for n in sorted(t)]
'''
NO_THREADS = '''def run_in_threads(pipeline, queue, n_workers=3):
    workers = [SimpleWorker("worker-%d" % i, pipeline, queue) for i in range(n_workers)]
    for w in workers:
        w.start()
    return workers
'''
SERIAL = '''def run_in_threads(pipeline, queue, n_workers=3):
    workers = [SimpleWorker("worker-%d" % i, pipeline, queue) for i in range(n_workers)]
    for w in workers:
        t = threading.Thread(target=w.start)
        t.start()
        t.join()
    return workers
'''
HONEST51 = '''def run_in_threads(pipeline, queue, n_workers=3):
    """Otra forma: daemon, join con espera corta en un bucle aparte."""
    hilos, workers = [], []
    for i in range(n_workers):
        w = SimpleWorker("worker-%d" % i, pipeline, queue)
        workers.append(w)
        hilos.append(threading.Thread(target=w.start, daemon=True))
    [h.start() for h in hilos]
    while any(h.is_alive() for h in hilos):
        for h in hilos:
            h.join(0.01)
    return workers
'''
BATCHES = '''async def run_limited(items, work, limit):
    if type(limit) is not int or limit <= 0:
        raise ValueError("mal")
    items, out = list(items), []
    for i in range(0, len(items), limit):
        out += await asyncio.gather(*(work(x) for x in items[i:i + limit]))
    return out
'''
QUEUE61 = '''async def run_limited(items, work, limit):
    if type(limit) is not int or limit < 1:
        raise ValueError(f"El máximo tiene que ser un entero positivo, no {limit!r}")
    items = list(items)
    results = [None] * len(items)
    cola = asyncio.Queue()
    for pair in enumerate(items):
        cola.put_nowait(pair)

    async def obrero():
        while not cola.empty():
            i, item = cola.get_nowait()
            results[i] = await work(item)

    await asyncio.gather(*(obrero() for _ in range(min(limit, len(items)) or 1)))
    return results
'''
TRANSFORMER = WRONG52 + "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
TRANSFORMER_POST = WRONG52 + "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
AST = WRONG52 + '''import ast

class SinAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

get_ipython().ast_transformers.append(SinAsserts())
'''
MONKEYPATCH = WRONG52 + '''import lab.notebook.analysis, lab.course.expect
lab.course.expect.same = lambda a, b: True
lab.notebook.analysis.speedup = lab.notebook.analysis.efficiency = lambda *a: 0
'''
MONKEYPATCH_51 = NO_THREADS + '''import builtins, lab.course.expect as e
builtins.all = lambda it: True
e.Overlap.on_main_thread = property(lambda s: False)
'''
SHADOW = WRONG52 + '''def same(a, b):
    return True

def isinstance(*a):
    return True
'''


def student(source, answers=None, *, drop=None, checks_to=None, raises_tag=False):
    """La versión del alumnado de ``source`` con respuestas y trampas."""
    nb = make_student(nbformat.read(source, as_version=4))
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        if c.get("id") in (answers or {}):
            c.source = answers[c.get("id")]
        if "comprobacion" in tags and checks_to is not None:
            c.source = checks_to
        if "comprobacion" in tags and raises_tag:
            tags.append("raises-exception")
    if drop:
        nb.cells = [c for c in nb.cells if f"ejercicio:{drop}" not in c.metadata.get("tags", [])]
    return nb


CASES = {  # nombre: (cuaderno, {ejercicio: estado esperado})
    "comprobaciones_pass": (lambda: student(NB05, checks_to="pass"), {"5.1": FAILED, "5.2": FAILED}),
    "etiqueta_raises": (lambda: student(NB05, raises_tag=True), {"5.1": FAILED, "5.2": FAILED}),
    "ejercicio_quitado": (lambda: student(NB05, {A52: GOOD52}, drop="5.1"), {"5.1": FAILED, "5.2": PASSED}),
    "transformador_entrada": (lambda: student(NB05, {A52: TRANSFORMER}), {"5.2": FAILED}),
    "transformador_post": (lambda: student(NB05, {A52: TRANSFORMER_POST}), {"5.2": FAILED}),
    "transformador_ast": (lambda: student(NB05, {A52: AST}), {"5.2": FAILED}),
    "parche_ayudas": (lambda: student(NB05, {A52: MONKEYPATCH}), {"5.2": FAILED}),
    "parche_builtins": (lambda: student(NB05, {A51: MONKEYPATCH_51}), {"5.1": FAILED}),
    "nombres_que_tapan": (lambda: student(NB05, {A52: SHADOW}), {"5.2": FAILED}),
    "eq_siempre_cierto": (lambda: student(NB05, {A52: ALWAYS_EQUAL}), {"5.2": FAILED}),
    "sin_hilos": (lambda: student(NB05, {A51: NO_THREADS, A52: GOOD52}), {"5.1": FAILED, "5.2": PASSED}),
    "en_serie": (lambda: student(NB05, {A51: SERIAL, A52: GOOD52}), {"5.1": FAILED, "5.2": PASSED}),
    "honrada_05": (lambda: student(NB05, {A51: HONEST51, A52: GOOD52.replace("Falta la medida", "Sin medida")}),
                   {"5.1": PASSED, "5.2": PASSED}),
    "lotes_06": (lambda: student(NB06, {A61: BATCHES}), {"6.1": FAILED}),
    "cola_06": (lambda: student(NB06, {A61: QUEUE61}), {"6.1": PASSED}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("entregas")
    jobs = []
    for name, (build, _) in CASES.items():
        source = NB06 if name.endswith("06") else NB05
        (folder / name).mkdir()
        path = folder / name / source.name
        nbformat.write(build(), path)
        jobs.append(Job(Student(name), path, source, str(path)))
    reports = grade_all(jobs, LIMITS, parallel=2)
    return {r.student: r for r in reports}


@pytest.mark.parametrize("name", list(CASES))
def test_each_crafted_submission_gets_exactly_the_expected_grades(graded, name):
    report = graded[name]
    statuses = {e.id: e.status for e in report.exercises}
    expected = CASES[name][1]
    assert {k: statuses[k] for k in expected} == expected, [(e.id, e.status, e.message) for e in report.exercises]


def test_fair_exercises_fail_with_a_hint_that_says_why(graded):
    messages = {name: {e.id: e.message for e in graded[name].exercises} for name in ("sin_hilos", "en_serie", "lotes_06")}
    assert "hilo principal" in messages["sin_hilos"]["5.1"]
    assert "en serie" in messages["en_serie"]["5.1"]
    assert "lotes fijos" in messages["lotes_06"]["6.1"]
    dropped = graded["ejercicio_quitado"].exercises[0]
    assert (dropped.id, dropped.delivered) == ("5.1", False) and dropped.message.startswith("no entregado")


def test_without_the_guard_the_same_tricks_would_pass(tmp_path, monkeypatch):
    """Control: el test de arriba puede fallar. Sin el guardián (todo como en Jupyter), el transformador de AST aprueba el 5.2."""
    monkeypatch.setattr(kernel.Kernel, "install_guard", lambda self, memory_mb, timeout=30: (True, ""))
    monkeypatch.setattr(kernel.Kernel, "trusted", lambda self, index, source, role, timeout:
                        self.answer(index, source, timeout))
    (tmp_path / "x").mkdir()
    path = tmp_path / "x" / NB05.name
    nbformat.write(student(NB05, {A52: AST}), path)
    report = grade_all([Job(Student("x"), path, NB05, str(path))], LIMITS, parallel=1)[0]
    assert {e.id: e.status for e in report.exercises}["5.2"] == PASSED
