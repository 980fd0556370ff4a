"""Cuentas de la sesión: speedup, eficiencia, Amdahl, línea de tiempo de la cola y desglose de tiempos.

Funciones puras (datos de entrada, números o listas de salida; sin matplotlib) que usan
las gráficas de ``lab.notebook.plots`` y con las que se corrigen los ejercicios. Aceptan tanto
objetos (``TaskEvent``, ``ImageResult``) como sus ``to_dict()``, porque los datos pueden
llegar por JSON o Redis. Una entrada incorrecta lanza ``TypeError`` (tipo equivocado) o
``ValueError`` (valor imposible) con un mensaje en español que nombra el dato culpable.
Las funciones de eventos viven en ``lab.notebook.timeline`` y se reexportan aquí.
"""

from __future__ import annotations

import math
import re
import statistics
from typing import Any, Iterable, Mapping

from lab.checks import as_dict, check_count, check_int, check_fraction, check_number, check_positive, require
from lab.notebook.timeline import (OUTCOMES, STATES, Interval, assign_lanes, intervals_from_timeline, is_abandoned,
                          normalise_events, states_over_time)

__all__ = ["speedup", "efficiency", "ideal_speedup", "amdahl_speedup", "fit_amdahl", "amdahl_estimate",
           "summarise_runs",
           "intervals_from_timeline", "states_over_time", "normalise_events", "is_abandoned", "Interval",
           "assign_lanes",
           "breakdown_rows", "breakdown_totals", "filter_times", "task_label", "health_rows",
           "natural_key", "PHASES", "STATES", "OUTCOMES"]

PHASES: tuple[str, ...] = ("load", "pipeline", "save")


# --- speedup y Amdahl -------------------------------------------------------------------

def speedup(t_serial: float, t_parallel: float) -> float:
    """Cuántas veces más rápido: ``t_serial / t_parallel``. Ambos tiempos deben ser > 0."""
    return check_positive(t_serial, "t_serial") / check_positive(t_parallel, "t_parallel")


def efficiency(speedup: float, workers: int) -> float:
    """Speedup por worker (1.0 = aprovechamiento perfecto): ``speedup / workers``."""
    return check_positive(speedup, "speedup") / check_count(workers, "workers")


def ideal_speedup(workers: int, cores: int) -> float:
    """El mejor speedup posible con procesos de CPU: ``min(workers, cores)``."""
    return float(min(check_count(workers, "workers"), check_count(cores, "cores")))


def amdahl_speedup(workers: float, serial_fraction: float) -> float:
    """Ley de Amdahl: ``1 / (f + (1 - f) / workers)`` con ``f`` la fracción serie (0..1).

    ``workers`` puede ser cualquier número >= 1 (sirve para dibujar la curva).
    """
    n = check_number(workers, "workers")
    if n < 1:
        raise ValueError(f"workers debe ser >= 1 (se recibió {workers!r}).")
    f = check_fraction(serial_fraction, "serial_fraction")
    return 1.0 / (f + (1.0 - f) / n)


def _points(points: Iterable[Any]) -> list[tuple[float, float]]:
    """Pares (workers, speedup) a partir de tuplas o de dicts con esas claves."""
    pairs = []
    for i, point in enumerate(points, start=1):
        if isinstance(point, Mapping):
            point = (require(point, "workers", f"El punto {i}"), require(point, "speedup", f"El punto {i}"))
        if not isinstance(point, (tuple, list)) or len(point) != 2:
            raise TypeError(f"El punto {i} debe ser un par (workers, speedup) (se recibió {point!r}).")
        workers = check_number(point[0], f"workers del punto {i}")
        if workers < 1:
            raise ValueError(f"workers del punto {i} debe ser >= 1 (se recibió {point[0]!r}).")
        pairs.append((workers, check_positive(point[1], f"speedup del punto {i}")))
    return pairs


