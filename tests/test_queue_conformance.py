"""Batería de conformidad de las colas: la misma especificación contra memoria y Redis.

Cada test recibe ``make_queue`` y no sabe qué cola está usando: si una implementación se
desvía de la otra, falla aquí. El reloj es falso (``FakeClock``), así que las concesiones
caducan sin dormir.
"""

from __future__ import annotations

import json
import threading

import pytest

from lab.errors import (InvalidTaskError, InvalidTransitionError, LeaseLostError, QueueShutDown,
                        UnknownTaskError)
from lab.workers import TaskState
from tests._workers_helpers import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


def payload(n: int) -> dict:
    return {"image_path": f"images/photo{n}.jpg", "output_path": f"output/photo{n}.jpg"}


def test_ids_are_sequential_and_tasks_start_pending(make_queue):
    queue = make_queue()
    ids = [queue.add_task(payload(i)) for i in range(1, 4)]
    assert ids == ["task-0001", "task-0002", "task-0003"]
    info = queue.task_info("task-0002")
    assert info.state is TaskState.PENDING and info.payload == payload(2) and info.attempts == 0
    assert queue.get_stats()["pending"] == 3 and queue.get_stats()["total"] == 3


def test_guide_snippet_states(make_queue):
    queue = make_queue()
    task_id = queue.add_task({"image_path": "input.jpg", "output_path": "output.jpg"})
    task = queue.get_task("worker-1")
    assert task.id == task_id and task.state is TaskState.PROCESSING
    assert task.worker_id == "worker-1" and task.attempts == 1
    queue.mark_completed(task_id, result={"status": "success"})
    stats = queue.get_stats()
    assert (stats["pending"], stats["processing"], stats["completed"], stats["failed"]) == (0, 0, 1, 0)
    assert queue.task_info(task_id).result == {"status": "success"}
    second = queue.add_task({"image_path": "input.jpg", "output_path": "output.jpg"})
    queue.get_task("worker-1")
    queue.mark_failed(second, error="Archivo no encontrado")
    assert queue.task_info(second).error == "Archivo no encontrado"
    assert queue.get_stats()["failed"] == 1


def test_fifo_order_and_empty_returns_none(make_queue):
    queue = make_queue()
    for i in range(3):
        queue.add_task(payload(i))
    assert [queue.get_task("w").id for _ in range(3)] == ["task-0001", "task-0002", "task-0003"]
    assert queue.get_task("w") is None
    assert queue.get_task("w", timeout=0.01) is None


@pytest.mark.parametrize("bad", [None, "foto.jpg", ["a"], {"when": object()}, {"x": {1, 2}}])
def test_payload_must_be_json_dict(make_queue, bad):
    queue = make_queue()
    with pytest.raises(InvalidTaskError):
        queue.add_task(bad)
    assert queue.get_stats()["total"] == 0


def test_illegal_transitions_raise_clear_errors(make_queue):
    queue = make_queue()
    task_id = queue.add_task(payload(1))
    with pytest.raises(InvalidTransitionError, match=r"task-0001.*'pending'"):
        queue.mark_completed(task_id)
    with pytest.raises(InvalidTransitionError):
        queue.mark_failed(task_id, error="x")
    queue.get_task("w")
    queue.mark_completed(task_id)
    with pytest.raises(InvalidTransitionError, match="'completed'"):
        queue.mark_completed(task_id)
    with pytest.raises(InvalidTransitionError):
        queue.mark_failed(task_id, error="tarde")
    with pytest.raises(UnknownTaskError, match="task-9999"):
        queue.mark_completed("task-9999")
    with pytest.raises(UnknownTaskError):
        queue.task_info("task-9999")
    assert queue.audit() == []


def test_marking_by_another_worker_is_refused(make_queue):
    queue = make_queue()
    task_id = queue.add_task(payload(1))
    queue.get_task("w1")
    with pytest.raises(LeaseLostError, match="w2"):
        queue.mark_completed(task_id, worker_id="w2")
    queue.mark_completed(task_id, worker_id="w1")


def test_expired_lease_goes_back_to_pending_and_is_completed_by_another(make_queue, clock):
    queue = make_queue(lease_timeout=10, max_attempts=3, clock=clock)
    task_id = queue.add_task(payload(1))
    first = queue.get_task("w1")
    assert first.lease_expires_at == pytest.approx(clock.now + 10)
    clock.advance(9)
    queue.heartbeat(task_id, "w1")           # renovada: vence en 1010 + 9
    clock.advance(9)
    assert queue.requeue_expired() == []
    clock.advance(2)
    assert queue.requeue_expired() == [task_id]
    info = queue.task_info(task_id)
    assert info.state is TaskState.PENDING and info.attempts == 1
    second = queue.get_task("w2")
    assert second.id == task_id and second.attempts == 2 and second.worker_id == "w2"
    with pytest.raises(LeaseLostError):
        queue.mark_completed(task_id, worker_id="w1")
    with pytest.raises(LeaseLostError):
        queue.heartbeat(task_id, "w1")
    queue.mark_completed(task_id, worker_id="w2")
    assert queue.get_stats()["retried"] == 1 and queue.get_stats()["completed"] == 1
    assert queue.audit() == []


