"""Lo propio de ``RedisTaskQueue`` (lo común con ``TaskQueue`` está en test_queue_conformance.py).

Espacios de nombres, solo JSON en el servidor, ids únicos entre clientes, reloj del servidor,
registro de workers, auditoría que detecta listas corruptas, errores de conexión en español
y ``open_queue``. Todos usan un redis-server real (ver ``redis_support``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from lab.errors import QueueConnectionError, QueueShutDown
from lab.workers import TaskQueue, TaskState
from lab.workers.redis.connect import safe_url
from lab.workers.redis.queue import RedisTaskQueue
from lab.workers.urls import open_queue
from tests.redis_support import free_port, make_redis_queue, unique_name
from tests._workers_helpers import FakeClock

pytestmark = pytest.mark.redis


def payload(n: int) -> dict:
    return {"image_path": f"images/photo{n}.jpg", "output_path": f"output/photo{n}.jpg"}


def test_queues_with_different_names_do_not_see_each_other(redis_url):
    a, b = make_redis_queue(redis_url), make_redis_queue(redis_url)
    a.add_task(payload(1))
    assert b.add_task(payload(2)) == "task-0001"
    assert a.get_stats()["total"] == 1 and b.get_stats()["total"] == 1
    assert b.get_task("w").payload == payload(2)
    keys = a._client.keys(a.prefix + "*")
    assert keys and all(key.startswith(f"lab:{a.name}:") for key in keys)


def test_two_clients_of_the_same_queue_share_it(redis_url):
    producer = make_redis_queue(redis_url)
    consumer = RedisTaskQueue(redis_url, name=producer.name)
    ids = producer.add_tasks(payload(i) for i in range(3))
    assert [consumer.get_task("w").id for _ in ids] == ids
    consumer.shutdown()
    assert producer.is_shutdown
    with pytest.raises(QueueShutDown):
        producer.add_task(payload(9))


def test_ids_are_unique_across_many_clients(redis_url):
    first = make_redis_queue(redis_url)
    clients = [RedisTaskQueue(redis_url, name=first.name) for _ in range(4)]
    ids: list[str] = []
    lock = threading.Lock()

    def produce(queue):
        mine = queue.add_tasks(payload(0) for _ in range(250))
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=produce, args=(q,)) for q in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == [f"task-{n:04d}" for n in range(1, 1001)]
    assert first.audit() == []


def test_only_json_is_stored_never_pickle(redis_url):
    queue = make_redis_queue(redis_url)
    task_id = queue.add_task({"image_path": "ñandú.jpg", "output_path": "o.jpg", "pipeline": {"name": "pipeline",
                                                                                           "filters": []}})
    queue.get_task("w")
    queue.mark_completed(task_id, result={"status": "success", "total": 0.25})
    raw = queue._client.hgetall(queue._key(f"task:{task_id}"))
    assert json.loads(raw["payload"])["image_path"] == "ñandú.jpg"
    assert json.loads(raw["result"]) == {"status": "success", "total": 0.25}
    for item in queue._client.lrange(queue._key("events"), 0, -1):
        json.loads(item)
    dumped = [queue._client.dump(key) for key in queue._client.keys(queue.prefix + "*")]
    assert not any(b"\x80\x04" in value or b"\x80\x05" in value for value in dumped if value)


def test_default_clock_is_the_redis_server_clock(redis_url):
    queue = make_redis_queue(redis_url, lease_timeout=30)
    queue.add_task(payload(1))
    before = queue.server_time()
    task = queue.get_task("w")
    after = queue.server_time()
    assert before <= task.started_at <= after
    assert task.lease_expires_at == pytest.approx(task.started_at + 30)
    assert queue.heartbeat(task.id, "w") >= task.lease_expires_at
    assert queue.clock() >= after


def test_timestamps_keep_full_precision(redis_url):
    clock = FakeClock(1_764_384_000.123456)
    queue = make_redis_queue(redis_url, lease_timeout=0.5, clock=clock)
    queue.add_task(payload(1))
    task = queue.get_task("w")
    assert task.created_at == clock.now and task.lease_expires_at == clock.now + 0.5
    assert queue.timeline()[0].time == clock.now


def test_waiting_getter_is_woken_by_an_expired_lease(redis_url):
    queue = make_redis_queue(redis_url, lease_timeout=0.3)
    task_id = queue.add_task(payload(1))
    queue.get_task("muerto")
    rescued = queue.get_task("vivo", timeout=20)
    assert rescued is not None and rescued.id == task_id and rescued.attempts == 2


def test_worker_registry_tracks_last_contact_and_current_task(redis_url):
    clock = FakeClock()
    queue = make_redis_queue(redis_url, lease_timeout=10, clock=clock)
    task_id = queue.add_task(payload(1))
    queue.get_task("w1")
    queue.get_task("w2")
    clock.now += 5
    queue.heartbeat(task_id, "w1")
    rows = {row["worker_id"]: row for row in queue.workers(stale_after=30)}
    assert rows["w1"]["state"] == "busy" and rows["w1"]["current_task"] == task_id and rows["w1"]["age"] == 0
    assert rows["w2"]["state"] == "idle" and rows["w2"]["age"] == 5
    clock.now += 31
    queue.mark_completed(task_id, worker_id="w1")
    queue.worker_stopped("w1")
    rows = {row["worker_id"]: row for row in queue.workers(stale_after=30)}
    assert rows["w1"]["state"] == "stopped" and rows["w2"]["state"] == "lost"


def test_audit_detects_a_corrupted_queue(redis_url):
    queue = make_redis_queue(redis_url)
    ids = queue.add_tasks(payload(i) for i in range(2))
    queue.get_task("w")
    assert queue.audit() == []
    queue._client.lpush(queue._key("processing"), ids[0])
    queue._client.lpush(queue._key("pending"), "task-0099")
    queue._client.hincrby(queue._key("counts"), "completed", 1)
    problems = "\n".join(queue.audit())
    assert "task-0001 está 2 veces" in problems
    assert "task-0099" in problems and "'completed'" in problems


def test_finish_retried_after_a_lost_reply_is_not_an_error(redis_url):
    queue = make_redis_queue(redis_url)
    task_id = queue.add_task(payload(1))
    queue.get_task("w")
    queue.mark_completed(task_id, worker_id="w")
    # el primer envío se aplicó pero la respuesta se perdió: el reintento lleva la marca "1"
    reply = queue._run("finish", task_id, "completed", "w", "", "1")
    assert reply == ["ok"]
    assert queue.get_stats()["completed"] == 1 and queue.audit() == []


def test_clear_removes_every_key_of_the_queue(redis_url):
    queue = make_redis_queue(redis_url)
    queue.add_tasks(payload(i) for i in range(3))
    queue.get_task("w")
    assert queue.clear() > 0
    assert queue._client.keys(queue.prefix + "*") == []
    assert queue.add_task(payload(1)) == "task-0001"


def test_bad_name_is_rejected(redis_url):
    with pytest.raises(ValueError, match="name"):
        RedisTaskQueue(redis_url, name="con espacios*")


@pytest.mark.parametrize("url, expected", [
    ("redis://127.0.0.1:{port}/0", "conexión rechazada"),
    ("redis://:secreto@127.0.0.1:{port}/0", "redis://:***@127.0.0.1"),
    ("redis://127.0.0.1:{port}/abc", "debe ser un número"),
    ("unix:///no/existe/redis.sock", "no existe ese socket"),
])
def test_unreachable_or_wrong_url_gives_a_clear_spanish_error(url, expected):
    url = url.format(port=free_port())
    with pytest.raises(QueueConnectionError) as info:
        RedisTaskQueue(url, reconnect_timeout=0)
    message = str(info.value)
    assert expected in message and "secreto" not in message


def test_safe_url_hides_the_password():
    assert safe_url("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert safe_url("rediss://user:pw@host/1") == "rediss://user:***@host/1"
    assert safe_url("redis://host:6379/0") == "redis://host:6379/0"


def test_open_queue_picks_the_backend(redis_url):
    assert isinstance(open_queue(None), TaskQueue)
    memory = open_queue("memory://", lease_timeout=5, name="ignorado")
    assert isinstance(memory, TaskQueue) and memory.lease_timeout == 5
    redis_queue = open_queue(redis_url, name=unique_name(), max_attempts=2)
    try:
        assert isinstance(redis_queue, RedisTaskQueue) and redis_queue.max_attempts == 2
        assert redis_queue.get_stats()["total"] == 0
    finally:
        redis_queue.delete()
    with pytest.raises(QueueConnectionError, match="No se reconoce la URL"):
        open_queue("http://localhost:6379")


def test_importing_lab_workers_does_not_import_redis():
    code = ("import sys, lab.workers, lab.workers.redis.queue, lab.cli.queue_commands; "
            "assert 'redis' not in sys.modules, 'redis importado'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_redis_package_gives_a_spanish_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(QueueConnectionError, match=r"pip install -e '\.\[redis\]'"):
        RedisTaskQueue("redis://127.0.0.1:6379/0")


def test_state_survives_a_new_client(redis_url):
    queue = make_redis_queue(redis_url, lease_timeout=60)
    task_id = queue.add_task(payload(1))
    queue.get_task("w1")
    again = RedisTaskQueue(redis_url, name=queue.name)
    info = again.task_info(task_id)
    assert info.state is TaskState.PROCESSING and info.worker_id == "w1" and info.lease_expires_at
    assert [e.state for e in again.timeline()] == [TaskState.PENDING, TaskState.PROCESSING]


def test_claim_retried_after_a_lost_reply_returns_the_same_task(redis_url):
    queue = make_redis_queue(redis_url, lease_timeout=60)
    ids = queue.add_tasks(payload(i) for i in range(2))
    first = queue._run("claim", "w", "60", 3, "ficha-1", "0")      # la respuesta "se pierde"
    again = queue._run("claim", "w", "60", 3, "ficha-1", "1")      # reintento con la misma ficha
    assert first[0] == again[0] == 1
    assert json.loads(again[1])["id"] == ids[0]
    other = queue._run("claim", "w", "60", 3, "ficha-2", "1")      # otra ficha: otra tarea
    assert json.loads(other[1])["id"] == ids[1]
    assert queue.get_stats()["processing"] == 2 and queue.audit() == []


def test_a_command_refused_by_redis_is_a_queue_error(redis_url):
    from lab.errors import QueueError

    queue = make_redis_queue(redis_url)
    queue._client.set(queue._key("seq"), "no soy un número")      # INCR fallará en el servidor
    with pytest.raises(QueueError, match="rechazó la operación"):
        queue.add_task(payload(1))


def test_lab_workers_exports_the_redis_queue_lazily():
    code = ("import sys, lab.workers as w; from lab.workers import RedisTaskQueue, open_queue; "
            "assert RedisTaskQueue.__module__ == 'lab.workers.redis.queue'; "
            "assert type(open_queue(None)).__name__ == 'TaskQueue'; "
            "assert 'redis' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_pickled_copy_reconnects_to_the_same_queue(redis_url):
    import pickle

    queue = make_redis_queue(redis_url, lease_timeout=7, max_attempts=2)
    task_id = queue.add_task(payload(1))
    copy = pickle.loads(pickle.dumps(queue))
    assert (copy.name, copy.lease_timeout, copy.max_attempts) == (queue.name, 7, 2)
    assert copy.get_task("hijo").id == task_id
    assert queue.task_info(task_id).worker_id == "hijo"


def test_worker_stopped_without_retry_does_not_wait_for_a_dead_server(redis_url):
    queue = make_redis_queue(redis_url)
    assert queue.worker_stopped("w1", retry=False) is True
    assert queue.workers()[0]["state"] == "stopped"
    import redis

    # Las escrituras del registro de workers, contra un puerto cerrado: si reintentara, se quedaría colgado.
    queue._views._client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", decode_responses=True)
    assert queue.worker_stopped("w1", retry=False) is False


@pytest.mark.parametrize("count", [1, 3, 1200])   # 1200: add_tasks en lotes dentro de MULTI/EXEC
def test_an_add_whose_reply_is_lost_is_not_enqueued_twice(redis_url, count):
    """Redis aplica el alta pero la respuesta se pierde con la conexión: el reintento no duplica tareas."""
    queue = make_redis_queue(redis_url)
    queue.add_task({"image_path": "antes.jpg", "output_path": "antes.jpg"})   # la cola ya existe: se pierde el alta
    client = queue._conn.client
    lost = {"left": 1}

    def drop_reply(real):
        def call(*args, **kwargs):
            reply = real(*args, **kwargs)
            if lost["left"]:
                lost["left"] -= 1
                raise queue._conn.redis.ConnectionError("Connection reset by peer")  # el alta ya se aplicó
            return reply
        return call

    payloads = [{"image_path": f"in-{i}.jpg", "output_path": f"out-{i}.jpg"} for i in range(count)]
    if count > 500:
        real_pipeline = client.pipeline

        def pipeline(*args, **kwargs):
            pipe = real_pipeline(*args, **kwargs)
            pipe.execute = drop_reply(pipe.execute)
            return pipe
        client.pipeline = pipeline
        ids = queue.add_tasks(payloads)
    else:
        client.execute_command = drop_reply(client.execute_command)
        ids = queue.add_tasks(payloads) if count > 1 else [queue.add_task(payloads[0])]
    assert lost["left"] == 0, "la respuesta perdida no llegó a simularse"
    assert len(ids) == len(set(ids)) == count
    assert queue.get_stats()["total"] == count + 1 and queue.audit() == []
