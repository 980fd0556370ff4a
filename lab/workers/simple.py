"""``SimpleWorker``: el worker síncrono de la guía, una tarea detrás de otra."""

from __future__ import annotations

from lab.workers.base import BaseWorker


class SimpleWorker(BaseWorker):
    """Worker síncrono: pide una tarea, la procesa, la marca y repite (sección 1 de la guía).

    ``worker.start()`` procesa hasta vaciar la cola; ``worker.start(forever=True)`` espera
    tareas nuevas hasta ``worker.stop()``. Para varios a la vez, cada uno en su
    ``threading.Thread`` (ejercicio 1) o un ``WorkerPool``. Todo el comportamiento (logging,
    reintentos, estadísticas, salud) está en ``BaseWorker``.
    """
