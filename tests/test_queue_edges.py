"""Bordes de la API de las colas, contra memoria y Redis: copias, todo o nada, plazos y payloads.

La misma cola tiene que aceptar o rechazar lo mismo venga de donde venga: si la de memoria
acepta algo que la de Redis no puede guardar (o al revés), el código que funciona en el
cuaderno falla al pasar a varias máquinas.
"""

from __future__ import annotations

import math
import threading
import time

import pytest

from lab.errors import InvalidTaskError
from lab.workers import SimpleWorker, TaskQueue, TaskState
from lab.workers.jsonpayload import JSON_MAX_INT, MAX_PAYLOAD_DEPTH, check_payload


def payload(n: int) -> dict:
    return {"image_path": f"images/photo{n}.jpg", "output_path": f"output/photo{n}.jpg"}


def nested(levels: int) -> dict:
    """Un dict con ``levels`` niveles de anidamiento en total (el payload cuenta como el primero)."""
    root = current = {}
    for _ in range(levels - 1):
        current["n"] = {}
        current = current["n"]
    return root


# --- copias --------------------------------------------------------------------------------------

def test_the_queue_keeps_a_copy_of_the_payload(make_queue):
    queue = make_queue()
    original = {"image_path": "a.jpg", "output_path": "b.jpg", "pipeline": {"filters": [{"name": "blur"}]}}
    task_id = queue.add_task(original)
    original["image_path"] = "otra.jpg"
    original["pipeline"]["filters"].append({"name": "grayscale"})
    task = queue.get_task("w")
    assert task.payload == {"image_path": "a.jpg", "output_path": "b.jpg", "pipeline": {"filters": [{"name": "blur"}]}}
    task.payload["output_path"] = "cambiada.jpg"          # un worker que toca su copia
    task.payload["pipeline"]["filters"].clear()
    assert queue.task_info(task_id).payload["output_path"] == "b.jpg"
    assert queue.task_info(task_id).payload["pipeline"]["filters"] == [{"name": "blur"}]


def test_tuples_are_stored_as_lists_in_both_queues(make_queue):
    queue = make_queue()
    task_id = queue.add_task({"size": (320, 240), "tags": ("a", ("b",))})
    assert queue.task_info(task_id).payload == {"size": [320, 240], "tags": ["a", ["b"]]}


# --- add_tasks: todo o nada -----------------------------------------------------------------------

def test_add_tasks_with_a_bad_payload_enqueues_nothing(make_queue):
    queue = make_queue()
    with pytest.raises(InvalidTaskError, match=r"nº 2 .*no se ha encolado ninguna"):
        queue.add_tasks([payload(1), {"when": object()}, payload(3)])
    assert queue.get_stats()["total"] == 0 and queue.get_task("w") is None
    assert queue.add_tasks([payload(1), payload(2)]) == ["task-0001", "task-0002"]   # reintentar no duplica
    assert queue.get_stats()["total"] == 2 and queue.audit() == []


def test_add_tasks_in_several_batches_is_all_or_nothing(make_queue):
    queue = make_queue()
    many = [payload(i) for i in range(1200)]                # más de un lote en Redis (500 por script)
    with pytest.raises(InvalidTaskError, match="nº 1201"):
        queue.add_tasks([*many, {"x": float("nan")}])
    assert queue.get_stats()["total"] == 0
    ids = queue.add_tasks(iter(many))
    assert ids[0] == "task-0001" and ids[-1] == "task-1200" and len(set(ids)) == 1200
    assert queue.get_stats()["pending"] == 1200


def test_add_tasks_after_shutdown_enqueues_nothing(make_queue):
    from lab.errors import QueueShutDown

    queue = make_queue()
    queue.shutdown()
    with pytest.raises(QueueShutDown):
        queue.add_tasks([payload(i) for i in range(1200)])
    assert queue.get_stats()["total"] == 0


# --- plazos ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [math.nan, -1, -0.001, "1", -math.inf])
def test_nan_and_negative_timeouts_are_refused(make_queue, bad):
    queue = make_queue()
    with pytest.raises(ValueError, match="timeout"):
        queue.get_task("w", timeout=bad)
    with pytest.raises(ValueError, match="timeout"):
        queue.join(timeout=bad)


