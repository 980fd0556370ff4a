"""Imágenes reales de fuera: orientación EXIF, 16 bits, animaciones y rutas raras.

Cada test fabrica el fichero como lo haría un móvil, un escáner o un editor (con Pillow) y
comprueba lo que vería un usuario: los píxeles correctos o un error con tipo, en español, que
nombra la ruta y la causa; nunca un fichero a medias.
"""

from __future__ import annotations

import os
import sys

import pytest
from PIL import Image, ImageDraw

from lab.core import load_image, process_image, save_image_atomic
from lab.errors import ImageTaskError, ImageTooLargeError, InvalidPathError, OutputWriteError
from lab.filters import BlurFilter, BrightnessFilter, FilterPipeline, GrayscaleFilter

RED, WHITE = (255, 0, 0), (255, 255, 255)
EMPTY = FilterPipeline([])


def _red_left_strip(size=(80, 40)) -> Image.Image:
    """Blanca con una franja roja a la izquierda: el giro se ve en qué borde queda la franja."""
    image = Image.new("RGB", size, WHITE)
    ImageDraw.Draw(image).rectangle((0, 0, 19, size[1] - 1), fill=RED)
    return image


def _is_red(pixel) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def _hidden(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.startswith(".")]


# --- Orientación EXIF ----------------------------------------------------------------------

# orientación -> (tamaño derecho, un punto que debe ser rojo, uno que debe ser blanco)
ORIENTED = {
    1: ((80, 40), (5, 20), (75, 20)),   # sin giro: franja a la izquierda
    3: ((80, 40), (75, 20), (5, 20)),   # 180°: a la derecha
    6: ((40, 80), (20, 5), (20, 75)),   # el móvil en vertical: la izquierda pasa arriba
    8: ((40, 80), (20, 75), (20, 5)),   # al revés: abajo
    2: ((80, 40), (75, 20), (5, 20)),   # espejo horizontal
}


