"""Lo que comparten los tests del aula: portátiles simulados como procesos y un servidor del aula propio."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.room.room import Room
from lab.room.server import RoomServer, new_password
from tests.redis_support import require_redis_server

ROOM = [sys.executable, "-m", "lab", "room"]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"No se cumplió en {timeout:g} s: {what}"
        time.sleep(0.2)


class Laptops:
    """Portátiles simulados: ``python -m lab room join`` en su propio grupo de procesos, con su log."""

    def __init__(self, url: str, folder: Path):
        self.url, self.folder, self.processes = url, folder, {}

    def join(self, name: str, *options: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}-{len(self.processes)}.log", "w")
        process = subprocess.Popen([*ROOM, "join", self.url, "--name", name, *options], stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, stdin=subprocess.DEVNULL)
        process.log_path = Path(log.name)
        self.processes.setdefault(name, []).append(process)
        return process

    def output(self, process: subprocess.Popen) -> str:
        return process.log_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        alive = [p for group in self.processes.values() for p in group if p.poll() is None]
        for process in alive:
            os.killpg(process.pid, signal.SIGINT)
        for process in alive:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def room_server(tmp_path):
    """Un servidor del aula propio (contraseña, 127.0.0.1) con concesiones de 2 s."""
    server = RoomServer(tmp_path / "redis", bind="127.0.0.1", password=new_password(),
                        binary=require_redis_server()).start()
    room = Room(server.url, lease_timeout=2.0)
    laptops = Laptops(server.url, tmp_path)
    try:
        yield server, room, laptops
    finally:
        laptops.close()
        room.close()
        server.close()


def working(room: Room, names) -> bool:
    presence = room.snapshot().presence
    return all(presence.get(name, {}).get("state") == "working" for name in names)


def holds_a_task(room: Room, name: str) -> bool:
    return any(t.state.value == "processing" and (t.worker_id or "").startswith(f"{name}/") for t in room.queue.tasks())
