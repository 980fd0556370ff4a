"""``python -m lab release DEST``: la copia del alumnado no lleva respuestas y ``check`` funciona dentro de ella.

Se construye una vez por módulo (unos segundos). El test de ``check`` ejecuta el ``lab`` de la
copia (``PYTHONPATH=DEST``, desde DEST, donde no hay ``ejercicios/soluciones``): tres cuadernos,
un kernel cada uno.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lab.course import student_repo
from lab.course.leaks import find_leaks, secret_lines
from lab.course.rebuild import fill_answers
from lab.course.release import ROOT, SOURCE_DIR, ReleaseError, make_student
from lab.course.student_repo import MARKER, release_repo

NB08 = "08-Tareas-en-JSON.ipynb"


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("copia") / "alumnado"
    release_repo(folder)
    return folder


def test_the_release_has_what_a_student_needs_and_nothing_of_the_instructor(dest):
    assert not (dest / "ejercicios").exists() and not (dest / ".ci").exists()
    shipped_tests = [p.relative_to(dest).as_posix() for p in (dest / "tests").rglob("*") if p.is_file()]
    assert shipped_tests and all(p.startswith("tests/ipython/") for p in shipped_tests), shipped_tests
    for needed in ("Makefile", "install.py", "pyproject.toml", "environment.yml", "README.md", "lab/course/check.py",
                   "notebooks/00-Indice.ipynb", "images"):
        assert (dest / needed).exists(), needed
    exercises = sorted(p.name for p in (dest / "notebooks" / "ejercicios").glob("*.ipynb"))
    assert exercises == sorted(p.name for p in SOURCE_DIR.glob("*.ipynb"))
    for name in exercises:
        nb = nbformat.read(dest / "notebooks" / "ejercicios" / name, as_version=4)
        assert nb.metadata["lab"]["notebook"] == name.removesuffix(".ipynb")
        assert "BEGIN SOLUTION" not in nbformat.writes(nb)
    guide = (dest / "docs" / "profesorado.md").read_text(encoding="utf-8")
    assert "copia del alumnado" in guide and "Corregir" not in guide, "la guía solo va si se pide (--with-guide)"
    assert "Copia del alumnado" in (dest / "README.md").read_text(encoding="utf-8")
    assert json.loads((dest / MARKER).read_text(encoding="utf-8"))["guide"] is False


def test_no_line_of_any_solution_or_hidden_check_is_anywhere_in_the_release(dest):
    secrets = secret_lines(SOURCE_DIR, ROOT / "lab")
    assert len(secrets) > 100, "las líneas secretas son las de las 8 fuentes"
    assert find_leaks(dest, SOURCE_DIR, ROOT / "lab") == []


def test_the_search_finds_a_planted_line_in_a_lesson_a_test_or_an_output(dest, tmp_path):
    """Control: el test de arriba puede fallar."""
    secret = next(line for line, origin in secret_lines(SOURCE_DIR, ROOT / "lab").items() if "5.1, solución" in origin)
    copy = tmp_path / "copia"
    shutil.copytree(dest, copy)
    lesson = nbformat.read(copy / "notebooks" / "03-SimpleWorker.ipynb", as_version=4)
    lesson.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"    {secret}\n")]
    nbformat.write(lesson, copy / "notebooks" / "03-SimpleWorker.ipynb")
    (copy / "tests" / "test_x.py").write_text(f'RESPUESTA = """\n{secret}\n"""\n', encoding="utf-8")
    leaks = find_leaks(copy, SOURCE_DIR, ROOT / "lab")
    assert sorted(leak.path for leak in leaks) == ["notebooks/03-SimpleWorker.ipynb", "tests/test_x.py"]
    assert all("05-Varios-workers-y-speedup.ipynb, 5.1" in leak.origin for leak in leaks)


def test_a_leak_in_the_project_stops_the_release_and_dest_is_not_touched(tmp_path):
    root = tmp_path / "proyecto"
    for rel in student_repo.project_files(ROOT):
        if rel.startswith(("notebooks/", "lab/", "README.md", "Makefile")):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / rel, root / rel)
    secret = next(iter(secret_lines(SOURCE_DIR, ROOT / "lab")))
    (root / "README.md").write_text(f"# Curso\n\n```\n{secret}\n```\n", encoding="utf-8")
    with pytest.raises(ReleaseError, match="README.md"):
        release_repo(tmp_path / "alumnado", root=root)
    assert not (tmp_path / "alumnado").exists()


def test_a_release_is_redone_in_place_and_a_foreign_folder_is_refused(tmp_path):
    other = tmp_path / "otra"
    other.mkdir()
    (other / "notas.txt").write_text("mío", encoding="utf-8")
    with pytest.raises(ReleaseError, match="no está vacía"):
        release_repo(other)
    dest = tmp_path / "alumnado"
    release_repo(dest)
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (dest / "notebooks" / "99-Viejo.ipynb").write_text("{}", encoding="utf-8")
    marker = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    (dest / MARKER).write_text(json.dumps({**marker, "files": marker["files"] + ["notebooks/99-Viejo.ipynb"]}),
                               encoding="utf-8")
    release_repo(dest, with_guide=True)
    assert (dest / ".git" / "HEAD").is_file() and not (dest / "notebooks" / "99-Viejo.ipynb").exists()
    assert "Corregir" in (dest / "docs" / "profesorado.md").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("make") is None, reason="sin make")
def test_the_release_makefile_keeps_lab_and_check_and_says_why_test_is_gone(dest):
    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", *args], cwd=dest, capture_output=True, text=True, timeout=60)

    assert "jupyter lab" in make("-n", "lab").stdout
    assert "-m lab check notebooks/ejercicios/x.ipynb" in make("-n", "check", "NB=notebooks/ejercicios/x.ipynb").stdout
    for target in ("test", "grade", "student"):
        done = make(target)
        assert done.returncode == 2 and "no está en la copia del alumnado" in done.stdout, done.stdout + done.stderr
    assert "make grade" not in make("help").stdout


def test_check_runs_inside_the_release_without_the_instructor_source(dest, tmp_path):
    source = nbformat.read(SOURCE_DIR / NB08, as_version=4)
    released = nbformat.read(dest / "notebooks" / "ejercicios" / NB08, as_version=4)
    assert nbformat.writes(released) == nbformat.writes(make_student(source, NB08))
    solved = fill_answers(released, source)
    edited = fill_answers(released, source)
    check = next(c for c in edited.cells if "comprobacion" in c.metadata.get("tags", []))
    check.source = "pass"
    for name, nb in (("resuelto.ipynb", solved), ("editado.ipynb", edited)):
        nbformat.write(nb, tmp_path / name)  # fuera de la copia: llevan las respuestas
    env = {k: v for k, v in os.environ.items() if k not in ("LAB_PROJECT_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(dest)
    where = subprocess.run([sys.executable, "-c", "import lab, lab.course; print(lab.__file__); "
                            "print(lab.course.SOURCE_DIR.exists())"], cwd=dest, env=env, capture_output=True, text=True)
    assert where.stdout.split() == [str(dest / "lab" / "__init__.py"), "False"], where.stdout + where.stderr
    done = subprocess.run([sys.executable, "-m", "lab", "check", f"notebooks/ejercicios/{NB08}",
                           str(tmp_path / "resuelto.ipynb"), str(tmp_path / "editado.ipynb"), "--timeout", "60"],
                          cwd=dest, env=env, capture_output=True, text=True, timeout=600)
    tables = done.stdout.split("Cuaderno: ")[1:]
    assert done.returncode == 1 and len(tables) == 3, done.stdout + done.stderr
    unsolved, good, changed = tables
    assert "0 aprobado, 2 suspendido" in unsolved and unsolved.count("falta tu solución") >= 2
    assert "Pista 8.1: Aún falta tu solución" in unsolved
    assert "2 aprobado, 0 suspendido" in good and "3 de 3 puntos" in good
    assert "(cambiada): esta celda no es la que se publicó" in changed and "1 aprobado, 1 suspendido" in changed
    assert str(ROOT) not in done.stdout + done.stderr
    assert find_leaks(dest, SOURCE_DIR, ROOT / "lab") == [], "lo que check deja en la copia tampoco lleva respuestas"
