"""``lab.core``: process_image (tiempos, formatos, guardado atómico) y los errores de entrada/salida."""

from __future__ import annotations

import contextlib
import itertools
import json
import os

import pytest
from PIL import Image, ImageFile

from lab.core import (
    FilterPipeline,
    ImageResult,
    load_image,
    process_image,
    save_image_atomic,
)
from lab.errors import (
    CorruptImageError,
    FilterSpecError,
    ImageNotFoundError,
    ImageTaskError,
    ImageTooLargeError,
    OutputWriteError,
)
from lab.filters import BlurFilter, BrightnessFilter, Filter, ResizeFilter

GUIDE = FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3)])


def fake_clock(step: float = 1.0):
    ticks = itertools.count()
    return lambda: next(ticks) * step


def leftovers(folder) -> list[str]:
    """Ficheros temporales ocultos que hayan quedado en ``folder``."""
    return [name for name in os.listdir(folder) if name.startswith(".")]


def test_process_image_times_every_stage(jpeg_path, tmp_path):
    result = process_image(jpeg_path, tmp_path / "salida.jpg", GUIDE)
    assert isinstance(result, ImageResult)
    for stage in ("load", "pipeline", "save", "total"):
        assert getattr(result, stage) > 0, stage
    assert result.total >= (result.load + result.pipeline + result.save) * (1 - 1e-9)
    assert [name for name, _ in result.filters] == ["blur", "brightness"]
    assert sum(s for _, s in result.filters) <= result.pipeline * (1 + 1e-9)
    assert result.input_size == result.output_size == (64, 48)
    assert result.input_bytes == os.path.getsize(jpeg_path)
    assert result.output_bytes == os.path.getsize(tmp_path / "salida.jpg")
    assert result.image_path == str(jpeg_path)
    assert result.output_path == str(tmp_path / "salida.jpg")


def test_process_image_with_a_fake_clock(jpeg_path, tmp_path):
    result = process_image(jpeg_path, tmp_path / "salida.png", GUIDE, clock=fake_clock())
    assert result.filters == (("blur", 1.0), ("brightness", 1.0))
    assert (result.load, result.save) == (1.0, 1.0)
    assert result.pipeline >= 2.0
    assert result.total >= result.load + result.pipeline + result.save


def test_result_is_plain_json_and_holds_no_pixels(jpeg_path, tmp_path):
    result = process_image(jpeg_path, tmp_path / "salida.jpg", GUIDE)
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["filters"][0][0] == "blur" and data["output_size"] == [64, 48]
    assert ImageResult.from_dict(json.loads(json.dumps(data))) == result
    def plain(value):
        if isinstance(value, tuple):
            return all(plain(v) for v in value)
        return isinstance(value, (str, int, float))

    assert all(plain(value) for value in vars(result).values())


def test_output_goes_into_a_new_nested_folder(jpeg_path, tmp_path):
    target = tmp_path / "nueva" / "sub" / "carpeta" / "foto.jpg"
    process_image(jpeg_path, target, GUIDE)
    with Image.open(target) as out:
        assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (64, 48))
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("pipeline, names, size", [
    (BlurFilter(radius=1), ["blur"], (64, 48)),
    ({"name": "blur", "radius": 1}, ["blur"], (64, 48)),
    ([{"name": "blur", "radius": 1}, {"name": "resize", "width": 32}], ["blur", "resize"], (32, 24)),
    ({"name": "pipeline", "filters": [{"name": "resize", "scale": 0.5}]}, ["resize"], (32, 24)),
    (FilterPipeline([]), [], (64, 48)),
], ids=["filter", "dict", "list", "pipeline-spec", "empty"])
def test_pipeline_may_be_a_filter_or_a_spec(jpeg_path, tmp_path, pipeline, names, size):
    result = process_image(jpeg_path, tmp_path / "s.png", pipeline)
    assert [name for name, _ in result.filters] == names
    assert result.output_size == size


def test_bad_pipeline_specs_fail_before_loading(tmp_path):
    with pytest.raises(FilterSpecError):
        process_image(tmp_path / "no-existe.jpg", tmp_path / "s.jpg", {"name": "sepia"})
    with pytest.raises(TypeError, match="pipeline debe ser"):
        process_image(tmp_path / "no-existe.jpg", tmp_path / "s.jpg", "blur")


