"""``FilterPipeline``: una secuencia ordenada e inmutable de filtros que también es un filtro.

Se puede anidar (un pipeline dentro de otro), convertir a JSON con ``to_spec()`` y reconstruir
con ``FilterPipeline.from_spec(...)``; ``as_pipeline`` convierte en pipeline lo que aceptan los
workers y ``process_image`` (un pipeline, un filtro o una spec). ``apply_timed`` mide cada filtro
con un reloj inyectable; los pipelines anidados se *aplanan*, así que hay una entrada por filtro
simple, con su nombre corto (``"blur"``, ``"brightness"``...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from lab.errors import FilterSpecError
from lab.filters.base import Filter, filter_from_spec
from lab.filters.validation import check_filters, pipeline_specs


@dataclass(frozen=True, init=False)
class FilterPipeline(Filter):
    """Aplica sus filtros en orden; se guarda como tupla, así que es inmutable y comparable.

    ``FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3)])``. Un pipeline
    vacío devuelve la imagen sin cambios. Lanza ``TypeError`` (en español) si ``filters`` no
    es una secuencia de objetos ``Filter`` y ``FilterSpecError`` si anida más de
    ``MAX_SPEC_DEPTH`` niveles (el mismo límite que al leer una spec).
    """

    name = "pipeline"
    filters: tuple[Filter, ...]

    def __init__(self, filters: Iterable[Filter] = ()) -> None:
        items, depth = check_filters(filters, Filter)  # TypeError o FilterSpecError, en español
        object.__setattr__(self, "filters", items)
        object.__setattr__(self, "_depth", depth)

    def __len__(self) -> int:
        return len(self.filters)

    def __iter__(self) -> Iterator[Filter]:
        return iter(self.filters)

    def __getitem__(self, index: int) -> Filter:
        return self.filters[index]

    def leaves(self) -> Iterator[Filter]:
        """Los filtros simples en orden de aplicación, entrando en los pipelines anidados."""
        for item in self.filters:
            if isinstance(item, FilterPipeline):
                yield from item.leaves()
            else:
                yield item

    def apply(self, image: Image.Image) -> Image.Image:
        """Aplica todos los filtros en orden y devuelve la imagen final."""
        for item in self.filters:
            image = item.apply(image)
        return image

    def apply_timed(self, image: Image.Image, clock: Callable[[], float] = time.perf_counter,
                    ) -> tuple[Image.Image, list[tuple[str, float]]]:
        """Como ``apply`` pero devuelve también ``[(nombre, segundos), ...]``, uno por filtro.

        Los pipelines anidados se aplanan: cada filtro simple tiene su propia entrada, con
        su ``name`` (puede repetirse si el mismo filtro aparece dos veces; un filtro propio
        sin ``name`` aparece con el nombre de su clase).
        """
        timings: list[tuple[str, float]] = []
        start = clock()
        for item in self.leaves():
            image = item.apply(image)
            end = clock()
            timings.append((item.name or type(item).__name__, end - start))
            start = end
        return image, timings

    def params(self) -> dict[str, Any]:
        return {"filters": [item.to_spec() for item in self.filters]}

    def describe(self) -> str:
        """``"blur(radius=3) → brightness(factor=1.3)"``; los anidados van entre corchetes."""
        if not self.filters:
            return "(pipeline vacío)"
        return " → ".join(
            f"[{item.describe()}]" if isinstance(item, FilterPipeline) else item.describe()
            for item in self.filters)

    def __repr__(self) -> str:
        return f"FilterPipeline([{', '.join(repr(item) for item in self.filters)}])"

    @classmethod
    def from_spec(cls, spec: Any) -> FilterPipeline:
        """Reconstruye un pipeline desde ``{"name": "pipeline", "filters": [...]}`` o una lista de specs.

        La spec de un solo filtro (``{"name": "blur", ...}``) da un pipeline de un elemento.
        Lanza ``FilterSpecError`` si la spec (o la de algún filtro) no es válida.
        """
        result = filter_from_spec(spec)
        return result if isinstance(result, FilterPipeline) else cls([result])

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> FilterPipeline:
        items = []
        for position, item in enumerate(pipeline_specs(params)):
            try:
                items.append(filter_from_spec(item))
            except FilterSpecError as exc:
                if getattr(exc, "too_deep", False):
                    raise
                raise FilterSpecError(f"FilterPipeline, filtro {position}: {exc}") from exc
        return cls(items)


def as_pipeline(pipeline: Any) -> Any:
    """Lo que aplicará un worker: un ``FilterPipeline`` a partir de un pipeline, un ``Filter`` o una spec.

    Un pipeline se devuelve tal cual, un filtro suelto se envuelve en un pipeline de un
    elemento, una lista de filtros (``[BlurFilter(3), ...]``) pasa a ``FilterPipeline`` y una
    spec (dict o lista) se lee con ``filter_from_spec``. Un objeto propio con
    ``apply(image)`` que no es un ``Filter`` se devuelve tal cual (se medirá como un solo
    paso). Lanza ``FilterSpecError`` si la spec no es válida y ``TypeError`` si no es nada de eso.
    """
    if isinstance(pipeline, FilterPipeline):
        return pipeline
    if isinstance(pipeline, Filter):
        return FilterPipeline([pipeline])
    if isinstance(pipeline, list) and pipeline and all(isinstance(item, Filter) for item in pipeline):
        return FilterPipeline(pipeline)
    if isinstance(pipeline, (dict, list)):
        return FilterPipeline.from_spec(pipeline)
    if callable(getattr(pipeline, "apply", None)):
        return pipeline
    raise TypeError(
        "el pipeline debe ser un FilterPipeline, un Filter o su spec JSON (dict o lista) y es "
        f"{type(pipeline).__name__}")
