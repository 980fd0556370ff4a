"""Barra de navegación de los cuadernos: la genera este script, nunca se escribe a mano.

Cada cuaderno ``notebooks/NN-Titulo.ipynb`` lleva una celda Markdown con la etiqueta
``nav`` al principio y otra al final: ``← anterior | Índice | siguiente →``. Los títulos
salen del primer encabezado ``#`` de cada cuaderno.

Uso::

    python -m lab.course.nav            # reescribe las barras
    python -m lab.course.nav --check    # termina con error si alguna barra está desfasada (lo usa CI)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from lab.course import NOTEBOOKS_DIR


NAV_TAG = "nav"
INDEX_NAME = "00-Indice.ipynb"
_NAME = re.compile(r"^\d\d-[A-Za-z0-9-]+\.ipynb$")


def lesson_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Los cuadernos numerados de la sesión, en orden (``NN-Titulo.ipynb``)."""
    return sorted(p for p in folder.glob("*.ipynb") if _NAME.match(p.name))


def title_of(notebook: nbformat.NotebookNode, path: Path) -> str:
    """El texto del primer encabezado ``#`` del cuaderno (o su nombre de fichero si no tiene)."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and NAV_TAG not in cell.metadata.get("tags", []):
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return path.stem


def nav_markdown(paths: list[Path], titles: dict[Path, str], current: Path) -> str:
    """El texto de la barra para ``current``: enlaces al anterior, al índice y al siguiente."""
    i = paths.index(current)
    parts = []
    if i > 0:
        parts.append(f"[← {titles[paths[i - 1]]}]({paths[i - 1].name})")
    if current.name != INDEX_NAME and paths[i - 1].name != INDEX_NAME:
        parts.append(f"[Índice]({INDEX_NAME})")
    if i + 1 < len(paths):
        parts.append(f"[{titles[paths[i + 1]]} →]({paths[i + 1].name})")
    return " | ".join(parts)


def _nav_cell(text: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text, id=cell_id)
    cell.metadata["tags"] = [NAV_TAG]
    return cell


def with_nav(notebook: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    """Una copia del cuaderno con exactamente dos barras: la primera y la última celda."""
    result = nbformat.from_dict(dict(notebook))
    cells = [c for c in notebook.cells if NAV_TAG not in c.metadata.get("tags", [])]
    result.cells = [_nav_cell(text, "nav-arriba"), *cells, _nav_cell(text, "nav-abajo")]
    return result


def update(folder: Path = NOTEBOOKS_DIR, check: bool = False) -> list[Path]:
    """Reescribe (o con ``check`` solo comprueba) las barras; devuelve los cuadernos desfasados."""
    paths = lesson_notebooks(folder)
    notebooks = {p: nbformat.read(p, as_version=4) for p in paths}
    titles = {p: title_of(nb, p) for p, nb in notebooks.items()}
    stale = []
    for path, notebook in notebooks.items():
        new = with_nav(notebook, nav_markdown(paths, titles, path))
        if new.cells == notebook.cells:
            continue
        stale.append(path)
        if not check:
            nbformat.write(new, path)
    return stale


def command(args: argparse.Namespace) -> int:
    """La orden ``nav``; devuelve el código de salida."""
    stale = update(args.dir, check=args.check)
    for path in stale:
        verb = "desfasada en" if args.check else "actualizada en"
        print(f"Barra de navegación {verb} {path.name}")
    if args.check and stale:
        print("Ejecuta `python -m lab nav` para regenerarlas.", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m lab nav`` es un alias de ``python -m lab nav``."""
    from lab.__main__ import main as lab_main

    return lab_main(["nav", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
