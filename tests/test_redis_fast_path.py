"""``complete_and_get_next``: completar y pedir la siguiente en una operación, igual en las dos colas."""

from __future__ import annotations

import json

import pytest

from lab.errors import InvalidTransitionError, LeaseLostError, UnknownTaskError
from lab.workers import TaskState
from tests._workers_helpers import FakeClock
from tests.redis_support import make_redis_queue


def payload(n: int) -> dict:
    return {"image_path": f"images/photo{n}.jpg", "output_path": f"output/photo{n}.jpg"}


def test_completes_and_hands_over_the_next_task(make_queue):
    clock = FakeClock()
    queue = make_queue(lease_timeout=30, clock=clock)
    first, second = queue.add_tasks([payload(1), payload(2)])
    queue.get_task("w1")
    clock.now += 2
    nxt = queue.complete_and_get_next(first, "w1", result={"ok": 1})
    assert nxt.id == second and nxt.payload == payload(2) and nxt.state is TaskState.PROCESSING
    assert nxt.worker_id == "w1" and nxt.attempts == 1 and nxt.started_at == pytest.approx(1002.0)
    assert nxt.lease_expires_at == pytest.approx(1032.0)
    done = queue.task_info(first)
    assert done.state is TaskState.COMPLETED and done.result == {"ok": 1}
    assert queue.task_info(second) == nxt
    stats = queue.get_stats()
    assert (stats["completed"], stats["processing"], stats["pending"]) == (1, 1, 0)
    assert [(e.task_id, e.state) for e in queue.timeline()][-2:] == [(first, TaskState.COMPLETED),
                                                                     (second, TaskState.PROCESSING)]
    assert queue.audit() == []


def test_returns_none_when_nothing_is_pending(make_queue):
    queue = make_queue()
    task_id = queue.add_task(payload(1))
    queue.get_task("w1")
    assert queue.complete_and_get_next(task_id, "w1") is None
    assert queue.task_info(task_id).state is TaskState.COMPLETED
    assert queue.get_stats()["processing"] == 0 and queue.audit() == []


def test_a_refused_completion_hands_over_nothing(make_queue):
    queue = make_queue()
    first, _ = queue.add_tasks([payload(1), payload(2)])
    queue.get_task("w1")
    with pytest.raises(LeaseLostError, match="w2"):
        queue.complete_and_get_next(first, "w2")
    with pytest.raises(UnknownTaskError):
        queue.complete_and_get_next("task-9999", "w1")
    assert queue.get_stats()["pending"] == 1 and queue.task_info(first).state is TaskState.PROCESSING
    queue.mark_completed(first, worker_id="w1")
    with pytest.raises(InvalidTransitionError):
        queue.complete_and_get_next(first, "w1")
    assert queue.get_stats()["pending"] == 1 and queue.audit() == []


def test_redis_retry_after_a_lost_reply_is_not_an_error_and_returns_the_same_task(redis_url):
    queue = make_redis_queue(redis_url, lease_timeout=60)
    first, second, _ = queue.add_tasks(payload(i) for i in range(3))
    queue.get_task("w")
    args = (first, "w", "", "60", 3, "ficha-1")
    lost = queue._run("finish_next", *args[:3], "0", *args[3:])       # la respuesta "se pierde"
    again = queue._run("finish_next", *args[:3], "1", *args[3:])      # reintento con la misma ficha
    assert lost[0] == again[0] == ["ok"]
    assert json.loads(lost[1][1])["id"] == json.loads(again[1][1])["id"] == second
    stats = queue.get_stats()
    assert (stats["completed"], stats["processing"], stats["pending"]) == (1, 1, 1) and queue.audit() == []


def test_scripts_are_loaded_again_after_the_server_forgets_them(redis_url):
    queue = make_redis_queue(redis_url)
    queue._client.script_flush()                 # como un Redis reiniciado sin AOF
    task_id = queue.add_task(payload(1))
    queue._client.script_flush()
    assert queue.get_task("w1").id == task_id
    queue._client.script_flush()
    assert queue.complete_and_get_next(task_id, "w1") is None
    assert queue.task_info(task_id).state is TaskState.COMPLETED and queue.audit() == []
