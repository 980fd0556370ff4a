"""Los punteros de los cuadernos y la documentación al código de ``lab`` llevan a algo que existe.

Se leen las celdas de markdown de ``notebooks/**/*.ipynb`` y ``ejercicios/**/*.ipynb``, ``docs/*.md``,
``README.md`` y ``ejercicios/README.md``, y se comprueba (leyendo el código con ``ast``, sin importarlo):

- Cada ruta ``lab/...py`` o carpeta ``lab/.../`` entre comillas invertidas existe; también las
  hermanas que la siguen (```lab/filters/base.py`, `basic.py` y `pipeline.py```) y, en la tabla de
  ``README.md``, los ficheros de la fila de un paquete (``| `lab.workers` | `task.py` ...``).
- Cuando la frase nombra un identificador junto a la ruta, está definido en ese fichero (``def``,
  ``class`` o asignación a nivel de módulo, o método o atributo de una de sus clases):
  ```nombre` en `lab/x.py```, ```nombre` de `lab/x.py```, ```lab/x.py` (`nombre`, `otro`...)`` (los
  nombres con que empieza el paréntesis),
  ```nombre` (`lab/x.py`)`` y ```lab/x.py`: `Clase.método()```.
- Cada nombre con puntos (```lab.core.process_image```, ```lab.workers.RedisTaskQueue```) lleva a un
  módulo y a un nombre que ese módulo define o importa (salvo el logger ``lab.worker``).
"""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([*ROOT.glob("notebooks/**/*.ipynb"), *ROOT.glob("ejercicios/**/*.ipynb"), *ROOT.glob("docs/*.md"),
               ROOT / "README.md", ROOT / "ejercicios" / "README.md"])

NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?(?:\(\))?"            # nombre, Clase.método o función()
PATH = r"lab/[\w/]*?(?:\.py|/)"
LINK = r"(?:, | y | e | o |/)"                                 # entre elementos de una lista
SIBLINGS = rf"`(?P<path>{PATH})`(?P<siblings>(?:{LINK}`\w+\.py`)*)"
IN_FILE = rf"`(?P<name>{NAME})` (?:en|de|del) (?:la |el )?\**`(?P<path>{PATH})`"
FILE_PARENS = rf"`(?P<path>{PATH})`\** \((?P<names>`{NAME}`(?:{LINK}`{NAME}`)*)"
NAME_PARENS = rf"`(?P<name>{NAME})` \(`(?P<path>{PATH})`"
FILE_COLON = rf"`(?P<path>{PATH})`\**: (?:ábrela y busca )?(?P<names>`{NAME}`(?:{LINK}`{NAME}`)*)"
DOTTED = r"`(?P<dotted>lab(?:\.[A-Za-z_]\w*)+)(?:\(\))?`"
ROW = r"^\| `(?P<package>lab(?:\.\w+)*)` \|(?P<row>.*)$"


def texts(path: Path) -> list[str]:
    """Los textos de ``path`` con los saltos de línea como espacios: cada celda de markdown o el fichero entero."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        raw = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    else:
        raw = [path.read_text(encoding="utf-8")]
    return raw


def flat(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text)


def pointers(text: str) -> list[tuple[str, str | None]]:
    """``(ruta, identificador o None)`` por cada puntero de ``text`` (un identificador por entrada)."""
    found: list[tuple[str, str | None]] = []
    one_line = flat(text)
    for match in re.finditer(SIBLINGS, one_line):
        path = match["path"]
        found.append((path, None))
        folder = path.rpartition("/")[0]
        found += [(f"{folder}/{sibling}", None) for sibling in re.findall(r"`(\w+\.py)`", match["siblings"])]
    for pattern in (IN_FILE, NAME_PARENS):
        found += [(m["path"], m["name"]) for m in re.finditer(pattern, one_line)]
    for pattern in (FILE_PARENS, FILE_COLON):
        for match in re.finditer(pattern, one_line):
            found += [(match["path"], name) for name in re.findall(rf"`({NAME})`", match["names"])
                      if not name.startswith("lab.")]
    for match in re.finditer(ROW, text, re.MULTILINE):  # fila de una tabla: | `lab.workers` | `task.py` (`Task`) · ...
        folder = match["package"].replace(".", "/")
        for item in re.finditer(rf"`(?P<file>\w+\.py)`(?: \((?P<names>`{NAME}`(?:{LINK}`{NAME}`)*))?", match["row"]):
            path = f"{folder}/{item['file']}"
            found.append((path, None))
            found += [(path, name) for name in re.findall(rf"`({NAME})`", item["names"] or "")]
    return found


def dotted_names(text: str) -> list[str]:
    return [match["dotted"] for match in re.finditer(DOTTED, flat(text))]


@functools.lru_cache(maxsize=None)
def definitions(path: str, *, imports: bool = False) -> dict[str, set[str]]:
    """``{nombre: miembros}`` de lo definido en el módulo (con ``imports``, también lo importado)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names: dict[str, set[str]] = {}

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Assign):
            return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            return [node.target.id]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return [node.name]
        if imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        return []

    for node in tree.body:
        for name in targets(node):
            members = names.setdefault(name, set())
            if isinstance(node, ast.ClassDef):
                members.update(n for item in node.body for n in targets(item))
    return names