def fit_amdahl(points: Iterable[Any], cores: int | None = None) -> float:
    """La fracción serie ``f`` (0..1) cuya curva de Amdahl mejor explica los puntos medidos.

    ``points`` son pares ``(workers, speedup)`` o dicts con esas claves (sirven las filas
    de ``summarise_runs``). Ajuste por mínimos cuadrados sobre el speedup, con ``f``
    limitada a [0, 1]. Con ``cores`` solo se usan los puntos con ``workers <= cores``: por
    encima, lo que frena es que faltan núcleos, no la parte serie. Basta un punto con más
    de un worker. Lanza ``ValueError`` si no queda ninguno.
    """
    pairs = _points(points)
    if cores is not None:
        limit = check_count(cores, "cores")
        pairs = [(n, s) for n, s in pairs if n <= limit]
    if not any(n > 1 for n, _ in pairs):
        limit = "" if cores is None else f" (y como mucho {cores}, los núcleos)"
        raise ValueError(f"Para ajustar Amdahl hace falta al menos una medida con más de 1 worker{limit}.")

    def error(f: float) -> float:
        return sum((s - 1.0 / (f + (1.0 - f) / n)) ** 2 for n, s in pairs)

    steps = 200  # rejilla gruesa y después sección áurea alrededor del mejor punto
    best = min(range(steps + 1), key=lambda i: error(i / steps))
    low, high = max(best - 1, 0) / steps, min(best + 1, steps) / steps
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if error(a) <= error(b):
            high = b
        else:
            low = a
    return min((0.0, 1.0, (low + high) / 2), key=error)  # los extremos exactos si son lo mejor


def _by_round(runs: Iterable[Any]) -> dict[int, dict[int, float]]:
    """``{ronda: {workers: wall_time}}``; sin clave ``repeat``, la k-ésima ejecución de cada tamaño es la ronda k."""
    rounds: dict[int, dict[int, float]] = {}
    seen: dict[int, int] = {}
    for i, run in enumerate(runs, start=1):
        run = as_dict(run, f"La ejecución {i}")
        n = check_count(require(run, "workers", f"La ejecución {i}"), f"workers de la ejecución {i}")
        seen[n] = seen.get(n, 0) + 1
        number = run.get("repeat") or seen[n]
        rounds.setdefault(number, {})[n] = check_positive(require(run, "wall_time", f"La ejecución {i}"),
                                                          f"wall_time de la ejecución {i}")
    return rounds


def amdahl_estimate(runs: Iterable[Any], cores: int) -> dict[str, Any]:
    """La fracción serie con su incertidumbre: un ajuste con las medianas y otro por cada ronda.

    Solo cuentan los tamaños de 2 a ``cores`` workers (por encima faltan núcleos). Devuelve
    ``{"fraction", "low", "high", "per_round", "rounds", "points", "reliable", "reason",
    "ceiling"}``: ``fraction`` sale de las medianas, ``low``/``high`` son la menor y la mayor
    de las fracciones ajustadas ronda a ronda (cada ronda con su propio tiempo de 1 worker),
    ``points`` cuántos tamaños útiles hay, y ``ceiling`` el techo ``1/f`` como rango
    ``(mínimo, máximo)`` (``inf`` si ``f`` puede ser 0), solo si la estimación es fiable:
    al menos 2 tamaños útiles, 2 rondas y un rango de ``f`` de 10 puntos como mucho. Si no
    lo es, ``reason`` dice por qué. Sin ningún tamaño útil, ``fraction`` es ``None``.
    """
    limit = check_count(cores, "cores")
    runs = list(runs)
    rounds = _by_round(runs)
    usable = sorted({n for times in rounds.values() for n in times if 1 < n <= limit})
    result: dict[str, Any] = {"fraction": None, "low": None, "high": None, "per_round": [], "rounds": 0,
                              "points": len(usable), "reliable": False, "reason": None, "ceiling": None}
    rows = summarise_runs(runs)
    if not usable or not rows or rows[0]["workers"] != 1:
        result["reason"] = f"hace falta medir 1 worker y al menos un tamaño entre 2 y {limit} workers"
        return result
    result["fraction"] = fit_amdahl(rows, cores=limit)
    for times in rounds.values():
        if 1 in times and any(n in times for n in usable):
            result["per_round"].append(fit_amdahl([(n, times[1] / times[n]) for n in usable if n in times]))
    result["rounds"] = len(result["per_round"])
    result["low"], result["high"] = min(result["per_round"]), max(result["per_round"])
    if len(usable) < 2:
        result["reason"] = (f"con {limit} núcleos solo hay un tamaño útil ({usable[0]} workers): "
                            "f sale de una sola medida de speedup")
    elif result["rounds"] < 2:
        result["reason"] = "con una sola ronda no se sabe cuánto varía la medida"
    elif result["high"] - result["low"] > 0.10:
        result["reason"] = (f"las rondas no se ponen de acuerdo (f entre {result['low']:.0%} "
                            f"y {result['high']:.0%})")
    else:
        result["reliable"] = True
        result["ceiling"] = (1 / result["high"] if result["high"] > 0 else math.inf,
                             1 / result["low"] if result["low"] > 0 else math.inf)
    return result


