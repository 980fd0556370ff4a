"""Los filtros de ``lab.filters``: modos, efecto, validación de parámetros y specs JSON."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from lab.errors import FilterSpecError
from lab.filters import (
    BlurFilter,
    BrightnessFilter,
    ContrastFilter,
    EdgeFilter,
    Filter,
    GrayscaleFilter,
    ResizeFilter,
    SharpenFilter,
    available_filters,
    filter_from_spec,
)
from lab.imagefiles.modes import to_working_mode

MODES = ("RGB", "RGBA", "L", "P", "CMYK")
WORKING = {"RGB": "RGB", "RGBA": "RGBA", "L": "L", "P": "RGB", "CMYK": "RGB"}

# (filtro, {modo de entrada: modo de salida esperado}, tamaño de salida para 48x32)
CASES = [
    (BlurFilter(radius=3), WORKING, (48, 32)),
    (BrightnessFilter(factor=1.3), WORKING, (48, 32)),
    (ContrastFilter(factor=1.5), WORKING, (48, 32)),
    (SharpenFilter(), WORKING, (48, 32)),
    (EdgeFilter(), WORKING, (48, 32)),
    (GrayscaleFilter(), {"RGB": "L", "RGBA": "LA", "L": "L", "P": "L", "CMYK": "L"}, (48, 32)),
    (ResizeFilter(width=24), {**WORKING, "CMYK": "CMYK"}, (24, 16)),
    (ResizeFilter(scale=0.5), {**WORKING, "CMYK": "CMYK"}, (24, 16)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flt, modes, size", CASES, ids=lambda v: repr(v) if isinstance(v, Filter) else "")
def test_every_filter_on_every_mode(make_image, flt, modes, size, mode):
    image = make_image(mode)
    before = image.tobytes()
    out = flt.apply(image)
    assert isinstance(out, Image.Image)
    assert out.mode == modes[mode]
    assert out.size == size
    assert out is not image and image.tobytes() == before  # la entrada no se toca


def test_palette_with_transparency_keeps_alpha(make_image):
    image = make_image("P")
    image.info["transparency"] = 0
    assert BlurFilter(radius=1).apply(image).mode == "RGBA"
    assert GrayscaleFilter().apply(image).mode == "LA"


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_native_modes_are_not_converted(make_image, mode):
    image = make_image("RGBA").convert(mode)
    assert to_working_mode(image) is image


@pytest.mark.parametrize("mode", MODES)
def test_blur_changes_a_non_uniform_image(make_image, mode):
    image = make_image(mode)
    out = BlurFilter(radius=3).apply(image)
    assert out.tobytes() != to_working_mode(image).tobytes()
    assert out.tobytes() == to_working_mode(image).filter(ImageFilter.GaussianBlur(3)).tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_brightness_one_is_identity(make_image, mode):
    image = make_image(mode)
    assert BrightnessFilter(factor=1.0).apply(image).tobytes() == image.tobytes()
    assert BrightnessFilter().apply(image).tobytes() == image.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("factor", [0.01, 0.5, 0.7, 1.3, 1.7, 2.0, 3.33])
def test_brightness_table_matches_image_enhance(make_image, mode, factor):
    image = make_image("RGBA", (64, 64)).convert(mode)
    ours = BrightnessFilter(factor=factor).apply(image).tobytes()
    pillow = ImageEnhance.Brightness(image).enhance(factor).tobytes()
    assert max(abs(a - b) for a, b in zip(ours, pillow)) <= 1


def test_brightness_keeps_alpha_and_brightens(make_image):
    image = make_image("RGBA")
    out = BrightnessFilter(factor=1.5).apply(image)
    assert out.getchannel("A").tobytes() == image.getchannel("A").tobytes()
    assert sum(out.convert("L").tobytes()) > sum(image.convert("L").tobytes())


def test_contrast_one_is_identity(make_image):
    image = make_image("RGB")
    assert ContrastFilter(factor=1.0).apply(image).tobytes() == image.tobytes()


def test_edges_keep_alpha_of_an_opaque_image(make_image):
    image = make_image("RGB")
    image.putalpha(255)
    out = EdgeFilter().apply(image)
    assert out.getchannel("A").getextrema() == (255, 255)
    assert out.convert("RGB").tobytes() == make_image("RGB").filter(ImageFilter.FIND_EDGES).tobytes()


@pytest.mark.parametrize("flt, size", [
    (ResizeFilter(width=24), (24, 16)),
    (ResizeFilter(height=8), (12, 8)),
    (ResizeFilter(width=10, height=50), (10, 50)),
    (ResizeFilter(scale=2), (96, 64)),
    (ResizeFilter(scale=0.001), (1, 1)),
])
def test_resize_sizes(make_image, flt, size):
    assert flt.apply(make_image("RGB")).size == size


def test_resize_refuses_outputs_above_pillow_limit(make_image, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(FilterSpecError, match="supera el límite"):
        ResizeFilter(scale=10).apply(make_image("RGB"))


@pytest.mark.parametrize("kwargs", [{}, {"width": 10, "scale": 2}, {"height": 5, "scale": 0.5}])
def test_resize_needs_exactly_one_way_of_sizing(kwargs):
    with pytest.raises(FilterSpecError, match="exactamente una"):
        ResizeFilter(**kwargs)


BAD_VALUES = [-1, -0.5, math.nan, math.inf, -math.inf, True, False, "3", [1]]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("cls, param, allowed", [
    (BlurFilter, "radius", "un número >= 0"),
    (BrightnessFilter, "factor", "un número > 0"),
    (ContrastFilter, "factor", "un número > 0"),
    (ResizeFilter, "scale", "un número > 0"),
    (ResizeFilter, "width", "un entero > 0"),
])
def test_bad_parameters_raise_spanish_value_error(cls, param, allowed, value):
    with pytest.raises(ValueError) as info:
        cls(**{param: value})
    assert isinstance(info.value, FilterSpecError)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}: {param!r} debe ser {allowed}")
    assert f"recibió {value!r}" in message


@pytest.mark.parametrize("cls, param", [
    (BlurFilter, "radius"), (BrightnessFilter, "factor"), (ContrastFilter, "factor")])
def test_none_is_rejected_where_a_number_is_required(cls, param):
    with pytest.raises(FilterSpecError, match="recibió None"):
        cls(**{param: None})


@pytest.mark.parametrize("cls, param", [
    (BrightnessFilter, "factor"), (ContrastFilter, "factor"), (ResizeFilter, "scale"),
    (ResizeFilter, "width"), (ResizeFilter, "height")])
def test_zero_is_rejected_where_it_must_be_positive(cls, param):
    with pytest.raises(FilterSpecError, match="> 0"):
        cls(**{param: 0})


def test_example_message_and_zero_radius():
    with pytest.raises(ValueError, match=r"^BlurFilter: 'radius' debe ser un número >= 0 y <= 1000 y recibió -1$"):
        BlurFilter(radius=-1)
    assert BlurFilter(radius=0).radius == 0


def test_values_are_normalised_to_plain_python_numbers():
    assert type(ResizeFilter(width=800.0).width) is int
    assert type(BrightnessFilter(factor=2).factor) is int
    assert BlurFilter(3) == BlurFilter(radius=3)  # uso posicional


def test_filters_are_frozen_hashable_value_objects():
    blur = BlurFilter(radius=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        blur.radius = 5
    assert blur == BlurFilter(radius=3) and blur != BlurFilter(radius=4)
    assert BrightnessFilter(1.3) != ContrastFilter(1.3)
    assert len({blur, BlurFilter(radius=3), SharpenFilter()}) == 2
    assert repr(blur) == "BlurFilter(radius=3)"


ALL_FILTERS = [c[0] for c in CASES] + [ResizeFilter(height=7), ResizeFilter(width=3, height=4)]


@pytest.mark.parametrize("flt", ALL_FILTERS, ids=repr)
def test_spec_round_trip_through_json(flt):
    spec = flt.to_spec()
    assert spec["name"] == flt.name
    again = json.loads(json.dumps(spec))
    assert Filter.from_spec(again) == flt
    assert filter_from_spec(again) == flt
    assert type(flt).from_spec(again) == flt


def test_spec_shape_and_description():
    assert BlurFilter(radius=3).to_spec() == {"name": "blur", "radius": 3}
    assert ResizeFilter(width=800).to_spec() == {"name": "resize", "width": 800}
    assert GrayscaleFilter().to_spec() == {"name": "grayscale"}
    assert BrightnessFilter(factor=1.3).describe() == "brightness(factor=1.3)"
    assert SharpenFilter().describe() == "sharpen"


def test_missing_parameters_take_their_defaults():
    assert Filter.from_spec({"name": "blur"}) == BlurFilter(radius=2)


@pytest.mark.parametrize("spec, fragment", [
    ({"name": "sepia"}, "filtro desconocido 'sepia'; los disponibles son: blur, brightness"),
    ({"radius": 3}, "filtro desconocido None"),
    ({"name": "blur", "sigma": 2}, "BlurFilter: parámetro desconocido 'sigma'; admite: radius"),
    ({"name": "sharpen", "amount": 2}, "admite: ninguno"),
    ({"name": "blur", "radius": -2}, "'radius' debe ser un número >= 0"),
    ({"name": "resize"}, "exactamente una"),
    ("blur", "debe ser un dict"),
    (None, "debe ser un dict"),
])
def test_bad_specs_raise_filter_spec_error(spec, fragment):
    with pytest.raises(FilterSpecError) as info:
        Filter.from_spec(spec)
    assert fragment in str(info.value)


def test_subclass_from_spec_checks_the_kind():
    with pytest.raises(FilterSpecError, match="BlurFilter"):
        BlurFilter.from_spec({"name": "sharpen"})


def test_available_filters_lists_every_name():
    names = set(available_filters())
    assert {"blur", "brightness", "contrast", "sharpen", "grayscale", "resize", "edges",
            "pipeline"} <= names
    assert available_filters()["blur"] is BlurFilter


# --- Lo que se acepta se puede aplicar: cotas superiores de cada parámetro ------------------

from lab.filters.basic import MAX_BLUR_RADIUS, MAX_FACTOR, MAX_SCALE, MAX_SIDE  # noqa: E402

# (clase, parámetro, mínimo aceptado, máximo aceptado, demás argumentos)
BOUNDS = [
    (BlurFilter, "radius", 0, MAX_BLUR_RADIUS, {}),
    (BrightnessFilter, "factor", 5e-324, MAX_FACTOR, {}),
    (ContrastFilter, "factor", 5e-324, MAX_FACTOR, {}),
    (ResizeFilter, "scale", 1e-9, MAX_SCALE, {}),
    (ResizeFilter, "width", 1, MAX_SIDE, {"height": 1}),
    (ResizeFilter, "height", 1, MAX_SIDE, {"width": 1}),
]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("cls, param, low, high, extra", BOUNDS, ids=lambda v: getattr(v, "__name__", None))
def test_every_filter_applies_at_both_bounds(cls, param, low, high, extra, mode):
    image = Image.new(mode, (4, 3), 128)
    for value in (low, high):
        out = cls(**{param: value, **extra}).apply(image)
        assert isinstance(out, Image.Image) and out.size[0] >= 1


@pytest.mark.parametrize("value", [lambda high: high * 1.000001, lambda high: high + 1, lambda high: 1e300,
                                   lambda high: 1e39, lambda high: 10 ** 400, lambda high: -10 ** 400],
                         ids=["apenas", "+1", "1e300", "1e39", "400 cifras", "-400 cifras"])
@pytest.mark.parametrize("cls, param, low, high, extra", BOUNDS, ids=lambda v: getattr(v, "__name__", None))
def test_values_beyond_the_bounds_are_refused_when_built(cls, param, low, high, extra, value):
    bad = value(high)
    if param in ("width", "height") and isinstance(bad, float) and not bad.is_integer():
        bad = high + 1
    with pytest.raises(FilterSpecError, match=rf"^{cls.__name__}: '{param}' debe ser .* y <= {high:g} y recibió"):
        cls(**{param: bad, **extra})


def test_huge_integers_give_a_short_message_not_an_overflow():
    with pytest.raises(FilterSpecError) as info:
        filter_from_spec({"name": "resize", "width": 10 ** 400})
    assert len(str(info.value)) < 200 and "..." in str(info.value)


def test_resize_refuses_a_computed_side_longer_than_the_limit():
    with pytest.raises(FilterSpecError, match="más de 65535"):
        ResizeFilter(scale=MAX_SCALE).apply(Image.new("L", (1000, 1)))


# --- 16 y 32 bits: se escala a 8 bits, no se recorta -----------------------------------------

def _gradient16(mode="I;16", width=1024):
    image = Image.new("I;16", (width, 2))
    image.putdata([x * 65535 // (width - 1) for _ in range(2) for x in range(width)])
    return image if mode == "I;16" else image.convert(mode)


def _levels(image):
    return len(set(image.get_flattened_data()))


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_deep_images_keep_their_range_in_the_working_mode(mode):
    out = to_working_mode(_gradient16(mode))
    assert out.mode == "L" and out.getextrema() == (0, 255) and _levels(out) == 256


@pytest.mark.parametrize("flt", [BlurFilter(radius=0), BrightnessFilter(1.0), ContrastFilter(1.0),
                                 GrayscaleFilter(), ResizeFilter(scale=1), SharpenFilter()], ids=repr)
def test_filters_on_a_16_bit_gradient_keep_about_256_levels(flt):
    out = flt.apply(_gradient16())
    assert out.mode == "L" and _levels(out) >= 250


@pytest.mark.parametrize("values, expected", [
    ([0.0, 0.5, 1.0], [0, 128, 255]),              # F entre 0 y 1: fracción
    ([0.0, 100.0, 255.0], [0, 100, 255]),          # ya en 0..255: igual
    ([0.0, 257.0 * 100, 65535.0], [0, 100, 255]),  # 16 bits
    ([-10.0, 0.0, 10.0], [0, 128, 255]),           # otro rango: de mínimo a máximo
])
def test_float_images_are_scaled_by_the_documented_rule(values, expected):
    image = Image.new("F", (len(values), 1))
    image.putdata(values)
    assert list(to_working_mode(image).get_flattened_data()) == expected


def test_a_flat_32_bit_image_does_not_divide_by_zero():
    assert to_working_mode(Image.new("I", (3, 2), 70000)).getextrema() == (255, 255)
    assert to_working_mode(Image.new("I", (3, 2), -7)).getextrema() == (0, 0)
