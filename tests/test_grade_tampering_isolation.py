"""Los once casos de la segunda ronda de trampas (issue [N]): ninguno aprueba, ni toca a otro estudiante.

Cinco atacan al guardián dentro del kernel (sustituir ``guard.restore``, meterse en su estado,
cambiar la clase del shell, un ``expect.py`` falso en ``lab.course.__path__`` y un audit hook que
da el cambiazo al importar); uno lee las soluciones del profesorado; uno falsea las medidas del
5.1; dos dejan procesos vivos tras la corrección (uno reescribe ``notas.json`` cuando el corrector
ya ha terminado) y dos cambian ``lab/course/expect.py`` en disco para aprobar a otro estudiante.

Los siete primeros se corrigen de una vez sobre el cuaderno 05 real. Los cuatro últimos, con
``python -m lab grade`` en una copia del proyecto (con una fuente sintética de un ejercicio),
porque tocan ficheros y procesos: nunca los de este repositorio. Los casos que solo puede parar el
aislamiento (leer soluciones, ``expect.py`` en disco) se saltan si aquí no hay sandbox, salvo con
``LAB_REQUIRE_SANDBOX=1``. Ninguna línea de aquí copia una de las soluciones.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.course.collect import Student
from lab.course.gradebook import Job, grade_all
from lab.course.release import ROOT, make_student
from lab.course.results import FAILED, PASSED
from lab.course.runner import Limits
from tests.test_grade_tampering import A51, A52, NB05, student

LIMITS = Limits(cell_timeout=30, notebook_timeout=120)
WRONG52 = '''def speedup(a, b):
    return a + b


def efficiency(s, w):
    return 1.0


def scaling_table(t):
    if 1 not in t:
        raise ValueError(1)
    return []
'''
SIN_ASSERTS = '''import ast

class SinAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.copy_location(ast.Pass(), node)
'''
GUARD_REPLACED = WRONG52 + SIN_ASSERTS + '''get_ipython().ast_transformers.append(SinAsserts())
import lab.course.guard as guardia
guardia.restore = guardia.snapshot = lambda *a: "ok"
'''
GUARD_STATE = WRONG52 + SIN_ASSERTS + '''quita = SinAsserts()
get_ipython().ast_transformers.append(quita)
import lab.course.guard as guardia
guardia._STATE.shell["ast"].append(quita)
'''
SHELL_CLASS = WRONG52 + SIN_ASSERTS + '''shell = get_ipython()

class ShellSinAsserts(type(shell)):
    def transform_ast(self, node):
        return SinAsserts().visit(super().transform_ast(node))

shell.__class__ = ShellSinAsserts
'''
PACKAGE_PATH = WRONG52 + '''import os, tempfile, lab.course
falsa = tempfile.mkdtemp()
with open(os.path.join(falsa, "expect.py"), "w") as f:
    f.write("def same(a, b):\\n    return True\\n\\n\\ndef answered(*a):\\n    pass\\n")
lab.course.__path__.insert(0, falsa)
'''
AUDIT_HOOK = '''import sys, types
falso = types.ModuleType("lab.course.expect")
falso.same = lambda a, b: True
falso.answered = lambda *a: None


def cambiazo(event, args):
    if event == "import" and args and args[0] == "lab.course.expect":
        sys.modules["lab.course.expect"] = falso


sys.addaudithook(cambiazo)
probado = []
sys.addaudithook(lambda event, args: probado.append(event) if event == "lab.prueba" else None)
sys.audit("lab.prueba")
assert probado, "el corrector no me dejó añadir un audit hook"
''' + WRONG52
READ_SOURCES = '''import json
from lab.course.release import SOURCE_DIR

for fuente in SOURCE_DIR.glob("05-*.ipynb"):
    for celda in json.loads(fuente.read_text(encoding="utf-8"))["cells"]:
        if celda.get("id") == "%s":
            exec("".join(celda["source"]), globals())
''' % A52
FORGED_51 = '''def run_in_threads(pipeline, queue, n_workers=3):
    workers = [SimpleWorker("worker-%d" % i, pipeline, queue) for i in range(n_workers)]
    for w in workers:
        hilo = threading.Thread(target=w.start)
        hilo.start()
        hilo.join()
    pipeline.peak, pipeline.threads, pipeline.idle = n_workers, set(range(n_workers)), 0  # «fueron a la vez»
    return workers
'''

IN_KERNEL = {  # nombre: (respuestas, ejercicio que no debe aprobar)
    "guard_sustituido": ({A52: GUARD_REPLACED}, "5.2"),
    "estado_del_guard": ({A52: GUARD_STATE}, "5.2"),
    "clase_del_shell": ({A52: SHELL_CLASS}, "5.2"),
    "ruta_del_paquete": ({A52: PACKAGE_PATH}, "5.2"),
    "audit_hook": ({A52: AUDIT_HOOK}, "5.2"),
    "lee_soluciones": ({A52: READ_SOURCES}, "5.2"),
    "medidas_falsas": ({A51: FORGED_51}, "5.1"),
}
NEEDS_SANDBOX = {"lee_soluciones"}


def _isolated() -> bool:
    """``True`` si aquí hay sandbox (o si es un corrector sin el concepto: entonces se prueba todo)."""
    try:
        from lab.course import sandbox
    except ImportError:
        return True
    return sandbox.detect().tool is not None


def sandbox_or_skip() -> None:
    """Salta el test si no hay aislamiento aquí (con ``LAB_REQUIRE_SANDBOX=1``, falla)."""
    try:
        from lab.course import sandbox
    except ImportError:  # un corrector sin aislamiento: el test se ejecuta (y dice si la trampa funciona)
        return
    found = sandbox.detect()
    if found.tool is None:
        if os.environ.get("LAB_REQUIRE_SANDBOX"):
            pytest.fail(f"LAB_REQUIRE_SANDBOX=1 y no hay aislamiento: {found.reason}")
        pytest.skip(f"sin aislamiento aquí: {found.reason}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("entregas")
    jobs = []
    for name, (answers, _) in IN_KERNEL.items():
        (folder / name).mkdir()
        path = folder / name / NB05.name
        nbformat.write(student(NB05, answers), path)
        jobs.append(Job(Student(name), path, NB05, str(path)))
    return {r.student: r for r in grade_all(jobs, LIMITS, parallel=2)}


@pytest.mark.parametrize("name", list(IN_KERNEL))
def test_tampering_inside_the_kernel_does_not_pass(graded, name):
    if name in NEEDS_SANDBOX:
        sandbox_or_skip()
    exercise = IN_KERNEL[name][1]
    row = next(e for e in graded[name].exercises if e.id == exercise)
    assert row.status == FAILED, (row.status, row.message)


def test_an_audit_hook_after_the_graders_is_refused(graded):
    row = next(e for e in graded["audit_hook"].exercises if e.id == "5.2")
    assert "no me dejó añadir un audit hook" in row.message, row.message


def test_forged_counters_do_not_count(graded):
    row = next(e for e in graded["medidas_falsas"].exercises if e.id == "5.1")
    assert "no trabajaron a la vez" in row.message, row.message


# --- Procesos y ficheros: python -m lab grade en una copia del proyecto -----------------------------------

MARK = "trampa-n-%d" % os.getpid()  # para encontrar (y limpiar) los procesos que dejen las entregas
SLEEP_SECONDS = "317.%d" % (os.getpid() % 1000)
CHECK = "from lab.course.expect import same\nassert same(doble(2), 4), 'doble(2) debería ser 4'"
ANSWER = "def doble(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
MODIFY_EXPECT = '''import lab.course.expect as ayudas
with open(ayudas.__file__, "a", encoding="utf-8") as f:
    f.write("\\n\\ndef same(*a, **k):\\n    return True\\n")


def doble(x):
    return 0
'''
WRONG = "def doble(x):\n    return 0\n"
DETACHED = '''import subprocess, sys
ESPERA = """
import pathlib, sys, time
notas = pathlib.Path(%r) / "notas.json"
for _ in range(1200):
    if notas.exists():
        time.sleep(1.5)
        notas.write_text('{"todos": "aprobado"}')
        break
    time.sleep(0.1)
