"""``RetryPolicy``: cuántas veces reintentar una tarea y cuánto esperar entre intentos.

Espera exponencial con tope y *jitter*. Antes del reintento ``n`` (1, 2, 3...) la espera base es
``min(base_delay * factor ** (n - 1), max_delay)``: 1, 2, 4, 8... hasta el tope. Sobre ella, ``jitter``
añade azar para que muchos clientes que fallan a la vez no vuelvan todos en el mismo instante
(Marc Brooker, *Exponential Backoff And Jitter*, 2015): ``"full"`` (por defecto), uniforme en
``[0, espera]``; ``"equal"``, en ``[espera/2, espera]``; ``"none"`` (o ``0``), la espera exacta; y una
fracción ``j`` entre 0 y 1, la espera por un factor en ``[1 - j, 1 + j]``.

Solo se reintentan los errores que pueden ser pasajeros: un payload mal formado, una imagen que no
existe o un pipeline no válido fallarán igual (``PERMANENT_ERRORS``) y la tarea falla sin esperar.
"""

from __future__ import annotations

import itertools
import random as _random
from dataclasses import dataclass, field
from typing import Callable

from lab.checks import check_int, is_integer, is_real
from lab.errors import (CorruptImageError, FilterSpecError, ImageNotFoundError, ImageTooLargeError,
                        InvalidPathError, InvalidTaskError, UnsupportedFormatError)

#: Errores deterministas: reintentar fallaría igual (payload o spec no válidos, imagen ausente o dañada...).
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    InvalidTaskError, FilterSpecError, ImageNotFoundError, CorruptImageError, ImageTooLargeError, InvalidPathError,
    UnsupportedFormatError, RecursionError)

#: Los modos de *jitter* con nombre (además de una fracción numérica entre 0 y 1).
JITTER_MODES: tuple[str, ...] = ("full", "equal", "none")


@dataclass(frozen=True)
class RetryPolicy:
    """Política de reintentos: ``max_retries`` reintentos tras el primer intento, con espera exponencial.

    ``max_delay`` es el tope de la espera antes del azar; ``random`` (un float en ``[0, 1)``), inyectable.
    Lanza ``ValueError`` si algún parámetro es negativo, ``factor < 1`` o ``jitter`` no es válido.
    """

    max_retries: int = 0
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: str | float = "full"
    permanent: tuple[type[BaseException], ...] = PERMANENT_ERRORS
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_int(self.max_retries, "max_retries", minimum=0)
        for name in ("base_delay", "max_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} no puede ser negativo y recibió {getattr(self, name)!r}.")
        if self.factor < 1:
            raise ValueError(f"factor debe ser >= 1 y recibió {self.factor!r}.")
        if self.jitter not in JITTER_MODES and not (is_real(self.jitter) and 0 <= self.jitter <= 1):
            raise ValueError(f"jitter debe ser uno de {', '.join(JITTER_MODES)} o una fracción entre 0 y 1, "
                             f"y recibió {self.jitter!r}.")

    @classmethod
    def coerce(cls, value: "RetryPolicy | int | None") -> "RetryPolicy":
        """Acepta una política, un número de reintentos o ``None`` (sin reintentos); ``TypeError`` si no."""
        if value is None or isinstance(value, RetryPolicy):
            return value or cls()
        if is_integer(value):
            return cls(max_retries=value)
        raise TypeError(f"retry debe ser un RetryPolicy o un número de reintentos y recibió {value!r}.")

    @property
    def max_attempts(self) -> int:
        """Intentos totales como máximo (el primero más los reintentos)."""
        return self.max_retries + 1

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """``True`` si tras fallar el intento ``attempt`` (1, 2...) con ``error`` toca reintentar."""
        return isinstance(error, Exception) and not isinstance(error, self.permanent) and attempt <= self.max_retries

    def base(self, retry: int) -> float:
        """La espera antes del azar para el reintento ``retry``: exponencial y con el tope ``max_delay``."""
        return min(self.base_delay * self.factor ** (retry - 1), self.max_delay)

    def delay(self, retry: int) -> float:
        """Segundos a esperar antes del reintento número ``retry`` (1 = el primero), con el *jitter*."""
        delay = self.base(retry)
        if self.jitter == "full":
            delay *= self.random()
        elif self.jitter == "equal":
            delay = delay / 2 + delay / 2 * self.random()
        elif self.jitter != "none" and self.jitter:
            delay *= 1 + self.jitter * (2 * self.random() - 1)
        return max(delay, 0.0)

    def schedule(self) -> list[float]:
        """Los instantes (segundos desde el primer fallo) de cada reintento si todos los intentos fallan en el acto.

        Son las sumas acumuladas de ``delay(1..max_retries)``: cuándo vuelven muchos clientes que
        fallaron a la vez (``plot_backoff``).
        """
        return list(itertools.accumulate(self.delay(retry) for retry in range(1, self.max_retries + 1)))
