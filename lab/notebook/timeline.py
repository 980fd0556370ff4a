"""La cola en el tiempo: de los eventos de ``TaskQueue.timeline()`` a tramos por worker y conteos por estado.

Acepta ``TaskEvent`` o sus ``to_dict()`` (los eventos pueden llegar por JSON o Redis).
Los tiempos se devuelven en el reloj de la cola; las gráficas restan el primer evento.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

from lab.checks import as_dict, check_number, require

STATES: tuple[str, ...] = ("pending", "processing", "completed", "failed")
OUTCOMES: tuple[str, ...] = ("completed", "failed", "requeued", "abandoned", "processing")


class Interval(NamedTuple):
    """Un tramo de trabajo: ``worker_id`` tuvo ``task_id`` de ``start`` a ``end`` (intento ``attempt``)."""

    worker_id: str | None
    task_id: str
    start: float
    end: float
    outcome: str
    attempt: int


def normalise_events(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Los eventos como dicts ``{time, task_id, state, worker_id, attempt, reason}``, ordenados por tiempo.

    Acepta ``TaskEvent`` o sus ``to_dict()``; si vienen desordenados, los ordena. Lanza
    ``ValueError`` si falta una clave o el estado no es ``pending/processing/completed/failed``.
    """
    clean = []
    for i, event in enumerate(events, start=1):
        what = f"El evento {i}"
        event = as_dict(event, what)
        state = str(getattr(require(event, "state", what), "value", event["state"]))
        if state not in STATES:
            raise ValueError(f"{what} tiene un estado desconocido '{state}' "
                             f"(se esperaba uno de {', '.join(STATES)}).")
        clean.append({"time": check_number(require(event, "time", what), f"time del evento {i}"),
                      "task_id": str(require(event, "task_id", what)), "state": state,
                      "worker_id": event.get("worker_id"), "attempt": event.get("attempt") or 0,
                      "reason": event.get("reason")})
    if all(a["time"] <= b["time"] for a, b in zip(clean, clean[1:])):
        return clean  # ya en orden (como los da la cola): se respeta el orden de los empates
    # Desordenados (p. ej. mezclados desde Redis): en un empate, el intento y después
    # "processing" antes que lo que lo cierra reconstruyen el orden causal de cada tarea.
    return sorted(clean, key=lambda e: (e["time"], e["attempt"], e["state"] != "processing"))


def is_abandoned(event: Mapping[str, Any]) -> bool:
    """``True`` si un evento ``failed`` es una tarea abandonada (su worker dejó de latir sin intentos ya).

    La cola lo indica en el motivo ("Tarea ... abandonada: ...").
    """
    return event["state"] == "failed" and "abandon" in str(event.get("reason") or "").lower()


def intervals_from_timeline(events: Iterable[Any], now: float | None = None) -> list[Interval]:
    """Los tramos de trabajo de cada worker, en orden de inicio.

    Un evento ``processing`` abre un tramo; el siguiente evento de esa tarea lo cierra con
    el resultado ``completed``, ``failed``, ``abandoned`` (fallida por concesión caducada) o
    ``requeued`` (volvió a ``pending``). Las tareas aún en proceso acaban en ``now`` o, sin
    él, en el último evento, con resultado ``processing``.
    """
    clean = normalise_events(events)
    open_: dict[str, dict[str, Any]] = {}
    done = []
    for event in clean:
        started = open_.pop(event["task_id"], None)
        if started is not None:
            outcome = ("requeued" if event["state"] == "pending" else
                       "abandoned" if is_abandoned(event) else event["state"])
            done.append(Interval(started["worker_id"], event["task_id"], started["time"], event["time"],
                                 outcome, started["attempt"]))
        if event["state"] == "processing":
            open_[event["task_id"]] = event
    end = now if now is not None else (clean[-1]["time"] if clean else 0.0)
    for started in open_.values():
        done.append(Interval(started["worker_id"], started["task_id"], started["time"],
                             max(end, started["time"]), "processing", started["attempt"]))
    return sorted(done, key=lambda iv: (iv.start, iv.end))


def states_over_time(events: Iterable[Any]) -> dict[str, list[Any]]:
    """Cuántas tareas hay en cada estado tras cada instante con eventos.

    Devuelve ``{"times": [...], "pending": [...], "processing": [...], "completed": [...],
    "failed": [...]}``: listas del mismo largo; los eventos con el mismo tiempo cuentan como
    un único instante.
    """
    series: dict[str, list[Any]] = {"times": [], **{state: [] for state in STATES}}
    current: dict[str, str] = {}
    counts = dict.fromkeys(STATES, 0)
    for event in normalise_events(events):
        previous = current.get(event["task_id"])
        if previous is not None:
            counts[previous] -= 1
        counts[event["state"]] += 1
        current[event["task_id"]] = event["state"]
        if series["times"] and series["times"][-1] == event["time"]:
            for state in STATES:
                series[state][-1] = counts[state]
        else:
            series["times"].append(event["time"])
            for state in STATES:
                series[state].append(counts[state])
    return series


def assign_lanes(intervals: Iterable[Interval]) -> list[int]:
    """Carril de cada tramo dentro de la fila de su worker (0, 1, 2...), en el mismo orden.

    Un worker asíncrono tiene varias tareas a la vez: los tramos que se solapan van en
    carriles distintos para que se vean todos. Un worker síncrono usa solo el carril 0.
    """
    intervals = list(intervals)
    lanes = [0] * len(intervals)
    ends: dict[Any, list[float]] = {}  # por worker, dónde acaba lo último de cada carril
    for index in sorted(range(len(intervals)), key=lambda i: (intervals[i].start, intervals[i].end)):
        iv = intervals[index]
        lane_ends = ends.setdefault(iv.worker_id, [])
        free = next((lane for lane, end in enumerate(lane_ends) if end <= iv.start), None)
        if free is None:
            free = len(lane_ends)
            lane_ends.append(iv.end)
        lane_ends[free] = iv.end
        lanes[index] = free
    return lanes
