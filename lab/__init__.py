"""Workers Lab: el paquete de la sesión 3 (Workers) del curso de procesamiento distribuido de imágenes.

Módulos principales:

- ``lab.filters``: filtros de Pillow como objetos de valor inmutables y ``FilterPipeline``.
- ``lab.core``: procesar una imagen (carga, pipeline, guardado) con el desglose de tiempos.
- ``lab.workers``: ``TaskQueue``, ``SimpleWorker``, ``AsyncWorker``, ``WorkerPool`` y la cola en Redis.
- ``lab.images``: las fotos de ejemplo y cargas de trabajo más grandes generadas a demanda.
- ``lab.notebook``: lo que usan los cuadernos (gráficas, paneles, experimentos, las demos de la guía).
"""

__version__ = "0.1.0"

from pathlib import Path as _Path

#: Raíz del proyecto (donde están ``images/``, ``notebooks/`` y ``output/``). Las rutas de la
#: guía (``'images/photo1.jpg'``, ``'output/photo1.jpg'``) son relativas a esta carpeta: los
#: cuadernos hacen ``os.chdir(lab.PROJECT_DIR)`` en su primera celda.
PROJECT_DIR = _Path(__file__).resolve().parent.parent

#: Carpeta de salidas (imágenes procesadas, cargas de trabajo generadas); git la ignora.
OUTPUT_DIR = PROJECT_DIR / "output"
