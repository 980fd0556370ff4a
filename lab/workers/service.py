"""Un worker como proceso de larga duración: ``python -m lab worker --queue redis://... --id w1``.

``QueueWorker`` es un ``SimpleWorker`` que además entiende las tareas *no-op*
(``{"noop": true, "sleep": 0.5}``: no tocan imágenes; sirven para demos, pruebas de fallos
y medir la cola). ``run_worker`` lo ejecuta en un hilo mientras el hilo principal atiende
SIGINT/SIGTERM: la primera señal pide una parada ordenada (termina y marca la tarea en
curso), la segunda sale ya (la tarea volverá a ``pending`` cuando caduque su concesión).
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable

from lab.checks import is_real
from lab.errors import InvalidTaskError
from lab.workers.simple import SimpleWorker
from lab.workers.task import Task

MAX_NOOP_SLEEP = 3600.0


class QueueWorker(SimpleWorker):
    """``SimpleWorker`` que procesa imágenes y también tareas no-op (``"noop": true``).

    Una tarea no-op puede llevar ``"sleep"`` (segundos, 0 a 3600) para simular trabajo;
    devuelve ``{"noop": true, "worker_id": ...}``. Lanza ``InvalidTaskError`` si ``sleep``
    no es un número válido.
    """

    def process_task(self, task: Task) -> dict[str, Any]:
        payload = task.payload
        if not payload.get("noop"):
            return super().process_task(task)
        seconds = payload.get("sleep", 0)
        if not is_real(seconds) or not 0 <= seconds <= MAX_NOOP_SLEEP:
            raise InvalidTaskError(f"La tarea {task.id} tiene 'sleep' = {seconds!r:.30}; debe ser un número "
                                   f"de segundos entre 0 y {MAX_NOOP_SLEEP:g}.")
        if seconds:
            self.sleep(seconds)
        return {"noop": True, "worker_id": self.worker_id}


def run_worker(worker: SimpleWorker, *, forever: bool = True, install_signals: bool = True,
               on_exit: Callable[[], None] | None = None) -> BaseException | None:
    """Ejecuta ``worker.start(forever)`` hasta que termine o llegue SIGINT/SIGTERM.

    Devuelve la excepción que detuvo el bucle del worker (p. ej. ``QueueConnectionError``)
    o ``None`` si terminó bien. ``on_exit`` se llama siempre al final (p. ej. para anotar
    en el registro de workers que este se despidió). Una segunda señal lanza
    ``KeyboardInterrupt`` sin esperar a la tarea en curso.
    """
    failure: list[BaseException] = []
    signals_seen: list[int] = []

    def target() -> None:
        try:
            worker.start(forever=forever)
        except BaseException as exc:  # se informa desde el hilo principal
            failure.append(exc)

    def on_signal(signum: int, _frame: Any) -> None:
        signals_seen.append(signum)
        name = signal.Signals(signum).name
        if len(signals_seen) > 1:
            worker.logger.warning(f"⏹ Segunda señal {name}: salgo sin esperar a la tarea en curso")
            raise KeyboardInterrupt
        worker.logger.info(f"⏹ Señal {name} recibida: termino la tarea en curso y paro")
        worker.stop()
        stop_reconnecting = getattr(worker.queue, "stop_reconnecting", None)
        if stop_reconnecting is not None:  # con Redis caído, no esperar reconnect_timeout para salir
            stop_reconnecting()

    previous = {}
    if install_signals and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    thread = threading.Thread(target=target, name=f"{worker.worker_id}-bucle", daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if on_exit is not None:
            try:
                on_exit()
            except Exception as exc:
                worker.logger.warning(f"⚠️ No se pudo anotar la salida del worker: {exc}")
    return failure[0] if failure else None


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Espera (sondeando) a que ``predicate()`` sea cierto; ``False`` si pasa ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True
