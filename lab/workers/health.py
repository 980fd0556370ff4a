"""``HealthPolicy``: cuándo un worker deja de estar sano (lo que decide ``is_healthy()``).

Un worker puede estar *vivo* (su hilo de latidos late) y aun así *no avanzar* (una tarea
colgada para siempre): por eso se mira tanto la edad del último latido como cuánto lleva
el worker con la misma tarea. Cuatro comprobaciones, cada una con su motivo en español:

1. el bucle del worker se detuvo por un error;
2. está ocupado y lleva más de ``stale_after`` segundos sin latir (el proceso o sus hilos no responden);
3. lleva más de ``task_time_limit`` segundos con una misma tarea (vivo pero sin avanzar);
4. de sus últimas ``failure_window`` tareas (y al menos ``min_samples``), falló más de ``max_failure_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.checks import check_fraction, check_int, check_positive


@dataclass(frozen=True)
class HealthPolicy:
    """Los límites de la salud de un worker; ``None`` en ``stale_after`` elige uno según la concesión.

    Con ``stale_after=None`` el límite es ``max(lease_timeout, 3 × heartbeat_interval, 10 s)``;
    con ``task_time_limit=None`` no hay límite por tarea. Lanza ``TypeError``/``ValueError``
    si algún valor no es válido.
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
        if value is None:
            return cls()
        if isinstance(value, HealthPolicy):
            return value
        raise TypeError(f"health_policy debe ser un HealthPolicy y recibió {value!r}.")

    def stale_limit(self, lease_timeout: float | None, heartbeat_interval: float) -> float:
        """Segundos sin latido, estando ocupado, a partir de los cuales el worker no está sano."""
        return self.stale_after or max(lease_timeout or 0.0, 3 * heartbeat_interval, 10.0)

    def reasons(self, *, crash: str | None, busy: bool, heartbeat_age: float | None, stale_limit: float,
                task_ages: dict[str, float], failure_rate: float, recent: int) -> list[str]:
        """Los motivos por los que un worker con estos datos no está sano (lista vacía si lo está)."""
        found = []
        if crash is not None:
            found.append(f"El bucle del worker se detuvo por un error: {crash}.")
        if busy and heartbeat_age is not None and heartbeat_age > stale_limit:
            found.append(f"Lleva {heartbeat_age:.1f} s sin latir estando ocupado (límite {stale_limit:.1f} s).")
        if self.task_time_limit is not None:
            for task_id, age in task_ages.items():
                if age > self.task_time_limit:
                    found.append(f"Lleva {age:.1f} s en {task_id} (límite {self.task_time_limit:.1f} s): "
                                 "late, pero no avanza.")
        if recent >= self.min_samples and failure_rate > self.max_failure_rate:
            found.append(f"Fallaron el {failure_rate:.0%} de sus últimas {recent} tareas "
                         f"(límite {self.max_failure_rate:.0%}).")
        return found

    def to_dict(self) -> dict[str, Any]:
        """Los límites como datos JSON planos (para paneles)."""
        return {"stale_after": self.stale_after, "task_time_limit": self.task_time_limit,
                "max_failure_rate": self.max_failure_rate, "failure_window": self.failure_window,
                "min_samples": self.min_samples}
