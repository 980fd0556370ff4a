"""``AsyncWorker``: el mismo worker con asyncio, varias tareas a la vez (como mucho ``max_concurrent``).

El bucle de eventos solo reparte: pide tareas a la cola y lanza cada una en un hilo de un
``ThreadPoolExecutor`` de ``max_concurrent`` hilos (el trabajo de Pillow es de CPU y no debe
bloquear el bucle). Un ``asyncio.Semaphore`` garantiza que nunca hay más de
``max_concurrent`` tareas en vuelo. El código de cada tarea es el de ``BaseWorker._handle``.

En un cuaderno de Jupyter (cuyo bucle de eventos ya está en marcha) se usa
``await worker.start()``; en un script, ``worker.run()`` (que llama a ``asyncio.run``).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
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

        Con ``forever=True`` espera tareas nuevas hasta ``stop()`` o el cierre de la cola.
        Si se cancela (o Ctrl-C), las tareas ya en curso terminan en sus hilos y se marcan.
        Lanza ``RuntimeError`` si el worker ya está en marcha.
        """
        self._begin()
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(self.max_concurrent)
        in_flight: set[asyncio.Future] = set()
        executor = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix=self.worker_id)

        def done(future: asyncio.Future) -> None:
            in_flight.discard(future)
            slots.release()

        try:
            while not self.stopping:
                await slots.acquire()
                task = self._claim()
                if task is None:
                    slots.release()
                    if not self._keep_waiting(forever):
                        break
                    await asyncio.sleep(self.poll_interval)
                    continue
                future = loop.run_in_executor(executor, self._handle, task)
                in_flight.add(future)
                future.add_done_callback(done)
            if in_flight:  # shield: cancelar la espera no cancela las tareas ya entregadas a un hilo
                await asyncio.gather(*(asyncio.shield(f) for f in list(in_flight)))
        except BaseException:
            self.stop()
            raise
        finally:
            if any(not f.done() for f in list(in_flight)):
                # Cancelado a mitad: los hilos terminan sus tareas y después se cierra el worker.
                threading.Thread(target=self._finish_later, args=(executor,), name=f"{self.worker_id}-cierre",
                                 daemon=True).start()
            else:
                executor.shutdown(wait=False)
                self._end()

    def _finish_later(self, executor: ThreadPoolExecutor) -> None:
        executor.shutdown(wait=True)
        self._end()

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
