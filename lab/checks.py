"""Validación de argumentos: números, enteros, calidad JPEG y dicts, en un solo sitio.

Cada ``check_*`` devuelve el valor limpio o lanza un error con una frase en español que nombra
el dato: ``TypeError`` (tipo equivocado) o ``ValueError`` (valor imposible), o la clase que
se le pase en ``error`` (p. ej. ``InvalidTaskError`` para el payload de una tarea). ``True`` y
``False`` nunca cuentan como números, aunque en Python ``bool`` sea subclase de ``int``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping


def is_integer(value: Any) -> bool:
    """``True`` si ``value`` es un entero de verdad (``True``/``False`` no cuentan)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """``True`` si ``value`` es un número real (entero o float; ``True``/``False`` no cuentan)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None,
              error: type[Exception] = ValueError) -> int:
    """Un entero entre ``minimum`` y ``maximum`` (incluidos); si no, ``error`` nombrando el dato."""
    if not is_integer(value) or value < minimum or (maximum is not None and value > maximum):
        bounds = f"entre {minimum} y {maximum}" if maximum is not None else f">= {minimum}"
        raise error(f"{name} debe ser un entero {bounds} y recibió {value!r:.40}.")
    return int(value)


def check_quality(value: Any, name: str = "quality", error: type[Exception] = ValueError) -> int:
    """La calidad JPEG/WebP: un entero entre 1 y 100."""
    return check_int(value, name, minimum=1, maximum=100, error=error)


def check_number(value: Any, name: str) -> float:
    """``value`` como float finito; ``TypeError``/``ValueError`` con el nombre del dato si no lo es."""
    if not is_real(value):
        raise TypeError(f"{name} debe ser un número (se recibió {value!r}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} debe ser un número finito (se recibió {value!r}).")
    return float(value)


def check_positive(value: Any, name: str) -> float:
    """Un número finito > 0."""
    number = check_number(value, name)
    if number <= 0:
        raise ValueError(f"{name} debe ser > 0 (se recibió {value!r}).")
    return number


def check_count(value: Any, name: str) -> int:
    """Un entero >= 1 (número de workers o de núcleos)."""
    if not is_integer(value):
        raise TypeError(f"{name} debe ser un entero (se recibió {value!r}).")
    if value < 1:
        raise ValueError(f"{name} debe ser >= 1 (se recibió {value!r}).")
    return int(value)


def check_fraction(value: Any, name: str) -> float:
    """Un número entre 0 y 1."""
    number = check_number(value, name)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} debe estar entre 0 y 1 (se recibió {value!r}).")
    return number


def as_dict(item: Any, what: str) -> Mapping[str, Any]:
    """Un dict a partir de un dict o de un objeto con ``to_dict()``."""
    if hasattr(item, "to_dict"):
        item = item.to_dict()
    if not isinstance(item, Mapping):
        raise TypeError(f"{what} debe ser un dict o tener to_dict() (se recibió {type(item).__name__}).")
    return item


def require(data: Mapping[str, Any], key: str, what: str) -> Any:
    """``data[key]``; si falta, ``ValueError`` nombrando ``what`` y la clave."""
    if key not in data:
        raise ValueError(f"{what} no tiene la clave '{key}'.")
    return data[key]
