"""Los cuadernos de ejercicios: soluciones al 100 %, versiones del alumnado al día y fallando solo donde toca.

Cada test que corrige un cuaderno arranca un kernel (1-3 s por cuaderno).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from lab.course import release
from lab.course.grade import PASSED, grade_notebook
from lab.course.rebuild import exercises_of, fill_answers
from lab.course.release import exercise_of, is_check

EXPECTED = ["01-Filtro-propio", "02-Cola-segura", "03-Bucle-del-worker", "04-Logs-y-panel-de-salud",
            "05-Varios-workers-y-speedup", "06-Concurrencia-limitada", "07-Reintentos-y-tareas-perdidas",
            "08-Tareas-en-JSON"]
SOURCES = sorted(release.SOURCE_DIR.glob("*.ipynb"))
TIMEOUT = 60  # por celda; los cuadernos enteros tardan unos segundos


def test_the_exercise_notebooks_are_all_there():
    assert [p.stem for p in SOURCES] == EXPECTED


def test_student_versions_are_up_to_date():
    """Compara con lo generado (o con la versión de git, si el alumnado ya ha editado su copia)."""
    outcomes = release.release(check=True)
    stale = [f"{o.path.name}: {o.status} ({o.detail})" for o in outcomes if o.status not in ("igual", "ajeno")]
    assert not stale, f"Cuadernos del alumnado desfasados: {stale}; ejecuta `make student`."


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_source_is_committed_clean_and_complete(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert path.name.isascii() and re.fullmatch(r"\d\d-[A-Za-z0-9-]+\.ipynb", path.name)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: hay salidas guardadas"
    lesson = re.search(r"\]\(\.\./(\d\d-[^)]+\.ipynb)\)", nb.cells[0].source)
    assert lesson and (release.STUDENT_DIR.parent / lesson.group(1)).is_file(), \
        f"{path.name}: el enlace a su lección no lleva a ningún cuaderno de notebooks/"
    assert lesson.group(1)[:2] == path.name[:2]
    assert nb.cells[-1].cell_type == "markdown" and nb.cells[-1].source.startswith("## Para saber más")
    exercises = {exercise_of(c) for c in nb.cells} - {None}
    assert exercises and all(e.startswith(path.name[:2].lstrip("0") + ".") for e in exercises)
    for exercise in exercises:
        mine = [c for c in nb.cells if exercise_of(c) == exercise]
        assert mine[0].cell_type == "markdown" and mine[0].source.startswith(f"## Ejercicio {exercise}:")
        assert any(is_check(c) for c in mine), f"{path.name}: el ejercicio {exercise} no tiene comprobaciones"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_solutions_pass_every_check(path):
    report = grade_notebook(path, timeout=TIMEOUT)
    failures = [f"{e.id}: {e.status} — {e.message}" for e in report.exercises if e.status != PASSED]
    assert not failures, f"{path.name}: {failures}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_student_version_fails_only_at_check_cells_with_not_implemented(source, tmp_path):
    # Se corrige la versión generada, no la copia de notebooks/ejercicios/, que el alumnado edita.
    path = tmp_path / source.name
    path.write_text(release.render(release.make_student(nbformat.read(source, as_version=4))), encoding="utf-8")
    report = grade_notebook(path, timeout=TIMEOUT)
    wrong = [(c.index, c.check, c.status, c.message) for c in report.cells
             if (c.status != "ok") != c.check
             or (c.check and not c.message.startswith(f"NotImplementedError: Ejercicio {c.exercise}:"))]
    assert not wrong, f"{path.name}: celdas que fallan donde no deben o por otro motivo: {wrong}"
    assert "BEGIN SOLUTION" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_its_lesson_links_to_it(path):
    lessons = sorted(release.STUDENT_DIR.parent.glob(f"{path.name[:2]}-*.ipynb"))
    assert lessons, f"No hay lección {path.name[:2]} en notebooks/"
    text = "\n".join(c.source for c in nbformat.read(lessons[0], as_version=4).cells if c.cell_type == "markdown")
    assert f"(ejercicios/{path.name})" in text, f"{lessons[0].name} no enlaza con ejercicios/{path.name}"


IN_CLASS = {"5.1"}  # el único en clase (10-12 min); 7.1 y 4.3, los otros de la guía, para casa
FOR_HOME = {"7.1", "4.3"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_exercise_has_level_time_points_and_the_header_shows_student_commands(path):
    nb = nbformat.read(path, as_version=4)
    header = nb.cells[0].source
    command = f"python -m lab check notebooks/ejercicios/{path.name}"
    assert command in header and header.index(command) < header.index("make check"), \
        "la cabecera debe mostrar primero la orden python -m lab (en Windows no hay make)"
    assert "make grade" not in header
    for exercise in exercises_of(nb):
        assert exercise.level in ("básico", "medio", "avanzado") and exercise.minutes, exercise.id
        heading = next(c.source for c in nb.cells if c.cell_type == "markdown" and exercise_of(c) == exercise.id)
        label = next(line for line in heading.splitlines() if line.startswith("*Nivel:"))
        assert f" {exercise.points:g} punto" in label, f"{exercise.id}: la etiqueta no dice sus puntos"
        assert ("**en clase**" in label) == (exercise.id in IN_CLASS), exercise.id
        assert ("para casa" in label) == (exercise.id in FOR_HOME), exercise.id
        if exercise.id in IN_CLASS | FOR_HOME:  # los de la guía: pistas progresivas; la primera va a la devolución
            statement = next(c.source for c in nb.cells if c.cell_type == "markdown" and exercise_of(c) == exercise.id)
            assert exercise.hint and statement.count("<summary>Pista ") >= 2, f"{exercise.id}: sin pistas progresivas"
        assert re.search(r"unos \d+–\d+ min", label), f"{exercise.id}: el tiempo va como un rango («unos 10–12 min»)"
        assert f"| {exercise.id} " in header, f"{exercise.id} no está en la tabla de la cabecera"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_visible_check_first_asks_for_its_answer_and_ends_with_one_passed_line(path):
    """``answered("N.M", ...)`` antes de nada (sin respuesta: «falta tu solución») y un ``print("✅ ...")`` al final."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if not is_check(cell):
            continue
        exercise = exercise_of(cell)
        code = [line for line in cell.source.splitlines() if line and not line.startswith(("#", "from ", "import "))]
        assert code[0].startswith(f'answered("{exercise}", '), f"{exercise}: la comprobación empieza por {code[0]!r}"
        assert re.fullmatch(rf'print\("✅ Comprobación {re.escape(exercise)}( [a-z])?: correcta"\)', code[-1]), \
            f"{exercise}: la comprobación acaba en {code[-1]!r}"
        assert cell.source.count("✅ Comprobación") == 1


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_errors_show_in_one_line_and_every_failed_check_says_why(path):
    """``%xmode Minimal`` en la preparación (como las lecciones con errores a propósito) y la cabecera lo dice.

    Sin traza, lo único que se ve de un ``assert`` que falla es su mensaje: ninguno va sin él.
    """
    nb = nbformat.read(path, as_version=4)
    preparation = next(c for c in nb.cells if c.cell_type == "code")
    assert "%xmode Minimal" in preparation.source.splitlines(), f"{path.name}: la preparación no pone %xmode Minimal"
    assert "`%xmode Minimal`" in nb.cells[0].source and "`%xmode Context`" in nb.cells[0].source, \
        f"{path.name}: la cabecera no dice que los errores van en una línea ni cómo ver la traza entera"
    bare = []
    for cell in nb.cells:
        if is_check(cell):
            tree = ast.parse(TransformerManager().transform_cell(cell.source))
            bare += [f"{exercise_of(cell)}: {ast.unparse(node)[:80]}" for node in ast.walk(tree)
                     if isinstance(node, ast.Assert) and node.msg is None]
    assert not bare, f"{path.name}: assert sin mensaje (con %xmode Minimal solo diría «AssertionError»): {bare}"