@pytest.mark.parametrize("ext, fmt", [(".jpg", "JPEG"), (".JPEG", "JPEG"), (".png", "PNG"),
                                      (".webp", "WEBP"), (".bmp", "BMP"), (".tif", "TIFF"),
                                      (".tiff", "TIFF"), (".gif", "GIF")])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK", "LA"])
def test_format_follows_the_extension_for_every_mode(make_image, tmp_path, ext, fmt, mode):
    target = tmp_path / f"salida{ext}"
    written = save_image_atomic(make_image("RGBA").convert(mode), target)
    assert written == os.path.getsize(target) > 0
    with Image.open(target) as out:
        assert out.format == fmt and out.size == (48, 32)
        if fmt == "JPEG":
            assert out.mode in ("RGB", "L")


def test_jpeg_composites_transparency_over_white(tmp_path):
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    save_image_atomic(image, tmp_path / "t.jpg")
    with Image.open(tmp_path / "t.jpg") as out:
        assert min(out.convert("L").getextrema()) > 240


def test_quality_changes_the_jpeg_size(make_image, tmp_path):
    image = make_image("RGB", (128, 96))
    low = save_image_atomic(image, tmp_path / "low.jpg", quality=10)
    high = save_image_atomic(image, tmp_path / "high.jpg", quality=95)
    assert low < high
    with pytest.raises(ValueError, match="quality"):
        save_image_atomic(image, tmp_path / "x.jpg", quality=0)


def test_output_file_gets_normal_permissions(make_image, tmp_path):
    old = os.umask(0o022)
    try:
        save_image_atomic(make_image("RGB"), tmp_path / "p.png")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "p.png").st_mode & 0o777 == 0o644


def _failing_save(exc):
    def save(self, fp, *args, **kwargs):
        fp.write(b"\xff\xd8 medio fichero")
        raise exc
    return save


@pytest.mark.parametrize("exc", [OSError("disco lleno"), RuntimeError("fallo raro")])
def test_failed_save_leaves_no_output_and_no_temp(jpeg_path, tmp_path, monkeypatch, exc):
    folder = tmp_path / "out"
    monkeypatch.setattr(Image.Image, "save", _failing_save(exc))
    with pytest.raises(OutputWriteError) as info:
        process_image(jpeg_path, folder / "foto.jpg", GUIDE)
    assert str(folder / "foto.jpg") in str(info.value) and str(exc) in str(info.value)
    assert os.listdir(folder) == []


def test_failed_save_keeps_the_old_output(make_image, tmp_path, monkeypatch):
    target = tmp_path / "foto.png"
    target.write_bytes(b"version anterior")
    monkeypatch.setattr(Image.Image, "save", _failing_save(OSError("disco lleno")))
    with pytest.raises(OutputWriteError):
        save_image_atomic(make_image("RGB"), target)
    assert target.read_bytes() == b"version anterior"
    assert leftovers(tmp_path) == []


