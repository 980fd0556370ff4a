"""Validación de los datos de entrada de ``lab.analysis``: números, contadores y dicts.

Cada función devuelve el valor limpio o lanza ``TypeError`` (tipo equivocado) o
``ValueError`` (valor imposible) con una frase en español que nombra el dato.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping


def check_number(value: Any, name: str) -> float:
    """``value`` como float finito; ``TypeError``/``ValueError`` con el nombre del dato si no lo es."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
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
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
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
