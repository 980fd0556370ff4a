"""Pruebas de las fotos de ejemplo (``images/``) y de ``lab.images``."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from PIL import Image

from lab import images as lab_images
from lab.errors import CorruptImageError, ImageNotFoundError, OutputWriteError
from lab.images import (
    IMAGES_DIR,
    MANIFEST_NAME,
    make_test_image,
    make_workload,
    pattern_image,
    sample_images,
)

SMALL = (320, 180)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- Las fotos versionadas -----------------------------------------------------------------

def test_images_dir_is_repo_folder():
    assert IMAGES_DIR.name == "images"
    assert (IMAGES_DIR.parent / "lab" / "images.py").is_file()


def test_at_least_six_photos_named_in_order():
    photos = sample_images()
    assert len(photos) >= 6
    assert [p.name for p in photos] == [f"photo{i}.jpg" for i in range(1, len(photos) + 1)]
    assert photos[0] == IMAGES_DIR / "photo1.jpg"


@pytest.mark.parametrize("path", sample_images(), ids=lambda p: p.name)
def test_photo_is_sane_rgb_jpeg(path):
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        width, height = image.size
        image.load()
    assert 256 <= width <= 2048 and 256 <= height <= 2048
    assert 10_000 < path.stat().st_size < 2_000_000


def test_images_folder_under_10_mb():
    total = sum(p.stat().st_size for p in IMAGES_DIR.rglob("*") if p.is_file())
    assert total < 10 * 1024 * 1024


def test_credits_mention_every_photo_and_licence():
    credits = (IMAGES_DIR / "CREDITS.md").read_text(encoding="utf-8")
    for photo in sample_images():
        rows = [line for line in credits.splitlines() if f"`{photo.name}`" in line]
        assert rows, f"{photo.name} no aparece en CREDITS.md"
        assert re.search(r"dominio público|CC0", rows[0], re.IGNORECASE), rows[0]


def test_no_stray_files_in_images():
    names = {p.name for p in IMAGES_DIR.iterdir()}
    assert names == {p.name for p in sample_images()} | {"CREDITS.md"}


# --- sample_images: errores ----------------------------------------------------------------

def test_sample_images_missing_folder(tmp_path):
    with pytest.raises(ImageNotFoundError, match="No existe la carpeta") as info:
        sample_images(tmp_path / "no-existe")
    assert info.value.path == str(tmp_path / "no-existe")


def test_sample_images_empty_folder(tmp_path):
    (tmp_path / "otra.jpg").write_bytes(b"x")
    with pytest.raises(ImageNotFoundError, match="ninguna foto"):
        sample_images(tmp_path)


def test_sample_images_natural_order(tmp_path):
    for name in ("photo10.jpg", "photo2.jpg", "photo1.jpg"):
        make_test_image(tmp_path / name)
    assert [p.name for p in sample_images(tmp_path)] == ["photo1.jpg", "photo2.jpg", "photo10.jpg"]


def test_make_workload_without_images_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(lab_images, "IMAGES_DIR", tmp_path / "sin-fotos")
    with pytest.raises(ImageNotFoundError, match="sin-fotos"):
        make_workload(tmp_path / "carga", n=1, size=SMALL)
    assert not list((tmp_path).glob("carga/work-*.jpg"))


# --- make_workload ------------------------------------------------------------------------

def test_workload_sizes_names_and_distinct(tmp_path):
    paths = make_workload(tmp_path / "w", n=3, size=SMALL)
    assert [p.name for p in paths] == ["work-0001.jpg", "work-0002.jpg", "work-0003.jpg"]
    for path in paths:
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", SMALL)
    assert len({digest(p) for p in paths}) == 3
    assert not list((tmp_path / "w").glob(".*.tmp"))


def test_workload_is_deterministic(tmp_path):
    first = make_workload(tmp_path / "a", n=3, size=SMALL)
    second = make_workload(tmp_path / "b", n=3, size=SMALL)
    assert [digest(p) for p in first] == [digest(p) for p in second]


def test_workload_depends_on_seed(tmp_path):
    base = make_workload(tmp_path / "a", n=2, size=SMALL)
    other = make_workload(tmp_path / "b", n=2, size=SMALL, seed=1)
    assert [digest(p) for p in base] != [digest(p) for p in other]


def test_workload_cycles_photos_with_variation(tmp_path):
    sources = sample_images()[:2]
    paths = make_workload(tmp_path, n=4, size=SMALL, sources=sources)
    assert len({digest(p) for p in paths}) == 4
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8"))
    used = [manifest["files"][p.name]["source"] for p in paths]
    assert used == ["photo1.jpg", "photo2.jpg", "photo1.jpg", "photo2.jpg"]


def test_workload_reused_on_second_call(tmp_path):
    paths = make_workload(tmp_path, n=3, size=SMALL)
    stamps = [p.stat().st_mtime_ns for p in paths]
    assert make_workload(tmp_path, n=3, size=SMALL) == paths
    assert [p.stat().st_mtime_ns for p in paths] == stamps


def test_workload_regenerates_changed_or_damaged_files(tmp_path):
    paths = make_workload(tmp_path, n=2, size=SMALL)
    good = digest(paths[0])
    paths[0].write_bytes(b"a medias")
    make_workload(tmp_path, n=2, size=SMALL)
    assert digest(paths[0]) == good
    bigger = make_workload(tmp_path, n=2, size=(400, 200))
    with Image.open(bigger[1]) as image:
        assert image.size == (400, 200)


def test_workload_smaller_n_prunes_extra_files(tmp_path):
    make_workload(tmp_path, n=3, size=SMALL)
    paths = make_workload(tmp_path, n=1, size=SMALL)
    assert sorted(p.name for p in tmp_path.glob("work-*.jpg")) == [paths[0].name]


@pytest.mark.parametrize("kwargs", [{"n": -1}, {"size": (0, 10)}, {"size": (10.5, 10)},
                                    {"quality": 0}, {"quality": 101}])
def test_workload_rejects_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        make_workload(tmp_path, **{"n": 1, "size": SMALL, **kwargs})


def test_workload_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as handle:
            handle.write(b"medio jpeg")
        raise OSError("disco lleno")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OutputWriteError, match="disco lleno"):
        make_workload(tmp_path, n=1, size=SMALL)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_workload_corrupt_source(tmp_path):
    bad = tmp_path / "photo1.jpg"
    bad.write_bytes(b"esto no es un jpeg")
    with pytest.raises(CorruptImageError, match="photo1.jpg"):
        make_workload(tmp_path / "w", n=1, size=SMALL, sources=[bad])


def test_workload_unwritable_folder(tmp_path):
    blocker = tmp_path / "fichero"
    blocker.write_text("no soy una carpeta")
    with pytest.raises(OutputWriteError):
        make_workload(blocker / "w", n=1, size=SMALL)


# --- Imágenes de prueba -------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK"])
def test_pattern_image_modes_and_not_uniform(mode):
    image = pattern_image((40, 30), mode)
    assert (image.mode, image.size) == (mode, (40, 30))
    assert len(image.convert("RGB").getcolors(40 * 30)) > 10


def test_make_test_image_deterministic(tmp_path):
    a = make_test_image(tmp_path / "a.jpg")
    b = make_test_image(tmp_path / "sub" / "b.jpg")
    assert digest(a) == digest(b)
    with Image.open(a) as image:
        assert (image.format, image.size) == ("JPEG", (64, 48))


def test_make_test_image_bad_mode_for_format(tmp_path):
    with pytest.raises(OutputWriteError, match="RGBA"):
        make_test_image(tmp_path / "x.jpg", mode="RGBA")


def test_workload_sources_are_upright_and_keep_16_bit_range(tmp_path):
    """Una foto de móvil girada (EXIF 6) y un PNG de 16 bits sirven de origen sin tumbarse ni recortarse."""
    from PIL import ImageDraw

    phone = Image.new("RGB", (80, 40), (255, 255, 255))
    ImageDraw.Draw(phone).rectangle((0, 0, 39, 39), fill=(255, 0, 0))  # mitad izquierda: arriba al girar
    exif = Image.Exif()
    exif[0x0112] = 6
    phone.save(tmp_path / "movil.jpg", quality=95, exif=exif.tobytes())
    deep = Image.new("I;16", (256, 64))
    deep.putdata([x * 257 for _ in range(64) for x in range(256)])
    deep.save(tmp_path / "g16.png")

    upright, gradient = make_workload(tmp_path / "w", n=2, size=(40, 80),
                                      sources=[tmp_path / "movil.jpg", tmp_path / "g16.png"])
    with Image.open(upright) as out:  # derecha: la mitad roja arriba (cualquier recorte la conserva)
        top, bottom = out.convert("RGB").getpixel((20, 2)), out.convert("RGB").getpixel((20, 78))
        assert top[0] > 200 and top[1] < 80 and bottom[1] > 200
    with Image.open(gradient) as out:
        assert len(set(out.convert("L").get_flattened_data())) > 20  # no solo 0 y 255
