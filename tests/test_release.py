"""``lab.course.release``: de las soluciones del profesorado a los cuadernos del alumnado (sin kernel)."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lab.course import release
from lab.course.release import ReleaseError, make_student, strip_regions


def cell(source: str, exercise: str | None = None, *, check: bool = False, tags: tuple[str, ...] = (),
         markdown: bool = False):
    """Una celda con las etiquetas de ejercicio/comprobación que entiende ``lab.course.release``."""
    all_tags = list(tags) + ([f"ejercicio:{exercise}"] if exercise else []) + (["comprobacion"] if check else [])
    factory = new_markdown_cell if markdown else new_code_cell
    return factory(source, metadata={"tags": all_tags} if all_tags else {})


SOLVED_METHOD = '''class Pila:
    """Una pila."""

    def __init__(self):
        self.items = []

    def push(self, item):
        ### BEGIN SOLUTION
        self.items.append(item)
        return len(self.items)
        ### END SOLUTION
'''


def solution_notebook():
    solved = cell("def doble(x):\n    ### BEGIN SOLUTION\n    return 2 * x  # secreto-1\n    ### END SOLUTION",
                  "1.1")
    solved.outputs = [new_output("stream", name="stdout", text="hola\n")]
    solved.execution_count = 3
    return new_notebook(cells=[
        new_markdown_cell("# Ejercicios"),
        cell("### Ejercicio 1.1: doble", "1.1", markdown=True),
        solved,
        cell("assert doble(2) == 4, 'doble(2) debería ser 4'", "1.1", check=True),
        cell("print('secreto-2')", "1.1", tags=("solucion",)),
        cell("assert doble(21) == 42  # secreto-4", "1.1", tags=("comprobacion-oculta",)),
        cell(SOLVED_METHOD, "1.2"),
        cell("assert Pila().push(1) == 1", "1.2", check=True),
        cell("¿Por qué?\n### BEGIN SOLUTION\nPorque secreto-3.\n### END SOLUTION", "1.2", markdown=True),
    ])


def test_region_becomes_a_stub_at_the_same_indentation():
    source, stubs = strip_regions("def f():\n    x = 1\n    ### BEGIN SOLUTION\n    return x\n"
                                  "    ### END SOLUTION\n", "3.2")
    assert source == ("def f():\n    x = 1\n    # Tu código aquí.\n"
                      "    raise NotImplementedError('Ejercicio 3.2: falta tu solución; escríbela en lugar de "
                      "esta línea.')\n")
    assert stubs == [4]


def test_source_without_regions_is_left_byte_for_byte():
    assert strip_regions("x = 1  \n\n", None) == ("x = 1  \n\n", [])


def test_student_version_has_stubs_no_solution_text_and_no_outputs():
    source = solution_notebook()
    before = json.dumps(source, sort_keys=True)
    student = make_student(source, "prueba.ipynb")
    text = nbformat.writes(student)
    assert json.dumps(source, sort_keys=True) == before, "make_student no debe cambiar el original"
    for secret in ("secreto-1", "secreto-2", "secreto-3", "secreto-4", "comprobacion-oculta", "SOLUTION",
                   "self.items.append"):
        assert secret not in text
    assert len(student.cells) == len(source.cells) - 2
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "_Escribe aquí tu respuesta._" in student.cells[-1].source
    assert student.cells[3].metadata == {"tags": ["ejercicio:1.1", "comprobacion"], "editable": False,
                                         "deletable": False}
    assert "editable" not in student.cells[2].metadata
    nbformat.validate(student)


def test_student_cells_define_functions_that_raise_naming_the_exercise():
    student = make_student(solution_notebook())
    namespace: dict = {}
    exec(student.cells[2].source, namespace)  # la celda solo define: no debe fallar
    exec(student.cells[4].source, namespace)
    with pytest.raises(NotImplementedError, match="Ejercicio 1.1"):
        namespace["doble"](2)
    with pytest.raises(NotImplementedError, match="Ejercicio 1.2"):
        namespace["Pila"]().push(1)


def test_ipython_syntax_in_a_solution_cell_is_accepted():
    nb = new_notebook(cells=[cell("%load_ext autoreload\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n"
                                  "    ### END SOLUTION", "1.1"),
                             cell("assert f() == 1", "1.1", check=True)])
    assert "raise NotImplementedError" in make_student(nb).cells[0].source


@pytest.mark.parametrize("cells, message", [
    ([cell("def f():\n    ### BEGIN SOLUTION\n    return 1", "1.1")], "END SOLUTION"),
    ([cell("def f():\n    return 1\n    ### END SOLUTION", "1.1")], "no se abrió"),
    ([cell("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION", "1.1")], "dentro de otra"),
    ([cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")], "ejercicio:N.M"),
    ([cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "1.1"), cell("assert x", "1.1", check=True)],
     "no está dentro de una función"),
    ([cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "1.1")],
     "ninguna celda de comprobación"),
    ([cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "1.1", check=True)],
     "comprobación y no puede"),
    ([cell("assert True", check=True)], "no tiene la etiqueta"),
    ([cell("assert True", tags=("comprobacion-oculta",))], "oculta pero no tiene la etiqueta"),
    ([cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "1.1", tags=("comprobacion-oculta",))],
     "oculta y no puede llevar regiones"),
    ([cell("def f(:\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "1.1"),
      cell("f()", "1.1", check=True)], "no es Python válido"),
])
def test_badly_marked_sources_are_rejected_with_a_clear_message(cells, message):
    with pytest.raises(ReleaseError, match=message):
        make_student(new_notebook(cells=cells), "malo.ipynb")


def test_release_writes_then_check_detects_stale_missing_and_orphan_notebooks(tmp_path, capsys):
    src, dest = tmp_path / "soluciones", tmp_path / "alumnado"
    src.mkdir()
    nbformat.write(solution_notebook(), src / "01-Prueba.ipynb")
    assert [o.status for o in release.release(src, dest)] == ["escrito"]
    assert [o.status for o in release.release(src, dest, check=True, use_git=False)] == ["igual"]
    written = (dest / "01-Prueba.ipynb").read_text(encoding="utf-8")
    assert written == release.render(nbformat.read(dest / "01-Prueba.ipynb", as_version=4))

    changed = solution_notebook()
    changed.cells[0].source = "# Ejercicios (nueva versión)"
    nbformat.write(changed, src / "01-Prueba.ipynb")
    nbformat.write(solution_notebook(), src / "02-Otra.ipynb")
    (dest / "99-Huerfano.ipynb").write_text(written, encoding="utf-8")
    outcomes = release.release(src, dest, check=True, use_git=False)
    assert [(o.path.name, o.status) for o in outcomes] == [
        ("01-Prueba.ipynb", "desfasado"), ("02-Otra.ipynb", "desfasado"), ("99-Huerfano.ipynb", "sobrante")]
    assert (dest / "01-Prueba.ipynb").read_text(encoding="utf-8") == written, "--check no debe escribir"
    assert release.main(["--check", "--src", str(src), "--dest", str(dest)]) == 1
    assert "make student" in capsys.readouterr().err


def test_main_reports_authoring_errors_without_a_traceback(tmp_path, capsys):
    src = tmp_path / "soluciones"
    src.mkdir()
    nbformat.write(new_notebook(cells=[cell("def f():\n    ### BEGIN SOLUTION\n    pass", "1.1")]),
                   src / "01-Malo.ipynb")
    assert release.main(["--src", str(src), "--dest", str(tmp_path / "alumnado")]) == 2
    assert "01-Malo.ipynb, celda 0" in capsys.readouterr().err
    assert not (tmp_path / "alumnado").exists()


def test_check_accepts_a_locally_edited_copy_when_git_has_the_fresh_version(tmp_path, monkeypatch):
    src, dest = tmp_path / "soluciones", tmp_path / "alumnado"
    src.mkdir()
    nbformat.write(solution_notebook(), src / "01-Prueba.ipynb")
    release.release(src, dest)
    fresh = (dest / "01-Prueba.ipynb").read_text(encoding="utf-8")
    (dest / "01-Prueba.ipynb").write_text(fresh.replace("Tu código aquí.", "mi solución"), encoding="utf-8")
    (dest / "Untitled.ipynb").write_text(fresh, encoding="utf-8")
    monkeypatch.setattr(release, "_untracked", lambda path: path.name == "Untitled.ipynb")
    monkeypatch.setattr(release, "_committed_text", lambda path: fresh)
    assert [o.status for o in release.release(src, dest, check=True)] == ["igual", "ajeno"]
    monkeypatch.setattr(release, "_committed_text", lambda path: None)  # git no la tiene: desfasada
    assert [o.status for o in release.release(src, dest, check=True)] == ["desfasado", "ajeno"]
