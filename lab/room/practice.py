"""Un aula sin aula: servidor propio en 127.0.0.1 y portátiles simulados, para probar y practicar.

``PracticeRoom(laptops=4).start()`` arranca un ``RoomServer`` con contraseña en loopback y lanza cada
portátil simulado como lo haría un estudiante, ``python -m lab room join URL --name sim-N``, en su
propio proceso (con ``--cpus`` en Linux, para que haya portátiles de distintos núcleos). Los lanza de
uno en uno: cada uno mide su speedup mientras los demás esperan sin trabajo. Todo lo demás (encolar,
sacar un portátil, el panel) es igual que con un aula de verdad. ``open_room()`` elige: la URL de
``LAB_AULA_URL``, si está; si no, un aula de práctica; y sin servidor Redis, el aula grabada.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from lab.errors import LabError
from lab.room.room import Room
from lab.room.server import RoomServer, new_password
from lab.room.state import RoomSnapshot
from lab.workers.redis import RedisServerUnavailable, safe_url

__all__ = ["PracticeRoom", "open_room", "URL_VARIABLE", "cpu_plan"]

URL_VARIABLE = "LAB_AULA_URL"


def cpu_plan(laptops: int, cores: int | None = None) -> list[int | None]:
    """Núcleos de cada portátil simulado: todos, la mitad, uno... repetido; ``None`` fuera de Linux."""
    if not hasattr(os, "sched_setaffinity"):
        return [None] * laptops
    cores = cores or len(os.sched_getaffinity(0))
    sizes = sorted({cores, max(cores // 2, 1), 1}, reverse=True)
    return [sizes[i % len(sizes)] for i in range(laptops)]


class PracticeRoom:
    """Un aula de práctica: ``laptops`` portátiles simulados en esta máquina, con concesión de ``lease_timeout`` s.

    ``measure=False`` no mide el speedup de cada portátil (arranca antes). Se usa con ``with`` o
    con ``start()``/``close()``. Lanza ``RedisServerUnavailable`` si no hay servidor que arrancar.
    """

    read_only = False
    simulated = True

    def __init__(self, laptops: int = 4, *, lease_timeout: float = 3.0, measure: bool = True,
                 say: Callable[[str], Any] = print):
        self.laptops, self.lease_timeout, self.measure, self.say = laptops, lease_timeout, measure, say
        self.server: RoomServer | None = None
        self.room: Room | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs = tempfile.TemporaryDirectory(prefix="lab-aula-")

    @property
    def description(self) -> str:
        where = safe_url(self.room.url) if self.room else "sin arrancar"
        return f"aula de práctica con {self.laptops} portátiles simulados en esta máquina ({where})"

    def start(self, timeout: float = 120.0) -> "PracticeRoom":
        """Arranca el servidor y los portátiles; vuelve cuando todos trabajan (``LabError`` si alguno no llega)."""
        try:
            self.server = RoomServer(bind="127.0.0.1", password=new_password(), die_with_parent=True).start()
            self.room = Room(self.server.url, lease_timeout=self.lease_timeout)
            for number, cpus in enumerate(cpu_plan(self.laptops), 1):
                self.launch(f"sim-{number}", cpus)
                self._wait_working(f"sim-{number}", timeout)
        except BaseException:
            self.close()
            raise
        return self

    def launch(self, name: str, cpus: int | None = None) -> None:
        """Lanza (o vuelve a lanzar, con el mismo nombre) el portátil simulado ``name``."""
        workers = str(cpus or 1)
        command = [sys.executable, "-m", "lab", "room", "join", self.room.url, "--name", name, "--workers", workers,
                   "--measure", workers if self.measure else "0"]
        if cpus:
            command += ["--cpus", str(cpus)]
        log = open(Path(self._logs.name) / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                                start_new_session=True)
        log.close()

    def _wait_working(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            presence = self.room.snapshot().presence.get(name)
            if presence and presence["state"] == "working":
                return
            if self.processes[name].poll() is not None:
                break
            time.sleep(0.2)
        raise LabError(f"El portátil simulado {name} no llegó a trabajar; su salida:\n{self.log(name)}")

    def log(self, name: str) -> str:
        """Lo que ha escrito en su terminal el portátil simulado ``name`` (sin la URL)."""
        path = Path(self._logs.name) / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def kill(self, name: str) -> None:
        """SIGKILL al portátil simulado ``name`` y a sus workers: desaparece sin avisar (sus tareas vuelven por concesión)."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    # --- lo mismo que un aula de verdad -------------------------------------------------------

    def snapshot(self) -> RoomSnapshot:
        return self.room.snapshot()

    def enqueue(self, count: int, size: int | None = None) -> list[str]:
        return self.room.enqueue(count, *(() if size is None else (size,)))

    def take_out(self, name: str) -> None:
        self.room.take_out(name)

    def wait(self, timeout: float | None = None) -> bool:
        return self.room.wait(timeout)

    def close(self) -> None:
        """Para los portátiles (Ctrl-C ordenado; a los 10 s, SIGKILL) y el servidor."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for name, process in self.processes.items():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill(name)
        if self.room is not None:
            self.room.close()
        if self.server is not None:
            self.server.close()
        self._logs.cleanup()

    def __enter__(self) -> "PracticeRoom":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def open_room(url: str | None = None, *, laptops: int = 4, say: Callable[[str], Any] = print) -> Any:
    """El aula del cuaderno: la de ``url`` (o ``LAB_AULA_URL``); si no hay, una de práctica; sin Redis, la grabada."""
    url = url or os.environ.get(URL_VARIABLE, "").strip()
    if url:
        room = Room(url)
        say(f"Aula: {room.description}")
        return room
    try:
        room = PracticeRoom(laptops, say=say)
        say(f"Sin {URL_VARIABLE}: arranco un aula de práctica con {laptops} portátiles simulados (tarda unos "
            f"segundos: cada uno mide su speedup)…")
        room.start()
        say(f"Aula: {room.description}")
        return room
    except RedisServerUnavailable as exc:
        from lab.room.recorded import RecordedRoom

        say(f"No hay servidor Redis para un aula de práctica ({exc}); uso el aula grabada.")
        return RecordedRoom.load()
