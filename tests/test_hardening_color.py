"""Perfiles de color ICC: una foto Display P3 de móvil no cambia de color al procesarla.

El perfil se fabrica aquí (un perfil ICC v2 de matriz, como el «Display P3» de los móviles) para
no depender de ficheros del sistema. La regla que se comprueba está en ``lab.imagefiles.profiles``:
JPEG, WebP, PNG y TIFF lo incrustan; GIF y BMP convierten los colores a sRGB.
"""

from __future__ import annotations

import io
import logging
import struct

import pytest
from PIL import Image, ImageCms

from lab.core import process_image, save_image_atomic
from lab.filters import ContrastFilter, FilterPipeline, GrayscaleFilter

EMPTY = FilterPipeline([])
COLOR = (200, 100, 50)  # en P3 es más saturado que el mismo número en sRGB


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def display_p3() -> bytes:
    """Un perfil ICC v2 RGB con los primarios de Display P3 (adaptados a D50) y gamma 2.2."""
    text = b"Display P3 (tests de lab)\0"
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [(b"desc", b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(8 + 3 + 67)),
            (b"cprt", b"text" + bytes(4) + b"dominio publico\0"),
            (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(0.5151, 0.2412, -0.0011)), (b"gXYZ", _xyz(0.2920, 0.6922, 0.0419)),
            (b"bXYZ", _xyz(0.1571, 0.0666, 0.7841)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    start = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        data += bytes(-(start + len(data)) % 4)
        table += signature + struct.pack(">II", start + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
              + bytes(12) + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48))
    return header + body


P3 = display_p3()


def _in_srgb(color) -> tuple[int, ...]:
    """Lo que debería verse: ``color`` en P3 convertido a sRGB por LittleCMS."""
    image = Image.new("RGB", (1, 1), color)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(P3))
    return ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB")).getpixel((0, 0))


def _phone_photo(path, fmt="JPEG", mode="RGB") -> None:
    image = Image.new(mode, (16, 8), COLOR + ((255,) if mode == "RGBA" else ()))
    image.save(path, format=fmt, icc_profile=P3, **({"quality": 100} if fmt == "JPEG" else {}))


def test_the_test_profile_is_a_real_display_p3_profile():
    profile = ImageCms.ImageCmsProfile(io.BytesIO(P3))
    assert "Display P3" in ImageCms.getProfileDescription(profile)
    assert P3[16:20] == b"RGB "
    converted = _in_srgb(COLOR)
    assert converted != COLOR and converted[0] > COLOR[0]  # el rojo P3 es más rojo que el sRGB


@pytest.mark.parametrize("ext", ["jpg", "webp", "png", "tif"])
@pytest.mark.parametrize("pipeline", [EMPTY, FilterPipeline([ContrastFilter(1.2)])], ids=["sin-filtros", "contraste"])
def test_the_icc_profile_goes_to_every_format_that_can_keep_it(tmp_path, ext, pipeline):
    _phone_photo(tmp_path / "movil.jpg")
    process_image(tmp_path / "movil.jpg", tmp_path / f"s.{ext}", pipeline)  # contraste pierde info en Pillow
    with Image.open(tmp_path / f"s.{ext}") as out:
        assert out.info.get("icc_profile") == P3


@pytest.mark.parametrize("ext", ["gif", "bmp"])
def test_formats_without_profiles_get_the_colors_converted_to_srgb(tmp_path, ext):
    _phone_photo(tmp_path / "movil.png", "PNG")
    process_image(tmp_path / "movil.png", tmp_path / f"s.{ext}", EMPTY)
    with Image.open(tmp_path / f"s.{ext}") as out:
        assert not out.info.get("icc_profile")
        pixel = out.convert("RGB").getpixel((3, 3))
    expected = _in_srgb(COLOR)
    assert max(abs(a - b) for a, b in zip(pixel, expected)) <= 3, (pixel, expected)


def test_transparency_survives_the_conversion(tmp_path):
    _phone_photo(tmp_path / "movil.png", "PNG", mode="RGBA")
    process_image(tmp_path / "movil.png", tmp_path / "s.gif", EMPTY)
    with Image.open(tmp_path / "s.gif") as out:
        assert out.convert("RGBA").getpixel((0, 0))[3] == 255


def test_save_image_atomic_uses_the_profile_in_image_info(tmp_path):
    image = Image.new("RGB", (4, 4), COLOR)
    image.info["icc_profile"] = P3
    save_image_atomic(image, tmp_path / "s.webp")
    with Image.open(tmp_path / "s.webp") as out:
        assert out.info.get("icc_profile") == P3


def test_a_grayscale_output_does_not_carry_an_rgb_profile(tmp_path):
    _phone_photo(tmp_path / "movil.jpg")
    for ext in ("jpg", "png"):
        process_image(tmp_path / "movil.jpg", tmp_path / f"s.{ext}", FilterPipeline([GrayscaleFilter()]))
        with Image.open(tmp_path / f"s.{ext}") as out:
            assert out.mode == "L" and not out.info.get("icc_profile")


def test_animations_and_pages_keep_the_profile(tmp_path):
    frames = [Image.new("RGB", (8, 8), color) for color in (COLOR, (10, 200, 30))]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:], icc_profile=P3, duration=100)
    for ext in ("png", "webp"):
        process_image(tmp_path / "a.png", tmp_path / f"s.{ext}", EMPTY)
        with Image.open(tmp_path / f"s.{ext}") as out:
            assert out.n_frames == 2 and out.info.get("icc_profile") == P3
    frames[0].save(tmp_path / "p.tif", save_all=True, append_images=frames[1:], icc_profile=P3)
    process_image(tmp_path / "p.tif", tmp_path / "s.tif", EMPTY)
    with Image.open(tmp_path / "s.tif") as out:
        for page in range(2):
            out.seek(page)
            assert out.info.get("icc_profile") == P3


def test_a_damaged_profile_is_reported_naming_the_file(tmp_path, caplog):
    image = Image.new("RGB", (4, 4), COLOR)
    image.info["icc_profile"] = P3[:60]  # cabecera cortada: LittleCMS no lo puede leer
    with caplog.at_level(logging.WARNING, logger="lab.imagefiles"):
        save_image_atomic(image, tmp_path / "roto.gif")
    assert "perfil de color ICC" in caplog.text and "roto.gif" in caplog.text
    with Image.open(tmp_path / "roto.gif") as out:
        assert out.convert("RGB").getpixel((0, 0)) == COLOR  # sin convertir, pero guardada
