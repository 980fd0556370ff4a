"""El bucle de BaseWorker/SimpleWorker: procesar, tareas erróneas, reintentos, parada, concesiones y salud."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from tests._workers_helpers import GOOD_RESULT, FakeClock, NoOpWorker, tiny_image
from lab.core import FilterPipeline
from lab.errors import InvalidTaskError
from lab.filters import BlurFilter, BrightnessFilter
from lab.workers import HealthPolicy, RetryPolicy, SimpleWorker, TaskQueue, TaskState

PIPELINE = FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3)])


def finished_by_state(queue):
    return {task.id: task.state for task in queue.tasks()}


def test_start_processes_every_task_then_returns(tmp_path):
    queue = TaskQueue()
    for i in range(3):
        src = tiny_image(tmp_path / "images" / f"photo{i}.jpg")
        queue.add_task({"image_path": str(src), "output_path": str(tmp_path / "out" / f"p{i}.jpg")})
    worker = SimpleWorker("worker-1", PIPELINE, queue)
    assert worker.state == "idle"
    assert worker.start() is None
    assert worker.state == "stopped"
    assert queue.get_stats()["completed"] == 3 and queue.audit() == []
    assert all((tmp_path / "out" / f"p{i}.jpg").is_file() for i in range(3))
    result = queue.task_info("task-0001").result
    assert {"load", "pipeline", "save", "total", "filters"} <= set(result)
    assert [name for name, _ in result["filters"]] == ["blur", "brightness"]
    stats = worker.get_stats()
    assert stats["tasks_completed"] == 3 and stats["tasks_failed"] == 0 and stats["success_rate"] == 1.0
    assert stats["total_processing_time"] > 0
    assert stats["pipeline_time"] == pytest.approx(sum(r["pipeline"] for r in stats["results"]))
    assert set(stats["filter_times"]) == {"blur", "brightness"}
    assert worker.is_healthy()


def test_payload_pipeline_overrides_the_worker_pipeline(tmp_path):
    queue = TaskQueue()
    src = tiny_image(tmp_path / "in.jpg")
    queue.add_task({"image_path": str(src), "output_path": str(tmp_path / "gray.png"),
                    "pipeline": [{"name": "grayscale"}]})
    SimpleWorker("worker-1", PIPELINE, queue).start()
    assert queue.task_info("task-0001").state is TaskState.COMPLETED
    assert Image.open(tmp_path / "gray.png").mode == "L"


def test_bad_tasks_fail_with_a_spanish_message_and_the_worker_goes_on(tmp_path):
    good = tiny_image(tmp_path / "good.jpg")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"esto no es un jpeg")
    out = str(tmp_path / "out.jpg")
    bad = {
        "sin image_path": ({"output_path": out}, "no tiene la clave 'image_path'"),
        "sin output_path": ({"image_path": str(good)}, "no tiene la clave 'output_path'"),
        "no existe": ({"image_path": str(tmp_path / "nada.jpg"), "output_path": out}, "no existe"),
        "corrupta": ({"image_path": str(corrupt), "output_path": out}, "corrupt.jpg"),
        "pipeline": ({"image_path": str(good), "output_path": out, "pipeline": [{"name": "nope"}]},
                     "pipeline no válido"),
        "tipo ruta": ({"image_path": 42, "output_path": out}, "no es una ruta"),
        "tipo pipeline": ({"image_path": str(good), "output_path": out, "pipeline": "blur"},
                          "debe ser una lista"),
        "calidad": ({"image_path": str(good), "output_path": out, "quality": 500}, "'quality'"),
    }
    queue = TaskQueue()
    ids = {kind: queue.add_task(payload) for kind, (payload, _) in bad.items()}
    good_ids = [queue.add_task({"image_path": str(good), "output_path": str(tmp_path / f"ok{i}.jpg")})
                for i in range(10)]
    worker = SimpleWorker("worker-1", PIPELINE, queue)
    worker.start()
    for kind, (_, fragment) in bad.items():
        task = queue.task_info(ids[kind])
        assert task.state is TaskState.FAILED, kind
        assert ids[kind] in task.error and fragment in task.error, (kind, task.error)
        assert "Traceback" not in task.error
    assert all(queue.task_info(t).state is TaskState.COMPLETED for t in good_ids)
    stats = worker.get_stats()
    assert (stats["tasks_completed"], stats["tasks_failed"]) == (10, len(bad))
    assert worker.is_healthy(), worker.health()
    assert queue.audit() == []


class Boom(SimpleWorker):
    def process_task(self, task):
        raise KeyError("clave_rara")


def test_an_unexpected_error_is_marked_with_its_type_and_traced_only_in_debug(capsys):
    queue = TaskQueue()
    queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    Boom("worker-1", None, queue).start()
    error = queue.task_info("task-0001").error
    assert error == "La tarea task-0001 falló: error inesperado KeyError: 'clave_rara'."
    assert "Traceback" not in capsys.readouterr().err
    queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    worker = Boom("worker-1", None, queue)
    worker.logger.setLevel("DEBUG")
    try:
        worker.start()
    finally:
        worker.logger.setLevel("NOTSET")
    assert "Traceback" in capsys.readouterr().err


class Flaky(SimpleWorker):
    def __init__(self, *args, failures, error=OSError("disco lleno"), **kwargs):
        super().__init__(*args, **kwargs)
        self.failures, self.error, self.calls = failures, error, 0

    def process_task(self, task):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return dict(GOOD_RESULT)


def test_retries_back_off_exponentially_and_the_final_failure_names_the_attempts(capsys):
    sleeps = []
    queue = TaskQueue()
    queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    worker = Flaky("worker-1", None, queue, failures=99, sleep=sleeps.append,
                   retry=RetryPolicy(max_retries=3, jitter=0))
    worker.start()
    assert sleeps == [1, 2, 4]
    assert worker.calls == 4
    assert queue.task_info("task-0001").error == (
        "La tarea task-0001 falló tras 4 intentos: error inesperado OSError: disco lleno.")
    err = capsys.readouterr().err
    assert err.count("🔁 Intento") == 3 and "Intento 3/4" in err and "reintento en 4.0s" in err
    assert worker.get_stats()["retries"] == 3 and worker.get_stats()["tasks_failed"] == 1


def test_a_retry_can_succeed():
    sleeps = []
    queue = TaskQueue()
    queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    worker = Flaky("worker-1", None, queue, failures=2, sleep=sleeps.append, retry=3)
    worker.start()
    assert len(sleeps) == 2 and queue.task_info("task-0001").state is TaskState.COMPLETED
    assert worker.get_stats()["results"][-1]["attempts"] == 3


def test_permanent_errors_are_not_retried():
    sleeps = []
    queue = TaskQueue()
    queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    worker = Flaky("worker-1", None, queue, failures=99, error=InvalidTaskError("falta algo"),
                   sleep=sleeps.append, retry=5)
    worker.start()
    assert sleeps == [] and worker.calls == 1
    assert queue.task_info("task-0001").error == "La tarea task-0001 falló: falta algo."


def test_retry_policy_jitter_cap_and_validation():
    assert RetryPolicy(jitter=0.5, random=lambda: 1.0).delay(1) == pytest.approx(1.5)
    assert RetryPolicy(jitter=0.5, random=lambda: 0.0).delay(2) == pytest.approx(1.0)
    assert RetryPolicy(jitter=0, max_delay=5).delay(10) == 5
    assert RetryPolicy.coerce(2).max_attempts == 3 and RetryPolicy.coerce(None).max_retries == 0
    for bad in ({"max_retries": -1}, {"factor": 0.5}, {"jitter": 2}, {"base_delay": -1}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)
    with pytest.raises(TypeError):
        RetryPolicy.coerce("tres")


class Gated(SimpleWorker):
    """process_task avisa al empezar y espera a que el test le deje terminar."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started, self.release = threading.Event(), threading.Event()

    def process_task(self, task):
        self.started.set()
        assert self.release.wait(10)
        return dict(GOOD_RESULT)


