"""Corrige una entrega: leerla, buscar su fuente, reconstruirla y ejecutarla en una carpeta propia.

Cada entrega se ejecuta en una carpeta de trabajo temporal y vacía (su ``TMPDIR`` o, con
sandbox, la de los sockets de su kernel, con un ``/tmp`` propio): los ficheros de un estudiante
nunca se cruzan con los de otro, un ``lab/`` falso junto a la entrega no puede tapar al paquete
de verdad, y el cuaderno reconstruido (con las comprobaciones ocultas) no se escribe donde el
kernel pueda leerlo: cada comprobación solo existe en el kernel mientras se ejecuta.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import nbformat

from lab.course.identify import identify, load_sources
from lab.course.rebuild import Unmatchable, exercises_of, rebuild
from lab.course.release import SOURCE_DIR
from lab.course.results import NotebookReport, not_delivered, summarize, ungradable
from lab.course.runner import Limits, first_line, run_cells


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Lee un cuaderno entregado; ``Unmatchable`` con una frase clara si no es un cuaderno válido."""
    if path.suffix != ".ipynb":
        raise Unmatchable(f"'{path.name}' no es un cuaderno de Jupyter (.ipynb).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Unmatchable(f"'{path.name}' no es texto UTF-8: no es un cuaderno.") from None
    if not text.strip():
        raise Unmatchable(f"'{path.name}' está vacío.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unmatchable(f"'{path.name}' no es JSON válido (línea {exc.lineno}: {exc.msg}).") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise Unmatchable(f"'{path.name}' es JSON pero no un cuaderno de Jupyter (no tiene 'cells').")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat lanza varios tipos según la versión
        raise Unmatchable(f"'{path.name}' no es un cuaderno válido ({first_line(str(exc))}).") from None
    if not isinstance(nb.get("cells"), list):
        raise Unmatchable(f"'{path.name}' no tiene una lista de celdas.")
    return nb


def grade_submission(path: str | Path, *, source: str | Path | None = None, source_dir: Path = SOURCE_DIR,
                     limits: Limits | None = None, hidden: bool = True, student: str = "",
                     label: str | None = None) -> NotebookReport:
    """Corrige el cuaderno ``path`` contra su fuente y devuelve su informe (nunca lanza por la entrega).

    ``source`` es la fuente con soluciones; si no se da, se busca en ``source_dir`` por el
    contenido del cuaderno (``lab.course.identify``), se llame como se llame.
    ``hidden=False`` no ejecuta las comprobaciones ocultas.
    """
    path, limits = Path(path), limits or Limits()
    label = label or str(path)
    source_path = Path(source) if source else find_source_of(path, source_dir)
    if source_path is None:
        return ungradable(label, f"no hay fuente para '{path.name}' en {source_dir}.", student=student)
    source_nb = nbformat.read(source_path, as_version=4)
    exercises = exercises_of(source_nb)
    if not path.exists():
        return not_delivered(label, exercises, student)
    try:
        rebuilt = rebuild(source_nb, read_submission(path), hidden=hidden, name=f"'{path.name}'")
    except Unmatchable as exc:
        return ungradable(label, str(exc), exercises, student)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="entrega-") as workdir:
        cells = run_cells(rebuilt, Path(workdir), limits)
    return summarize(rebuilt, cells, label, time.perf_counter() - start, student)


def find_source_of(path: Path, source_dir: Path) -> Path | None:
    """La fuente de la entrega ``path`` en ``source_dir``, por su contenido (o por su nombre si no se puede leer)."""
    try:
        nb = read_submission(path) if path.is_file() else None
    except Unmatchable:
        nb = None
    found = identify(nb, path.name, load_sources(source_dir))
    return found.path if found else None


def grade_notebook(path: str | Path, timeout: float = 30, *, source: str | Path | None = None,
                   hidden: bool = True) -> NotebookReport:
    """Atajo: corrige un cuaderno con ``timeout`` segundos por celda (la fuente se busca por su contenido)."""
    return grade_submission(path, source=source, limits=Limits(cell_timeout=timeout), hidden=hidden)
