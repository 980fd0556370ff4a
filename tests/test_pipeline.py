"""``FilterPipeline``: orden, anidamiento, tiempos con reloj falso, specs JSON y errores."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from lab.errors import FilterSpecError
from lab.filters import (
    BlurFilter,
    BrightnessFilter,
    ContrastFilter,
    Filter,
    FilterPipeline,
    GrayscaleFilter,
    ResizeFilter,
    SharpenFilter,
    filter_from_spec,
)


def fake_clock(step: float = 0.25):
    """Un reloj que avanza ``step`` segundos en cada lectura."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_the_guide_lines_run_unchanged():
    from lab.core import FilterPipeline
    from lab.filters import BlurFilter, BrightnessFilter

    # 1. Crear pipeline
    pipeline = FilterPipeline([
        BlurFilter(radius=3),
        BrightnessFilter(factor=1.3)
    ])
    assert len(pipeline) == 2
    assert pipeline.describe() == "blur(radius=3) → brightness(factor=1.3)"


def test_core_reexports_the_same_class():
    import lab.core

    assert lab.core.FilterPipeline is FilterPipeline


def test_filters_are_stored_as_an_ordered_tuple():
    items = [BlurFilter(radius=3), BrightnessFilter(factor=1.3)]
    pipeline = FilterPipeline(items)
    items.append(SharpenFilter())  # cambiar la lista original no afecta al pipeline
    assert pipeline.filters == (BlurFilter(radius=3), BrightnessFilter(factor=1.3))
    assert list(pipeline) == list(pipeline.filters)
    assert pipeline[1] == BrightnessFilter(factor=1.3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pipeline.filters = ()


def test_apply_runs_the_filters_in_order(make_image):
    image = make_image("RGB")
    pipeline = FilterPipeline([ResizeFilter(width=24), GrayscaleFilter(), BlurFilter(radius=1)])
    expected = BlurFilter(radius=1).apply(GrayscaleFilter().apply(ResizeFilter(width=24).apply(image)))
    out = pipeline.apply(image)
    assert (out.mode, out.size) == ("L", (24, 16))
    assert out.tobytes() == expected.tobytes()


def test_empty_pipeline_is_identity(make_image):
    image = make_image("RGB")
    assert FilterPipeline([]).apply(image).tobytes() == image.tobytes()
    assert FilterPipeline().describe() == "(pipeline vacío)"


def test_pipeline_is_a_nestable_filter(make_image):
    inner = FilterPipeline([GrayscaleFilter(), SharpenFilter()])
    outer = FilterPipeline([BlurFilter(radius=2), inner, ContrastFilter(factor=1.2)])
    assert isinstance(inner, Filter) and inner.name == "pipeline"
    assert outer.describe() == "blur(radius=2) → [grayscale → sharpen] → contrast(factor=1.2)"
    flat = FilterPipeline(list(outer.leaves()))
    image = make_image("RGBA")
    assert outer.apply(image).tobytes() == flat.apply(image).tobytes()
    assert outer == FilterPipeline([BlurFilter(radius=2), inner, ContrastFilter(factor=1.2)])
    assert hash(outer) == hash(FilterPipeline([BlurFilter(2), inner, ContrastFilter(1.2)]))
    assert repr(inner) == "FilterPipeline([GrayscaleFilter(), SharpenFilter()])"


def test_apply_timed_uses_the_injected_clock_and_flattens(make_image):
    pipeline = FilterPipeline([BlurFilter(radius=1), FilterPipeline([GrayscaleFilter(), SharpenFilter()]),
                               BrightnessFilter(factor=1.1)])
    image = make_image("RGB")
    out, timings = pipeline.apply_timed(image, clock=fake_clock(0.25))
    assert timings == [("blur", 0.25), ("grayscale", 0.25), ("sharpen", 0.25), ("brightness", 0.25)]
    assert out.tobytes() == pipeline.apply(image).tobytes()


def test_apply_timed_with_the_real_clock(make_image):
    out, timings = FilterPipeline([BlurFilter(radius=2)]).apply_timed(make_image("RGB"))
    assert out.size == (48, 32)
    assert [name for name, _ in timings] == ["blur"] and timings[0][1] >= 0


def test_spec_round_trip_of_nested_pipelines_through_json():
    pipeline = FilterPipeline([
        BlurFilter(radius=3),
        FilterPipeline([GrayscaleFilter(), FilterPipeline([ResizeFilter(scale=0.5)])]),
        BrightnessFilter(factor=1.3),
    ])
    spec = pipeline.to_spec()
    assert spec == {"name": "pipeline", "filters": [
        {"name": "blur", "radius": 3},
        {"name": "pipeline", "filters": [
            {"name": "grayscale"},
            {"name": "pipeline", "filters": [{"name": "resize", "scale": 0.5}]}]},
        {"name": "brightness", "factor": 1.3}]}
    again = json.loads(json.dumps(spec))
    assert FilterPipeline.from_spec(again) == pipeline
    assert Filter.from_spec(again) == pipeline
    assert filter_from_spec(again) == pipeline


def test_from_spec_accepts_a_bare_list_and_a_single_filter():
    specs = [{"name": "blur", "radius": 3}, [{"name": "sharpen"}]]
    assert FilterPipeline.from_spec(specs) == FilterPipeline(
        [BlurFilter(radius=3), FilterPipeline([SharpenFilter()])])
    assert filter_from_spec(specs[:1]) == FilterPipeline([BlurFilter(radius=3)])
    assert FilterPipeline.from_spec({"name": "blur", "radius": 1}) == FilterPipeline([BlurFilter(1)])
    assert FilterPipeline.from_spec([]) == FilterPipeline()


@pytest.mark.parametrize("spec, fragment", [
    ([{"name": "blur"}, {"name": "sepia"}], "filtro 1: filtro desconocido 'sepia'; los disponibles son: "),
    ([{"name": "blur", "radius": "3"}], "filtro 0: BlurFilter: 'radius' debe ser un número >= 0"),
    ([{"name": "blur", "size": 3}], "parámetro desconocido 'size'"),
    ([42], "filtro 0: la especificación de un filtro debe ser un dict"),
    ({"name": "pipeline"}, "falta el parámetro obligatorio 'filters'"),
    ({"name": "pipeline", "filters": [], "x": 1}, "parámetro desconocido 'x'; admite: filters"),
    ({"name": "pipeline", "filters": "blur"}, "'filters' debe ser una lista"),
    ("blur, brightness", "debe ser un dict"),
    ({"name": "pipeline", "filters": [{"name": "pipeline", "filters": [{"name": "x"}]}]},
     "filtro 0: FilterPipeline, filtro 0: filtro desconocido 'x'"),
])
def test_bad_pipeline_specs(spec, fragment):
    with pytest.raises(FilterSpecError) as info:
        FilterPipeline.from_spec(spec)
    assert fragment in str(info.value)


@pytest.mark.parametrize("filters, fragment", [
    ([BlurFilter(radius=3), "brightness"], "el elemento 1 debe ser un Filter y es str"),
    ([{"name": "blur"}], "usa FilterPipeline.from_spec"),
    ([BlurFilter, SharpenFilter()], "el elemento 0 debe ser un Filter"),
    ("blur", "espera una lista de filtros"),
    (42, "espera una lista de filtros"),
    ({"name": "blur"}, "espera una lista de filtros"),
])
def test_elements_must_be_filters(filters, fragment):
    with pytest.raises(TypeError) as info:
        FilterPipeline(filters)
    assert fragment in str(info.value)


def test_a_single_filter_becomes_a_one_element_pipeline():
    assert FilterPipeline(BlurFilter(radius=1)).filters == (BlurFilter(radius=1),)


def test_pipelines_survive_pickle_and_copy():
    import copy
    import pickle

    pipeline = FilterPipeline([BlurFilter(radius=3), FilterPipeline([ResizeFilter(width=5)])])
    assert pickle.loads(pickle.dumps(pipeline)) == pipeline
    assert copy.deepcopy(pipeline) == pipeline


# --- Profundidad de anidamiento ---------------------------------------------------------------

from lab.filters.validation import MAX_SPEC_DEPTH  # noqa: E402


def _nested(levels):
    spec = {"name": "blur", "radius": 1}
    for _ in range(levels - 1):
        spec = [spec]
    return spec


def test_the_deepest_allowed_spec_round_trips():
    pipeline = FilterPipeline.from_spec(_nested(MAX_SPEC_DEPTH))
    assert FilterPipeline.from_spec(json.loads(json.dumps(pipeline.to_spec()))) == pipeline
    assert [f.name for f in pipeline.leaves()] == ["blur"]


@pytest.mark.parametrize("levels", [MAX_SPEC_DEPTH + 1, 330, 5000])
def test_too_deep_specs_are_a_spanish_filter_spec_error(levels):
    with pytest.raises(FilterSpecError, match=rf"^la spec está anidada a más de {MAX_SPEC_DEPTH} niveles"):
        FilterPipeline.from_spec(_nested(levels))


def test_too_deep_pipelines_built_by_hand_are_refused_too():
    pipeline = FilterPipeline.from_spec(_nested(MAX_SPEC_DEPTH))
    with pytest.raises(FilterSpecError, match=f"más de {MAX_SPEC_DEPTH} niveles"):
        FilterPipeline([pipeline])


def test_the_depth_counter_recovers_after_an_error():
    with pytest.raises(FilterSpecError):
        FilterPipeline.from_spec(_nested(MAX_SPEC_DEPTH + 1))
    assert FilterPipeline.from_spec(_nested(MAX_SPEC_DEPTH)) is not None


def test_a_parameter_nested_thousands_of_levels_gives_a_short_message():
    value = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(FilterSpecError, match=r"recibió \[\[\[\[\.\.\.\]\]\]\]$"):
        FilterPipeline.from_spec([{"name": "blur", "radius": value}])
