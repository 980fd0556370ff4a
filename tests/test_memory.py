"""La memoria no crece con el número de tareas más allá de unos pocos KB de datos por tarea: nunca píxeles."""

from __future__ import annotations

import gc
import pickle
import tracemalloc

from PIL import Image

from tests._workers_helpers import tiny_image
from lab.workers import SimpleWorker, TaskQueue

SIZE = (128, 96)                        # una imagen así ocupa 48 KB en Pillow (4 bytes por píxel)
IMAGE_BYTES = SIZE[0] * SIZE[1] * 4
PER_TASK_LIMIT = 8 * 1024               # registro + payload + resultado + eventos de la cola: ~2 KB


def _run(n: int, source, out_dir):
    queue = TaskQueue()
    queue.add_tasks({"image_path": str(source), "output_path": str(out_dir / f"o{i % 4}.jpg")} for i in range(n))
    worker = SimpleWorker("worker-1", [{"name": "blur", "radius": 1}, {"name": "sharpen"}], queue)
    worker.start()
    return queue, worker


def _alive_images() -> int:
    gc.collect()
    return sum(isinstance(obj, Image.Image) for obj in gc.get_objects())


def test_memory_per_task_is_small_and_results_hold_no_pixels(tmp_path, quiet_workers):
    source = tiny_image(tmp_path / "in.jpg", size=SIZE)
    _run(5, source, tmp_path)  # calentar cachés (imports, tablas de Pillow)
    images_before = _alive_images()
    tracemalloc.start()
    try:
        small, _ = _run(50, source, tmp_path)
        gc.collect()
        with_50 = tracemalloc.get_traced_memory()[0]
        del small
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        big, worker = _run(350, source, tmp_path)
        gc.collect()
        with_350 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_task = (with_350 - with_50) / 300
    assert per_task < PER_TASK_LIMIT < IMAGE_BYTES, f"{per_task:.0f} bytes por tarea"
    assert with_350 - base < 350 * PER_TASK_LIMIT
    assert big.get_stats()["completed"] == 350
    assert _alive_images() == images_before  # ninguna imagen sobrevive a su tarea
    for task in big.tasks():
        assert len(pickle.dumps(task.result)) < 1024
        assert not any(isinstance(v, (bytes, bytearray, Image.Image)) for v in task.result.values())
    stats = worker.get_stats()
    assert stats["tasks_completed"] == 350 and len(stats["results"]) == 100  # historial acotado
