"""El estado del aula: de lo guardado en Redis (sin validar) a un resumen por portátil y del aula entera.

``snapshot(raw)`` valida lo que leyó ``Room.read()`` (o un aula grabada con la misma forma) y
devuelve un ``RoomSnapshot`` con solo datos limpios: las fichas que pasan ``clean_machine`` (las
demás van a ``rejected`` con su motivo), las señales, las marcas y los eventos de la cola con el
portátil de cada uno (``ana/1`` → ``ana``; un id que no es del aula cuenta como ``None``).
``summarize(snap)`` da lo que muestran ``room status`` y el panel, con claves en inglés:

- por portátil: ``completed``, ``failed``, ``rescued`` (tareas suyas que volvieron a la cola por
  concesión), ``tasks_per_second`` (completadas / segundos con alguna tarea en curso: los ratos
  sin trabajo no cuentan), ``busy_seconds`` y ``recent_tasks_per_second`` (completadas en los
  últimos ``window`` segundos);
- del aula: los mismos ritmos (el tiempo es el de la unión de todos), el portátil más rápido y
  ``speedup_vs_fastest`` = ritmo del aula / ritmo del más rápido: cuántos portátiles como el
  mejor vale el aula entera.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.checks import is_real
from lab.room.machine import NAME_PATTERN, machine_of
from lab.room.published import LOST_AFTER, Rejected, clean_machine, clean_presence, shown_name

__all__ = ["RoomSnapshot", "snapshot", "summarize", "WINDOW", "STATE_LABELS"]

WINDOW = 10.0    # segundos del ritmo «ahora»
STATE_LABELS = {"measuring": "midiendo", "working": "trabajando", "left": "se fue", "out": "sacado",
                "lost": "sin señal", "unknown": "sin ficha"}
MARKS = ("joined", "left", "out")


@dataclass
class RoomSnapshot:
    """Una lectura validada del aula; ``now`` es la hora del servidor al leer."""

    machines: dict[str, dict[str, Any]]
    rejected: list[dict[str, str]]
    presence: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    queue: dict[str, int]
    now: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON plano (para guardar un aula grabada)."""
        return asdict(self)


def _event(item: Any) -> dict[str, Any] | None:
    data = item.to_dict() if hasattr(item, "to_dict") else item
    if not isinstance(data, dict) or data.get("state") not in ("pending", "processing", "completed", "failed"):
        return None
    when = data.get("time")
    if not is_real(when) or not math.isfinite(when) or not isinstance(data.get("task_id"), str):
        return None
    return {"time": float(when), "task_id": data["task_id"][:40], "state": data["state"],
            "machine": machine_of(data.get("worker_id")), "attempt": data.get("attempt") or 0}


def _mark(text: Any) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if isinstance(text, str) and len(text) < 512 else text
    except ValueError:
        return None
    if (not isinstance(data, dict) or data.get("what") not in MARKS or not is_real(data.get("time"))
            or not math.isfinite(data["time"]) or not isinstance(data.get("name"), str)
            or not NAME_PATTERN.fullmatch(data["name"])):
        return None
    return {"time": float(data["time"]), "name": data["name"], "what": data["what"]}


def snapshot(raw: dict[str, Any]) -> RoomSnapshot:
    """Valida lo leído con ``Room.read()`` (o un aula grabada): nada sin validar sale de aquí."""
    now = float(raw["now"])
    machines, rejected = {}, []
    for name, text in raw.get("machines", {}).items():
        try:
            machines[name] = clean_machine(name, text)
        except Rejected as exc:
            rejected.append({"name": shown_name(name), "problem": str(exc)})
    presence = {}
    for name, text in raw.get("seen", {}).items():
        signal = clean_presence(text, now)
        if signal is not None and isinstance(name, str) and NAME_PATTERN.fullmatch(name):
            presence[name] = signal
    events = [e for e in map(_event, raw.get("events", [])) if e is not None]
    marks = [m for m in map(_mark, raw.get("marks", [])) if m is not None]
    stats = raw.get("stats", {})
    queue = {key: int(stats.get(key, 0)) for key in ("total", "pending", "processing", "completed", "failed")}
    return RoomSnapshot(machines, rejected, presence, events, marks, queue, now,
                        dict(raw["extra"]) if isinstance(raw.get("extra"), dict) else {})


def _state(snap: RoomSnapshot, name: str) -> str:
    signal = snap.presence.get(name)
    if signal is None:
        return "unknown"
    if signal["state"] in ("left", "out"):
        return signal["state"]
    return "lost" if signal["age"] > LOST_AFTER else signal["state"]


def _busy_time(spans: list[tuple[float, float]]) -> float:
    """Segundos en que hubo al menos un tramo abierto (la unión de los tramos)."""
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total, reach = total + (end - start), end
        elif end > reach:
            total, reach = total + (end - reach), end
    return total