def _phone_photo(path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    _red_left_strip().save(path, quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", sorted(ORIENTED))
def test_exif_orientation_is_applied_on_load(tmp_path, orientation):
    src = tmp_path / "movil.jpg"
    _phone_photo(src, orientation)
    with Image.open(src) as raw:
        assert raw.getexif()[0x0112] == orientation and raw.size == (80, 40)  # de verdad va etiquetada
    size, red, white = ORIENTED[orientation]
    for ext in ("jpg", "png"):
        result = process_image(src, tmp_path / f"salida.{ext}", EMPTY)
        with Image.open(tmp_path / f"salida.{ext}") as out:
            assert out.size == size == result.input_size == result.output_size
            assert out.getexif().get(0x0112) in (None, 1)  # no se vuelve a girar en ningún visor
            rgb = out.convert("RGB")
            assert _is_red(rgb.getpixel(red)) and rgb.getpixel(white)[1] > 200
    assert load_image(src).size == size


def test_orientation_survives_a_pipeline(tmp_path):
    src = tmp_path / "movil.jpg"
    _phone_photo(src, 6)
    process_image(src, tmp_path / "s.jpg", FilterPipeline([BrightnessFilter(1.1), BlurFilter(1)]))
    with Image.open(tmp_path / "s.jpg") as out:
        assert out.size == (40, 80) and _is_red(out.getpixel((20, 3)))


def test_photos_without_orientation_are_not_copied(tmp_path, monkeypatch):
    """El caso común (JPEG sin etiqueta) no llama a exif_transpose: ni giro ni copia."""
    from PIL import ImageOps
    src = tmp_path / "normal.jpg"
    _red_left_strip().save(src)
    calls = []
    monkeypatch.setattr(ImageOps, "exif_transpose", lambda *a, **k: calls.append(a))
    process_image(src, tmp_path / "s.jpg", BlurFilter(1))
    assert calls == []


# --- 16 y 32 bits ----------------------------------------------------------------------------

def _gradient16(path, width=1024) -> None:
    """Un PNG de 16 bits en grises (modo I;16) con ``width`` niveles de 0 a 65535."""
    image = Image.new("I;16", (width, 4))
    image.putdata([x * 65535 // (width - 1) for _ in range(4) for x in range(width)])
    image.save(path)


def _levels(image: Image.Image) -> int:
    return len(set(image.get_flattened_data()))


def test_a_real_16_bit_png_is_what_we_think(tmp_path):
    _gradient16(tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as image:
        assert image.mode == "I;16" and _levels(image) == 1024


@pytest.mark.parametrize("pipeline", [FilterPipeline([BlurFilter(0)]), FilterPipeline([GrayscaleFilter()]),
                                      FilterPipeline([BrightnessFilter(1.0), BlurFilter(0)])],
                         ids=["blur", "grayscale", "brightness+blur"])
@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "bmp", "gif"])
def test_a_16_bit_gradient_keeps_about_256_levels_after_a_pipeline(tmp_path, pipeline, ext):
    _gradient16(tmp_path / "g.png")
    process_image(tmp_path / "g.png", tmp_path / f"s.{ext}", pipeline)
    with Image.open(tmp_path / f"s.{ext}") as out:
        gray = out.convert("L")
        assert _levels(gray) >= 250 and gray.getextrema() == (0, 255)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_without_filters_16_bits_stay_16_bits_where_the_format_can(tmp_path, ext):
    _gradient16(tmp_path / "g.png")
    process_image(tmp_path / "g.png", tmp_path / f"s.{ext}", EMPTY)
    with Image.open(tmp_path / f"s.{ext}") as out:
        assert out.mode == "I;16" and _levels(out) == 1024


@pytest.mark.parametrize("mode", ["I", "F"])
def test_32_bit_tiffs_are_scaled_not_clipped(tmp_path, mode):
    image = Image.new("I;16", (1024, 2))
    image.putdata([x * 64 for _ in range(2) for x in range(1024)])
    image.convert(mode).save(tmp_path / "g.tif")
    with Image.open(tmp_path / "g.tif") as check:
        assert check.mode == mode
    for ext in ("png", "jpg"):
        process_image(tmp_path / "g.tif", tmp_path / f"s.{ext}", EMPTY)
        with Image.open(tmp_path / f"s.{ext}") as out:
            assert _levels(out.convert("L")) >= 250
    process_image(tmp_path / "g.tif", tmp_path / "s.tif", EMPTY)
    with Image.open(tmp_path / "s.tif") as out:
        assert out.mode == mode  # TIFF guarda I y F tal cual


def test_save_image_atomic_scales_16_bits_for_8_bit_formats(tmp_path):
    image = Image.new("I;16", (256, 1))
    image.putdata([v * 257 for v in range(256)])
    save_image_atomic(image, tmp_path / "s.jpg", quality=100)
    with Image.open(tmp_path / "s.jpg") as out:
        assert out.getextrema() in ((0, 255), (1, 255), (0, 254))
        assert _levels(out) >= 200


# --- Animaciones -----------------------------------------------------------------------------

DURATIONS = [100, 200, 300, 400, 500]


def _frames(alpha: bool = False) -> list[Image.Image]:
    """Cinco fotogramas distintos: una franja de color que avanza de izquierda a derecha."""
    frames = []
    for index, color in enumerate(["red", "lime", "blue", "yellow", "white"]):
        frame = Image.new("RGBA" if alpha else "RGB", (40, 30), (0, 0, 0, 255))
        ImageDraw.Draw(frame).rectangle((index * 8, 0, index * 8 + 7, 29), fill=color)
        frames.append(frame)
    return frames


def _animation(path, fmt: str, alpha: bool = False) -> None:
    frames = _frames(alpha)
    extra = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=DURATIONS,
                   loop=3, **extra)


def _read_animation(path):
    """(número de fotogramas, duraciones, loop, en qué franja está el color de cada fotograma)."""
    with Image.open(path) as image:
        durations, strips = [], []
        for index in range(image.n_frames):
            image.seek(index)
            image.load()
            durations.append(int(image.info.get("duration", 0)))
            rgb = image.convert("RGB")
            strips.append([x for x in range(5) if max(rgb.getpixel((x * 8 + 3, 15))) > 20])
        return image.n_frames, durations, image.info.get("loop"), strips


ANIMATED_INPUTS = {"gif": "GIF", "webp": "WEBP", "png": "PNG"}  # png = APNG


@pytest.mark.parametrize("out_ext", ["gif", "webp", "png"])
@pytest.mark.parametrize("in_ext", sorted(ANIMATED_INPUTS))
def test_every_frame_is_processed_with_its_timing_and_loop(tmp_path, in_ext, out_ext):
    src = tmp_path / f"anim.{in_ext}"
    _animation(src, ANIMATED_INPUTS[in_ext])
    assert _read_animation(src)[0] == 5  # de verdad es una animación
    out = tmp_path / f"salida.{out_ext}"
    result = process_image(src, out, FilterPipeline([BrightnessFilter(1.2), GrayscaleFilter()]))
    count, durations, loop, strips = _read_animation(out)
    assert count == 5 and durations == DURATIONS and loop == 3
    assert strips == [[0], [1], [2], [3], [4]]  # cada fotograma es el suyo, y en grises
    assert [name for name, _ in result.filters] == ["brightness", "grayscale"]
    assert result.input_size == result.output_size == (40, 30)


def test_transparent_animations_keep_their_frames_apart(tmp_path):
    src = tmp_path / "anim.png"
    _animation(src, "PNG", alpha=True)
    for ext in ("gif", "png", "webp"):
        process_image(src, tmp_path / f"s.{ext}", BlurFilter(0))
        assert _read_animation(tmp_path / f"s.{ext}")[3] == [[0], [1], [2], [3], [4]]


@pytest.mark.parametrize("ext", ["jpg", "bmp", "tif"])
def test_an_animation_into_a_single_image_format_is_a_clear_error(tmp_path, ext):
    src = tmp_path / "anim.gif"
    _animation(src, "GIF")
    with pytest.raises(OutputWriteError) as info:
        process_image(src, tmp_path / f"salida.{ext}", BlurFilter(1))
    message = str(info.value)
    assert "5 fotogramas" in message and str(src) in message and ".gif" in message
    assert not (tmp_path / f"salida.{ext}").exists() and _hidden(tmp_path) == []


def test_a_filter_failing_on_one_frame_names_the_frame(tmp_path):
    class FailOnThird:
        seen = 0

        def apply(self, image):
            FailOnThird.seen += 1
            if FailOnThird.seen == 3:
                raise ValueError("fotograma raro")
            return image

    src = tmp_path / "anim.gif"
    _animation(src, "GIF")
    with pytest.raises(ImageTaskError, match=r"fotograma 3 de 5 .*fotograma raro"):
        process_image(src, tmp_path / "s.gif", FailOnThird())
    assert not (tmp_path / "s.gif").exists()


def test_animation_frames_count_against_the_pixel_limit(tmp_path, monkeypatch):
    src = tmp_path / "anim.gif"
    _animation(src, "GIF")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 30 * 4)  # cabe un fotograma, no cinco
    with pytest.raises(ImageTooLargeError, match="5 fotogramas"):
        process_image(src, tmp_path / "s.gif", EMPTY)


def test_a_single_frame_gif_is_still_a_plain_image(tmp_path):
    Image.new("P", (10, 10)).save(tmp_path / "uno.gif")
    process_image(tmp_path / "uno.gif", tmp_path / "s.jpg", BlurFilter(1))
    with Image.open(tmp_path / "s.jpg") as out:
        assert out.size == (10, 10)


# --- Rutas -------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [242, 250, 255])
def test_a_legal_long_output_name_works(jpeg_path, tmp_path, length):
    name = "a" * (length - 4) + ".jpg"
    result = process_image(jpeg_path, tmp_path / "out" / name, BlurFilter(1))
    assert len(os.fsencode(name)) == length
    assert os.path.getsize(tmp_path / "out" / name) == result.output_bytes
    assert _hidden(tmp_path / "out") == []


def test_a_long_name_with_accents_works_too(jpeg_path, tmp_path):
    name = "ñ" * 125 + ".jpg"  # 254 bytes en UTF-8
    process_image(jpeg_path, tmp_path / name, EMPTY)
    assert (tmp_path / name).is_file() and _hidden(tmp_path) == []


def test_a_too_long_output_name_says_so(jpeg_path, tmp_path):
    target = tmp_path / ("a" * 300 + ".jpg")
    with pytest.raises(OutputWriteError) as info:
        process_image(jpeg_path, target, BlurFilter(1))
    message = str(info.value)
    assert "304 bytes" in message and "255" in message and "no existe" not in message
    assert _hidden(tmp_path) == []  # ni salida (no cabe) ni temporal


def test_a_missing_folder_that_cannot_be_created_names_the_real_cause(jpeg_path, tmp_path):
    (tmp_path / "fichero").write_text("x")
    with pytest.raises(OutputWriteError, match="es un fichero|ya hay un fichero"):
        process_image(jpeg_path, tmp_path / "fichero" / "sub" / "s.jpg", EMPTY)


@pytest.mark.parametrize("where", ["entrada", "salida"])
def test_a_nul_byte_is_a_typed_spanish_error(jpeg_path, tmp_path, where):
    bad = str(tmp_path / "fo\0to.jpg")
    args = (bad, tmp_path / "s.jpg") if where == "entrada" else (jpeg_path, bad)
    expected = InvalidPathError if where == "entrada" else OutputWriteError
    with pytest.raises(expected) as info:
        process_image(*args, EMPTY)
    assert "carácter nulo" in str(info.value) and f"ruta de {where}" in str(info.value)
    assert "\\x00" in str(info.value) and info.value.path == bad
    assert not (tmp_path / "s.jpg").exists()


def test_nul_bytes_in_load_and_save_too(tmp_path):
    with pytest.raises(InvalidPathError, match="carácter nulo"):
        load_image("a\0.png")
    with pytest.raises(ValueError):  # sigue siendo un ValueError para quien ya lo capturaba
        load_image("a\0.png")
    with pytest.raises(OutputWriteError, match="carácter nulo"):
        save_image_atomic(Image.new("L", (2, 2)), tmp_path / "b\0.png")


@pytest.mark.skipif(sys.platform != "linux", reason="nombres con bytes no UTF-8: Linux")
def test_non_utf8_file_names_are_processed_and_shown_with_escapes(tmp_path):
    folder = os.fsencode(tmp_path)
    Image.new("RGB", (8, 8), "red").save(folder + b"/foto\xff.jpg")
    src = os.fsdecode(folder + b"/foto\xff.jpg")
    assert "\udcff" in src
    result = process_image(src, os.path.join(os.fsdecode(folder), "salida\xe9.png"), EMPTY)
    assert result.output_size == (8, 8)
    with pytest.raises(ImageTaskError) as info:
        process_image(src + "x", tmp_path / "s.png", EMPTY)
    message = str(info.value)
    assert "foto\\xff.jpgx" in message and info.value.path == src + "x"
    message.encode("utf-8")  # se puede imprimir, registrar y guardar en JSON


def test_a_multipage_16_bit_tiff_keeps_every_page_and_its_depth(tmp_path):
    pages = []
    for index in range(3):
        page = Image.new("I;16", (256, 4))
        page.putdata([(x * 257 + index * 3000) % 65536 for _ in range(4) for x in range(256)])
        pages.append(page)
    pages[0].save(tmp_path / "p.tif", save_all=True, append_images=pages[1:])
    process_image(tmp_path / "p.tif", tmp_path / "s.tif", EMPTY)
    with Image.open(tmp_path / "s.tif") as out:
        assert out.n_frames == 3 and out.mode == "I;16"
        out.seek(2)
        assert list(out.crop((0, 0, 3, 1)).get_flattened_data()) == [6000, 6257, 6514]
    process_image(tmp_path / "p.tif", tmp_path / "s.png", [BlurFilter(0)])  # una lista de filtros vale
    with Image.open(tmp_path / "s.png") as out:
        assert out.n_frames == 3 and out.mode == "L"
    with pytest.raises(OutputWriteError, match="3 páginas"):
        process_image(tmp_path / "p.tif", tmp_path / "s.jpg", EMPTY)


@pytest.mark.parametrize("other", ["L", "1", "I"])
def test_a_16_bit_page_stays_16_bits_next_to_a_page_of_another_depth(tmp_path, other):
    """Un TIFF con una página de 16 bits y otra de otro modo (una miniatura o una máscara de 8 bits)."""
    page = Image.new("I;16", (256, 4))
    page.putdata([x * 257 for _ in range(4) for x in range(256)])
    page.save(tmp_path / "p.tif", save_all=True, append_images=[Image.new(other, (32, 2), 1)])
    process_image(tmp_path / "p.tif", tmp_path / "s.tif", EMPTY)
    with Image.open(tmp_path / "s.tif") as out:
        assert out.n_frames == 2 and out.mode == "I;16" and _levels(out) == 256
        out.seek(1)
        assert (out.mode, out.size) == (other, (32, 2))
    process_image(tmp_path / "p.tif", tmp_path / "s.png", EMPTY)  # una APNG necesita un solo modo: 8 bits
    with Image.open(tmp_path / "s.png") as out:
        assert out.n_frames == 2 and out.mode == "L" and _levels(out) == 256


def test_a_gif_that_plays_once_still_plays_once(tmp_path):
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "blue")]
    frames[0].save(tmp_path / "una.gif", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(tmp_path / "una.gif") as check:
        assert "loop" not in check.info
    process_image(tmp_path / "una.gif", tmp_path / "s.gif", EMPTY)
    process_image(tmp_path / "una.gif", tmp_path / "s.png", EMPTY)
    with Image.open(tmp_path / "s.gif") as gif, Image.open(tmp_path / "s.png") as apng:
        assert "loop" not in gif.info and apng.info["loop"] == 1
