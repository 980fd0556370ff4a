"""Workers Lab: el paquete de la sesión 3 (Workers) del curso de procesamiento distribuido de imágenes.

Módulos principales:

- ``lab.filters``: filtros de Pillow como objetos de valor inmutables y ``FilterPipeline``.
- ``lab.core``: procesar una imagen (carga, pipeline, guardado) con el desglose de tiempos.
- ``lab.workers``: ``TaskQueue``, ``SimpleWorker``, ``AsyncWorker``, ``WorkerPool`` y la cola en Redis.
- ``lab.images``: las fotos de ejemplo y cargas de trabajo más grandes generadas a demanda.
"""

__version__ = "0.1.0"
