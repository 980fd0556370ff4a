"""Workers Lab: el paquete de la sesión 3 (Workers) del curso de procesamiento distribuido de imágenes.

Módulos principales:

- ``lab.filters``: filtros de Pillow como objetos de valor inmutables y ``FilterPipeline``.
- ``lab.core``: procesar una imagen (carga, pipeline, guardado) con el desglose de tiempos.
- ``lab.workers``: ``TaskQueue``, ``SimpleWorker``, ``AsyncWorker``, ``WorkerPool`` y la cola en Redis.
- ``lab.images``: las fotos de ejemplo y cargas de trabajo más grandes generadas a demanda.
- ``lab.notebook``: lo que usan los cuadernos (gráficas, paneles, experimentos, las demos de la guía).
"""

__version__ = "0.1.0"

import os as _os
from pathlib import Path as _Path

from lab.errors import LabError as _LabError

#: La variable de entorno que dice dónde está la carpeta del curso (para una instalación sin ``-e``).
PROJECT_VARIABLE = "LAB_PROJECT_DIR"

#: La carpeta del curso (``images/``, ``notebooks/``, ``output/``): se busca la primera vez que se pide.
PROJECT_DIR: _Path
#: Su carpeta ``output/`` (imágenes procesadas, cargas de trabajo generadas; git la ignora).
OUTPUT_DIR: _Path


def is_project_dir(path: _Path) -> bool:
    """True si ``path`` es la carpeta del curso: la que tiene ``images/`` y ``notebooks/``."""
    return (path / "images").is_dir() and (path / "notebooks").is_dir()


def find_project_dir() -> _Path:
    """La carpeta del curso, donde están ``images/``, ``notebooks/`` y ``output/``.

    Por orden: la de ``LAB_PROJECT_DIR``; la que contiene el paquete (un clon instalado con ``pip install -e``,
    como hace ``make lab``); y si el paquete se instaló sin ``-e`` (en site-packages, como en una imagen de
    JupyterHub o en Colab), la primera carpeta con ``images/`` y ``notebooks/`` subiendo desde el directorio
    actual (un cuaderno arranca en el suyo, ``notebooks/``). Lanza ``LabError`` con qué hacer si no hay ninguna.
    """
    chosen = _os.environ.get(PROJECT_VARIABLE, "").strip()
    if chosen:
        path = _Path(chosen).expanduser().resolve()
        if not is_project_dir(path):
            raise _LabError(f"{PROJECT_VARIABLE}={chosen} no es la carpeta del curso: le faltan images/ o notebooks/")
        return path
    package_parent = _Path(__file__).resolve().parent.parent
    here = _Path.cwd().resolve()
    for path in (package_parent, here, *here.parents):
        if is_project_dir(path):
            return path
    raise _LabError(f"No encuentro la carpeta del curso (la que tiene images/ y notebooks/): lab está instalado "
                    f"en {package_parent} y ni {here} ni sus carpetas padre lo son; abre los cuadernos desde la "
                    f"carpeta del curso o define {PROJECT_VARIABLE}=/ruta/a/workers-lab")


def __getattr__(name: str) -> _Path:
    """``PROJECT_DIR`` y ``OUTPUT_DIR`` se buscan la primera vez que se piden (no al importar ``lab``).

    ``PROJECT_DIR`` es la carpeta del curso (``find_project_dir``). Las rutas de la guía
    (``'images/photo1.jpg'``, ``'output/photo1.jpg'``) son relativas a ella: los cuadernos hacen
    ``os.chdir(lab.PROJECT_DIR)`` en su primera celda. ``OUTPUT_DIR`` es su carpeta ``output/`` (imágenes
    procesadas, cargas de trabajo generadas; git la ignora). Así ``import lab.core`` funciona aunque no haya
    carpeta del curso, y quien la necesite recibe el ``LabError`` que dice qué hacer.
    """
    if name not in ("PROJECT_DIR", "OUTPUT_DIR"):
        raise AttributeError(f"module 'lab' has no attribute {name!r}")
    project = find_project_dir()
    globals().update(PROJECT_DIR=project, OUTPUT_DIR=project / "output")
    return globals()[name]
