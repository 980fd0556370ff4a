"""Leer una imagen como se ve en cualquier visor: orientación EXIF, 16 bits y todos sus fotogramas.

``read_image`` abre y decodifica el fichero (con la orientación EXIF aplicada solo si la
etiqueta lo pide) y, si es una animación o un TIFF de varias páginas, devuelve también sus
fotogramas (``Frames``) con sus duraciones y su ``loop``. Los errores son de ``lab.errors``
(``ImageNotFoundError``, ``CorruptImageError``, ``ImageTooLargeError``...) con la ruta y la causa.
``probe_image`` da los mismos errores leyendo solo la cabecera (para validar al encolar).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from lab.errors import (
    CorruptImageError,
    ImageNotFoundError,
    ImageTaskError,
    ImageTooLargeError,
    InvalidPathError,
)
from lab.imagefiles.modes import has_alpha, to_working_mode
from lab.imagefiles.paths import check_path, describe_os_error, shown_path


#: Formatos que guardan una animación con duraciones y repeticiones (los tiempos de sus fotogramas cuentan).
ANIMATION_FORMATS = frozenset({"GIF", "PNG", "WEBP"})

_ORIENTATION = 0x0112  # etiqueta EXIF Orientation: 1 = derecha; 2..8 = espejo y/o giro
# Lo que hace ImageOps.exif_transpose para cada valor (aquí, para los fotogramas de una animación).
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


@dataclass
class Frames:
    """Los fotogramas (o páginas) de una imagen con más de uno, ya decodificados y derechos."""

    frames: list[Image.Image]
    durations: list[int] | None  # milisegundos por fotograma; None = páginas sin tiempos (TIFF)
    loop: int | None  # 0 = sin fin; None = la entrada no lo dice (se reproduce una vez)

    def __len__(self) -> int:
        return len(self.frames)


def _orientation(image: Image.Image) -> int:
    """La orientación EXIF de ``image`` (1 si no tiene; leerla no copia píxeles)."""
    try:
        value = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # un bloque EXIF dañado no impide ver la foto: se ignora, como en los visores
        return 1
    return value if value in _TRANSPOSE else 1


def read_frames(image: Image.Image, path: str, orientation: int) -> Frames:
    """Decodifica todos los fotogramas de ``image`` (abierta) como imágenes independientes.

    Si los fotogramas de una animación llegan en modos distintos (en un GIF el primero es ``P``
    y los demás ``RGB``), se igualan (``same_mode``) para que el pipeline dé lo mismo en todos.
    Las páginas de un TIFF conservan cada una su modo (y su profundidad: 16 bits siguen en 16).
    """
    count = image.n_frames
    limit = Image.MAX_IMAGE_PIXELS
    if limit and image.width * image.height * count > limit:
        raise ImageTooLargeError(
            f"La animación '{shown_path(path)}' es demasiado grande: {count} fotogramas de "
            f"{image.width}x{image.height} superan el límite de {limit} píxeles "
            "(Image.MAX_IMAGE_PIXELS), así que no se carga.", path)
    timed = image.format in ANIMATION_FORMATS
    loop = image.info.get("loop")
    frames, durations = [], []
    for index in range(count):
        image.seek(index)
        image.load()
        frame = image.copy()
        if orientation != 1:
            frame = frame.transpose(_TRANSPOSE[orientation])
        frames.append(frame)
        durations.append(int(image.info.get("duration") or 0))
    if timed:
        return Frames(same_mode(frames), durations, loop)
    return Frames(frames, None, None)


def same_mode(frames: list[Image.Image]) -> list[Image.Image]:
    """``frames`` en un solo modo: tal cual si ya lo comparten; si no, al modo de trabajo y, si
    aún difieren, a ``RGBA`` (si alguno tiene transparencia) o ``RGB``."""
    if len({frame.mode for frame in frames}) <= 1:
        return frames
    frames = [to_working_mode(frame) for frame in frames]
    if len({frame.mode for frame in frames}) <= 1:
        return frames
    mode = "RGBA" if any(has_alpha(frame) for frame in frames) else "RGB"
    return [frame if frame.mode == mode else frame.convert(mode) for frame in frames]


def _too_large(name: str, limit: int) -> str:
    return (f"La imagen '{name}' es demasiado grande: supera el límite de {limit} píxeles "
            "(Image.MAX_IMAGE_PIXELS) y podría ser una bomba de descompresión, así que no se carga.")


def _stat_file(path: str) -> os.stat_result:
    """``os.stat`` de una imagen de entrada que existe, es un fichero y no está vacía; si no, su error."""
    check_path(path, "de entrada", InvalidPathError)
    name = shown_path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ImageNotFoundError(f"No existe la imagen de entrada '{name}'.", path) from None
    except OSError as exc:
        raise ImageTaskError(f"No se puede acceder a '{name}': {describe_os_error(exc, path)}.", path) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageNotFoundError(f"'{name}' es una carpeta, no un fichero de imagen.", path)
    if info.st_size == 0:
        raise CorruptImageError(f"La imagen '{name}' está vacía (0 bytes).", path)
    return info


@contextmanager
def _pillow_errors(path: str) -> Iterator[None]:
    """Traduce lo que lanzan Pillow y el sistema al abrir ``path`` a los errores de ``lab.errors``."""
    name = shown_path(path)
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(_too_large(name, Image.MAX_IMAGE_PIXELS), path) from exc
    except UnidentifiedImageError as exc:
        raise CorruptImageError(
            f"'{name}' no es una imagen que Pillow reconozca (¿un fichero de texto u otro "
            "formato con la extensión cambiada?).", path) from exc
    except FileNotFoundError:
        raise ImageNotFoundError(f"No existe la imagen de entrada '{name}'.", path) from None
    except PermissionError as exc:
        raise ImageTaskError(f"No hay permiso para leer '{name}'.", path) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(
            f"La imagen '{name}' está truncada o dañada y no se puede decodificar ({exc}).",
            path) from exc


def _check_size(image: Image.Image, path: str) -> None:
    """Pillow solo avisa (DecompressionBombWarning) entre 1x y 2x el límite: aquí es error."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit and image.width * image.height > limit:
        raise ImageTooLargeError(f"{_too_large(shown_path(path), limit)[:-1]} ({image.width}x{image.height}).", path)


