"""Perfiles de color ICC: la salida se ve con los mismos colores que la entrada.

Una foto de móvil suele traer incrustado un perfil Display P3: los mismos números RGB
significan colores más saturados que en sRGB (lo que supone un visor si no hay perfil). Si el
perfil se pierde al guardar, la foto cambia de color sin decir nada. Regla:

- **JPEG, WebP, PNG y TIFF** guardan el perfil: se incrusta tal cual en la salida.
- **GIF y BMP** no pueden guardarlo: los píxeles se *convierten* a sRGB (con LittleCMS, vía
  ``PIL.ImageCms``), así que se ven igual en cualquier visor (los colores fuera de sRGB se
  acercan al más próximo, como hace un visor con gestión de color).
- Si el guardado cambia de familia de color (CMYK a RGB para un JPEG), también se convierte con
  el perfil, no con la fórmula ingenua de Pillow.
- Si el perfil ya no describe la imagen (un perfil RGB en una salida en grises, tras el filtro
  ``grayscale``), no se incrusta: sería un fichero incoherente.
- Si el perfil está dañado y hace falta convertir, se guarda sin convertir y se avisa en el log
  (``lab.imagefiles``) nombrando el fichero.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from PIL import Image, ImageCms

from lab.imagefiles.paths import shown_path

logger = logging.getLogger("lab.imagefiles")

#: Formatos que incrustan el perfil ICC en el fichero.
ICC_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP"})

# Familia de color (campo «espacio de color» de la cabecera ICC) de cada modo de Pillow.
_FAMILY = {"RGB": "RGB", "RGBA": "RGB", "RGBX": "RGB", "P": "RGB", "PA": "RGB", "CMYK": "CMYK",
           "L": "GRAY", "LA": "GRAY", "1": "GRAY", "I": "GRAY", "F": "GRAY",
           "I;16": "GRAY", "I;16L": "GRAY", "I;16B": "GRAY", "I;16N": "GRAY"}


def profile_space(profile: bytes) -> str:
    """La familia de color que declara la cabecera de ``profile``: ``"RGB"``, ``"GRAY"``, ``"CMYK"``...

    Lee los bytes 16-19 de la cabecera (sin LittleCMS); ``""`` si el perfil es demasiado corto.
    """
    return profile[16:20].decode("ascii", "replace").strip() if len(profile) >= 20 else ""


def color_managed(image: Image.Image, profile: bytes | None, fmt: str, path: str,
                  prepare: Callable[[Image.Image], Image.Image]) -> tuple[Image.Image, bytes | None]:
    """``(imagen lista para guardar en fmt, perfil que incrustar o None)`` según la regla del módulo.

    ``prepare`` pasa una imagen a un modo que ``fmt`` sepa guardar (``save._prepare_for``).
    """
    if not profile:
        return prepare(image), None
    space = profile_space(profile)
    if fmt in ICC_FORMATS:
        ready = prepare(image)
        if _FAMILY.get(ready.mode) == space:
            return ready, profile
        if _FAMILY.get(image.mode) != space:  # el perfil ya no describe la imagen: no se incrusta
            return ready, None
    converted = to_srgb(image, profile, path)
    return prepare(image if converted is None else converted), None


def to_srgb(image: Image.Image, profile: bytes, path: str) -> Image.Image | None:
    """``image`` (descrita por ``profile``) convertida a sRGB, con su alfa; ``None`` si no se puede.

    Si no se puede (perfil dañado o que no casa con el modo) lo avisa en el log nombrando ``path``.
    """
    base, alpha = image, None
    if image.mode in ("P", "PA"):
        base = image.convert("RGBA")
    if base.mode in ("RGBA", "LA"):
        alpha, base = base.getchannel("A"), base.convert(base.mode[:-1])
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(base, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImportError, OSError, ValueError, ImageCms.PyCMSError) as exc:  # perfil ilegible o sin LittleCMS
        logger.warning(f"⚠️ El perfil de color ICC de '{shown_path(path)}' no se puede usar ({exc}); se guarda "
                       "sin él y los colores pueden verse distintos que en el original.")
        return None
    converted.info.pop("icc_profile", None)  # profileToProfile copia el perfil de origen
    if alpha is not None:
        converted.putalpha(alpha)
    return converted