def test_stop_during_a_task_finishes_and_marks_it():
    queue = TaskQueue()
    for _ in range(3):
        queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    worker = Gated("worker-1", None, queue)
    thread = threading.Thread(target=worker.start, kwargs={"forever": True})
    thread.start()
    assert worker.started.wait(10)
    worker.stop()
    assert worker.state == "busy" and worker.get_stats()["current_task"] == "task-0001"
    worker.release.set()
    thread.join(10)
    assert not thread.is_alive()
    stats = queue.get_stats()
    assert (stats["completed"], stats["processing"], stats["pending"]) == (1, 0, 2)
    assert worker.state == "stopped" and queue.audit() == []


def test_forever_mode_ends_when_the_queue_shuts_down():
    queue = TaskQueue()
    worker = NoOpWorker("worker-1", None, queue)
    thread = threading.Thread(target=worker.start, kwargs={"forever": True})
    thread.start()
    ids = [queue.add_task({"image_path": "a", "output_path": "b"}) for _ in range(5)]
    assert queue.join(timeout=10)
    queue.shutdown()
    thread.join(10)
    assert not thread.is_alive() and sorted(worker.seen) == ids


def test_stop_before_start_returns_at_once_and_stop_after_the_end_is_ignored():
    queue = TaskQueue()
    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = NoOpWorker("worker-1", None, queue)
    worker.stop()
    worker.start()
    assert worker.seen == []
    worker.start()
    assert worker.seen == ["task-0001"]
    worker.stop()  # ya terminó: no afecta a la próxima ejecución
    queue.add_task({"image_path": "a", "output_path": "b"})
    worker.start()
    assert worker.seen == ["task-0001", "task-0002"]


