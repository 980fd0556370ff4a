"""Genera los cuadernos de ejercicios del alumnado a partir de los del profesorado.

La fuente única de cada cuaderno de ejercicios está en ``ejercicios/soluciones/`` y
marca las soluciones al estilo de nbgrader::

    def speedup(t_serie, t_paralelo):
        ### BEGIN SOLUTION
        return t_serie / t_paralelo
        ### END SOLUTION

La versión del alumnado (``notebooks/ejercicios/``) sustituye cada región por un
``raise NotImplementedError("Ejercicio 5.1: ...")`` con la misma sangría, quita las celdas
etiquetadas ``solucion``, borra salidas y contadores de ejecución, marca las comprobaciones
como no editables y se valida con nbformat. Etiquetas de celda que entiende este módulo (y ``lab.course.grade``):

- ``ejercicio:N.M``: la celda pertenece al ejercicio N.M (obligatoria si tiene una región).
- ``comprobacion``: celda de comprobación (``assert``) del ejercicio; nunca lleva solución.
- ``comprobacion-oculta``: comprobación que solo se ejecuta al corregir (``python -m lab grade``);
  la versión del alumnado no la lleva nunca.
- ``solucion``: celda que solo existe en la versión del profesorado.
- ``puntos:N``: los puntos del ejercicio (1 si no hay; ver ``lab.course.rebuild``).

Uso: ``python -m lab.course.release`` (escribe) o ``python -m lab.course.release --check`` (sale con
código 1 si algún cuaderno del alumnado no está al día). Los errores de autoría se
señalan con ``ReleaseError``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lab import PROJECT_DIR
from lab.course import SOURCE_DIR, STUDENT_DIR
from lab.course.fingerprint import ANSWER, CHECK, INSTRUCTOR, KEY, fingerprint, notebook_id_of
from lab.errors import LabError

ROOT = PROJECT_DIR

EXERCISE_TAG = "ejercicio:"
CHECK_TAG = "comprobacion"
HIDDEN_TAG = "comprobacion-oculta"
SOLUTION_TAG = "solucion"

BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)#{2,}\s*BEGIN SOLUTION\s*$")
END_RE = re.compile(r"^[ \t]*#{2,}\s*END SOLUTION\s*$")
MARKER_RE = re.compile(r"(BEGIN|END) SOLUTION")
MARKDOWN_STUB = "_Escribe aquí tu respuesta._"


class ReleaseError(LabError):
    """Un cuaderno de soluciones está mal marcado y no se puede generar su versión del alumnado."""


def exercise_of(cell: dict) -> str | None:
    """El id del ejercicio de una celda (etiqueta ``ejercicio:N.M``) o ``None`` si no tiene."""
    for tag in cell.get("metadata", {}).get("tags", []):
        if tag.startswith(EXERCISE_TAG) and tag[len(EXERCISE_TAG):].strip():
            return tag[len(EXERCISE_TAG):].strip()
    return None


def is_check(cell: dict) -> bool:
    """``True`` si la celda es una celda de comprobación (etiqueta ``comprobacion``)."""
    return CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def stub_message(exercise: str) -> str:
    """El mensaje del ``NotImplementedError`` que sustituye a la solución del ejercicio."""
    return f"Ejercicio {exercise}: falta tu solución; escríbela en lugar de esta línea."


def strip_regions(source: str, exercise: str | None, *, markdown: bool = False,
                  where: str = "la celda") -> tuple[str, list[int]]:
    """Sustituye cada región ``BEGIN/END SOLUTION`` de ``source`` por su esqueleto.

    Devuelve el texto nuevo y los números de línea (desde 1) de cada ``raise`` insertado.
    Lanza ``ReleaseError`` si las marcas no están emparejadas o falta el id del ejercicio.
    """
    if not MARKER_RE.search(source):
        return source, []
    out: list[str] = []
    stub_lines: list[int] = []
    indent: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin, end = BEGIN_RE.match(line), END_RE.match(line)
        if begin:
            if indent is not None:
                raise ReleaseError(f"{where}: la línea {number} abre una región de solución dentro de otra.")
            indent = begin.group("indent")
            if markdown:
                out.append(MARKDOWN_STUB)
            else:
                if exercise is None:
                    raise ReleaseError(f"{where} tiene una región de solución pero no la etiqueta "
                                       f"'{EXERCISE_TAG}N.M' que nombra el ejercicio.")
                out.append(f"{indent}# Tu código aquí.")
                out.append(f"{indent}raise NotImplementedError({stub_message(exercise)!r})")
                stub_lines.append(len(out))
        elif end:
            if indent is None:
                raise ReleaseError(f"{where}: la línea {number} cierra una región de solución que no se abrió.")
            indent = None
        elif indent is None:
            out.append(line)
        elif MARKER_RE.search(line):
            raise ReleaseError(f"{where}: la línea {number} tiene una marca de solución mal escrita.")
    if indent is not None:
        raise ReleaseError(f"{where}: falta '### END SOLUTION' para cerrar la región de solución.")
    return "\n".join(out) + ("\n" if source.endswith("\n") else ""), stub_lines


def _python_source(source: str) -> str:
    """El código de una celda con la sintaxis de IPython (``%magia``, ``!orden``) traducida a Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython viene con jupyterlab
        return source
    return TransformerManager().transform_cell(source)