def test_in_class_checks_fit_on_a_projector():
    """En clase, tras ejecutar la comprobación se ve su resultado: pocas líneas; la lógica, en lab.course.expect."""
    for path in SOURCES:
        for cell in nbformat.read(path, as_version=4).cells:
            if exercise_of(cell) in IN_CLASS and is_check(cell) and "comprobacion" in cell.metadata.get("tags", []):
                code = [line for line in cell.source.splitlines()
                        if line.strip() and not line.lstrip().startswith(("#", "from ", "import "))]
                assert len(code) <= 5 and len(cell.source.splitlines()) <= 10, \
                    f"{exercise_of(cell)}: la comprobación tiene {len(code)} líneas de código; en el proyector no cabe"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_hidden_checks_never_reach_the_student_version(path):
    source = nbformat.read(path, as_version=4)
    hidden = [c for c in source.cells if "comprobacion-oculta" in c.metadata.get("tags", [])]
    student = release.make_student(source)
    assert not any("comprobacion-oculta" in c.metadata.get("tags", []) for c in student.cells)
    assert not any(c.source in {h.source for h in hidden} for c in student.cells)


@pytest.mark.parametrize("solved", [False, True], ids=["sin-resolver", "resuelto"])
def test_nbval_lax_fails_at_the_checks_when_unsolved_and_passes_when_solved(solved, tmp_path):
    """``pytest --nbval-lax notebooks/ejercicios/NN-....ipynb``, como dice la cabecera del cuaderno."""
    source_path = release.SOURCE_DIR / "03-Bucle-del-worker.ipynb"
    source = nbformat.read(source_path, as_version=4)
    student = release.make_student(source)
    path = tmp_path / source_path.name
    nbformat.write(fill_answers(student, source) if solved else student, path)
    env = dict(os.environ, IPYTHONDIR=str(release.ROOT / "tests" / "ipython"))
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
                           "-o", "addopts=", str(path)], cwd=release.ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    if solved:
        assert done.returncode == 0, done.stdout[-2000:]
    else:
        assert done.returncode == 1 and "NotImplementedError: Ejercicio 3.1" in done.stdout, done.stdout[-2000:]
        checks = sum(is_check(c) for c in student.cells)
        assert f"{checks} failed" in done.stdout, done.stdout[-500:]
