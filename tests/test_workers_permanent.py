"""Errores deterministas: el worker no los reintenta y lo dice ("no se reintenta: error permanente").

Cada caso es una tarea real que falla siempre igual (payload o spec no válidos, imagen que no
existe, extensión de salida no soportada, ruta con carácter nulo, recursión sin fin).
"""

from __future__ import annotations

import logging

import pytest

from lab.workers import SimpleWorker, TaskQueue
from tests._workers_helpers import RecordingHandler, tiny_image


def _run(payload, tmp_path, process=None):
    queue = TaskQueue()
    task_id = queue.add_task(payload)
    sleeps: list[float] = []

    class Worker(SimpleWorker):
        calls = 0

        def process_task(self, task):
            type(self).calls += 1
            return process(task) if process else super().process_task(task)

    handler = RecordingHandler()
    worker = Worker("w1", None, queue, retry=3, sleep=sleeps.append, logger=logging.getLogger("test.permanent"))
    worker.logger.addHandler(handler)
    worker.start()
    return queue.task_info(task_id), Worker.calls, sleeps, [r.getMessage() for r in handler.records]


def _deep(_task):
    def down(n):
        return down(n + 1)
    return down(0)


CASES = {
    "payload sin output_path": (lambda d: {"image_path": str(d / "in.jpg")}, None),
    "pipeline no válido": (lambda d: {"image_path": str(d / "in.jpg"), "output_path": str(d / "o.jpg"),
                                      "pipeline": [{"name": "blur", "radius": -3}]}, None),
    "parámetro erróneo (quality)": (lambda d: {"image_path": str(d / "in.jpg"), "output_path": str(d / "o.jpg"),
                                               "pipeline": [{"name": "grayscale"}], "quality": 500}, None),
    "imagen que no existe": (lambda d: {"image_path": str(d / "no-existe.jpg"), "output_path": str(d / "o.jpg"),
                                        "pipeline": [{"name": "grayscale"}]}, None),
    "imagen corrupta": (lambda d: {"image_path": str((d / "rota.jpg").write_bytes(b"no soy un jpeg") and d / "rota.jpg"),
                                   "output_path": str(d / "o.jpg"), "pipeline": [{"name": "grayscale"}]}, None),
    "extensión de salida no soportada (OutputWriteError)": (
        lambda d: {"image_path": str(d / "in.jpg"), "output_path": str(d / "o.xyz"),
                   "pipeline": [{"name": "grayscale"}]}, None),
    "ruta con carácter nulo (InvalidPathError)": (
        lambda d: {"image_path": str(d / "in\x00.jpg"), "output_path": str(d / "o.jpg"),
                   "pipeline": [{"name": "grayscale"}]}, None),
    "RecursionError": (lambda d: {"image_path": "a.jpg", "output_path": "b.jpg"}, _deep),
}


def _check(name, cases, tmp_path):
    tiny_image(tmp_path / "in.jpg")
    make, process = cases[name]
    info, calls, sleeps, messages = _run(make(tmp_path), tmp_path, process)
    assert info.state.value == "failed" and info.error.startswith("La tarea task-0001")
    assert calls == 1 and sleeps == [], f"{name}: se reintentó {calls - 1} veces"
    assert any("no se reintenta: error permanente" in m for m in messages)


@pytest.mark.parametrize("name", list(CASES))
def test_deterministic_failures_are_not_retried(name, tmp_path, quiet_workers):
    _check(name, CASES, tmp_path)