def test_get_task_recovers_expired_leases_itself(make_queue, clock):
    queue = make_queue(lease_timeout=5, clock=clock)
    task_id = queue.add_task(payload(1))
    queue.get_task("muerto")
    assert queue.get_task("vivo") is None
    clock.advance(6)
    rescued = queue.get_task("vivo")
    assert rescued is not None and rescued.id == task_id


def test_abandoned_after_max_attempts(make_queue, clock):
    queue = make_queue(lease_timeout=5, max_attempts=2, clock=clock)
    task_id = queue.add_task(payload(1))
    for worker in ("w1", "w2"):
        assert queue.get_task(worker).id == task_id
        clock.advance(6)
        queue.requeue_expired()
    info = queue.task_info(task_id)
    assert info.state is TaskState.FAILED and info.attempts == 2
    assert "abandonada" in info.error and task_id in info.error
    assert queue.get_task("w3") is None
    assert queue.audit() == []


def test_timeline_records_every_transition(make_queue, clock):
    queue = make_queue(lease_timeout=5, clock=clock)
    task_id = queue.add_task(payload(1))
    queue.get_task("w1")
    clock.advance(6)
    queue.requeue_expired()
    queue.get_task("w2")
    clock.advance(1)
    queue.mark_completed(task_id, worker_id="w2")
    events = queue.timeline()
    assert [e.state for e in events] == [TaskState.PENDING, TaskState.PROCESSING, TaskState.PENDING,
                                        TaskState.PROCESSING, TaskState.COMPLETED]
    assert [e.worker_id for e in events][1:] == ["w1", "w1", "w2", "w2"]
    assert events[2].reason and "w1" in events[2].reason
    assert events[-1].time == pytest.approx(clock.now) and events[-1].attempt == 2
    json.dumps([e.to_dict() for e in events])


def test_stats_are_consistent_and_have_times(make_queue, clock):
    queue = make_queue(clock=clock)
    for i in range(4):
        queue.add_task(payload(i))
    clock.advance(2)
    a = queue.get_task("w")
    b = queue.get_task("w")
    clock.advance(3)
    queue.mark_completed(a.id)
    queue.mark_failed(b.id, error="roto")
    stats = queue.get_stats()
    assert {k: stats[k] for k in ("total", "pending", "processing", "completed", "failed")} == \
        {"total": 4, "pending": 2, "processing": 0, "completed": 1, "failed": 1}
    assert stats["avg_wait_time"] == pytest.approx(2.0)
    assert stats["avg_processing_time"] == pytest.approx(3.0)


def test_join_and_shutdown(make_queue):
    queue = make_queue()
    assert queue.join(timeout=0.01) is True
    task_id = queue.add_task(payload(1))
    assert queue.join(timeout=0.01) is False
    queue.shutdown()
    assert queue.is_shutdown
    with pytest.raises(QueueShutDown):
        queue.add_task(payload(2))
    task = queue.get_task("w")            # lo pendiente se sigue entregando tras cerrar
    assert task.id == task_id
    assert queue.get_task("w", timeout=5) is None   # y después no se espera
    queue.mark_completed(task_id)
    assert queue.join(timeout=1) is True


def test_shutdown_immediate_cancels_pending(make_queue):
    queue = make_queue()
    ids = [queue.add_task(payload(i)) for i in range(3)]
    queue.get_task("w")
    queue.shutdown(immediate=True)
    assert queue.get_task("w") is None
    stats = queue.get_stats()
    assert stats["failed"] == 2 and stats["processing"] == 1
    assert "cancelada" in queue.task_info(ids[2]).error
    queue.mark_completed(ids[0])
    assert queue.audit() == []


def test_shutdown_wakes_a_waiting_getter(make_queue):
    queue = make_queue()
    got = []
    waiter = threading.Thread(target=lambda: got.append(queue.get_task("w", timeout=30)))
    waiter.start()
    queue.shutdown()
    waiter.join(timeout=10)
    assert not waiter.is_alive() and got == [None]


def test_a_waiting_getter_receives_a_new_task(make_queue):
    queue = make_queue()
    got = []
    waiter = threading.Thread(target=lambda: got.append(queue.get_task("w", timeout=30)))
    waiter.start()
    task_id = queue.add_task(payload(1))
    waiter.join(timeout=10)
    assert not waiter.is_alive() and got[0].id == task_id


