"""Los filtros básicos: desenfoque, brillo, contraste, nitidez, grises, bordes y redimensionado.

Todos aceptan imágenes en modo RGB, RGBA, L, LA, P y CMYK (y, por conversión, cualquier otro
modo de Pillow). Si el modo ya sirve no se hace ninguna copia ni conversión extra; si no:

- ``P`` pasa a ``RGBA`` si la paleta tiene transparencia y a ``RGB`` si no.
- ``CMYK`` (y los demás modos de color) pasan a ``RGB``; ``1``, ``I``, ``F``, ``I;16`` pasan a ``L``.

Los filtros trabajan en 8 bits por canal. Las imágenes de 16 y 32 bits (``I;16``, ``I``, ``F``) se
*escalan* a 8 bits, nunca se recortan (recortar deja un degradado de 16 bits en 2 niveles, 0 y 255):

- ``I;16`` (PNG o TIFF de 16 bits en grises): por profundidad de bits, ``v * 255 / 65535``
  redondeado; el negro sigue negro, el blanco blanco y un gris medio sigue medio.
- ``I`` y ``F``: por el rango que tienen los valores. Si caben en 0..255 se dejan igual; si caben
  en 0..65535 se tratan como 16 bits (igual que ``I;16``); un ``F`` entre 0 y 1 se toma como
  fracción (``v * 255``); cualquier otro rango (negativos, más de 16 bits) se estira del mínimo
  (0) al máximo (255).

Así que, salvo que el docstring diga otra cosa, el modo de salida es: ``L``→``L``,
``LA``→``LA``, ``RGB``→``RGB``, ``RGBA``→``RGBA``, ``P``→``RGB``/``RGBA``, ``CMYK``→``RGB``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageEnhance, ImageFilter

from lab.errors import FilterSpecError
from lab.filters.base import Filter, check_param

_NATIVE_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
_GRAY_MODES = frozenset({"1", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_DIRECT_TO_L = frozenset({"1", "L", "RGB", "CMYK", "P"})
_DEEP_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})

#: Cotas superiores de los parámetros (ver el docstring de cada filtro): todo valor aceptado se
#: puede aplicar; más allá, ``FilterSpecError`` al construir el filtro.
MAX_BLUR_RADIUS = 1000
MAX_FACTOR = 255
MAX_SIDE = 65535
MAX_SCALE = 100


def has_alpha(image: Image.Image) -> bool:
    """``True`` si la imagen tiene canal alfa o es una paleta con color transparente."""
    return image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)


def _deep_to_l(image: Image.Image) -> Image.Image:
    """Una imagen ``I;16*``, ``I`` o ``F`` escalada a ``L`` (8 bits) según la regla del módulo."""
    if image.mode.startswith("I;16"):
        image, low, high = image.convert("I"), 0, 65535
    else:
        low, high = image.getextrema()
        if not (math.isfinite(low) and math.isfinite(high)):  # F con NaN o infinitos
            return image.convert("L")
        if image.mode == "F" and low >= 0 and high <= 1:
            low, high = 0, 1
        elif low >= 0 and high <= 255:
            low, high = 0, 255
        elif low >= 0 and high <= 65535:
            low, high = 0, 65535
    if (low, high) == (0, 255):
        scaled = image.point(lambda v: v + 0.5) if image.mode == "F" else image
    elif high == low:  # imagen lisa fuera de 0..255: un solo nivel
        scaled = image.point(lambda v: v * 0 + (255 if low > 255 else 0))
    else:
        scale = 255 / (high - low)
        scaled = image.point(lambda v: v * scale + (0.5 - low * scale))
    return scaled.convert("L")  # los valores ya están en 0..255: convert solo redondea


def to_working_mode(image: Image.Image) -> Image.Image:
    """Devuelve ``image`` tal cual si su modo es L, LA, RGB o RGBA; si no, una conversión.

    Los modos de más de 8 bits (``I;16``, ``I``, ``F``) se escalan a ``L`` sin perder el rango
    (ver el docstring del módulo); ``1`` pasa a ``L`` (0 y 255).
    """
    mode = image.mode
    if mode in _NATIVE_MODES:
        return image
    if mode in _DEEP_MODES:
        return _deep_to_l(image)
    if mode in _GRAY_MODES:
        return image.convert("L")
    if mode == "La":
        return image.convert("LA")
    return image.convert("RGBA" if has_alpha(image) else "RGB")


@lru_cache(maxsize=64)
def _brightness_lut(factor: float, bands: str) -> tuple[int, ...]:
    """Tabla de ``Image.point`` idéntica a ``ImageEnhance.Brightness`` (aritmética float32).

    Pillow calcula ``trunc(float32(factor) * v)`` en precisión simple; lo imitamos redondeando
    a float32 con ``struct`` para obtener exactamente los mismos bytes. El canal alfa no cambia.
    """
    f32 = struct.unpack("f", struct.pack("f", factor))[0]
    table = [min(255, int(struct.unpack("f", struct.pack("f", f32 * v))[0])) for v in range(256)]
    identity = list(range(256))
    return tuple(v for band in bands for v in (identity if band == "A" else table))


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

    Da los mismos bytes que ``ImageEnhance.Brightness`` pero con una tabla (``Image.point``),
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
        return image.point(_brightness_lut(self.factor, "".join(image.getbands())))


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
        if image.mode not in _NATIVE_MODES and image.mode != "CMYK":
            image = to_working_mode(image)
        size = self.target_size(image.size)
        if max(size) > MAX_SIDE:
            raise FilterSpecError(
                f"ResizeFilter: la salida de {size[0]}x{size[1]} píxeles tiene un lado de más de "
                f"{MAX_SIDE} píxeles; usa un tamaño o una escala menor")
        limit = Image.MAX_IMAGE_PIXELS
        if limit and size[0] * size[1] > limit:
            raise FilterSpecError(
                f"ResizeFilter: la salida de {size[0]}x{size[1]} píxeles supera el límite de "
                f"Pillow ({limit} píxeles); usa un tamaño o una escala menor")
        return image.resize(size, Image.Resampling.BICUBIC)