def is_defined(path: str, name: str) -> bool:
    """``name`` (``f``, ``f()``, ``Clase`` o ``Clase.método``) está definido en ``path``."""
    name = name.removesuffix("()")
    defined = definitions(path)
    if "." in name:
        owner, member = name.split(".", 1)
        return member in defined.get(owner, set())
    return name in defined or any(name in members for members in defined.values())


def module_file(module: str) -> str | None:
    for candidate in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"):
        if (ROOT / candidate).is_file():
            return candidate
    return None


def resolves(dotted: str) -> bool:
    """``lab.a.b`` lleva a un módulo y, lo que sobra, a un nombre (y un miembro) de ese módulo."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        path = module_file(".".join(parts[:cut]))
        if path is None:
            continue
        rest = parts[cut:]
        if not rest:
            return True
        defined = definitions(path, imports=True)
        if rest[0] not in defined:
            return False
        return len(rest) == 1 or (len(rest) == 2 and (rest[1] in defined[rest[0]] or not defined[rest[0]]))
    return False


def is_logger(dotted: str) -> bool:
    """``lab.worker`` no es un módulo sino el logger del que cuelgan los de los workers (``lab/workers/logs.py``)."""
    return f'"{dotted}"' in (ROOT / "lab" / "workers" / "logs.py").read_text(encoding="utf-8")


def test_the_extractor_finds_every_kind_of_pointer():
    text = ("Ver `save_image_atomic` en `lab/imagefiles/save.py` y **`lab/workers/logs.py`**: ábrela y busca\n"
            "`GUIDE_FORMAT` y `configure_logging`. `WorkerPool` (`lab/workers/pool.py`). El código:\n"
            "`lab/filters/base.py`, `basic.py` y `pipeline.py`; `lab/workers/queue.py` (`heartbeat`,\n"
            "`requeue_expired`); `lab/workers/base.py`: `BaseWorker.start()` es tu bucle; `lab/workers/redis/`.\n"
            "| `lab.workers` | `task.py` (`Task`, estados) · `stats.py` |\n")
    found = pointers(text)
    for expected in [("lab/imagefiles/save.py", "save_image_atomic"), ("lab/workers/logs.py", "GUIDE_FORMAT"),
                     ("lab/workers/logs.py", "configure_logging"), ("lab/workers/pool.py", "WorkerPool"),
                     ("lab/filters/basic.py", None), ("lab/filters/pipeline.py", None),
                     ("lab/workers/queue.py", "requeue_expired"), ("lab/workers/base.py", "BaseWorker.start()"),
                     ("lab/workers/redis/", None), ("lab/workers/task.py", "Task"), ("lab/workers/stats.py", None)]:
        assert expected in found, expected
    assert dotted_names("`lab.core.process_image` y `lab.workers.RedisTaskQueue`, `python -m lab.grade`") == [
        "lab.core.process_image", "lab.workers.RedisTaskQueue"]
    assert is_defined("lab/core.py", "process_image") and not is_defined("lab/core.py", "save_image_atomic")
    assert resolves("lab.core.save_image_atomic") and not resolves("lab.core.no_existe")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_pointers_into_the_code_resolve(doc):
    broken = []
    for text in texts(doc):
        for path, name in pointers(text):
            if not (ROOT / path).exists():
                broken.append(f"`{path}` no existe")
            elif name is not None and path.endswith(".py") and not is_defined(path, name):
                broken.append(f"`{name}` no está definido en `{path}`")
        broken += [f"`{dotted}` no lleva a nada" for dotted in dotted_names(text)
                   if not resolves(dotted) and not is_logger(dotted)]
    assert not broken, f"{doc.relative_to(ROOT)}, punteros rotos:\n" + "\n".join(broken)
