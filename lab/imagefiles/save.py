"""Guardar una imagen de forma atómica en el formato que dice su extensión.

Se escribe un temporal oculto (de nombre acotado) en la misma carpeta y se renombra con
``os.replace``: si algo falla no aparece ningún fichero de salida a medias y uno anterior queda
intacto (atómico frente a fallos del proceso; sin ``fsync``, así que no protege de un corte de
luz). ``save_frames`` guarda una animación con sus duraciones y su ``loop``. El perfil de color
ICC de la imagen se conserva (o, en GIF y BMP, se convierte a sRGB): ``lab.imagefiles.profiles``.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from typing import IO, Any

from PIL import Image

from lab.checks import check_quality
from lab.errors import OutputWriteError, UnsupportedFormatError
from lab.imagefiles.load import ANIMATION_FORMATS, Frames, same_mode
from lab.imagefiles.modes import has_alpha, to_working_mode
from lab.imagefiles.paths import check_path, describe_os_error, shown_path
from lab.imagefiles.profiles import ICC_FORMATS, color_managed


#: Extensión -> (formato de Pillow, modos que ese formato guarda tal cual).
FORMATS: dict[str, tuple[str, frozenset[str]]] = {
    ".jpg": ("JPEG", frozenset({"L", "RGB"})),
    ".jpeg": ("JPEG", frozenset({"L", "RGB"})),
    ".png": ("PNG", frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I;16B"})),
    ".webp": ("WEBP", frozenset({"RGB", "RGBA"})),
    ".bmp": ("BMP", frozenset({"1", "L", "P", "RGB", "RGBA"})),
    ".tif": ("TIFF", frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F", "I;16", "I;16L",
                                "I;16B"})),
    ".tiff": ("TIFF", frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F", "I;16", "I;16L",
                                 "I;16B"})),
    ".gif": ("GIF", frozenset({"1", "L", "P", "RGB", "RGBA"})),
}


def output_format(path: str | os.PathLike) -> str:
    """El formato de Pillow que corresponde a la extensión de ``path`` (``"JPEG"``, ``"PNG"``...).

    Lanza ``UnsupportedFormatError`` si la extensión no es una de las soportadas.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise UnsupportedFormatError(
            f"No sé en qué formato guardar '{shown_path(path)}': la extensión {shown_path(ext) or '(ninguna)'!r} no "
            f"está soportada; usa una de {', '.join(FORMATS)}.", path)
    return FORMATS[ext][0]


def _prepare_for(image: Image.Image, fmt: str, modes: frozenset[str]) -> Image.Image:
    """Convierte ``image`` a un modo que ``fmt`` sepa guardar (sin copiar si ya vale).

    Para JPEG (sin alfa) la transparencia se compone sobre fondo blanco. Los modos de 16 y 32
    bits que el formato no guarda se escalan a 8 bits (``to_working_mode``), nunca se recortan.
    """
    if image.mode in modes:
        return image
    if image.mode.startswith("I") or image.mode == "F":
        image = to_working_mode(image)
        if image.mode in modes:
            return image
    alpha = has_alpha(image)
    if alpha and "RGBA" in modes:
        return image.convert("RGBA")
    if alpha:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    """Crea un temporal oculto y exclusivo junto a la salida: ``(descriptor, ruta)``.

    Como ``tempfile.mkstemp`` pero con permisos 0o666 menos la umask (los de un fichero
    normal), no 0o600, porque el temporal se convierte en la salida definitiva. El nombre lleva
    solo los 32 primeros caracteres del de la salida (como mucho 32 × 4 + 15 bytes): así un
    nombre de salida legal, aunque roce el límite de 255 bytes, siempre tiene su temporal.
    """
    # Lectura y escritura: el TIFF de varias páginas relee lo escrito para enlazar cada página.
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name[:32]}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no se pudo crear un temporal único en '{shown_path(folder)}'")


def _write_atomic(path: str, write: Callable[[IO[bytes]], None]) -> int:
    """Llama a ``write(stream)`` sobre un temporal junto a ``path`` y lo renombra a ``path``.

    Devuelve los bytes escritos. Si algo falla no queda ni temporal ni salida (y una salida
    anterior no cambia); el error es un ``OutputWriteError`` que dice la causa.
    """
    name = shown_path(path)
    folder = os.path.dirname(path) or "."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(
            f"No se puede crear '{name}': la carpeta '{shown_path(folder)}' no existe y no se puede "
            f"crear ({describe_os_error(exc, folder)}).", path) from exc
    try:
        fd, tmp = _create_temp(folder, os.path.basename(path))
    except OSError as exc:
        raise OutputWriteError(
            f"No se puede crear '{name}': no se puede escribir en la carpeta '{shown_path(folder)}' "
            f"({describe_os_error(exc, folder)}).", path) from exc
    try:
        with os.fdopen(fd, "w+b") as stream:
            write(stream)
            written = stream.tell()
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, Exception):
            raise OutputWriteError(
                f"No se pudo guardar '{name}' ({describe_os_error(exc, path)}); no se ha escrito nada.", path) from exc
        raise
    return written


