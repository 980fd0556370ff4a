"""La arquitectura de ``lab`` leída del código (AST): sin ciclos, el núcleo sin alas y una raíz pequeña.

- Sin ciclos de import a nivel de módulo (lo que se ejecuta al importar; los imports dentro de una
  función no cuentan para los ciclos).
- El núcleo del curso (``lab.filters``, ``lab.imagefiles``, ``lab.core``, ``lab.workers``) no importa,
  ni siquiera dentro de una función, las alas (``lab.course``, ``lab.bench``, ``lab.cli``, ``lab.room``,
  ``lab.__main__``) ni los módulos de los cuadernos (``lab.notebook``); la E/S de imágenes
  (``lab.imagefiles``) no importa los filtros.
- En la raíz de ``lab/`` hay como mucho 8 módulos además de ``__init__`` y ``__main__``.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"
CORE = ("lab.filters", "lab.imagefiles", "lab.core", "lab.workers")
WINGS = ("lab.course", "lab.bench", "lab.cli", "lab.__main__", "lab.notebook", "lab.room")
MAX_TOP_LEVEL = 8


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(LAB.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """Los módulos de ``lab`` que importa un ``import`` o ``from ... import``."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    if node.level:  # relativo: desde el paquete del módulo
        package = module if is_package(module) else module.rpartition(".")[0]
        base = package.split(".")[:len(package.split(".")) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source not in MODULES:
        return set()
    found = {f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in MODULES}
    if len(found) < len(node.names):  # algún nombre no es un submódulo: se importa el propio módulo
        found.add(source)
    return found


def _walk(body: list[ast.stmt], top_level: bool):
    """Los nodos de import de ``body``; con ``top_level`` no entra en funciones ni en ``if TYPE_CHECKING``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif top_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif top_level and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _walk(node.orelse, top_level)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _walk([n for n in getattr(node, field, []) if isinstance(n, ast.AST)], top_level)


def imports(module: str, *, top_level: bool) -> set[str]:
    """Los módulos de ``lab`` que importa ``module`` (solo al importarse, o también dentro de funciones)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _walk(tree.body, top_level):
        found |= _targets(module, node)
    found.discard(module)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Las componentes fuertemente conexas de más de un módulo (Tarjan): cada una es al menos un ciclo."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_parser_sees_the_imports_it_should():
    assert "lab.filters.base" in imports("lab.filters.basic", top_level=True)
    assert "lab.notebook.analysis" in imports("lab.notebook.plots", top_level=True)     # from lab.notebook import x
    assert "lab.course.commands" in imports("lab.__main__", top_level=True)             # from lab.course import x as y
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_at_module_level():
    graph = {module: imports(module, top_level=True) for module in MODULES}
    assert cycles(graph) == [], "ciclos de import (cada lista es un grupo de módulos que se importan en círculo)"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if within(m, CORE)))
def test_core_imports_no_wing_and_no_notebook_helper(module):
    bad = sorted(m for m in imports(module, top_level=False) if within(m, WINGS))
    assert not bad, f"{module} (núcleo del curso) importa {bad}: el núcleo no depende de las alas ni de lab.notebook"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if within(m, ("lab.imagefiles",))))
def test_image_io_imports_no_filter_module(module):
    bad = sorted(m for m in imports(module, top_level=False) if within(m, ("lab.filters",)))
    assert not bad, f"{module} importa {bad}: los modos de imagen viven en lab/imagefiles/modes.py"


def test_lab_top_level_holds_the_course_core_only():
    top = sorted(path.stem for path in LAB.glob("*.py") if path.stem not in ("__init__", "__main__"))
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} módulos en la raíz de lab/ (máximo {MAX_TOP_LEVEL}): {top}"


def test_importing_the_core_loads_no_wing():
    code = ("import sys, lab.core, lab.filters, lab.imagefiles.save, lab.workers\n"
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('lab.'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            check=True, timeout=60).stdout.split()
    assert [m for m in loaded if within(m, WINGS)] == []


# --- Lo que importan los cuadernos -------------------------------------------------------------

NOTEBOOKS = sorted([*ROOT.glob("notebooks/**/*.ipynb"), *ROOT.glob("ejercicios/**/*.ipynb")])
#: Los módulos que un cuaderno puede importar: la API de la guía, los errores, las imágenes de ejemplo,
#: los módulos de los cuadernos y las comprobaciones de los ejercicios.
PUBLIC = ("lab", "lab.core", "lab.filters", "lab.workers", "lab.workers.redis", "lab.errors", "lab.images",
          "lab.course.expect", "lab.room")
IMPORT_RE = re.compile(r"^\s*from\s+(lab(?:\.\w+)*)\s+import\s+\(?([\w\s,]+?)\)?\s*(?:#.*)?$", re.MULTILINE)


def declared_all(module: str) -> list[str] | None:
    """El ``__all__`` de un módulo de ``lab`` (leído del AST), o ``None`` si no lo declara."""
    for node in ast.parse(MODULES[module].read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def notebook_imports() -> list[tuple[str, str, str]]:
    """``(cuaderno, módulo, nombre)`` por cada ``from lab... import nombre`` de las celdas de código."""
    found = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            for match in IMPORT_RE.finditer("".join(cell["source"])):
                for name in match.group(2).replace("\n", " ").split(","):
                    if name.strip():
                        found.append((str(path.relative_to(ROOT)), match.group(1), name.split(" as ")[0].strip()))
    return found


def test_notebooks_import_public_names_only():
    imported = notebook_imports()
    assert len(imported) > 100 and ("notebooks/02-Cola-de-tareas.ipynb", "lab.workers", "audit_tasks") in imported
    bad = []
    for notebook, module, name in imported:
        public = declared_all(module) if module in MODULES else None
        if not within(module, ("lab.notebook",)) and module not in PUBLIC:
            bad.append(f"{notebook}: from {module} import {name} (módulo interno)")
        elif name.startswith("_") or (public is not None and name not in public and f"{module}.{name}" not in MODULES):
            bad.append(f"{notebook}: from {module} import {name} (no está en {module}.__all__)")
        elif name == "FilterPipeline" and module != "lab.core":
            bad.append(f"{notebook}: from {module} import FilterPipeline (la guía lo importa de lab.core)")
    assert bad == []
