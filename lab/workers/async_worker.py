"""``AsyncWorker``: el mismo worker, con varias tareas a la vez (como mucho ``max_concurrent``).

Como un ``ThreadPoolExecutor``: ``max_concurrent`` hilos y, en cada uno, el bucle de ``BaseWorker``
(pedir → procesar → marcar → repetir) sobre la misma cola. Cada hilo lleva una sola tarea, así que
nunca hay más de ``max_concurrent`` en curso; el trabajo de Pillow (CPU) va en esos hilos y el bucle
de eventos de asyncio queda libre: solo espera a que terminen.

Cancelar, donde se puede: son hilos, y Python no puede matar un hilo desde fuera. Cancelar
``start()`` (o Ctrl-C) pide ``stop()``: no se piden más tareas y las que están en curso terminan
y se marcan. Una tarea que pasa de ``task_time_limit`` deja de renovar su concesión (otro worker
la recoge y su resultado tardío se rechaza: ``timelimit.py``), pero su hilo sigue ocupado hasta
que la llamada vuelva; mientras, las otras ``max_concurrent - 1`` copias del bucle siguen trabajando.
Para poder matar una tarea colgada, usa procesos (``ProcessWorkerPool``).

En un cuaderno de Jupyter (cuyo bucle de eventos ya está en marcha) se usa ``await worker.start()``;
en un script, ``worker.run()`` (que llama a ``asyncio.run``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from lab.checks import check_int
from lab.workers.base import BaseWorker
from lab.workers.queue_api import QueueAPI


class AsyncWorker(BaseWorker):
    """Worker asíncrono: hasta ``max_concurrent`` tareas a la vez, en hilos, desde un bucle asyncio.

    Acepta los mismos argumentos con nombre que ``BaseWorker``. Lanza ``ValueError`` si
    ``max_concurrent`` no es un entero >= 1.
    """

    def __init__(self, worker_id: str, pipeline: Any, queue: QueueAPI, max_concurrent: int = 3, **options: Any):
        check_int(max_concurrent, "max_concurrent")
        super().__init__(worker_id, pipeline, queue, **options)
        self.max_concurrent = max_concurrent

    async def start(self, forever: bool = False) -> None:  # type: ignore[override]
        """Procesa tareas (hasta ``max_concurrent`` a la vez) hasta vaciar la cola.

        Con ``forever=True`` espera tareas nuevas hasta ``stop()`` o el cierre de la cola. Si se
        cancela (o Ctrl-C), pide ``stop()``: las tareas ya en curso terminan en sus hilos y se marcan.
        Lanza ``RuntimeError`` si el worker ya está en marcha.
        """
        threads = ThreadPoolExecutor(self.max_concurrent + 1, thread_name_prefix=self.worker_id)
        running = asyncio.get_running_loop().run_in_executor(threads, self._run_loops, threads, forever)
        try:
            await asyncio.shield(running)  # cancelar la espera no cancela los hilos
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.stop()
            raise
        finally:
            threads.shutdown(wait=False)  # cada hilo sale al terminar lo suyo

    def _run_loops(self, threads: ThreadPoolExecutor, forever: bool) -> None:
        """``max_concurrent`` copias del bucle a la vez; si una cae por un error, para las demás y lo relanza."""
        with self._life.running_loop():
            loops = [threads.submit(self._work, forever) for _ in range(self.max_concurrent)]
            if wait(loops, return_when=FIRST_EXCEPTION).not_done:
                self.stop()
                wait(loops)
            for loop in loops:
                loop.result()

    def run(self, forever: bool = False) -> None:
        """Versión para scripts: ``asyncio.run(self.start())``.

        Lanza ``RuntimeError`` si ya hay un bucle de eventos en marcha (en Jupyter usa
        ``await worker.start()``).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self.start(forever))
            return
        raise RuntimeError("Ya hay un bucle de eventos en marcha (¿Jupyter?): usa 'await worker.start()'.")
