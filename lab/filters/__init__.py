"""Filtros de imagen como objetos de valor inmutables y ``FilterPipeline``.

Uso como en la guía de la sesión::

    from lab.filters import BlurFilter, BrightnessFilter, FilterPipeline

    pipeline = FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3)])
    salida = pipeline.apply(imagen)
    spec = pipeline.to_spec()                 # JSON plano para la cola de tareas
    igual = FilterPipeline.from_spec(spec)    # == pipeline
"""

from lab.errors import FilterSpecError
from lab.filters.base import Filter, available_filters, filter_from_spec
from lab.filters.basic import (
    BlurFilter,
    BrightnessFilter,
    ContrastFilter,
    EdgeFilter,
    GrayscaleFilter,
    ResizeFilter,
    SharpenFilter,
)
from lab.filters.pipeline import FilterPipeline, as_pipeline

__all__ = [
    "BlurFilter",
    "BrightnessFilter",
    "ContrastFilter",
    "EdgeFilter",
    "Filter",
    "FilterPipeline",
    "FilterSpecError",
    "GrayscaleFilter",
    "ResizeFilter",
    "SharpenFilter",
    "as_pipeline",
    "available_filters",
    "filter_from_spec",
]
