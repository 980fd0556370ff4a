"""``HealthPolicy``: cuándo un worker deja de estar sano (lo que decide ``is_healthy()``).

Un worker puede estar *vivo* (su hilo de latidos late) y aun así *no avanzar* (una tarea colgada):
por eso se mira tanto la edad del último latido como cuánto lleva con cada tarea. Cuatro motivos:

1. el bucle del worker se detuvo por un error;
2. está ocupado y lleva más de ``stale_after`` segundos sin latir (el proceso o sus hilos no responden);
3. lleva más de ``task_time_limit`` segundos en un intento de una tarea (vivo pero sin avanzar); el
   worker, además, la rescata (``timelimit.py``) y el motivo dice cómo;
4. de sus últimas ``failure_window`` tareas (y al menos ``min_samples``), falló más de ``max_failure_rate``.

Un worker parado sin errores está sano: ``alive`` (en marcha) y ``healthy`` (sin motivos) son cosas distintas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.checks import check_fraction, check_int, check_positive


@dataclass(frozen=True)
class HealthPolicy:
    """Los límites de la salud de un worker; ``TypeError``/``ValueError`` si alguno no es válido.

    Con ``stale_after=None`` el límite es ``max(lease_timeout, 3 × heartbeat_interval, 10 s)``;
    con ``task_time_limit=None`` no hay límite por intento (ni se rescata nada). Con límite, un intento
    que lo pasa se rescata aunque avance despacio: ponlo por encima de la tarea legítima más lenta.
    """

    stale_after: float | None = None
    task_time_limit: float | None = None
    max_failure_rate: float = 0.5
    failure_window: int = 20
    min_samples: int = 5

    def __post_init__(self) -> None:
        for name in ("stale_after", "task_time_limit"):
            if getattr(self, name) is not None:
                check_positive(getattr(self, name), name)
        check_fraction(self.max_failure_rate, "max_failure_rate")
        check_int(self.failure_window, "failure_window")
        check_int(self.min_samples, "min_samples")

    @classmethod
    def coerce(cls, value: "HealthPolicy | None") -> "HealthPolicy":
        """Acepta una política o ``None`` (la política por defecto); ``TypeError`` con otra cosa."""
        if value is None or isinstance(value, HealthPolicy):
            return value or cls()
        raise TypeError(f"health_policy debe ser un HealthPolicy y recibió {value!r}.")

    def stale_limit(self, lease_timeout: float | None, heartbeat_interval: float) -> float:
        """Segundos sin latido, estando ocupado, a partir de los cuales el worker no está sano."""
        return self.stale_after or max(lease_timeout or 0.0, 3 * heartbeat_interval, 10.0)

    def report(self, worker_id: str, *, state: str, running: bool, crash: str | None,
               heartbeat_age: float | None, stale_limit: float, task_ages: dict[str, float],
               failures: tuple[float, int], rescue: str | None = None) -> dict[str, Any]:
        """El diagnóstico de ``worker.health()``: los datos, ``healthy`` y los motivos (en español) si no lo está.

        ``running``: el bucle está en marcha; ``crash``: por qué cayó la última ejecución (o ``None``);
        ``failures``: (tasa de fallos reciente, tareas en la ventana); ``rescue``: qué se hace con una
        tarea que pasa del límite (``TimeLimit.action``). En el informe, ``alive`` = en marcha y sin
        caerse; ``crashed`` = la última ejecución terminó por un error; ``progressing`` = ninguna
        tarea pasa del límite.
        """
        (rate, recent), limit, reasons = failures, self.task_time_limit, []
        if crash is not None:
            reasons.append(f"El bucle del worker se detuvo por un error: {crash}.")
        if state == "busy" and heartbeat_age is not None and heartbeat_age > stale_limit:
            reasons.append(f"Lleva {heartbeat_age:.1f} s sin latir estando ocupado (límite {stale_limit:.1f} s).")
        late = {task_id: age for task_id, age in task_ages.items() if limit is not None and age > limit}
        then = f"; {rescue}" if rescue else ""
        reasons += [f"Lleva {age:.1f} s en {task_id} (límite {limit:.1f} s): late, pero no avanza{then}."
                    for task_id, age in late.items()]
        if recent >= self.min_samples and rate > self.max_failure_rate:
            reasons.append(f"Fallaron el {rate:.0%} de sus últimas {recent} tareas "
                           f"(límite {self.max_failure_rate:.0%}).")
        return {"worker_id": worker_id, "healthy": not reasons, "alive": running and crash is None,
                "crashed": crash is not None, "progressing": not late,
                "state": state, "heartbeat_age": heartbeat_age, "stale_after": stale_limit,
                "task_ages": task_ages, "task_time_limit": limit,
                "recent_failure_rate": rate, "recent_tasks": recent, "reasons": reasons}
