"""Los fragmentos de código de la guía de la sesión 3, tal cual, con solo el cambio de imports.

``workers`` → ``lab.workers``, ``core`` → ``lab.core``, ``filters`` → ``lab.filters``. Cada
fragmento se ejecuta con ``exec`` en una carpeta temporal con ``images/photo1.jpg``.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tests._workers_helpers import tiny_image
from lab.errors import InvalidTransitionError
from lab.workers import TaskState

SECTION_1 = """
from lab.workers import SimpleWorker, TaskQueue
from lab.core import FilterPipeline
from lab.filters import BlurFilter, BrightnessFilter

# 1. Crear pipeline
pipeline = FilterPipeline([
    BlurFilter(radius=3),
    BrightnessFilter(factor=1.3)
])

# 2. Crear cola
queue = TaskQueue()

# 3. Añadir tareas
queue.add_task({
    'image_path': 'images/photo1.jpg',
    'output_path': 'output/photo1.jpg'
})

# 4. Crear worker
worker = SimpleWorker('worker-1', pipeline, queue)

# 5. Procesar tareas
worker.start()  # Procesa automáticamente
"""

SECTION_2 = """
from lab.workers import TaskQueue

queue = TaskQueue()

# Añadir tareas
task_id = queue.add_task({
    'image_path': 'input.jpg',
    'output_path': 'output.jpg'
})

# Obtener tarea
task = queue.get_task('worker-1')

# Marcar como completada
queue.mark_completed(task_id, result={'status': 'success'})
"""

SECTION_2_ALTERNATIVE = """
# O marcar como fallida
queue.mark_failed(task_id, error='Archivo no encontrado')
"""

SECTION_2_STATS = """
# Ver estadísticas
stats = queue.get_stats()
print(f"Pendientes: {stats['pending']}")
print(f"Completadas: {stats['completed']}")
"""

SECTION_3 = """
import logging

# El worker ya tiene logging configurado
worker.logger.info("Procesando imagen...")
worker.logger.error("Error: archivo no encontrado")
"""

SECTION_4 = """
# Estadísticas del worker
stats = worker.get_stats()

print(f"Tareas completadas: {stats['tasks_completed']}")
print(f"Tareas fallidas: {stats['tasks_failed']}")
print(f"Tasa de éxito: {stats['success_rate']:.1%}")
print(f"Tiempo promedio: {stats['total_processing_time'] / stats['tasks_completed']:.3f}s")

# Health check
if worker.is_healthy():
    print("✅ Worker saludable")
else:
    print("❌ Worker no saludable")
"""

EXERCISE_1 = """
workers = []
for i in range(3):
    worker = SimpleWorker(f'worker-{i}', pipeline, queue)
    workers.append(worker)

# Iniciar todos (usar threading.Thread)
"""

EXERCISE_2 = """
def process_task(self, task):
    max_retries = 3
    for attempt in range(max_retries):
        try:
            return self._do_process(task)
        except Exception:
            if attempt == max_retries - 1:
                raise
            time.sleep(2 ** attempt)  # Exponential backoff
"""

EXERCISE_3 = """
def monitor_workers(workers):
    while True:
        for worker in workers:
            status = "✅" if worker.is_healthy() else "❌"
            stats = worker.get_stats()
            print(f"{status} {worker.worker_id}: {stats['tasks_completed']} completed")
        time.sleep(5)