def _counts(snap: RoomSnapshot, window: float) -> dict[str | None, dict[str, Any]]:
    """Por portátil: completadas, fallidas, rescatadas, tramos de trabajo, primera tarea y completadas recientes.

    Un tramo va de que el portátil recibe una tarea a que la termina; el de una tarea rescatada
    (volvió a la cola por concesión) no cuenta como trabajo: acaba cuando caduca, no cuando se fue.
    """
    counts: dict[str | None, dict[str, Any]] = {}
    holder: dict[str, tuple[str | None, float]] = {}

    def row(machine: str | None) -> dict[str, Any]:
        return counts.setdefault(machine, {"completed": 0, "failed": 0, "rescued": 0, "spans": [], "first": None,
                                           "recent": 0})
    for event in snap.events:
        state, task, when = event["state"], event["task_id"], event["time"]
        if state == "processing":
            holder[task] = (event["machine"], when)
            entry = row(event["machine"])
            entry["first"] = when if entry["first"] is None else min(entry["first"], when)
            continue
        held = holder.pop(task, None)
        if state == "pending":
            if held is not None:
                row(held[0])["rescued"] += 1
            continue
        entry = row(event["machine"] if event["machine"] is not None or held is None else held[0])
        entry[state] += 1
        if held is not None:
            entry["spans"].append((held[1], when))
        if state == "completed":
            entry["recent"] += when > snap.now - window
    for machine, start in holder.values():                  # en curso: trabajando hasta ahora
        row(machine)["spans"].append((start, max(snap.now, start)))
    return counts


def _rates(entry: dict[str, Any], now: float, window: float) -> tuple[float, float]:
    """(tareas/s mientras trabajaba: completadas / tiempo con alguna tarea en curso, tareas/s recientes)."""
    busy = _busy_time(entry["spans"])
    average = entry["completed"] / busy if entry["completed"] and busy > 0 else 0.0
    span = min(window, now - entry["first"]) if entry["first"] is not None else 0.0
    return average, (entry["recent"] / span if span > 0 else 0.0)


def summarize(snap: RoomSnapshot, window: float = WINDOW) -> dict[str, Any]:
    """El estado del aula como JSON: ``machines`` (uno por portátil, por nombre), ``rejected`` y ``totals``."""
    counts = _counts(snap, window)
    names = sorted(set(snap.machines) | {m for m in counts if m is not None}, key=str.lower)
    machines = []
    for name in names:
        info = snap.machines.get(name, {})
        entry = counts.get(name) or {"completed": 0, "failed": 0, "rescued": 0, "spans": [], "first": None,
                                     "recent": 0}
        average, recent = _rates(entry, snap.now, window)
        signal = snap.presence.get(name)
        machines.append({"name": name, "registered": name in snap.machines, "state": _state(snap, name),
                         "cores": info.get("cores"), "physical_cores": info.get("physical_cores"),
                         "cpu_model": info.get("cpu_model"), "os": info.get("os"), "python": info.get("python"),
                         "pillow": info.get("pillow"), "limited_to": info.get("limited_to"),
                         "completed": entry["completed"], "failed": entry["failed"], "rescued": entry["rescued"],
                         "tasks_per_second": average, "recent_tasks_per_second": recent,
                         "busy_seconds": _busy_time(entry["spans"]), "last_seen_seconds": None if signal is None else signal["age"],
                         "measurement": info.get("measurement", [])})
    everyone = {"completed": 0, "failed": 0, "rescued": 0, "spans": [], "first": None, "recent": 0}
    for entry in counts.values():
        for key in ("completed", "failed", "rescued", "recent", "spans"):
            everyone[key] += entry[key]
        if entry["first"] is not None:
            everyone["first"] = entry["first"] if everyone["first"] is None else min(everyone["first"], entry["first"])
    average, recent = _rates(everyone, snap.now, window)
    fastest = max(machines, key=lambda m: m["tasks_per_second"], default=None)
    best = fastest["tasks_per_second"] if fastest else 0.0
    registered = [m for m in machines if m["registered"]]
    totals = {"machines": len(registered),
              "active": sum(m["state"] in ("measuring", "working") for m in registered),
              "cores": sum(m["cores"] for m in registered),
              "physical_cores": sum(m["physical_cores"] for m in registered),
              **{key: snap.queue[key] for key in ("total", "pending", "processing", "completed", "failed")},
              "rescued": everyone["rescued"], "busy_seconds": _busy_time(everyone["spans"]),
              "tasks_per_second": average, "recent_tasks_per_second": recent,
              "fastest_machine": fastest["name"] if best > 0 else None, "fastest_tasks_per_second": best,
              "speedup_vs_fastest": average / best if best > 0 else None, "window_seconds": window}
    return {"machines": machines, "rejected": snap.rejected, "totals": totals, "server_time": snap.now}
