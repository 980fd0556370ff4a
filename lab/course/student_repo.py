"""``python -m lab release DEST``: el repositorio del alumnado, sin ninguna respuesta.

Copia el proyecto (los ficheros que sigue git o, sin git, los de la carpeta sin entornos ni
salidas) con lo que el alumnado necesita: lecciones, ejercicios, el paquete ``lab``, ``make lab``
y ``python -m lab check``. Se quedan fuera ``ejercicios/`` (soluciones y comprobaciones ocultas),
``tests/`` (salvo ``tests/ipython/``, la configuración de IPython de los kernels) y ``.ci/``; la
guía del profesorado solo va con ``--with-guide`` (si no, en su sitio hay una nota, para que el
enlace del índice no se rompa). Los cuadernos de ``notebooks/ejercicios/`` se generan de nuevo
desde sus fuentes (con su huella, ``lab.course.fingerprint``), los demás cuadernos van sin
salidas, el ``Makefile`` pierde las órdenes de tests y del profesorado (dicen por qué) y el
``README.md`` empieza diciendo qué copia es.

Todo se escribe primero en una carpeta temporal junto a DEST y se buscan en ella las líneas de
las soluciones y de las comprobaciones ocultas (``lab.course.leaks``): si aparece alguna, DEST
no se toca. DEST debe no existir, estar vacía o ser una copia anterior (tiene ``MARKER``): de esa
se borran solo los ficheros que escribió la anterior (su ``.git``, por ejemplo, se queda).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from lab import __version__
from lab.course.leaks import find_leaks
from lab.course.release import ROOT, SOURCE_DIR, STUDENT_DIR, ReleaseError, make_student, render

#: Lo que no va en la copia del alumnado (prefijos de ruta), salvo lo de ``KEPT``.
LEFT_OUT = ("ejercicios/", "tests/", ".ci/", ".github/")
KEPT = ("tests/ipython/",)
GUIDE = "docs/profesorado.md"
#: El fichero con el que una copia recuerda qué escribió (para poder rehacerla encima).
MARKER = ".copia-del-alumnado.json"
#: Órdenes de make que en la copia del alumnado solo dicen por qué no están.
INSTRUCTOR_TARGETS = ("test", "test-fast", "test-browser", "student", "grade", "nav")
_IGNORED = {".git", ".venv", "output", "build", "__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints",
            "test-artifacts"}
GUIDE_NOTE = """# Guía del profesorado

Esta es la copia del alumnado del curso (generada con `python -m lab release`): la guía del profesorado
no va en ella. Para comprobar un cuaderno de ejercicios:
`python -m lab check notebooks/ejercicios/NN-....ipynb` (o `make check NB=...`).
"""
README_NOTE = ("> **Copia del alumnado** (generada con `python -m lab release`): lleva las lecciones, los ejercicios y el "
               "paquete `lab`, sin las soluciones, las comprobaciones ocultas ni los tests. Empieza con `make lab`; "
               "comprueba un ejercicio con `python -m lab check notebooks/ejercicios/NN-....ipynb` (o `make check "
               "NB=...`). Las menciones a `ejercicios/soluciones/`, `make test`, `make grade` y `make student` son "
               "de la copia del profesorado.\n")


def project_files(root: Path = ROOT) -> list[str]:
    """Las rutas (relativas, con ``/``) de los ficheros del proyecto: las que sigue git o, sin git, las de la carpeta."""
    try:
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        done = None
    if done is not None and done.returncode == 0 and done.stdout:
        return sorted(p for p in done.stdout.decode("utf-8").split("\0") if p and (root / p).is_file())
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and not any(part in _IGNORED or part.endswith(".egg-info") or part.startswith(".venv")
                              for part in p.relative_to(root).parts))


def untracked_files(root: Path = ROOT) -> list[str]:
    """Los ficheros nuevos que git aún no sigue (ni ignora): no van en la copia, y conviene saberlo."""
    try:
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--others", "--exclude-standard"],
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(p for p in done.stdout.decode("utf-8").split("\0") if p) if done.returncode == 0 else []


def student_files(files: list[str], with_guide: bool = False) -> list[str]:
    """Los ficheros de ``files`` que van en la copia del alumnado (sin los de ``notebooks/ejercicios/``, que se generan)."""
    student_dir = STUDENT_DIR.relative_to(ROOT).as_posix() + "/"
    return [f for f in files if (not f.startswith(LEFT_OUT) or f.startswith(KEPT)) and not f.startswith(student_dir)
            and (with_guide or f != GUIDE)]


def student_makefile(text: str) -> str:
    """El ``Makefile`` del alumnado: sin las recetas de ``INSTRUCTOR_TARGETS`` ni sus comentarios y líneas de ayuda."""
    out: list[str] = []
    comments: list[str] = []
    skipping = False
    for line in text.splitlines():
        rule = re.match(r"^([A-Za-z][\w-]*)\s*:(?!=)", line)
        if rule:
            skipping = rule.group(1) in INSTRUCTOR_TARGETS
            out.extend([] if skipping else comments)
            comments = []
            if not skipping:
                out.append(line)
        elif skipping and (line.startswith("\t") or not line.strip()):
            continue
        elif line.startswith("#"):
            comments.append(line)
            skipping = False
        else:
            skipping = False
            if any(f'@echo "make {t} ' in line or f'@echo "make {t}"' in line for t in INSTRUCTOR_TARGETS):
                continue
            out.extend(comments)
            comments = []
            out.append(line)
    out.extend(comments)
    names = " ".join(INSTRUCTOR_TARGETS)
    out += ["", "# Copia del alumnado (python -m lab release): sin tests ni herramientas del profesorado.",
            f"{names}:",
            '\t@echo "make $@ no está en la copia del alumnado: los tests y la corrección van con la del profesorado."; \\',
            '\techo "Para comprobar un ejercicio: make check NB=notebooks/ejercicios/NN-....ipynb"; exit 2']
    return "\n".join(out) + "\n"


def _write(dest: Path, rel: str, data: bytes | str) -> None:
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        target.write_text(data, encoding="utf-8")
    else:
        target.write_bytes(data)


def _without_outputs(path: Path) -> bytes:
    """Un cuaderno sin salidas ni contadores (tal cual si ya no tenía)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if all(not c.outputs and c.execution_count is None for c in code):
        return path.read_bytes()
    for cell in code:
        cell.outputs, cell.execution_count = [], None
    return render(nb).encode("utf-8")