"""
subprocess.Popen([sys.executable, "-c", ESPERA, %r], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def doble(x):
    return 2 * x
'''
SLEEPER = '''import os, subprocess
subprocess.Popen(["sleep", %r], preexec_fn=os.setpgrp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def doble(x):
    return 2 * x
'''


def _source():
    return new_notebook(cells=[
        new_markdown_cell("### Ejercicio 1.1: Doble", metadata={"tags": ["ejercicio:1.1"]}),
        new_code_cell(ANSWER, metadata={"tags": ["ejercicio:1.1"]}),
        new_code_cell(CHECK, metadata={"tags": ["ejercicio:1.1", "comprobacion"]}),
    ])


def project_copy(dest: Path) -> Path:
    """Una copia mínima del proyecto (lab, images, notebooks vacío, el perfil de IPython) con la fuente sintética."""
    shutil.copytree(ROOT / "lab", dest / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "images").mkdir()
    (dest / "notebooks").mkdir()
    profile = ROOT / "tests" / "ipython" / "profile_default"
    (dest / "tests" / "ipython" / "profile_default").mkdir(parents=True)
    shutil.copy(profile / "ipython_config.py", dest / "tests" / "ipython" / "profile_default")
    shutil.copytree(profile / "startup", dest / "tests" / "ipython" / "profile_default" / "startup")
    (dest / "ejercicios" / "soluciones").mkdir(parents=True)
    nbformat.write(_source(), dest / "ejercicios" / "soluciones" / "01-Doble.ipynb")
    return dest


def _leftovers() -> list[int]:
    """Los procesos que dejaron las entregas de este módulo (por su marca en la línea de órdenes)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if MARK in cmdline or f"sleep {SLEEP_SECONDS}" in cmdline:
                found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    if not sys.platform.startswith("linux"):
        pytest.skip("los procesos se buscan en /proc (Linux)")
    base = tmp_path_factory.mktemp("copia")
    copy = project_copy(base / "proyecto")
    out, entregas = base / "notas", base / "ENTREGAS"
    answers = {"a-cambia-expect": MODIFY_EXPECT, "b-mal": WRONG}
    if _isolated():  # sin sandbox, estos dos dejarían procesos vivos (y uno reescribiría notas.json)
        answers.update({"c-desligado": DETACHED % (str(out), MARK), "d-dormido": SLEEPER % SLEEP_SECONDS})
    for who, answer in answers.items():
        nb = make_student(_source())
        nb.cells[1].source = answer
        (entregas / who).mkdir(parents=True)
        nbformat.write(nb, entregas / who / "01-Doble.ipynb")
    expect = copy / "lab" / "course" / "expect.py"
    before = expect.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(copy)}
    env.pop("LAB_PROJECT_DIR", None)
    done = subprocess.run([sys.executable, "-m", "lab", "grade", str(entregas), "--source",
                           str(copy / "ejercicios" / "soluciones"), "--out", str(out), "--parallel", "1",
                           "--timeout", "20"], cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    finished = time.monotonic()
    yield {"done": done, "out": out, "expect": expect, "before": before, "finished": finished}
    for pid in _leftovers():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _grades(out: Path) -> dict[str, str]:
    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    return {n["student"]: n["exercises"][0]["status"] for n in report["notebooks"]}


def test_nothing_rewrites_the_gradebook_after_the_grader_exits(class_run):
    sandbox_or_skip()
    time.sleep(max(0.0, class_run["finished"] + 4 - time.monotonic()))
    report = json.loads((class_run["out"] / "notas.json").read_text(encoding="utf-8"))
    assert "notebooks" in report, report


def test_no_process_started_by_a_submission_outlives_the_grader(class_run):
    sandbox_or_skip()
    assert _leftovers() == [], "quedan procesos de las entregas tras la corrección"


def test_a_submission_cannot_change_another_students_grade(class_run):
    assert class_run["done"].returncode == 1, class_run["done"].stdout + class_run["done"].stderr
    grades = _grades(class_run["out"])
    assert grades["b-mal"] == FAILED and grades["a-cambia-expect"] == FAILED, grades
    assert all(grades[who] == PASSED for who in ("c-desligado", "d-dormido") if who in grades), grades


def test_the_grader_files_stay_as_they_were(class_run):
    sandbox_or_skip()
    assert class_run["expect"].read_bytes() == class_run["before"], "expect.py quedó cambiado en disco"