def summarise_runs(runs: Iterable[Any], t_serial: float | None = None) -> list[dict[str, Any]]:
    """Una fila por número de workers: mediana, mínimo y máximo del tiempo, speedup y eficiencia.

    Cada ejecución es un dict ``{"workers": n, "wall_time": segundos, "tasks": k, ...}``
    (se admiten varias repeticiones por ``n``). El speedup se calcula respecto a
    ``t_serial`` o, si no se da, a la mediana de las ejecuciones con 1 worker; sin ninguna
    de las dos, las columnas de speedup y eficiencia valen ``None``. ``speedup_min`` y
    ``speedup_max`` salen del tiempo máximo y mínimo. Lanza ``ValueError`` si falta una
    clave o si las ejecuciones no procesaron el mismo número de tareas.
    """
    groups: dict[int, list[float]] = {}
    tasks = set()
    for i, run in enumerate(runs, start=1):
        run = as_dict(run, f"La ejecución {i}")
        n = check_count(require(run, "workers", f"La ejecución {i}"), f"workers de la ejecución {i}")
        wall = check_positive(require(run, "wall_time", f"La ejecución {i}"),
                              f"wall_time de la ejecución {i}")
        groups.setdefault(n, []).append(wall)
        if run.get("tasks") is not None:
            tasks.add(run["tasks"])
    if len(tasks) > 1:
        raise ValueError(f"Las ejecuciones no procesaron el mismo número de tareas ({sorted(tasks)}): "
                         "solo se pueden comparar ejecuciones con la misma carga.")
    if t_serial is not None:
        base = check_positive(t_serial, "t_serial")
    else:
        base = statistics.median(groups[1]) if 1 in groups else None
    rows = []
    for n in sorted(groups):
        times = groups[n]
        median = statistics.median(times)
        row = {"workers": n, "runs": len(times), "median": median, "min": min(times), "max": max(times),
               "tasks": next(iter(tasks), None), "speedup": None, "speedup_min": None,
               "speedup_max": None, "efficiency": None}
        if base is not None:
            row.update(speedup=base / median, speedup_min=base / max(times), speedup_max=base / min(times),
                       efficiency=base / median / n)
        rows.append(row)
    return rows


# --- desglose de tiempos por tarea --------------------------------------------------------

def task_label(result: Mapping[str, Any], index: int) -> str:
    """Nombre corto de una tarea: su ``task_id``, si no el nombre del fichero, si no ``tarea N``."""
    if result.get("task_id"):
        return str(result["task_id"])
    if result.get("image_path"):
        return str(result["image_path"]).replace("\\", "/").rsplit("/", 1)[-1]
    return f"tarea {index}"


def breakdown_rows(results: Iterable[Any]) -> list[dict[str, Any]]:
    """Una fila por resultado: ``label``, ``load``, ``pipeline``, ``save`` y ``total`` (segundos).

    ``total`` es la suma de las tres fases. Lanza ``ValueError`` si a un resultado le falta
    una fase o un tiempo es negativo.
    """
    rows = []
    for i, result in enumerate(results, start=1):
        result = as_dict(result, f"El resultado {i}")
        label = task_label(result, i)
        row: dict[str, Any] = {"label": label}
        for phase in PHASES:
            seconds = check_number(require(result, phase, f"El resultado de {label}"), f"{phase} de {label}")
            if seconds < 0:
                raise ValueError(f"{phase} de {label} no puede ser negativo (se recibió {seconds!r}).")
            row[phase] = seconds
        row["total"] = sum(row[phase] for phase in PHASES)
        rows.append(row)
    return rows