def test_an_infinite_timeout_waits_without_limit(make_queue):
    queue = make_queue()
    got = []
    getter = threading.Thread(target=lambda: got.append(queue.get_task("w", timeout=math.inf)))
    getter.start()
    time.sleep(0.2)
    assert getter.is_alive() and not got
    task_id = queue.add_task(payload(1))
    getter.join(10)
    assert got and got[0].id == task_id
    done = threading.Thread(target=lambda: queue.mark_completed(task_id, worker_id="w"))
    done.start()
    assert queue.join(timeout=math.inf) is True
    done.join()
    assert queue.get_task("w", timeout=0) is None and queue.join(timeout=0) is True


@pytest.mark.parametrize("option", ["poll_interval", "heartbeat_interval"])
@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf])
def test_worker_intervals_must_be_positive_and_finite(option, bad):
    with pytest.raises(ValueError, match=option):
        SimpleWorker("w", None, TaskQueue(), **{option: bad})


# --- payloads: las dos colas aceptan y rechazan lo mismo -------------------------------------------

def _self_referencing() -> dict:
    data: dict = {"image_path": "a.jpg"}
    data["yo"] = data
    return data


def _self_referencing_list() -> dict:
    items: list = []
    items.append(items)
    return {"items": items}


REFUSED = {
    "se contiene a sí mismo": (_self_referencing, "anida más de"),
    "lista que se contiene": (_self_referencing_list, "anida más de"),
    "600 niveles": (lambda: nested(600), "anida más de"),
    "33 niveles": (lambda: nested(MAX_PAYLOAD_DEPTH + 1), "anida más de"),
    "entero > 2**53": (lambda: {"n": JSON_MAX_INT + 1}, "fuera del rango"),
    "entero < -2**53": (lambda: {"n": [-JSON_MAX_INT - 1]}, "fuera del rango"),
    "entero enorme": (lambda: {"n": 10 ** 5000}, "fuera del rango"),
    "nombre con sustituto": (lambda: {"image_path": "foto\udcff.jpg"}, r"'image_path'\] no es texto UTF-8"),
    "clave con sustituto": (lambda: {"foto\udcff": 1}, "no es texto UTF-8"),
    "NaN": (lambda: {"x": math.nan}, "NaN"),
    "infinito": (lambda: {"x": [1.0, math.inf]}, "infinito"),
    "-infinito": (lambda: {"x": {"y": -math.inf}}, "infinito"),
    "clave no texto": (lambda: {1: "a"}, "no es un texto"),
    "set": (lambda: {"x": {1, 2}}, "set"),
    "bytes": (lambda: {"x": b"abc"}, "bytes"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_payloads_refused_identically_by_both_queues(make_queue, name):
    make, message = REFUSED[name]
    queue = make_queue()
    with pytest.raises(InvalidTaskError, match=message):
        queue.add_task(make())
    with pytest.raises(InvalidTaskError, match=message):
        queue.add_tasks([payload(1), make()])
    assert queue.get_stats()["total"] == 0


ACCEPTED = {
    "32 niveles": nested(MAX_PAYLOAD_DEPTH),
    "enteros límite": {"n": [JSON_MAX_INT, -JSON_MAX_INT, 0, True, None]},
    "texto no ASCII": {"image_path": "fotos/año/ñandú-😀.jpg", "€": "ü"},
    "floats": {"x": [0.1, -2.5e300, 5e-324, -0.0]},
    "vacío": {},
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_payloads_accepted_identically_by_both_queues(make_queue, name):
    queue = make_queue()
    task_id = queue.add_task(ACCEPTED[name])
    assert queue.task_info(task_id).payload == ACCEPTED[name]
    assert queue.get_task("w").payload == ACCEPTED[name]


def test_a_self_referencing_payload_is_refused_before_any_recursion_error():
    with pytest.raises(InvalidTaskError, match=r"payload\['yo'\]\['yo'\]\['yo'\]\[…\]"):
        check_payload(_self_referencing())