def build(folder: Path, root: Path = ROOT, source_dir: Path = SOURCE_DIR, with_guide: bool = False) -> list[str]:
    """Escribe la copia del alumnado en ``folder`` (que debe existir) y devuelve las rutas escritas."""
    sources = sorted(Path(source_dir).glob("*.ipynb"))
    if not sources:
        raise ReleaseError(f"No hay cuadernos .ipynb en {source_dir}: la copia del alumnado se hace desde la del "
                           f"profesorado.")
    written = []
    for rel in student_files(project_files(root), with_guide):
        path = root / rel
        if rel == "Makefile":
            data: bytes | str = student_makefile(path.read_text(encoding="utf-8"))
        elif rel == "README.md":
            first, _, rest = path.read_text(encoding="utf-8").partition("\n")
            data = f"{first}\n\n{README_NOTE}{rest}"
        elif rel.endswith(".ipynb"):
            data = _without_outputs(path)
        else:
            data = path.read_bytes()
        _write(folder, rel, data)
        written.append(rel)
    if not with_guide:
        _write(folder, GUIDE, GUIDE_NOTE)
        written.append(GUIDE)
    student_dir = STUDENT_DIR.relative_to(ROOT).as_posix()
    for source in sources:
        rel = f"{student_dir}/{source.name}"
        _write(folder, rel, render(make_student(nbformat.read(source, as_version=4), source.name)))
        written.append(rel)
    return sorted(written)


def _check_destination(dest: Path) -> list[str]:
    """Los ficheros de la copia anterior que hay que borrar; ``ReleaseError`` si DEST tiene otra cosa."""
    if not dest.exists():
        return []
    if not dest.is_dir():
        raise ReleaseError(f"{dest} existe y no es una carpeta.")
    marker = dest / MARKER
    if marker.is_file():
        return json.loads(marker.read_text(encoding="utf-8")).get("files", [])
    if any(p.name != ".git" for p in dest.iterdir()):
        raise ReleaseError(f"{dest} no está vacía y no es una copia del alumnado anterior (no tiene {MARKER}): "
                           f"elige una carpeta nueva.")
    return []


def release_repo(dest: Path, *, root: Path = ROOT, source_dir: Path = SOURCE_DIR, with_guide: bool = False) -> list[str]:
    """Escribe la copia del alumnado en ``dest`` y devuelve sus ficheros; ``ReleaseError`` si hay fugas o DEST no vale."""
    dest = Path(dest).resolve()
    old = _check_destination(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".release-", dir=dest.parent) as tmp:
        files = build(Path(tmp), root, source_dir, with_guide)
        leaks = find_leaks(Path(tmp), source_dir, root / "lab")
        if leaks:
            listed = "\n".join(f"  - {leak}" for leak in leaks)
            raise ReleaseError(f"La copia del alumnado llevaría {len(leaks)} línea(s) de las soluciones o de las "
                               f"comprobaciones ocultas; no se ha escrito nada en {dest}:\n{listed}")
        for rel in old:
            (dest / rel).unlink(missing_ok=True)
        for rel in files:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(tmp) / rel), dest / rel)
    (dest / MARKER).write_text(json.dumps({"version": __version__, "guide": with_guide, "files": files},
                                          ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return files


def command(args: argparse.Namespace) -> int:
    """La orden ``release``; devuelve el código de salida (0 bien, 1 fugas o DEST no vale)."""
    try:
        files = release_repo(args.dest, source_dir=args.source_dir, with_guide=args.with_guide)
    except ReleaseError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"Copia del alumnado en {args.dest}: {len(files)} ficheros, sin soluciones ni comprobaciones ocultas "
          f"(buscadas línea a línea){'; con la guía del profesorado' if args.with_guide else ''}.")
    new = student_files(untracked_files(), args.with_guide)
    if new:
        print(f"⚠ {len(new)} fichero(s) que git aún no sigue no van en la copia (añádelos con git add y repite si "
              f"hacen falta): {', '.join(new[:5])}{' ...' if len(new) > 5 else ''}")
    return 0
