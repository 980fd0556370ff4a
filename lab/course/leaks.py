"""¿Hay alguna respuesta en una copia del alumnado? Busca cada línea secreta en cada fichero.

Son *secretas* las líneas de las regiones ``### BEGIN/END SOLUTION``, de las celdas ``solucion``
y de las comprobaciones ocultas de ``ejercicios/soluciones/``, con al menos ``MIN_CHARS``
caracteres (sin contar los espacios), salvo las que el alumnado tiene de todos modos: las que
están en la versión publicada de los ejercicios (``from lab.course.expect import same``) y las del
paquete ``lab/``, que va igual en las dos copias (``except json.JSONDecodeError:`` no es una
respuesta). Se comparan con los espacios normalizados. En un cuaderno se mira el código y el
texto de sus celdas y de sus salidas (no el JSON, donde las comillas van escapadas); los ficheros
binarios se saltan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lab.course.release import BEGIN_RE, END_RE, HIDDEN_TAG, SOLUTION_TAG, exercise_of, make_student

#: Una línea más corta no cuenta (``return rows``, ``else:``): se repite en cualquier programa.
MIN_CHARS = 20


@dataclass(frozen=True)
class Leak:
    """Una línea secreta encontrada: en qué fichero, qué línea y de dónde es."""

    path: str
    line: str
    origin: str

    def __str__(self) -> str:
        return f"{self.path}: «{self.line}» ({self.origin})"


def _normal(line: str) -> str:
    return " ".join(line.split())


def _secret_cells(nb: nbformat.NotebookNode):
    """Pares (clase, líneas) de una fuente: regiones de solución, celdas ``solucion`` y comprobaciones ocultas."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if HIDDEN_TAG in tags or SOLUTION_TAG in tags:
            yield cell, ("comprobación oculta" if HIDDEN_TAG in tags else "celda de solución"), cell.source.splitlines()
            continue
        inside, lines = False, []
        for line in cell.source.splitlines():
            if BEGIN_RE.match(line) or END_RE.match(line):
                inside = bool(BEGIN_RE.match(line))
            elif inside:
                lines.append(line)
        if lines:
            yield cell, "solución", lines


def secret_lines(source_dir: Path, library_dir: Path) -> dict[str, str]:
    """Las líneas secretas de las fuentes (normalizadas) y de dónde es cada una: ``05-....ipynb, 5.1, solución``."""
    sources = {p: nbformat.read(p, as_version=4) for p in sorted(Path(source_dir).glob("*.ipynb"))}
    public = "\n".join(_normal(line) for p, nb in sources.items()
                       for cell in make_student(nb, p.name).cells for line in cell.source.splitlines())
    library = "\n".join(_normal(line) for path in sorted(Path(library_dir).rglob("*.py"))
                        for line in path.read_text(encoding="utf-8").splitlines())
    found: dict[str, str] = {}
    for path, nb in sources.items():
        for cell, kind, lines in _secret_cells(nb):
            for line in map(_normal, lines):
                if len(line) >= MIN_CHARS and line not in public and line not in library:
                    found.setdefault(line, f"{path.name}, {exercise_of(cell) or 'sin ejercicio'}, {kind}")
    return found


def readable_text(path: Path) -> str | None:
    """El texto de un fichero donde buscar: el de sus celdas y salidas si es un cuaderno; ``None`` si es binario."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    if path.suffix != ".ipynb":
        return text
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        return text
    parts = []
    for cell in nb.get("cells", []):
        parts.append(_joined(cell.get("source", "")))
        for output in cell.get("outputs", []):
            parts.append(_joined(output.get("text", "")))
            parts.extend(_joined(value) for value in output.get("data", {}).values() if isinstance(value, (str, list)))
    return "\n".join(parts)


def _joined(value: str | list) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def find_leaks(folder: Path, source_dir: Path, library_dir: Path) -> list[Leak]:
    """Cada línea secreta que aparece en algún fichero de ``folder`` (vacío si no hay fugas)."""
    secrets = secret_lines(source_dir, library_dir)
    leaks = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and ".git" not in p.parts):
        text = readable_text(path)
        if text is None:
            continue
        normal = "\n".join(_normal(line) for line in text.splitlines())
        leaks.extend(Leak(path.relative_to(folder).as_posix(), line, origin)
                     for line, origin in secrets.items() if line in normal)
    return leaks