def test_a_worker_cannot_run_twice_at_once():
    queue = TaskQueue()
    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Gated("worker-1", None, queue)
    thread = threading.Thread(target=worker.start)
    thread.start()
    assert worker.started.wait(10)
    with pytest.raises(RuntimeError, match="ya está en marcha"):
        worker.start()
    worker.release.set()
    thread.join(10)


def test_ctrl_c_in_a_task_marks_it_failed_and_propagates():
    class Interrupted(SimpleWorker):
        def process_task(self, task):
            raise KeyboardInterrupt

    queue = TaskQueue()
    queue.add_task({"image_path": "a", "output_path": "b"})
    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Interrupted("worker-1", None, queue)
    with pytest.raises(KeyboardInterrupt):
        worker.start()
    stats = queue.get_stats()
    assert (stats["failed"], stats["processing"], stats["pending"]) == (1, 0, 1)
    assert "se interrumpió" in queue.task_info("task-0001").error
    assert worker.state == "stopped"


def test_a_worker_that_dies_mid_task_loses_it_to_another(capsys):
    clock = FakeClock()
    queue = TaskQueue(lease_timeout=10, clock=clock)
    ids = [queue.add_task({"image_path": "a", "output_path": "b"}) for _ in range(3)]
    dead = threading.Thread(target=queue.get_task, args=("worker-muerto",))  # la coge y nunca la marca
    dead.start()
    dead.join()
    assert queue.get_stats()["processing"] == 1
    clock.advance(11)
    survivor = NoOpWorker("worker-2", None, queue, heartbeat_interval=1000)
    survivor.start()
    assert sorted(survivor.seen) == ids
    assert all(t.state is TaskState.COMPLETED and t.worker_id == "worker-2" for t in queue.tasks())
    assert queue.task_info("task-0001").attempts == 2
    err = capsys.readouterr().err           # la entrega (de la cola) no es el intento (del worker)
    assert "📝 Procesando tarea task-0001 (entrega 2)" in err and "📝 Procesando tarea task-0002\n" in err
    reasons = [e.reason for e in queue.timeline() if e.task_id == "task-0001" and e.state is TaskState.PENDING]
    assert any(r and "worker-muerto" in r for r in reasons)
    assert queue.audit() == []


def test_a_lost_lease_is_a_warning_not_a_completion(capsys):
    clock = FakeClock()
    queue = TaskQueue(lease_timeout=10, clock=clock)

    class Slow(SimpleWorker):
        def process_task(self, task):
            clock.advance(11)                       # se pasa de su concesión...
            stolen = queue.get_task("worker-2")     # ...y otro worker se la lleva
            assert stolen.id == task.id
            return dict(GOOD_RESULT)

    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Slow("worker-1", None, queue, heartbeat_interval=1000)
    worker.start()
    stats = worker.get_stats()
    assert (stats["tasks_completed"], stats["lease_lost"]) == (0, 1)
    assert "⚠️" in capsys.readouterr().err
    queue.mark_completed("task-0001", worker_id="worker-2")
    assert queue.audit() == []


def test_heartbeat_renews_the_lease_of_the_task_in_progress():
    clock = FakeClock()
    queue = TaskQueue(lease_timeout=10, clock=clock)

    class Beating(SimpleWorker):
        def process_task(self, task):
            clock.advance(8)
            self.heartbeat()
            clock.advance(8)                         # 16 s en total: sin el latido habría caducado
            assert queue.requeue_expired() == []
            return dict(GOOD_RESULT)

    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Beating("worker-1", None, queue, heartbeat_interval=1000)
    worker.start()
    assert queue.task_info("task-0001").state is TaskState.COMPLETED
    assert queue.task_info("task-0001").attempts == 1


def test_the_background_heartbeat_thread_keeps_the_lease_alive():
    clock = FakeClock()
    beaten = threading.Event()

    class WatchedQueue(TaskQueue):
        def heartbeat(self, task_id, worker_id, attempt=None):
            expires = super().heartbeat(task_id, worker_id, attempt=attempt)
            if expires > 1015:  # un latido dado después de avanzar el reloj
                beaten.set()
            return expires

    queue = WatchedQueue(lease_timeout=10, clock=clock)

    class Long(SimpleWorker):
        def process_task(self, task):
            clock.advance(8)
            assert beaten.wait(10)                   # el hilo de latidos renovó la concesión
            clock.advance(8)
            assert queue.requeue_expired() == []
            return dict(GOOD_RESULT)

    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Long("worker-1", None, queue, heartbeat_interval=0.01)
    worker.start()
    assert queue.task_info("task-0001").state is TaskState.COMPLETED