def check_stubs_in_functions(source: str, stub_lines: list[int], where: str) -> None:
    """Comprueba que cada ``raise`` insertado queda dentro de una función.

    Así la celda del alumnado solo define cosas y únicamente fallan las celdas de
    comprobación que las llaman. Lanza ``ReleaseError`` si no es así o si el código
    resultante no es Python válido.
    """
    try:
        tree = ast.parse(_python_source(source))
    except SyntaxError as exc:
        raise ReleaseError(f"{where}: la versión del alumnado no es Python válido "
                           f"(línea {exc.lineno}: {exc.msg}).") from None
    spans = [(node.lineno, node.end_lineno or node.lineno) for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for line in stub_lines:
        if not any(start < line <= end for start, end in spans):
            raise ReleaseError(f"{where}: la región de solución que acaba en la línea {line} de la versión "
                               f"del alumnado no está dentro de una función, así que esa celda fallaría al "
                               f"ejecutarse; métela en una función que llamen las celdas de comprobación.")


def make_student(nb: nbformat.NotebookNode, name: str = "el cuaderno") -> nbformat.NotebookNode:
    """Devuelve la versión del alumnado de un cuaderno de soluciones (el original no cambia).

    Guarda en sus metadatos la huella de lo publicado (``lab.course.fingerprint``), con el id
    del cuaderno sacado de ``name`` (``05-....ipynb``). Lanza ``ReleaseError`` si el cuaderno está
    mal marcado: regiones sin cerrar o fuera de una función, celdas de comprobación con solución,
    ejercicios sin comprobación...
    """
    student = copy.deepcopy(nb)
    cells = []
    roles: dict[int, tuple[str, str | None]] = {}
    with_solution: set[str] = set()
    checked: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"{name}, celda {index}"
        tags = cell.get("metadata", {}).get("tags", [])
        exercise = exercise_of(cell)
        if SOLUTION_TAG in tags:
            if is_check(cell):
                raise ReleaseError(f"{where} tiene a la vez las etiquetas '{SOLUTION_TAG}' y '{CHECK_TAG}'.")
            continue
        if HIDDEN_TAG in tags:
            if exercise is None:
                raise ReleaseError(f"{where} es una comprobación oculta pero no tiene la etiqueta '{EXERCISE_TAG}N.M'.")
            if MARKER_RE.search(cell.source):
                raise ReleaseError(f"{where} es una comprobación oculta y no puede llevar regiones de solución.")
            continue  # solo existe al corregir
        new = copy.deepcopy(cell)
        if cell.cell_type in ("code", "markdown"):
            source, stubs = strip_regions(cell.source, exercise, markdown=cell.cell_type == "markdown",
                                          where=where)
            if source != cell.source and is_check(cell):
                raise ReleaseError(f"{where} es de comprobación y no puede llevar regiones de solución.")
            if stubs:
                check_stubs_in_functions(source, stubs, where)
                with_solution.add(exercise)  # type: ignore[arg-type]
            new.source = source
        if is_check(cell):
            if exercise is None:
                raise ReleaseError(f"{where} es de comprobación pero no tiene la etiqueta '{EXERCISE_TAG}N.M'.")
            checked.add(exercise)
        if new.cell_type == "code":
            new.outputs = []
            new.execution_count = None
        for key in ("execution", "collapsed", "scrolled"):
            new.metadata.pop(key, None)
        if is_check(cell):  # JupyterLab no deja editar ni borrar las comprobaciones por descuido
            new.metadata.update(editable=False, deletable=False)
        answer = new.cell_type == "code" and new.source != cell.source
        roles[len(cells)] = (CHECK if is_check(cell) else ANSWER if answer else INSTRUCTOR, exercise)
        cells.append(new)
    missing = sorted(with_solution - checked)
    if missing:
        raise ReleaseError(f"{name}: el ejercicio {', '.join(missing)} tiene solución pero ninguna celda "
                           f"de comprobación.")
    student.cells = cells
    student.metadata.pop("widgets", None)
    student.metadata[KEY] = fingerprint(cells, roles, notebook_id_of(name))
    leaked = [i for i, c in enumerate(cells) if MARKER_RE.search(c.source)]
    if leaked:
        raise ReleaseError(f"{name}: quedan marcas de solución en las celdas {leaked} de la versión del alumnado.")
    nbformat.validate(student)
    return student


def render(nb: nbformat.NotebookNode) -> str:
    """El texto exacto con que se guarda un cuaderno (JSON de nbformat con salto de línea final)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


@dataclass
class Outcome:
    """Lo que pasó con un cuaderno del alumnado: escrito, igual, desfasado, sobrante o ajeno."""

    path: Path
    status: str
    detail: str = ""


def _committed_text(path: Path) -> str | None:
    """El contenido de ``path`` en el último commit de git, o ``None`` si no hay git o no está."""
    try:
        rel = path.resolve().relative_to(ROOT)
        done = subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{rel.as_posix()}"],
                              capture_output=True, text=True, encoding="utf-8", timeout=30)
    except (ValueError, OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _untracked(path: Path) -> bool:
    """``True`` si git dice que ``path`` no está versionado (p. ej. un cuaderno nuevo del alumnado)."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--error-unmatch", str(path.resolve())],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 1