def test_concurrent_consumers_complete_each_task_exactly_once(make_queue):
    queue = make_queue()
    n_tasks, n_threads = 400, 4
    ids = queue.add_tasks(payload(i) for i in range(n_tasks))
    assert len(set(ids)) == n_tasks
    done: list[str] = []
    lock = threading.Lock()

    def consume(worker_id):
        while (task := queue.get_task(worker_id)) is not None:
            queue.mark_completed(task.id, worker_id=worker_id)
            with lock:
                done.append(task.id)

    threads = [threading.Thread(target=consume, args=(f"w{i}",)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(done) == sorted(ids)
    assert queue.get_stats()["completed"] == n_tasks
    assert queue.audit() == []


def test_concurrent_producers_get_unique_ids(make_queue):
    queue = make_queue()
    ids: list[str] = []
    lock = threading.Lock()

    def produce():
        mine = [queue.add_task(payload(0)) for _ in range(100)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 400


def test_task_snapshots_serialise_to_json(make_queue):
    queue = make_queue()
    queue.add_task(payload(1))
    task = queue.get_task("w")
    data = json.loads(json.dumps(task.to_dict()))
    assert type(task).from_dict(data) == task
    assert [t.id for t in queue.tasks()] == ["task-0001"]


@pytest.mark.parametrize("kwargs", [{"lease_timeout": 0}, {"lease_timeout": -1}, {"max_attempts": 0},
                                    {"lease_timeout": "10"}])
def test_bad_options_are_rejected(make_queue, kwargs):
    with pytest.raises(ValueError):
        make_queue(**kwargs)


# --- fencing tokens: una entrega caducada no gana ----------------------------------------------

def test_a_stale_attempt_of_the_same_worker_cannot_complete(make_queue, clock):
    """El caso típico: un worker reiniciado con el mismo --id. El intento 1 llega tarde y se rechaza."""
    queue = make_queue(lease_timeout=10, clock=clock)
    task_id = queue.add_task(payload(1))
    first = queue.get_task("A")
    clock.advance(11)
    second = queue.get_task("A")
    assert (first.attempts, second.attempts, second.id) == (1, 2, task_id)
    with pytest.raises(LeaseLostError, match=r"task-0001.*entrega 1.*entrega 2"):
        queue.mark_completed(task_id, result={"quien": "intento 1"}, worker_id="A", attempt=1)
    with pytest.raises(LeaseLostError, match="entrega 1"):
        queue.mark_failed(task_id, error="tarde", worker_id="A", attempt=1)
    with pytest.raises(LeaseLostError, match="entrega 1"):
        queue.heartbeat(task_id, "A", attempt=1)
    assert queue.task_info(task_id).state is TaskState.PROCESSING and queue.task_info(task_id).result is None
    queue.heartbeat(task_id, "A", attempt=2)
    queue.mark_completed(task_id, result={"quien": "intento 2"}, worker_id="A", attempt=2)
    assert queue.task_info(task_id).result == {"quien": "intento 2"}
    with pytest.raises(LeaseLostError, match=r"terminó en 'completed' con la entrega 2"):
        queue.mark_completed(task_id, worker_id="A", attempt=1)
    with pytest.raises(InvalidTransitionError):       # el mismo intento dos veces: ya no está en proceso
        queue.mark_completed(task_id, worker_id="A", attempt=2)
    assert queue.get_stats()["completed"] == 1 and queue.audit() == []


def test_an_expired_attempt_is_refused_while_the_task_waits_in_pending(make_queue, clock):
    queue = make_queue(lease_timeout=10, clock=clock)
    task_id = queue.add_task(payload(1))
    queue.get_task("A")
    clock.advance(11)
    assert queue.requeue_expired() == [task_id]
    with pytest.raises(LeaseLostError, match=r"entrega 1 de A caducó.*'pending'"):
        queue.mark_completed(task_id, worker_id="A", attempt=1)
    assert queue.task_info(task_id).state is TaskState.PENDING and queue.audit() == []


def test_complete_and_get_next_with_a_stale_attempt_hands_over_nothing(make_queue, clock):
    queue = make_queue(lease_timeout=10, clock=clock)
    first_id, second_id = queue.add_task(payload(1)), queue.add_task(payload(2))
    queue.get_task("A")
    clock.advance(11)
    queue.requeue_expired()
    assert queue.get_task("A").id == first_id            # intento 2 de la misma tarea
    with pytest.raises(LeaseLostError):
        queue.complete_and_get_next(first_id, "A", result={}, attempt=1)
    assert queue.task_info(second_id).state is TaskState.PENDING
    nxt = queue.complete_and_get_next(first_id, "A", result={}, attempt=2)
    assert nxt.id == second_id and nxt.attempts == 1
    assert queue.audit() == []


@pytest.mark.parametrize("attempt", [0, -1, 1.0, "1", True])
def test_a_malformed_attempt_is_a_value_error(make_queue, attempt):
    queue = make_queue()
    task_id = queue.add_task(payload(1))
    queue.get_task("w")
    with pytest.raises(ValueError, match="attempt"):
        queue.mark_completed(task_id, worker_id="w", attempt=attempt)
    queue.mark_completed(task_id, result={"status": "success"})     # la guía, sin token