def breakdown_totals(results: Iterable[Any]) -> dict[str, Any]:
    """Suma de cada fase en todos los resultados y qué parte del total supone.

    Devuelve ``{"tasks": n, "load": s, "pipeline": s, "save": s, "total": s,
    "shares": {"load": 0..1, "pipeline": 0..1, "save": 0..1}}``; sin resultados, todo 0.
    """
    rows = breakdown_rows(results)
    totals: dict[str, Any] = {"tasks": len(rows)}
    for phase in PHASES:
        totals[phase] = sum(row[phase] for row in rows)
    totals["total"] = sum(totals[phase] for phase in PHASES)
    grand = totals["total"]
    totals["shares"] = {phase: (totals[phase] / grand if grand else 0.0) for phase in PHASES}
    return totals


def filter_times(results: Iterable[Any]) -> list[dict[str, Any]]:
    """Tiempo de cada filtro del pipeline: media, mínimo y máximo entre resultados.

    ``filters`` de cada resultado es una lista de ``[nombre, segundos]``. Un filtro se
    identifica por su posición y su nombre (``"1. blur"``), así un mismo filtro usado dos
    veces aparece dos veces. Devuelve filas ``{"filter", "mean", "min", "max", "count"}``
    en el orden del pipeline.
    """
    groups: dict[str, list[float]] = {}
    for i, result in enumerate(results, start=1):
        result = as_dict(result, f"El resultado {i}")
        label = task_label(result, i)
        for position, item in enumerate(require(result, "filters", f"El resultado de {label}"), start=1):
            if isinstance(item, Mapping):
                item = (item.get("name"), item.get("seconds"))
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValueError(f"El filtro {position} de {label} debe ser [nombre, segundos] "
                                 f"(se recibió {item!r}).")
            seconds = check_number(item[1], f"el tiempo del filtro {position} de {label}")
            groups.setdefault(f"{position}. {item[0]}", []).append(seconds)
    return [{"filter": name, "mean": statistics.fmean(times), "min": min(times), "max": max(times),
             "count": len(times)} for name, times in groups.items()]


def health_rows(workers_health: Iterable[Any]) -> list[dict[str, Any]]:
    """Filas del panel de salud, validadas y en orden natural de ``worker_id``.

    Cada elemento es un dict ``{"worker_id", "healthy", "tasks_completed", "tasks_failed",
    "heartbeat_age"}`` o un worker (se combinan su ``get_stats()`` y su ``health()``); solo
    ``worker_id`` es obligatoria (los contadores valen 0 y la edad del latido ``None`` si
    faltan). Lanza ``ValueError``/``TypeError`` si un valor no cuadra.
    """
    rows = []
    for i, item in enumerate(workers_health, start=1):
        if callable(getattr(item, "health", None)) and callable(getattr(item, "get_stats", None)):
            item = {**item.get_stats(), **item.health()}
        item = as_dict(item, f"El worker {i}")
        worker = str(require(item, "worker_id", f"El worker {i}"))
        age = item.get("heartbeat_age")
        if age is not None:
            age = max(check_number(age, f"heartbeat_age de {worker}"), 0.0)
        row = {"worker_id": worker, "healthy": bool(item.get("healthy")), "heartbeat_age": age}
        for key in ("tasks_completed", "tasks_failed"):
            value = item.get(key) or 0
            row[key] = check_int(value, f"{key} de {worker}", minimum=0)
        rows.append(row)
    return sorted(rows, key=lambda r: natural_key(r["worker_id"]))


def natural_key(text: str) -> list[Any]:
    """Clave de orden natural: ``worker-2`` antes que ``worker-10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]
