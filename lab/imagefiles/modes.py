"""Los modos de imagen de Pillow: cuáles sirven tal cual y cómo se pasa de los demás a uno de trabajo.

Los filtros y la E/S trabajan en 8 bits por canal y en cuatro modos: ``L``, ``LA``, ``RGB`` y
``RGBA`` (``WORKING_MODES``). ``to_working_mode`` devuelve la misma imagen si ya está en uno de
ellos (sin copias) y, si no, la convierte:

- ``P`` pasa a ``RGBA`` si la paleta tiene transparencia y a ``RGB`` si no.
- ``CMYK`` (y los demás modos de color) pasan a ``RGB``; ``1``, ``I``, ``F``, ``I;16`` pasan a ``L``.

Las imágenes de 16 y 32 bits (``I;16``, ``I``, ``F``) se *escalan* a 8 bits, nunca se recortan
(recortar deja un degradado de 16 bits en 2 niveles, 0 y 255):

- ``I;16`` (PNG o TIFF de 16 bits en grises): por profundidad de bits, ``v * 255 / 65535``
  redondeado; el negro sigue negro, el blanco blanco y un gris medio sigue medio.
- ``I`` y ``F``: por el rango que tienen los valores. Si caben en 0..255 se dejan igual; si caben
  en 0..65535 se tratan como 16 bits (igual que ``I;16``); un ``F`` entre 0 y 1 se toma como
  fracción (``v * 255``); cualquier otro rango (negativos, más de 16 bits) se estira del mínimo
  (0) al máximo (255).
"""

from __future__ import annotations

import math

from PIL import Image

#: Los modos en que trabajan los filtros: se usan tal cual, sin copiar ni convertir.
WORKING_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
_GRAY_MODES = frozenset({"1", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_DEEP_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


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
    if mode in WORKING_MODES:
        return image
    if mode in _DEEP_MODES:
        return _deep_to_l(image)
    if mode in _GRAY_MODES:
        return image.convert("L")
    if mode == "La":
        return image.convert("LA")
    return image.convert("RGBA" if has_alpha(image) else "RGB")