def probe_image(path: str) -> None:
    """Comprueba, leyendo solo la cabecera, que ``path`` es una imagen que se podrá abrir.

    No decodifica los píxeles (vale para miles de fotos): lo usa ``python -m lab enqueue`` para
    rechazar al encolar lo que el worker no podría leer. Lanza los errores de ``read_image`` para
    un fichero que no existe, está vacío, no es una imagen o supera ``Image.MAX_IMAGE_PIXELS``.
    """
    _stat_file(path)
    with _pillow_errors(path), Image.open(path) as image:
        _check_size(image, path)


def read_image(path: str, all_frames: bool = True) -> tuple[Image.Image, int, Frames | None]:
    """Abre y decodifica ``path`` por completo: ``(imagen derecha, bytes del fichero, fotogramas)``.

    ``fotogramas`` es ``None`` salvo en animaciones y TIFF de varias páginas (y ``all_frames``);
    entonces la imagen es el primero.
    """
    info = _stat_file(path)
    frames = None
    with _pillow_errors(path), Image.open(path) as image:
        _check_size(image, path)
        # MPO: un JPEG de cámara con vistas previas detrás; la foto es la primera imagen.
        # (is_animated se mira antes de load(): en GIF, averiguarlo mueve el fichero.)
        animated = all_frames and image.format != "MPO" and getattr(image, "is_animated", False)
        image.load()
        orientation = _orientation(image)
        if animated:
            frames = read_frames(image, path, orientation)
    if frames is not None:
        return frames.frames[0], info.st_size, frames
    if orientation != 1:  # solo si la etiqueta lo pide: el caso común no copia nada
        image = ImageOps.exif_transpose(image)
    return image, info.st_size, None


def load_image(path: str | os.PathLike) -> Image.Image:
    """Abre ``path`` y decodifica todos sus píxeles (el tiempo de ``load`` incluye la decodificación).

    La imagen sale derecha: si tiene orientación EXIF (fotos de móvil) ya está girada. De una
    animación devuelve solo el primer fotograma (``process_image`` sí procesa todos).
    Lanza ``ImageNotFoundError`` (no existe), ``CorruptImageError`` (vacía, truncada, no es
    una imagen), ``ImageTooLargeError`` (supera ``Image.MAX_IMAGE_PIXELS``) o
    ``InvalidPathError`` (la ruta lleva un carácter nulo). No cambia
    ``ImageFile.LOAD_TRUNCATED_IMAGES``: una imagen truncada siempre es un error.
    """
    return read_image(os.fspath(path), all_frames=False)[0]
