"""Retención: una cola de larga duración no crece sin fin (contra memoria y Redis).

Se descartan las tareas terminadas más antiguas (por número o por edad) y el principio del
historial; las pendientes y en proceso nunca. ``get_stats`` sigue contando todo y ``audit``
sigue siendo correcta para lo que queda.
"""

from __future__ import annotations

import pytest

from lab.errors import UnknownTaskError
from lab.workers import TaskState
from lab.workers.queue_api import Retention
from tests._workers_helpers import FakeClock


def drain(queue, worker: str = "w") -> int:
    """Completa todo lo pendiente con ``complete_and_get_next`` (una operación por tarea); devuelve cuántas."""
    done, task = 0, queue.get_task(worker)
    while task is not None:
        task = queue.complete_and_get_next(task.id, worker, result={"ok": True}, attempt=task.attempts)
        done += 1
    return done


def test_finished_tasks_beyond_the_limit_are_dropped_but_stats_count_them(make_queue):
    queue = make_queue(retention=Retention(max_finished=3, max_events=10))
    ids = queue.add_tasks({"n": i} for i in range(10))
    queue.add_task({"n": "pendiente"})
    for _ in range(9):
        task = queue.get_task("w")
        queue.mark_completed(task.id, worker_id="w", attempt=task.attempts)
    task = queue.get_task("w")                                   # task-0010 sigue en proceso
    stats = queue.get_stats()
    assert (stats["total"], stats["completed"], stats["processing"], stats["pending"]) == (11, 9, 1, 1)
    kept = [t.id for t in queue.tasks()]
    assert kept == ids[6:] + ["task-0011"]                      # 3 terminadas + en proceso + pendiente
    with pytest.raises(UnknownTaskError):
        queue.task_info(ids[0])
    assert len(queue.timeline()) <= 10 + 3
    assert queue.audit() == []
    queue.mark_completed(task.id, worker_id="w", attempt=task.attempts)
    assert queue.audit() == [] and queue.task_info(task.id).state is TaskState.COMPLETED


def test_finished_tasks_older_than_max_age_are_dropped(make_queue):
    clock = FakeClock()
    queue = make_queue(clock=clock, retention=Retention(max_finished=None, max_age=60, max_events=None))
    first = queue.add_task({"n": 1})
    queue.mark_failed(queue.get_task("w").id, error="x", worker_id="w")
    clock.advance(61)
    second = queue.add_task({"n": 2})
    queue.mark_completed(queue.get_task("w").id, worker_id="w")      # al terminar otra se revisa la edad
    assert [t.id for t in queue.tasks()] == [second]
    assert queue.get_stats()["failed"] == 1 and queue.audit() == []
    with pytest.raises(UnknownTaskError):
        queue.task_info(first)


def test_a_bad_retention_is_refused():
    with pytest.raises(ValueError):
        Retention(max_finished=-1)
    with pytest.raises(ValueError):
        Retention(max_age=float("nan"))


@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_100000_tasks_through_a_queue_with_retention_keep_memory_flat(backend, request):
    """Cota: con Retention(1000 terminadas, 5000 eventos) la cola guarda ≤ 1000 tareas y ≤ 5000
    eventos; en Redis, ≤ 1020 claves y < 1,5 MB (sin retención serían ~100.000 claves y ~140 MB)."""
    retention = Retention(max_finished=1000, max_events=5000)
    if backend == "memory":
        from lab.workers import TaskQueue
        queue = TaskQueue(retention=retention)
    else:
        from tests.redis_support import make_redis_queue
        queue = make_redis_queue(request.getfixturevalue("redis_url"), retention=retention)
    total = 0
    for _ in range(10):
        queue.add_tasks({"image_path": "images/photo1.jpg", "output_path": "output/photo1.jpg"}
                        for _ in range(10_000))
        total += drain(queue)
    assert total == 100_000
    stats = queue.get_stats()
    assert (stats["total"], stats["completed"], stats["pending"]) == (100_000, 100_000, 0)
    usage = queue.memory_usage()
    assert usage["tasks"] <= 1000 and usage["events"] <= 5000, usage
    if backend == "redis":
        assert usage["keys"] <= 1020 and usage["bytes"] < 1_500_000, usage
    assert queue.audit() == []


def test_100000_tasks_through_a_queue_made_with_defaults_keep_memory_flat(make_queue):
    """Acotada por defecto: sin ``retention=`` la cola usa ``Retention()`` (10.000 terminadas, 50.000 eventos).

    Antes, ``TaskQueue()`` y ``RedisTaskQueue(url, name)`` lo guardaban todo: 100.000 tareas y 300.000
    eventos (en Redis, ~100.000 claves y más de 100 MB). Ahora guarda lo mismo tras 50.000 tareas que
    tras 100.000; en Redis, ≤ 10.020 claves y unos 10 MB.
    """
    queue = make_queue()
    payload = {"image_path": "images/photo1.jpg", "output_path": "output/photo1.jpg"}
    usages = []
    for _ in range(10):
        queue.add_tasks(payload for _ in range(10_000))
        drain(queue)
        usages.append(queue.memory_usage())
    stats = queue.get_stats()
    assert (stats["total"], stats["completed"], stats["pending"]) == (100_000, 100_000, 0)
    half, full = usages[4], usages[9]
    assert (full["tasks"], full["events"]) == (half["tasks"], half["events"]) == (10_000, 50_000), usages
    if "bytes" in full:                                         # plana: lo mismo tras 50.000 que tras 100.000
        assert full["keys"] == half["keys"] <= 10_020 and full["bytes"] < 1.1 * half["bytes"] < 25_000_000, usages
    assert queue.audit() == [] and queue.retention == Retention()


def test_keeping_everything_is_an_explicit_choice(make_queue):
    queue = make_queue(retention=None)
    assert queue.retention is None
    ids = queue.add_tasks({"n": i} for i in range(30))
    drain(queue)
    assert [t.id for t in queue.tasks()] == ids and len(queue.timeline()) == 90 and queue.audit() == []


@pytest.mark.redis
def test_stats_says_which_retention_a_queue_keeps(redis_url, capsys):
    """``python -m lab stats`` dice la retención de la cola: la de por defecto o «sin retención», elegida."""
    from lab.cli.queue_commands import main
    from tests.redis_support import make_redis_queue

    defaults, everything = make_redis_queue(redis_url), make_redis_queue(redis_url, retention=None)
    for queue, text in ((defaults, "retención: 10.000 terminadas, 50.000 eventos (la de por defecto)"),
                        (everything, "sin retención (elegido con retention=None): guarda todas las tareas")):
        queue.add_task({"n": 1})
        assert main(["stats", "--queue", redis_url, "--name", queue.name]) == 0
        assert text in capsys.readouterr().out
