"""``WorkerStats``: los contadores y tiempos de un worker, seguros entre hilos.

Guarda lo que enseña la guía (``tasks_completed``, ``tasks_failed``, ``success_rate``,
``total_processing_time``) más los totales por etapa (carga, pipeline, guardado), los
reintentos, las concesiones perdidas, un historial acotado de resultados (solo tiempos,
nunca píxeles) y una ventana de los últimos resultados para el *health check*.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Iterable

from lab.checks import is_real

STAGES = ("load", "pipeline", "save")


class WorkerStats:
    """Contadores de un worker; ``record_*`` los actualizan y ``snapshot()`` da una copia coherente.

    ``history`` es cuántos resultados recientes se guardan y ``window`` cuántos cuentan para
    la tasa de fallos reciente.
    """

    def __init__(self, history: int = 100, window: int = 20):
        self._lock = threading.Lock()
        self.completed = self.failed = self.retries = self.lease_lost = 0
        self.processing_time = self.failed_time = 0.0
        self.stage_time = {stage: 0.0 for stage in STAGES}
        self.filter_time: dict[str, float] = {}
        self.results: collections.deque[dict[str, Any]] = collections.deque(maxlen=history)
        self.recent: collections.deque[bool] = collections.deque(maxlen=window)

    def record_success(self, task_id: str, duration: float, result: dict[str, Any], attempts: int) -> None:
        """Cuenta una tarea completada con su duración y el desglose de ``result`` (si lo trae)."""
        stages = {stage: _seconds(result.get(stage)) for stage in STAGES}
        filters = list(_filter_pairs(result.get("filters")))
        with self._lock:
            self.completed += 1
            self.processing_time += duration
            for stage, seconds in stages.items():
                self.stage_time[stage] += seconds
            for name, seconds in filters:
                self.filter_time[name] = self.filter_time.get(name, 0.0) + seconds
            self.recent.append(True)
            self.results.append({"task_id": task_id, "status": "completed", "duration": duration,
                                 "attempts": attempts, **stages, "filters": filters})

    def record_failure(self, task_id: str, duration: float, error: str, attempts: int) -> None:
        """Cuenta una tarea fallida con su duración y el mensaje de error."""
        with self._lock:
            self.failed += 1
            self.failed_time += duration
            self.recent.append(False)
            self.results.append({"task_id": task_id, "status": "failed", "duration": duration,
                                 "attempts": attempts, "error": error})

    def record_retry(self) -> None:
        """Cuenta un reintento."""
        with self._lock:
            self.retries += 1

    def record_lease_lost(self, task_id: str, duration: float) -> None:
        """Cuenta una tarea cuyo resultado se descartó porque otro worker la tenía ya."""
        with self._lock:
            self.lease_lost += 1
            self.results.append({"task_id": task_id, "status": "lease_lost", "duration": duration})

    def recent_failure_rate(self) -> tuple[float, int]:
        """La fracción de fallos en la ventana reciente y cuántas tareas hay en ella."""
        with self._lock:
            n = len(self.recent)
            return ((n - sum(self.recent)) / n if n else 0.0), n

    def snapshot(self) -> dict[str, Any]:
        """Copia coherente de todos los contadores con las claves de la guía."""
        with self._lock:
            finished = self.completed + self.failed
            return {
                "tasks_completed": self.completed,
                "tasks_failed": self.failed,
                "success_rate": self.completed / finished if finished else 0.0,
                "total_processing_time": self.processing_time,
                "average_processing_time": self.processing_time / self.completed if self.completed else 0.0,
                "failed_processing_time": self.failed_time,
                "load_time": self.stage_time["load"],
                "pipeline_time": self.stage_time["pipeline"],
                "save_time": self.stage_time["save"],
                "filter_times": dict(self.filter_time),
                "retries": self.retries,
                "lease_lost": self.lease_lost,
                "results": [dict(r) for r in self.results],
            }


def _seconds(value: Any) -> float:
    return float(value) if is_real(value) else 0.0


def _filter_pairs(value: Any) -> Iterable[tuple[str, float]]:
    """Los pares ``(nombre, segundos)`` de ``result['filters']`` (lista de pares o de dicts)."""
    if not isinstance(value, (list, tuple)):
        return
    for item in value:
        if isinstance(item, dict):
            name, seconds = item.get("name"), item.get("seconds", item.get("time"))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            name, seconds = item
        else:
            continue
        yield str(name), _seconds(seconds)


def merge_stats(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Suma las estadísticas de varios workers (``get_stats()``) en unas totales."""
    total: dict[str, Any] = {key: 0 for key in ("tasks_completed", "tasks_failed", "retries", "lease_lost")}
    for key in ("total_processing_time", "failed_processing_time", "load_time", "pipeline_time", "save_time"):
        total[key] = 0.0
    filters: dict[str, float] = {}
    for snap in snapshots:
        for key in total:
            total[key] += snap.get(key, 0)
        for name, seconds in snap.get("filter_times", {}).items():
            filters[name] = filters.get(name, 0.0) + seconds
    finished = total["tasks_completed"] + total["tasks_failed"]
    total["success_rate"] = total["tasks_completed"] / finished if finished else 0.0
    total["average_processing_time"] = (total["total_processing_time"] / total["tasks_completed"]
                                        if total["tasks_completed"] else 0.0)
    total["filter_times"] = filters
    return total