"""

def log_line(level: str, message: str) -> str:
    """Regex de una línea de log de Worker-1 en el formato de la guía."""
    return r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - \[Worker-1\] - " + level + " - " + message + "$"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for i in range(1, 4):
        tiny_image(tmp_path / "images" / f"photo{i}.jpg", color=(60 * i, 90, 120))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_section_1_simple_worker(workdir, capsys):
    namespace: dict = {}
    exec(SECTION_1, namespace)
    assert (workdir / "output" / "photo1.jpg").is_file()
    assert namespace["queue"].get_stats()["completed"] == 1
    err = capsys.readouterr().err
    assert re.search(log_line("INFO", "📝 Procesando tarea task-0001"), err, re.M)
    assert re.search(log_line("INFO", r"✅ Tarea completada en \d+\.\d{3}s"), err, re.M)


def test_section_2_task_queue(workdir, capsys):
    namespace: dict = {}
    exec(SECTION_2 + SECTION_2_STATS, namespace)
    assert capsys.readouterr().out == "Pendientes: 0\nCompletadas: 1\n"
    assert namespace["task"].id == namespace["task_id"] == "task-0001"
    # "O marcar como fallida" es la alternativa, no un paso más: sobre una tarea completada es un error claro.
    with pytest.raises(InvalidTransitionError, match="task-0001"):
        exec(SECTION_2_ALTERNATIVE, namespace)
    alternative = SECTION_2.replace("# Marcar como completada\nqueue.mark_completed(task_id, result={'status': 'success'})",
                                    SECTION_2_ALTERNATIVE)
    exec(alternative + SECTION_2_STATS, namespace)
    assert namespace["queue"].task_info("task-0001").state is TaskState.FAILED
    assert capsys.readouterr().out == "Pendientes: 0\nCompletadas: 0\n"


def test_sections_3_and_4_logging_stats_and_health(workdir, capsys):
    namespace: dict = {}
    exec(SECTION_1, namespace)
    capsys.readouterr()
    exec(SECTION_3, namespace)
    err = capsys.readouterr().err
    assert re.search(log_line("INFO", r"Procesando imagen\.\.\."), err, re.M)
    assert re.search(log_line("ERROR", "Error: archivo no encontrado"), err, re.M)
    exec(SECTION_4, namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["Tareas completadas: 1", "Tareas fallidas: 0", "Tasa de éxito: 100.0%"]
    assert re.fullmatch(r"Tiempo promedio: \d+\.\d{3}s", out[3]) and out[4] == "✅ Worker saludable"


def test_exercise_1_three_workers_in_threads(workdir):
    namespace: dict = {}
    exec(SECTION_1.replace("worker.start()  # Procesa automáticamente", ""), namespace)
    queue = namespace["queue"]
    for i in range(2, 13):
        queue.add_task({"image_path": f"images/photo{i % 3 + 1}.jpg", "output_path": f"output/photo{i}.jpg"})
    exec(EXERCISE_1, namespace)
    threads = [threading.Thread(target=w.start) for w in namespace["workers"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert queue.get_stats()["completed"] == 12 and queue.audit() == []
    assert sum(w.get_stats()["tasks_completed"] for w in namespace["workers"]) == 12
    assert [w.worker_id for w in namespace["workers"]] == ["worker-0", "worker-1", "worker-2"]


def test_exercise_2_worker_with_retry(workdir, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    namespace: dict = {"time": time}
    exec(SECTION_1.replace("worker.start()  # Procesa automáticamente", ""), namespace)
    exec(EXERCISE_2, namespace)
    calls = []

    class RetryWorker(namespace["SimpleWorker"]):
        process_task = namespace["process_task"]

        def _do_process(self, task):
            calls.append(task.id)
            if len(calls) < 3:
                raise OSError("disco ocupado")
            return super()._do_process(task)

    queue = namespace["queue"]
    worker = RetryWorker("worker-1", namespace["pipeline"], queue)
    worker.start()
    assert sleeps == [1, 2] and calls == ["task-0001"] * 3
    assert queue.task_info("task-0001").state is TaskState.COMPLETED

    calls.clear(), sleeps.clear()
    queue.add_task({"image_path": "images/no-existe.jpg", "output_path": "output/x.jpg"})
    worker.start()
    assert sleeps == [1, 2]
    assert "task-0002" in queue.task_info("task-0002").error


def test_exercise_3_health_dashboard(workdir, monkeypatch, capsys):
    class StopMonitor(Exception):
        pass

    def fake_sleep(seconds):
        assert seconds == 5
        raise StopMonitor

    monkeypatch.setattr(time, "sleep", fake_sleep)
    namespace: dict = {"time": time}
    exec(SECTION_1, namespace)
    exec(EXERCISE_3, namespace)
    capsys.readouterr()
    with pytest.raises(StopMonitor):
        namespace["monitor_workers"]([namespace["worker"]])
    assert capsys.readouterr().out == "✅ worker-1: 1 completed\n"
