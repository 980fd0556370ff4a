"""Cada enlace de cada cuaderno se abre en el JupyterLab que arranca ``make lab``.

El servidor se arranca con la misma carpeta raíz que la orden ``jupyter lab`` del objetivo ``lab``
del Makefile (``--ServerApp.root_dir``, o la raíz del repositorio si no la da). Un enlace local de
una celda de texto se resuelve como lo hace JupyterLab (relativo a la carpeta del cuaderno, sin
salir de la raíz del servidor) y JupyterLab lo abre pidiendo ``/api/contents/<ruta>`` y después el
documento: por eso cada destino debe existir (no 404) y ser un fichero, porque abrir una carpeta
desde un enlace da un diálogo de error. Además se descarga por ``/files/<ruta>``.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.browser.jlab_server import JupyterLabServer

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(path for path in (REPO / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)\s*=\s*[\"']([^\"']+)[\"']")

pytestmark = pytest.mark.timeout(180)


def make_lab_command() -> list[str]:
    """Las palabras de la orden ``jupyter lab`` de la receta ``lab:`` del Makefile."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "No encuentro el objetivo lab: en el Makefile"
    line = next((line for line in recipe.group(1).splitlines() if "jupyter" in line and " lab" in line), None)
    assert line, f"La receta de make lab no arranca jupyter lab:\n{recipe.group(1)}"
    return shlex.split(line.strip())


def make_lab_root() -> Path:
    """La carpeta raíz que sirve ``make lab`` (``--ServerApp.root_dir``; si no está, el repositorio)."""
    for word in make_lab_command():
        if word.startswith(("--ServerApp.root_dir=", "--ServerApp.notebook_dir=", "--notebook-dir=")):
            return (REPO / word.split("=", 1)[1]).resolve()
    return REPO


def local_links(path: Path) -> list[str]:
    """Los destinos locales (ni web ni anclas de la misma página) de las celdas de texto de ``path``."""
    links = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for match in LINK.finditer(cell.source):
            target = match.group(1) or match.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
                continue
            links.append(target)
    return links


def resolve(notebook: str, target: str) -> str:
    """La ruta (relativa a la raíz del servidor) que abre JupyterLab al pulsar ``target`` en ``notebook``."""
    clean = urllib.parse.unquote(target.split("#", 1)[0].split("?", 1)[0])
    return posixpath.normpath("/" + posixpath.join(posixpath.dirname(notebook), clean)).lstrip("/")


def test_resolve_is_relative_to_the_notebook_and_never_leaves_the_root():
    assert resolve("00-Indice.ipynb", "01-Filtros.ipynb#Objetivos") == "01-Filtros.ipynb"
    assert resolve("ejercicios/01.ipynb", "../01%20a.ipynb") == "01 a.ipynb"
    assert resolve("notebooks/00.ipynb", "../docs/glosario.md") == "docs/glosario.md"
    assert resolve("00.ipynb", "../docs/glosario.md") == "docs/glosario.md"  # por encima de la raíz, en la raíz


def test_the_notebooks_have_links_to_check():
    assert sum(len(local_links(path)) for path in NOTEBOOKS) >= 20


@pytest.fixture(scope="module")
def server():
    root = make_lab_root()
    with tempfile.TemporaryDirectory(prefix="lab-enlaces-") as work:
        lab = JupyterLabServer(root, Path(work))
        try:
            lab.start()
            yield lab
        finally:
            lab.stop()


def _get(server: JupyterLabServer, path: str) -> tuple[int, dict | None]:
    url = f"{server.base_url}/api/contents/{urllib.parse.quote(path)}?content=0"
    request = urllib.request.Request(url, headers={"Authorization": f"token {server.token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def _download(server: JupyterLabServer, path: str) -> int:
    url = f"{server.base_url}/files/{urllib.parse.quote(path)}"
    request = urllib.request.Request(url, headers={"Authorization": f"token {server.token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_make_lab_opens_a_notebook_that_exists(server):
    """Si ``make lab`` nombra un cuaderno (para abrirlo al arrancar), existe bajo la raíz que sirve."""
    for word in make_lab_command():
        named = re.search(r"([\w./-]+\.ipynb)", word)
        if named:
            path = named.group(1).split("lab/tree/", 1)[-1].lstrip("/")
            assert _get(server, path)[0] == 200, f"make lab abre {path}, que no existe en {server.root_dir}"


def test_every_notebook_link_opens_in_make_lab(server):
    root = server.root_dir.resolve()
    problems, checked = [], 0
    for notebook in NOTEBOOKS:
        if root not in notebook.parents:
            problems.append(f"{notebook.relative_to(REPO)}: fuera de la carpeta que sirve make lab ({root})")
            continue
        where = notebook.relative_to(root).as_posix()
        for target in local_links(notebook):
            path = resolve(where, target)
            status, model = _get(server, path)
            checked += 1
            if status != 200:
                problems.append(f"{where}: «{target}» → {path}: {status} en JupyterLab")
            elif model["type"] == "directory":
                problems.append(f"{where}: «{target}» es una carpeta: JupyterLab da un error al abrirla desde un "
                                "enlace (enlaza un fichero, p. ej. su README.md o un cuaderno)")
            elif (code := _download(server, path)) != 200:
                problems.append(f"{where}: «{target}» → /files/{path}: {code}")
    assert checked, "No se comprobó ningún enlace"
    assert not problems, f"{len(problems)} enlaces no se abren en make lab:\n" + "\n".join(problems)
