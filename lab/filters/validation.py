"""El endurecimiento de los filtros: parámetros validados, anidamiento acotado y mensajes cortos.

Lo usan ``base.py`` (al leer una spec), ``basic.py`` (``check_param`` en cada ``__post_init__``) y
``pipeline.py`` (qué elementos y qué spec admite un ``FilterPipeline``). Un filtro propio funciona sin nada de
aquí; sirve para que una spec recibida por la cola no pueda colar valores que luego revienten
dentro de Pillow ni agotar la pila. Todos los errores son ``FilterSpecError`` o ``TypeError`` con
un mensaje en español.
"""

from __future__ import annotations

import math
import reprlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image

from lab.checks import is_integer, is_real
from lab.errors import FilterSpecError

#: Niveles de anidamiento que admite una spec o un ``FilterPipeline``: un filtro suelto es un nivel,
#: un pipeline de filtros son dos, un pipeline dentro de otro tres... Más allá no hay un uso razonable
#: y, sin límite, una spec maliciosa de cientos de niveles agotaría la pila (``RecursionError``).
MAX_SPEC_DEPTH = 32

# Profundidad de la lectura en curso en este hilo (``filter_from_spec`` se llama a sí mismo a
# través de ``FilterPipeline._from_params``).
_reading = threading.local()

# ``repr`` acotado para los mensajes: un valor enorme o anidado a miles de niveles no debe
# convertir el mensaje de error en otro error (``RecursionError``) ni en una pantalla de dígitos.
_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother, _short.maxlong = 3, 60, 60, 40


def shown(value: Any) -> str:
    """``repr(value)`` acortado para un mensaje de error (nunca falla por tamaño ni anidamiento)."""
    return _short.repr(value)


@contextmanager
def spec_level() -> Iterator[None]:
    """Un nivel más de lectura de spec en este hilo mientras dura el ``with``.

    Lanza ``FilterSpecError`` (con ``too_deep = True``, para que los pipelines de fuera no
    añadan «filtro 0: » por nivel) si la lectura pasa de ``MAX_SPEC_DEPTH`` niveles.
    """
    depth = getattr(_reading, "depth", 0) + 1
    if depth > MAX_SPEC_DEPTH:
        error = FilterSpecError(
            f"la spec está anidada a más de {MAX_SPEC_DEPTH} niveles (MAX_SPEC_DEPTH): simplifica el "
            "pipeline, un pipeline dentro de otro basta para agrupar filtros")
        error.too_deep = True
        raise error
    _reading.depth = depth
    try:
        yield
    finally:
        _reading.depth = depth - 1


def check_filters(filters: Any, kind: type) -> tuple[Any, int]:
    """Los elementos de un ``FilterPipeline`` como tupla, y sus niveles de anidamiento.

    ``filters`` es un filtro suelto (un ``kind``) o una secuencia de ellos. Los niveles se
    cuentan como al leer una spec: un filtro simple es 1 y un pipeline, 1 + su elemento más
    hondo. Lanza ``TypeError`` si ``filters`` no es una secuencia de ``kind`` y
    ``FilterSpecError`` si anida más de ``MAX_SPEC_DEPTH`` niveles.
    """
    if isinstance(filters, kind):
        filters = (filters,)
    elif isinstance(filters, (str, bytes, dict)) or not isinstance(filters, Iterable):
        raise TypeError(
            "FilterPipeline espera una lista de filtros (p. ej. [BlurFilter(radius=3)]) "
            f"y recibió {type(filters).__name__}: {shown(filters)}")
    items = tuple(filters)
    for position, item in enumerate(items):
        if not isinstance(item, kind):
            hint = " (usa FilterPipeline.from_spec para specs JSON)" if isinstance(item, dict) else ""
            raise TypeError(
                f"FilterPipeline: el elemento {position} debe ser un Filter y es "
                f"{type(item).__name__}: {shown(item)}{hint}")
    depth = 1 + max((getattr(item, "_depth", 1) for item in items), default=0)
    if depth > MAX_SPEC_DEPTH:
        raise FilterSpecError(
            f"FilterPipeline: los pipelines están anidados a más de {MAX_SPEC_DEPTH} niveles "
            "(MAX_SPEC_DEPTH); un pipeline dentro de otro basta para agrupar filtros")
    return items, depth


