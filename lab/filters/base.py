"""La clase base ``Filter``: objetos de valor inmutables, validados y convertibles a JSON.

Cada filtro es una *dataclass* congelada (como los de ``PIL.ImageFilter``) con un nombre
de especificación (``name``), ``apply(image)`` y ``to_spec()``. Al definir una subclase con
``name`` queda registrada, de modo que ``Filter.from_spec({"name": "blur", "radius": 3})``
reconstruye el filtro a partir de datos JSON planos. Todos los errores de parámetros o de
especificación son ``FilterSpecError`` (subclase de ``ValueError``) con un mensaje en español;
la validación de parámetros y el límite de anidamiento viven aparte, en ``validation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from PIL import Image

from lab.errors import FilterSpecError
from lab.filters.validation import shown, spec_level

_REGISTRY: dict[str, type[Filter]] = {}


@dataclass(frozen=True)
class Filter:
    """Base de todos los filtros: inmutable, comparable, con ``repr`` legible y spec JSON.

    Las subclases definen el atributo de clase ``name`` (p. ej. ``"blur"``), sus parámetros
    como campos de la dataclass, los validan en ``__post_init__`` y aplican ``apply``.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name:
            if name in _REGISTRY and _REGISTRY[name].__qualname__ != cls.__qualname__:
                raise TypeError(f"ya existe un filtro registrado con el nombre '{name}'")
            _REGISTRY[name] = cls

    def apply(self, image: Image.Image) -> Image.Image:
        """Devuelve una imagen nueva con el filtro aplicado (la de entrada no se modifica)."""
        raise NotImplementedError(f"{type(self).__name__} no implementa apply()")

    def params(self) -> dict[str, Any]:
        """Los parámetros del filtro como ``dict`` (sin los que valen ``None``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {key: value for key, value in values.items() if value is not None}

    def to_spec(self) -> dict[str, Any]:
        """La especificación JSON plana, p. ej. ``{"name": "blur", "radius": 3}``."""
        return {"name": self.name, **self.params()}

    def describe(self) -> str:
        """Texto corto y legible, p. ej. ``"blur(radius=3)"`` o ``"grayscale"``."""
        params, name = self.params(), self.name or type(self).__name__
        if not params:
            return name
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"

    @classmethod
    def from_spec(cls, spec: Any) -> Filter:
        """Reconstruye un filtro desde su especificación (ver ``filter_from_spec``).

        Llamado sobre una subclase, exige además que el resultado sea de esa clase
        (``BlurFilter.from_spec({"name": "sharpen"})`` lanza ``FilterSpecError``).
        """
        result = filter_from_spec(spec)
        if not isinstance(result, cls):
            raise FilterSpecError(f"se esperaba un filtro {cls.__name__} y la spec describe '{result.name}'")
        return result

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> Filter:
        """Construye el filtro con los parámetros de una spec, comprobando nombres y ausencias."""
        allowed = [f.name for f in fields(cls) if f.init]
        extra = [key for key in params if key not in allowed]
        if extra:
            admits = ", ".join(allowed) if allowed else "ninguno"
            raise FilterSpecError(
                f"{cls.__name__}: parámetro desconocido {extra[0]!r}; admite: {admits}")
        return cls(**params)


def filter_from_spec(spec: Any) -> Filter:
    """El filtro (o pipeline) que describe una spec JSON: el único lector de specs del paquete.

    ``spec`` es un dict con la clave ``name`` (``{"name": "blur", "radius": 3}``) o una lista de
    specs, que es un pipeline (``[{"name": "blur"}, ...]`` equivale a
    ``{"name": "pipeline", "filters": [...]}``). Lanza ``FilterSpecError`` si no es un dict ni
    una lista, el nombre no existe, falta un parámetro obligatorio, sobra alguno, algún valor
    está fuera de rango o la spec tiene más de ``MAX_SPEC_DEPTH`` niveles de anidamiento.
    """
    with spec_level():  # cuenta los niveles: una spec anidada sin fin no agota la pila
        if isinstance(spec, list):
            spec = {"name": "pipeline", "filters": spec}
        if not isinstance(spec, dict):
            raise FilterSpecError(
                "la especificación de un filtro debe ser un dict con la clave 'name' (o una lista de ellos) y "
                f"recibió {type(spec).__name__}: {shown(spec)}")
        name = spec.get("name")
        klass = _REGISTRY.get(name) if isinstance(name, str) else None
        if klass is None:
            raise FilterSpecError(
                f"filtro desconocido {name!r}; los disponibles son: {', '.join(sorted(_REGISTRY))}")
        return klass._from_params({key: value for key, value in spec.items() if key != "name"})


def available_filters() -> dict[str, type[Filter]]:
    """Los filtros registrados, ``{nombre: clase}`` en orden alfabético (incluye ``pipeline``)."""
    return {name: _REGISTRY[name] for name in sorted(_REGISTRY)}