def save_image_atomic(image: Image.Image, path: str | os.PathLike, quality: int = 90,
                      icc_profile: bytes | None = None) -> int:
    """Guarda ``image`` en ``path`` de forma atómica y devuelve los bytes escritos.

    El formato sale de la extensión; ``quality`` (1-100) se usa en JPEG y WebP. Crea las
    carpetas que falten. Una imagen ``I;16`` se guarda en 16 bits en PNG y TIFF; en los demás
    formatos se escala a 8 bits (ver el docstring del módulo). El perfil de color ICC
    (``icc_profile`` o, si es ``None``, el de ``image.info``) se incrusta en JPEG, WebP, PNG y
    TIFF; en GIF y BMP los colores se convierten a sRGB (``lab.imagefiles.profiles``). Lanza
    ``OutputWriteError`` si la extensión no está soportada, la ruta no es válida o no se puede
    escribir; en ese caso no queda ni temporal ni salida, y un fichero previo no cambia.
    """
    path = os.fspath(path)
    check_path(path, "de salida", OutputWriteError)
    fmt = output_format(path)
    check_quality(quality)
    modes = FORMATS[os.path.splitext(path)[1].lower()][1]
    profile = image.info.get("icc_profile") if icc_profile is None else icc_profile
    image, profile = color_managed(image, profile, fmt, path, lambda im: _prepare_for(im, fmt, modes))
    options = _options(fmt, quality, profile)
    return _write_atomic(path, lambda stream: image.save(stream, format=fmt, **options))


def save_frames(frames: Frames, path: str, quality: int, icc_profile: bytes | None = None) -> int:
    """Guarda todos los fotogramas de ``frames`` en ``path`` (animación o páginas), de forma atómica.

    Una animación (GIF, APNG, WebP) necesita un solo modo para todos sus fotogramas; las páginas
    de un TIFF conservan cada una el suyo (una página de 16 bits sigue en 16 bits aunque otra sea
    de 8). El perfil ICC (``icc_profile`` o el del primer fotograma) sigue la regla de
    ``save_image_atomic``.
    """
    fmt = output_format(path)
    check_quality(quality)
    modes = FORMATS[os.path.splitext(path)[1].lower()][1]
    profile = frames.frames[0].info.get("icc_profile") if icc_profile is None else icc_profile
    prepared = [color_managed(frame, profile, fmt, path, lambda im: _prepare_for(im, fmt, modes))
                for frame in frames.frames]
    images = [image for image, _ in prepared]
    if fmt in ANIMATION_FORMATS:
        images = same_mode(images)
    options: dict[str, Any] = {"save_all": True, "append_images": images[1:], **_options(fmt, quality, prepared[0][1])}
    if fmt == "TIFF":  # cada página lleva el suyo: el TIFF lo lee de info si no se pasa al guardar
        del options["icc_profile"]
        for image, (_, profile) in zip(images, prepared):
            image.info.pop("icc_profile", None)
            if profile:
                image.info["icc_profile"] = profile
    if fmt in ANIMATION_FORMATS:
        if frames.durations is not None:
            options["duration"] = frames.durations
        if frames.loop is not None:
            options["loop"] = frames.loop
        elif fmt != "GIF":  # sin «loop» un GIF se ve una vez; APNG y WebP repetirían sin fin
            options["loop"] = 1
        if fmt == "GIF" and any(has_alpha(image) for image in images):
            options["disposal"] = 2  # cada fotograma borra el anterior: la transparencia no acumula
    return _write_atomic(path, lambda stream: images[0].save(stream, format=fmt, **options))


def _options(fmt: str, quality: int, profile: bytes | None) -> dict[str, Any]:
    """Las opciones de ``Image.save`` para ``fmt``: la calidad y el perfil ICC (``None`` = ninguno).

    El perfil se pasa siempre en los formatos que lo guardan: PNG y TIFF tomarían si no el de
    ``image.info``, aunque ya no describa la imagen.
    """
    options: dict[str, Any] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt in ICC_FORMATS:
        options["icc_profile"] = profile
    return options