def test_health_reports_a_stale_heartbeat_and_a_high_failure_rate():
    clock = FakeClock()
    queue = TaskQueue()
    seen = {}

    class Stuck(SimpleWorker):
        def process_task(self, task):
            clock.advance(100)
            seen["health"] = self.health()
            return dict(GOOD_RESULT)

    queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Stuck("worker-1", None, queue, clock=clock, heartbeat_interval=1000,
                   health_policy=HealthPolicy(stale_after=30))
    worker.start()
    assert seen["health"]["healthy"] is False and seen["health"]["state"] == "busy"
    assert "sin latir" in seen["health"]["reasons"][0]
    assert worker.is_healthy()  # ya no está ocupado

    for _ in range(6):
        queue.add_task({"image_path": "a"})
    failing = SimpleWorker("worker-2", None, queue)
    failing.start()
    health = failing.health()
    assert not health["healthy"] and health["recent_failure_rate"] == 1.0
    assert "Fallaron el 100%" in health["reasons"][0]


def test_a_hung_task_with_a_healthy_heartbeat_is_reported_and_its_lease_let_go(quiet_workers):
    """Vivo no es avanzar: el hilo de latidos sigue latiendo, pero pasado el límite ya no renueva la concesión."""
    clock = FakeClock()
    queue = TaskQueue(lease_timeout=1, clock=clock)
    seen = {}

    class Hung(SimpleWorker):
        def process_task(self, task):
            if task.attempts == 1:          # solo la primera entrega se cuelga
                clock.advance(3.0)
                self.heartbeat()            # lo que haría el hilo de latidos: el latido está fresco...
                seen["health"] = self.health()
                seen["expired"] = queue.requeue_expired()
            return dict(GOOD_RESULT)

    task_id = queue.add_task({"image_path": "a", "output_path": "b"})
    worker = Hung("worker-1", None, queue, clock=clock, health_policy=HealthPolicy(stale_after=1.5, task_time_limit=1.5))
    worker.start()
    health = seen["health"]
    assert health["heartbeat_age"] == 0 and seen["expired"] == [task_id]   # ...pero la concesión ya no se renovó
    assert health["healthy"] is False and health["alive"] is True and health["progressing"] is False
    assert health["reasons"] == [f"Lleva 3.0 s en {task_id} (límite 1.5 s): late, pero no avanza; su concesión "
                                 f"ya no se renueva y otro worker la recogerá."]
    assert health["task_ages"] == {task_id: 3.0}
    task = queue.task_info(task_id)   # el resultado tardío de la entrega 1 se rechazó; la entrega 2 la completó
    assert task.state is TaskState.COMPLETED and task.attempts == 2 and worker.get_stats()["lease_lost"] == 1
    assert worker.is_healthy() and worker.health()["task_ages"] == {}  # terminó: ya no hay tarea en curso


def test_health_policy_validates_its_limits():
    for bad in ({"stale_after": 0}, {"task_time_limit": -1}, {"max_failure_rate": 1.5}, {"failure_window": 0},
                {"min_samples": True}):
        with pytest.raises((TypeError, ValueError)):
            HealthPolicy(**bad)
    with pytest.raises(TypeError, match="HealthPolicy"):
        SimpleWorker("w", None, TaskQueue(), health_policy={"stale_after": 3})


def test_a_crashed_loop_is_unhealthy():
    class BrokenQueue(TaskQueue):
        def get_task(self, worker_id, timeout=None):
            raise ConnectionError("sin red")

    worker = SimpleWorker("worker-1", None, BrokenQueue())
    with pytest.raises(ConnectionError):
        worker.start()
    health = worker.health()
    assert not health["healthy"] and not health["alive"] and health["crashed"] and "sin red" in health["reasons"][0]


def test_history_is_bounded_and_stats_have_the_guide_keys():
    queue = TaskQueue()
    for _ in range(8):
        queue.add_task({"image_path": "a", "output_path": "b"})
    worker = NoOpWorker("worker-1", None, queue, history=5)
    worker.start()
    stats = worker.get_stats()
    assert len(stats["results"]) == 5 and stats["tasks_completed"] == 8
    for key in ("tasks_completed", "tasks_failed", "success_rate", "total_processing_time", "load_time",
                "pipeline_time", "save_time", "retries", "state", "last_heartbeat", "last_heartbeat_age",
                "current_task"):
        assert key in stats
    assert stats["load_time"] == pytest.approx(0.8)


@pytest.mark.parametrize("args, error", [
    (("", None, TaskQueue()), ValueError),
    (("w", None, object()), TypeError),
    (("w", "no es un pipeline", TaskQueue()), TypeError),
])
def test_constructor_rejects_bad_arguments(args, error):
    with pytest.raises(error):
        SimpleWorker(*args)
