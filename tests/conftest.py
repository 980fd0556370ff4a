"""Fixtures compartidas: imágenes pequeñas generadas al vuelo (nunca dependen de ``images/``)."""

from __future__ import annotations

import logging

import pytest
from PIL import Image

from lab.workers import TaskQueue

from tests.redis_support import mark_redis_tests, redis_url  # noqa: F401  (fixture de sesión: un Redis real)


def gradient_image(mode: str = "RGB", size: tuple[int, int] = (48, 32)) -> Image.Image:
    """Una imagen no uniforme (degradados distintos por canal) en el modo pedido."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = red.transpose(Image.Transpose.ROTATE_90).resize(size)
    blue = Image.radial_gradient("L").resize(size)
    rgb = Image.merge("RGB", (red, green, blue))
    if mode == "RGBA":
        rgb.putalpha(Image.linear_gradient("L").resize((height, width)).transpose(
            Image.Transpose.ROTATE_90))
        return rgb
    if mode == "P":
        return rgb.quantize(64)
    return rgb.convert(mode)


@pytest.fixture
def make_image():
    """Fábrica: ``make_image("RGBA", (w, h))`` devuelve una imagen con degradados."""
    return gradient_image


@pytest.fixture
def jpeg_path(tmp_path):
    """Ruta de un JPEG RGB de 64x48 recién escrito en ``tmp_path``."""
    path = tmp_path / "entrada.jpg"
    gradient_image("RGB", (64, 48)).save(path, quality=90)
    return path


@pytest.fixture(params=["memory", "redis"])
def make_queue(request):
    """Fábrica de colas vacías, en memoria y en Redis: los tests que la usan se ejecutan contra las dos."""
    if request.param == "memory":
        return lambda **kwargs: TaskQueue(**kwargs)
    from tests.redis_support import make_redis_queue

    url = request.getfixturevalue("redis_url")      # se salta (con motivo) solo si no hay ningún servidor
    return lambda **kwargs: make_redis_queue(url, **kwargs)


@pytest.fixture
def quiet_workers():
    """Workers sin líneas INFO durante el test (se restaura el nivel al terminar)."""
    logger = logging.getLogger("lab.worker")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def pytest_collection_modifyitems(session, config, items):
    """Los tests de navegador, al final: Playwright (API síncrona) mantiene un bucle de asyncio
    en marcha en el hilo principal mientras vive, y ``asyncio.run`` de otros tests fallaría.
    Además, los tests que usan un Redis real llevan la marca ``redis`` (``pytest -m redis``)."""
    mark_redis_tests(items)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