def pipeline_specs(params: dict[str, Any]) -> list:
    """La lista ``filters`` de la spec de un pipeline, ya comprobada.

    Lanza ``FilterSpecError`` si sobra algún parámetro, falta ``filters`` o no es una lista.
    """
    extra = [key for key in params if key != "filters"]
    if extra:
        raise FilterSpecError(f"FilterPipeline: parámetro desconocido {extra[0]!r}; admite: filters")
    if "filters" not in params:
        raise FilterSpecError("FilterPipeline: falta el parámetro obligatorio 'filters' (una lista)")
    specs = params["filters"]
    if not isinstance(specs, list):
        raise FilterSpecError(
            f"FilterPipeline: 'filters' debe ser una lista de specs y recibió {type(specs).__name__}")
    return specs


def check_param(owner: Any, param: str, *, minimum: float, maximum: float | None = None,
                strict: bool = False, integer: bool = False, optional: bool = False) -> None:
    """Valida (y normaliza a ``int``/``float`` de Python) el campo ``param`` de ``owner``.

    Rechaza ``bool``, textos, NaN, infinitos, valores por debajo de ``minimum`` (o iguales, si
    ``strict``) y por encima de ``maximum``. Cada filtro fija ``maximum`` de modo que todo valor
    aceptado se pueda aplicar de verdad (sin él, ``BlurFilter(1e300)`` se aceptaría y fallaría
    después dentro de Pillow). Lanza ``FilterSpecError`` con un mensaje que nombra filtro,
    parámetro y rango.
    """
    original = getattr(owner, param)
    if original is None and optional:
        return
    kind = "un entero" if integer else "un número"
    allowed = f"{kind} {'>' if strict else '>='} {minimum:g}"
    if maximum is not None:
        allowed += f" y <= {maximum:g}"
    value: Any = original
    ok = is_real(value)
    if ok and integer:
        ok = is_integer(value) or (isinstance(value, float) and value.is_integer())
    if ok:
        try:  # float(Fraction(10**400)) desborda: es un valor fuera de rango más
            value = int(value) if integer or is_integer(value) else float(value)
        except (OverflowError, ValueError):
            ok = False
    if ok:  # los int de Python no tienen infinitos (math.isfinite(10**400) desbordaría)
        ok = ((isinstance(value, int) or math.isfinite(value))
              and (value > minimum if strict else value >= minimum)
              and (maximum is None or value <= maximum))
    if not ok:
        raise FilterSpecError(
            f"{type(owner).__name__}: {param!r} debe ser {allowed} y recibió {shown(original)}")
    object.__setattr__(owner, param, value)


def check_output_size(owner: object, size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Devuelve ``size`` si una imagen de ese tamaño se puede crear y guardar; si no, ``FilterSpecError``.

    Rechaza un lado de más de ``max_side`` píxeles (el mayor que admite JPEG) y más píxeles que
    ``Image.MAX_IMAGE_PIXELS`` (para no agotar la memoria), nombrando el filtro ``owner``.
    """
    name = type(owner).__name__
    if max(size) > max_side:
        raise FilterSpecError(
            f"{name}: la salida de {size[0]}x{size[1]} píxeles tiene un lado de más de "
            f"{max_side} píxeles; usa un tamaño o una escala menor")
    limit = Image.MAX_IMAGE_PIXELS
    if limit and size[0] * size[1] > limit:
        raise FilterSpecError(
            f"{name}: la salida de {size[0]}x{size[1]} píxeles supera el límite de "
            f"Pillow ({limit} píxeles); usa un tamaño o una escala menor")
    return size