def test_interrupted_save_cleans_up_and_propagates(make_image, tmp_path, monkeypatch):
    monkeypatch.setattr(Image.Image, "save", _failing_save(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_image_atomic(make_image("RGB"), tmp_path / "foto.jpg")
    assert os.listdir(tmp_path) == []


def test_successful_save_replaces_an_old_output(make_image, tmp_path):
    target = tmp_path / "foto.png"
    target.write_bytes(b"version anterior")
    save_image_atomic(make_image("RGB"), target)
    with Image.open(target) as out:
        assert out.format == "PNG"
    assert leftovers(tmp_path) == []


def test_load_image_decodes_everything(jpeg_path):
    image = load_image(jpeg_path)
    os.remove(jpeg_path)  # los píxeles ya están en memoria
    assert image.size == (64, 48) and image.getpixel((0, 0)) is not None


def _truncated_jpeg(path, make_image):
    make_image("RGB", (256, 256)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_INPUTS = {
    "missing": (ImageNotFoundError, "No existe", lambda p, m: None),
    "folder": (ImageNotFoundError, "es una carpeta", lambda p, m: p.mkdir()),
    "empty": (CorruptImageError, "vacía (0 bytes)", lambda p, m: p.write_bytes(b"")),
    "text": (CorruptImageError, "no es una imagen", lambda p, m: p.write_text("hola, no soy un JPEG\n")),
    "truncated": (CorruptImageError, "truncada o dañada", _truncated_jpeg),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_raise_typed_errors_naming_the_path(tmp_path, make_image, case):
    error, fragment, prepare = BAD_INPUTS[case]
    path = tmp_path / "entrada.jpg"
    prepare(path, make_image)
    for call in (lambda: load_image(path),
                 lambda: process_image(path, tmp_path / "out" / "s.jpg", GUIDE)):
        with pytest.raises(error) as info:
            call()
        assert isinstance(info.value, ImageTaskError)
        assert str(path) in str(info.value) and fragment in str(info.value)
        assert info.value.path == str(path)
    assert not (tmp_path / "out").exists()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_missing_file_is_also_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "no-existe.png")


@pytest.mark.parametrize("limit, level", [(2_000, "error"), (4_000, "warning")])
def test_decompression_bombs_are_refused(make_image, tmp_path, monkeypatch, limit, level):
    path = tmp_path / "bomba.png"
    make_image("L", (80, 50)).save(path)  # 4000 píxeles
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit - 1)
    expect_warning = pytest.warns(Image.DecompressionBombWarning)
    with expect_warning if level == "warning" else contextlib.nullcontext():
        with pytest.raises(ImageTooLargeError) as info:
            load_image(path)
    assert str(path) in str(info.value) and "demasiado grande" in str(info.value)


@pytest.mark.parametrize("name", ["foto.xyz", "sin_extension"])
def test_unknown_output_extension(jpeg_path, tmp_path, name):
    with pytest.raises(OutputWriteError) as info:
        process_image(jpeg_path, tmp_path / name, GUIDE)
    assert str(tmp_path / name) in str(info.value) and ".jpg" in str(info.value)
    assert not (tmp_path / name).exists()


def test_impossible_output_folder(jpeg_path, tmp_path):
    blocker = tmp_path / "soy_un_fichero"
    blocker.write_text("x")
    target = blocker / "sub" / "foto.jpg"
    with pytest.raises(OutputWriteError) as info:
        process_image(jpeg_path, target, GUIDE)
    assert str(target) in str(info.value)


def test_output_path_that_is_a_folder(jpeg_path, tmp_path):
    (tmp_path / "carpeta.jpg").mkdir()
    with pytest.raises(OutputWriteError):
        process_image(jpeg_path, tmp_path / "carpeta.jpg", GUIDE)
    assert leftovers(tmp_path) == []


class Invert(Filter):
    """Un filtro propio sin ``name``: no se registra, pero sirve en un pipeline."""

    def apply(self, image):
        return image.point(lambda v: 255 - v)


class Broken(Filter):
    def apply(self, image):
        raise ValueError("kaputt")


def test_a_failing_filter_becomes_an_image_task_error(jpeg_path, tmp_path):
    with pytest.raises(ImageTaskError) as info:
        process_image(jpeg_path, tmp_path / "s.jpg",
                      FilterPipeline([ResizeFilter(scale=0.5), Broken()]))
    assert type(info.value) is ImageTaskError
    assert str(jpeg_path) in str(info.value) and "kaputt" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert not (tmp_path / "s.jpg").exists()


def test_any_filter_subclass_is_accepted(jpeg_path, tmp_path):
    result = process_image(jpeg_path, tmp_path / "inv.png", Invert())
    assert result.filters[0][0] == "Invert"  # sin name se usa el nombre de la clase


def test_any_object_with_apply_is_timed_as_one_step(jpeg_path, tmp_path):
    class Flip:  # no hereda de Filter: como lo escribiría un estudiante
        def apply(self, image):
            return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    result = process_image(jpeg_path, tmp_path / "flip.png", Flip(), clock=fake_clock())
    assert result.filters == (("Flip", 1.0),)
    assert result.output_size == (64, 48)
