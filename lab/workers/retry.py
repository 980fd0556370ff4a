"""``RetryPolicy``: cuántas veces reintentar una tarea y cuánto esperar entre intentos.

Espera exponencial con *jitter*: antes del reintento ``n`` (1, 2, 3...) se espera
``base_delay * factor ** (n - 1)`` segundos (como mucho ``max_delay``), multiplicado por un
factor aleatorio en ``[1 - jitter, 1 + jitter]`` para que muchos workers que fallan a la vez
no vuelvan todos en el mismo instante. Con ``jitter=0`` las esperas son exactas: 1, 2, 4...

Solo se reintentan los errores que pueden ser pasajeros: un payload mal formado, una imagen
que no existe o está corrupta, o un pipeline no válido fallarán igual la próxima vez
(``PERMANENT_ERRORS``), así que la tarea se marca como fallida sin esperar.
"""

from __future__ import annotations

import random as _random
from dataclasses import dataclass, field
from typing import Callable

from lab.checks import check_int, is_integer
from lab.errors import (CorruptImageError, FilterSpecError, ImageNotFoundError, ImageTooLargeError,
                        InvalidTaskError)

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    InvalidTaskError, FilterSpecError, ImageNotFoundError, CorruptImageError, ImageTooLargeError)


@dataclass(frozen=True)
class RetryPolicy:
    """Política de reintentos: ``max_retries`` reintentos tras el primer intento, con espera exponencial.

    ``random`` (sin argumentos, devuelve un float en ``[0, 1)``) es inyectable para los tests.
    Lanza ``ValueError`` si algún parámetro es negativo o ``factor < 1``.
    """

    max_retries: int = 0
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.1
    permanent: tuple[type[BaseException], ...] = PERMANENT_ERRORS
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_int(self.max_retries, "max_retries", minimum=0)
        for name in ("base_delay", "max_delay", "jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} no puede ser negativo y recibió {getattr(self, name)!r}.")
        if self.factor < 1:
            raise ValueError(f"factor debe ser >= 1 y recibió {self.factor!r}.")
        if self.jitter > 1:
            raise ValueError(f"jitter es una fracción entre 0 y 1 y recibió {self.jitter!r}.")

    @classmethod
    def coerce(cls, value: "RetryPolicy | int | None") -> "RetryPolicy":
        """Acepta una política, un número de reintentos o ``None`` (sin reintentos).

        Lanza ``TypeError`` con cualquier otra cosa.
        """
        if value is None:
            return cls()
        if isinstance(value, RetryPolicy):
            return value
        if is_integer(value):
            return cls(max_retries=value)
        raise TypeError(f"retry debe ser un RetryPolicy o un número de reintentos y recibió {value!r}.")

    @property
    def max_attempts(self) -> int:
        """Intentos totales como máximo (el primero más los reintentos)."""
        return self.max_retries + 1

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """``True`` si tras fallar el intento ``attempt`` (1, 2...) con ``error`` toca reintentar."""
        if not isinstance(error, Exception) or isinstance(error, self.permanent):
            return False
        return attempt <= self.max_retries

    def delay(self, retry: int) -> float:
        """Segundos a esperar antes del reintento número ``retry`` (1 = el primero)."""
        delay = min(self.base_delay * self.factor ** (retry - 1), self.max_delay)
        if self.jitter:
            delay *= 1 + self.jitter * (2 * self.random() - 1)
        return max(delay, 0.0)
