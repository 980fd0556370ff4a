"""Un portátil en el aula (``python -m lab room join``): se registra, mide su speedup y trabaja hasta Ctrl-C.

Cada worker es un proceso propio (``worker_main``) con un ``RoomWorker``: un ``QueueWorker`` que solo
acepta tareas sintéticas del aula. El proceso principal no procesa nada: da señales de vida al aula
cada segundo, mira si el profesorado lo ha sacado e imprime el progreso. Parar:

- Ctrl-C (o SIGTERM) una vez: parada ordenada; cada worker termina y marca su tarea en curso.
- Ctrl-C otra vez, o el profesorado lo saca del aula: los workers se matan sin terminar lo que
  tenían; esas tareas vuelven a la cola cuando caduca su concesión (``lease_timeout``).
- Si muere el proceso principal (se cierra la tapa, SIGKILL), cada worker lo nota en menos de un
  segundo y sale también: como si el portátil se hubiera ido.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

from lab.errors import LabError
from lab.room.machine import worker_name
from lab.room.room import QUEUE_NAME, Room
from lab.room.synthetic import run_synthetic
from lab.workers.redis import RedisTaskQueue
from lab.workers.service import QueueWorker, run_stoppable
from lab.workers.task import Task

__all__ = ["RoomWorker", "Laptop", "worker_main", "PRESENCE_INTERVAL", "PROGRESS_EVERY"]

PRESENCE_INTERVAL = 1.0   # segundos entre señales de vida (y entre miradas a «te han sacado»)
PROGRESS_EVERY = 15.0     # segundos entre líneas de progreso en la terminal
STOP_TIMEOUT = 60.0       # segundos que se espera a que los workers terminen su tarea al parar


class RoomWorker(QueueWorker):
    """Un worker del aula: solo tareas sintéticas (``synthetic.run_synthetic``); nada de ficheros ni no-op."""

    def process_task(self, task: Task) -> dict[str, Any]:
        return {**run_synthetic(task.payload, clock=self.clock), "worker_id": self.worker_id}


def worker_main(url: str, worker_id: str, stop: Any, done: Any, reconnect_timeout: float) -> None:
    """El proceso de un worker: trabaja en la cola del aula hasta ``stop`` o hasta que muera su padre.

    ``done`` (un ``multiprocessing.Value``) lleva las tareas completadas, para el progreso.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl-C lo decide el proceso principal
    try:
        queue = RedisTaskQueue(url, name=QUEUE_NAME, reconnect_timeout=reconnect_timeout)
        worker = RoomWorker(worker_id, None, queue, poll_interval=0.5)
        worker.logger.setLevel("WARNING")               # una línea por tarea taparía el progreso
    except LabError as exc:
        print(f"❌ {worker_id}: {exc}", file=sys.stderr)
        sys.exit(1)
    parent = multiprocessing.parent_process()

    def watch() -> None:
        while True:
            done.value = worker.stats.snapshot()["tasks_completed"]
            if stop.is_set():
                worker.stop()
                return
            if parent is not None and not parent.is_alive():
                os._exit(1)                             # como un portátil que se va: sin marcar nada
            time.sleep(0.2)

    threading.Thread(target=watch, name="vigía", daemon=True).start()
    try:
        worker.start(forever=True)
    except LabError as exc:
        print(f"❌ {worker_id}: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        done.value = worker.stats.snapshot()["tasks_completed"]
        queue.worker_stopped(worker_id, retry=False)


class Laptop:
    """Los ``workers`` procesos de un portátil ya registrado como ``name`` (sesión ``session``) en ``room``.

    ``run()`` los arranca, da señales de vida hasta Ctrl-C, SIGTERM o que lo saquen, y devuelve el
    código de salida (0 al parar o al ser sacado; 1 si un worker murió por un error).
    """

    def __init__(self, room: Room, name: str, workers: int, session: str, *, say: Callable[[str], Any] = print,
                 reconnect_timeout: float = 300.0):
        self.room, self.name, self.workers, self.session, self.say = room, name, workers, session, say
        self.reconnect_timeout = reconnect_timeout
        self._context = multiprocessing.get_context("spawn")
        self._stop_workers = self._context.Event()
        self._stopping = threading.Event()
        self.processes: list[Any] = []
        self.counters: list[Any] = []
        self.outcome = "stopped"

    def completed(self) -> int:
        """Tareas completadas por los workers de esta sesión."""
        return sum(counter.value for counter in self.counters)

    def start_workers(self) -> None:
        """Lanza un proceso por worker (``ana/1``, ``ana/2``...)."""
        for index in range(1, self.workers + 1):
            counter = self._context.Value("i", 0)
            process = self._context.Process(target=worker_main, name=worker_name(self.name, index),
                                            args=(self.room.url, worker_name(self.name, index), self._stop_workers,
                                                  counter, self.reconnect_timeout))
            process.start()
            self.processes.append(process)
            self.counters.append(counter)

    def kill_workers(self) -> None:
        """Mata los workers ya (sin terminar ni marcar lo que tenían) y espera a que salgan."""
        for process in self.processes:
            if process.is_alive():
                process.kill()
        for process in self.processes:
            process.join(5)

    def _signal_loop(self) -> None:
        """Señales de vida cada ``PRESENCE_INTERVAL`` s hasta que toca parar; progreso cada ``PROGRESS_EVERY`` s."""
        warned, last_report, last_count = False, time.monotonic(), 0
        while not self._stopping.wait(PRESENCE_INTERVAL):
            try:
                self.room.touch(self.name, self.session, "working")
                if self.room.taken_out(self.name):
                    self.outcome = "out"
                    return
                warned = False
            except LabError as exc:
                if not warned:
                    self.say(f"⚠️ No llego al aula ({exc}); sigo intentándolo")
                    warned = True
            if any(process.exitcode not in (None, 0) for process in self.processes):
                self.outcome = "failed"
                return
            if time.monotonic() - last_report >= PROGRESS_EVERY:
                count, now = self.completed(), time.monotonic()
                self.say(f"⏱ {self.name}: {count} tareas completadas ({(count - last_count) / (now - last_report):.1f} "
                         f"tareas/s en los últimos {now - last_report:.0f} s)")
                last_report, last_count = now, count

    def run(self) -> int:
        """Trabaja en el aula hasta Ctrl-C/SIGTERM o hasta que lo saquen; devuelve el código de salida."""
        self.start_workers()
        self.room.touch(self.name, self.session, "working")
        self.say(f"🚀 {self.name} trabajando con {self.workers} workers (procesos). Ctrl-C para parar.")
        try:
            run_stoppable(self._signal_loop, self._stopping.set, say=self.say, name="señales")
        except KeyboardInterrupt:
            self.kill_workers()
            self._leave("left")
            raise
        if self.outcome == "out":
            self.kill_workers()
            self._leave("out")
            self.say(f"🚪 El profesorado ha sacado a {self.name} del aula: sus tareas en curso vuelven a la cola "
                     f"por concesión. Para volver, repite la misma orden (mismo --name).")
            return 0
        if self.outcome == "failed":
            self.kill_workers()
            self._leave("left")
            self.say("❌ Un worker se detuvo por un error (arriba dice cuál); paro el portátil.")
            return 1
        self._stop_workers.set()
        for process in self.processes:
            process.join(STOP_TIMEOUT)
        self.kill_workers()
        self._leave("left")
        self.say(f"👋 {self.name} ha salido del aula: {self.completed()} tareas completadas en esta sesión.")
        return 0

    def _leave(self, state: str) -> None:
        """Anota la salida en el aula (la marca de «sacado» ya la puso el profesorado); si no se puede, nada."""
        try:
            self.room.touch(self.name, self.session, state)
            if state == "left":
                self.room.mark(self.name, state)
        except LabError:
            pass
