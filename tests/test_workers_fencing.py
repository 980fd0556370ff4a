"""Fencing tokens en los workers: el resultado de una entrega caducada se descarta (y se dice).

El caso típico es un worker reiniciado con el mismo ``--id``: la entrega vieja y la nueva
llevan el mismo ``worker_id`` y solo el número de entrega (``task.attempts``) las distingue.
Contra las dos colas.
"""

from __future__ import annotations

import logging

import pytest

from lab.workers import SimpleWorker, TaskState
from lab.workers.service import QueueWorker
from tests._workers_helpers import GOOD_RESULT, FakeClock, RecordingHandler


@pytest.mark.parametrize("worker_class", [SimpleWorker, QueueWorker])
def test_a_stale_attempt_of_a_worker_with_the_same_id_is_discarded(make_queue, worker_class):
    clock = FakeClock()
    queue = make_queue(lease_timeout=10, clock=clock)
    task_id = queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    retaken = []

    class Stalled(worker_class):
        def process_task(self, task):
            clock.advance(11)                            # se pasa de su concesión...
            retaken.append(queue.get_task("A"))          # ...y "A" reiniciado la recoge otra vez
            return dict(GOOD_RESULT)

    handler = RecordingHandler()
    worker = Stalled("A", None, queue, heartbeat_interval=1000, logger=logging.getLogger("test.fencing"))
    worker.logger.addHandler(handler)
    worker.start()
    assert retaken[0].id == task_id and retaken[0].attempts == 2
    stats = worker.get_stats()
    assert (stats["tasks_completed"], stats["lease_lost"]) == (0, 1)
    info = queue.task_info(task_id)
    assert info.state is TaskState.PROCESSING and info.result is None and info.attempts == 2
    warning = next(r.getMessage() for r in handler.records if r.levelno == logging.WARNING)
    assert "descartado" in warning and f"tarea {task_id} (entrega 1)" in warning
    queue.mark_completed(task_id, result={"ok": True}, worker_id="A", attempt=2)
    assert queue.task_info(task_id).result == {"ok": True} and queue.audit() == []


def test_the_heartbeat_of_a_stale_attempt_does_not_renew_the_new_one(make_queue):
    clock = FakeClock()
    queue = make_queue(lease_timeout=10, clock=clock)
    task_id = queue.add_task({"image_path": "a.jpg", "output_path": "b.jpg"})
    first = queue.get_task("A")
    worker = SimpleWorker("A", None, queue, heartbeat_interval=1000)
    worker._in_flight.add(first)                     # el worker cree que sigue con la entrega 1
    clock.advance(11)
    second = queue.get_task("A")
    before = queue.task_info(task_id).lease_expires_at
    clock.advance(1)
    worker.heartbeat()
    assert queue.task_info(task_id).lease_expires_at == before and second.attempts == 2


def test_a_heartbeat_while_the_task_is_being_marked_renews_nothing_and_warns_nothing(make_queue):
    """La carrera latido ↔ marca: si el hilo de latidos llega justo cuando el worker ya marcó la tarea,
    la cola respondería «está en estado 'completed'»; ese latido no renueva ni avisa (no es un problema)."""
    from lab.workers.heartbeat import renew_leases
    from lab.workers.inflight import InFlight

    queue = make_queue(lease_timeout=30)
    queue.add_task({"image_path": "images/photo1.jpg", "output_path": "output/x.jpg"})
    task = queue.get_task("w1")
    job = InFlight(task, 0.0, 0.0)
    job.marking = True                                   # lo que hace BaseWorker._mark antes de marcar
    queue.mark_completed(task.id, result={}, worker_id="w1", attempt=task.token)
    logger = logging.getLogger("test.latido")
    handler = RecordingHandler()
    logger.addHandler(handler)
    try:
        renew_leases(queue, "w1", [job], logger)
    finally:
        logger.removeHandler(handler)
    assert handler.records == [] and not job.lost