def release(src: Path = SOURCE_DIR, dest: Path = STUDENT_DIR, *, check: bool = False,
            use_git: bool = True) -> list[Outcome]:
    """Genera (o con ``check=True`` solo compara) los cuadernos del alumnado de ``src`` en ``dest``.

    En modo comprobación un cuaderno vale si coincide con lo generado, o si difiere solo
    en la copia de trabajo pero la versión de git (``HEAD``) coincide: es lo normal cuando
    un estudiante ya ha hecho los ejercicios. Los ``.ipynb`` de ``dest`` sin fuente son
    ``sobrante`` (en modo comprobación, salvo que git diga que no están versionados: son
    ``ajeno``). Lanza ``ReleaseError`` si una fuente está mal marcada.
    """
    src, dest = Path(src), Path(dest)
    sources = sorted(src.glob("*.ipynb"))
    if not sources:
        raise ReleaseError(f"No hay cuadernos .ipynb en {src}: generar los cuadernos del alumnado es cosa de la copia "
                           f"del profesorado (en la del alumnado ya están en notebooks/ejercicios/).")
    outcomes = []
    for source in sources:
        text = render(make_student(nbformat.read(source, as_version=4), source.name))
        target = dest / source.name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            outcomes.append(Outcome(target, "igual"))
        elif check:
            if use_git and current is not None and _committed_text(target) == text:
                outcomes.append(Outcome(target, "igual", "modificado localmente; la versión de git está al día"))
            else:
                reason = "no existe" if current is None else "no coincide con su fuente"
                outcomes.append(Outcome(target, "desfasado", f"{reason} ({source.name}); ejecuta 'python -m lab student' (o 'make student')"))
        else:
            dest.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            outcomes.append(Outcome(target, "escrito"))
    names = {s.name for s in sources}
    for extra in sorted(dest.glob("*.ipynb")):
        if extra.name in names:
            continue
        if check and use_git and _untracked(extra):
            outcomes.append(Outcome(extra, "ajeno", "no está en git (¿un cuaderno propio?); se ignora"))
        else:
            outcomes.append(Outcome(extra, "sobrante", f"no hay {extra.name} en {src}"))
    return outcomes


def command(args: argparse.Namespace) -> int:
    """La orden ``student``; devuelve el código de salida."""
    try:
        outcomes = release(args.src, args.dest, check=args.check)
    except ReleaseError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        detail = f" — {outcome.detail}" if outcome.detail else ""
        print(f"{outcome.status:>9}  {outcome.path}{detail}")
    bad = [o for o in outcomes if o.status in ("desfasado", "sobrante")]
    if bad:
        print(f"{len(bad)} cuaderno(s) del alumnado desfasado(s): ejecuta 'python -m lab student' (o 'make student').", file=sys.stderr)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.course.release`` es un alias de ``python -m lab student``."""
    from lab.__main__ import main as lab_main

    return lab_main(["student", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
