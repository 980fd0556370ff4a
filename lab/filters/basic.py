"""Los filtros básicos: desenfoque, brillo, contraste, nitidez, grises, bordes y redimensionado.

Cada uno es una dataclass congelada de ``Filter``: sus parámetros son campos, ``__post_init__``
los valida (``check_param``) y ``apply`` devuelve una imagen nueva. Todos aceptan cualquier modo
de Pillow: primero pasan la imagen a su modo de trabajo (``to_working_mode``, en
``lab/imagefiles/modes.py``: 8 bits por canal, sin copias si ya sirve). Salvo que el docstring
diga otra cosa, el modo de salida es: ``L``→``L``, ``LA``→``LA``, ``RGB``→``RGB``,
``RGBA``→``RGBA``, ``P``→``RGB``/``RGBA``, ``CMYK``→``RGB``, 16 y 32 bits→``L`` (escalados).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageEnhance, ImageFilter

from lab.errors import FilterSpecError
from lab.filters.base import Filter
from lab.filters.lut import brightness_lut
from lab.filters.validation import check_param, check_output_size
from lab.imagefiles.modes import WORKING_MODES, has_alpha, to_working_mode

_DIRECT_TO_L = frozenset({"1", "L", "RGB", "CMYK", "P"})

#: Cotas superiores de los parámetros (ver el docstring de cada filtro): todo valor aceptado se
#: puede aplicar; más allá, ``FilterSpecError`` al construir el filtro.
MAX_BLUR_RADIUS = 1000
MAX_FACTOR = 255
MAX_SIDE = 65535
MAX_SCALE = 100


@dataclass(frozen=True)
class BlurFilter(Filter):
    """Desenfoque gaussiano (``ImageFilter.GaussianBlur``) de radio ``radius`` píxeles, de 0 a 1000.

    Con ``radius`` 1000 una foto ya queda casi lisa; más allá no hay nada que ver y Pillow
    acaba rechazando el radio (``radius too large``), así que el límite es ``MAX_BLUR_RADIUS``.
    Modo de salida: el de trabajo (ver el módulo); en RGBA el alfa también se desenfoca.
    Lanza ``FilterSpecError`` si ``radius`` no es un número entre 0 y 1000.
    """

    name = "blur"
    radius: float = 2

    def __post_init__(self) -> None:
        check_param(self, "radius", minimum=0, maximum=MAX_BLUR_RADIUS)

    def apply(self, image: Image.Image) -> Image.Image:
        return to_working_mode(image).filter(ImageFilter.GaussianBlur(self.radius))


@dataclass(frozen=True)
class BrightnessFilter(Filter):
    """Brillo: multiplica cada canal de color por ``factor`` (> 0 y <= 255; 1.0 deja la imagen igual).

    Da los mismos bytes que ``ImageEnhance.Brightness`` pero con una tabla (``Image.point``, en ``lut.py``),
    unas cinco veces más rápido. Con ``factor`` 255 todo valor >= 1 ya llega a 255, así que un
    factor mayor no cambiaría nada (y uno enorme desbordaría el float32 de la tabla): el límite
    es ``MAX_FACTOR``. Modo de salida: el de trabajo; el alfa se conserva intacto.
    Lanza ``FilterSpecError`` si ``factor`` no es un número > 0 y <= 255.
    """

    name = "brightness"
    factor: float = 1.0

    def __post_init__(self) -> None:
        check_param(self, "factor", minimum=0, maximum=MAX_FACTOR, strict=True)

    def apply(self, image: Image.Image) -> Image.Image:
        image = to_working_mode(image)
        return image.point(brightness_lut(self.factor, "".join(image.getbands())))


@dataclass(frozen=True)
class ContrastFilter(Filter):
    """Contraste (``ImageEnhance.Contrast``) con ``factor`` > 0 y <= 255; 1.0 deja la imagen igual.

    Con ``factor`` 255 cualquier píxel que se aparte 1 nivel de la media ya satura (0 o 255),
    así que un factor mayor no cambiaría nada: el límite es ``MAX_FACTOR``.
    Modo de salida: el de trabajo; el alfa se conserva.
    Lanza ``FilterSpecError`` si ``factor`` no es un número > 0 y <= 255.
    """

    name = "contrast"
    factor: float = 1.0

    def __post_init__(self) -> None:
        check_param(self, "factor", minimum=0, maximum=MAX_FACTOR, strict=True)

    def apply(self, image: Image.Image) -> Image.Image:
        return ImageEnhance.Contrast(to_working_mode(image)).enhance(self.factor)


@dataclass(frozen=True)
class SharpenFilter(Filter):
    """Enfoque (``ImageFilter.SHARPEN``), sin parámetros. Modo de salida: el de trabajo."""

    name = "sharpen"

    def apply(self, image: Image.Image) -> Image.Image:
        return to_working_mode(image).filter(ImageFilter.SHARPEN)


@dataclass(frozen=True)
class EdgeFilter(Filter):
    """Detección de bordes (``ImageFilter.FIND_EDGES``), sin parámetros.

    Modo de salida: el de trabajo. Con alfa (RGBA, LA) solo se filtran los canales de color
    y se conserva el alfa original (si no, una imagen opaca quedaría transparente).
    """

    name = "edges"

    def apply(self, image: Image.Image) -> Image.Image:
        image = to_working_mode(image)
        if image.mode not in ("RGBA", "LA"):
            return image.filter(ImageFilter.FIND_EDGES)
        color = image.convert(image.mode[:-1]).filter(ImageFilter.FIND_EDGES)
        color.putalpha(image.getchannel("A"))
        return color


@dataclass(frozen=True)
class GrayscaleFilter(Filter):
    """Escala de grises (``Image.convert("L")``), sin parámetros.

    Modo de salida: ``L``, o ``LA`` si la entrada tiene alfa (RGBA, LA, P con transparencia).
    """

    name = "grayscale"

    def apply(self, image: Image.Image) -> Image.Image:
        if image.mode in ("LA", "RGBA"):
            return image.convert("LA")
        if image.mode in _DIRECT_TO_L and not has_alpha(image):
            return image.convert("L")
        # I;16, I, F (escalados a L sin recortar), P con transparencia, PA, RGBa...: antes al de trabajo
        return self.apply(to_working_mode(image))


@dataclass(frozen=True)
class ResizeFilter(Filter):
    """Redimensiona (``Image.resize``, bicúbico) a ``width``×``height`` o por ``scale``.

    Hay que elegir una sola forma: ``scale`` (> 0 y <= 100), o bien ``width`` y/o ``height``
    (enteros de 1 a 65535, el mayor lado que admite JPEG). Con un solo lado se conserva la
    proporción. El lado calculado nunca baja de 1 px ni pasa de 65535.
    Modo de salida: el mismo de la entrada (también CMYK), salvo ``P``, ``1``, ``I``, ``F``...
    que pasan al modo de trabajo para poder interpolar. Lanza ``FilterSpecError`` si faltan
    o sobran tamaños o algún valor está fuera de rango, y también al aplicarlo si el
    resultado superaría ``Image.MAX_IMAGE_PIXELS`` (para no agotar la memoria) o tendría un
    lado de más de 65535 píxeles (p. ej. ``scale=100`` sobre una foto grande).
    """

    name = "resize"
    width: int | None = None
    height: int | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        check_param(self, "width", minimum=0, maximum=MAX_SIDE, strict=True, integer=True, optional=True)
        check_param(self, "height", minimum=0, maximum=MAX_SIDE, strict=True, integer=True, optional=True)
        check_param(self, "scale", minimum=0, maximum=MAX_SCALE, strict=True, optional=True)
        by_size = self.width is not None or self.height is not None
        if by_size == (self.scale is not None):
            raise FilterSpecError(
                "ResizeFilter: indica 'scale' (> 0) o bien 'width' y/o 'height' (enteros > 0), "
                f"exactamente una de las dos formas; recibió width={self.width!r}, "
                f"height={self.height!r}, scale={self.scale!r}")

    def target_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """El tamaño de salida para una imagen de tamaño ``size`` = (ancho, alto)."""
        w, h = size
        if self.scale is not None:
            return max(1, round(w * self.scale)), max(1, round(h * self.scale))
        if self.width is not None and self.height is not None:
            return self.width, self.height
        if self.width is not None:
            return self.width, max(1, round(h * self.width / w))
        return max(1, round(w * self.height / h)), self.height

    def apply(self, image: Image.Image) -> Image.Image:
        if image.mode not in WORKING_MODES and image.mode != "CMYK":
            image = to_working_mode(image)
        size = check_output_size(self, self.target_size(image.size), MAX_SIDE)
        return image.resize(size, Image.Resampling.BICUBIC)
