"""Procesar una imagen de principio a fin: cargar, aplicar el pipeline y guardar, midiendo cada etapa.

Las tres etapas también son públicas (``load_image``, ``FilterPipeline.apply_timed`` y
``save_image_atomic``) para que los workers y los cuadernos puedan cronometrarlas por separado.
El guardado es atómico: se escribe un temporal oculto en la misma carpeta y se renombra con
``os.replace``; si algo falla no aparece ningún fichero de salida a medias y uno anterior
queda intacto (atómico frente a fallos del proceso; no se hace ``fsync`` para no penalizar el
tiempo de guardado, así que no protege de un corte de luz).
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from lab.checks import check_quality
from lab.errors import (
    CorruptImageError,
    ImageNotFoundError,
    ImageTaskError,
    ImageTooLargeError,
    OutputWriteError,
)
from lab.filters import FilterPipeline, as_pipeline
from lab.filters.basic import has_alpha

__all__ = ["FilterPipeline", "ImageResult", "load_image", "output_format",
           "process_image", "save_image_atomic"]

# Extensión -> (formato de Pillow, modos que ese formato guarda tal cual).
FORMATS: dict[str, tuple[str, frozenset[str]]] = {
    ".jpg": ("JPEG", frozenset({"L", "RGB"})),
    ".jpeg": ("JPEG", frozenset({"L", "RGB"})),
    ".png": ("PNG", frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})),
    ".webp": ("WEBP", frozenset({"RGB", "RGBA"})),
    ".bmp": ("BMP", frozenset({"1", "L", "P", "RGB", "RGBA"})),
    ".tif": ("TIFF", frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F"})),
    ".tiff": ("TIFF", frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F"})),
    ".gif": ("GIF", frozenset({"1", "L", "P", "RGB", "RGBA"})),
}



@dataclass(frozen=True)
class ImageResult:
    """El resultado de ``process_image``: rutas, tiempos (s), tamaños y bytes; nunca píxeles.

    ``filters`` es ``((nombre, segundos), ...)`` con una entrada por filtro simple.
    ``total`` va del principio al final de ``process_image`` (>= load + pipeline + save).
    """

    image_path: str
    output_path: str
    load: float
    pipeline: float
    save: float
    total: float
    filters: tuple[tuple[str, float], ...]
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    input_bytes: int
    output_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """Datos JSON planos (las tuplas pasan a listas)."""
        data = asdict(self)
        data["filters"] = [[name, seconds] for name, seconds in self.filters]
        data["input_size"] = list(self.input_size)
        data["output_size"] = list(self.output_size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageResult:
        """Inverso de ``to_dict`` (p. ej. al leer el resultado de una tarea desde Redis)."""
        values = dict(data)
        values["filters"] = tuple((str(n), float(s)) for n, s in data["filters"])
        values["input_size"] = tuple(data["input_size"])
        values["output_size"] = tuple(data["output_size"])
        return cls(**values)


def output_format(path: str | os.PathLike) -> str:
    """El formato de Pillow que corresponde a la extensión de ``path`` (``"JPEG"``, ``"PNG"``...).

    Lanza ``OutputWriteError`` si la extensión no es una de las soportadas.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise OutputWriteError(
            f"No sé en qué formato guardar '{path}': la extensión {ext or '(ninguna)'!r} no está "
            f"soportada; usa una de {', '.join(FORMATS)}.", path)
    return FORMATS[ext][0]


def _open(path: str) -> tuple[Image.Image, int]:
    """Abre y decodifica ``path`` por completo; devuelve la imagen y el tamaño del fichero."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ImageNotFoundError(f"No existe la imagen de entrada '{path}'.", path) from None
    except OSError as exc:
        raise ImageTaskError(f"No se puede acceder a '{path}': {exc.strerror or exc}.", path) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageNotFoundError(f"'{path}' es una carpeta, no un fichero de imagen.", path)
    if info.st_size == 0:
        raise CorruptImageError(f"La imagen '{path}' está vacía (0 bytes).", path)
    limit = Image.MAX_IMAGE_PIXELS
    too_large = (f"La imagen '{path}' es demasiado grande: supera el límite de {limit} píxeles "
                 "(Image.MAX_IMAGE_PIXELS) y podría ser una bomba de descompresión, así que no se carga.")
    try:
        with Image.open(path) as image:
            # Pillow solo avisa (DecompressionBombWarning) entre 1x y 2x el límite: aquí es error.
            if limit and image.width * image.height > limit:
                raise ImageTooLargeError(f"{too_large[:-1]} ({image.width}x{image.height}).", path)
            image.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(too_large, path) from exc
    except UnidentifiedImageError as exc:
        raise CorruptImageError(
            f"'{path}' no es una imagen que Pillow reconozca (¿un fichero de texto u otro "
            "formato con la extensión cambiada?).", path) from exc
    except FileNotFoundError:
        raise ImageNotFoundError(f"No existe la imagen de entrada '{path}'.", path) from None
    except PermissionError as exc:
        raise ImageTaskError(f"No hay permiso para leer '{path}'.", path) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(
            f"La imagen '{path}' está truncada o dañada y no se puede decodificar ({exc}).",
            path) from exc
    return image, info.st_size


def load_image(path: str | os.PathLike) -> Image.Image:
    """Abre ``path`` y decodifica todos sus píxeles (el tiempo de ``load`` incluye la decodificación).

    Lanza ``ImageNotFoundError`` (no existe), ``CorruptImageError`` (vacía, truncada, no es
    una imagen) o ``ImageTooLargeError`` (supera ``Image.MAX_IMAGE_PIXELS``). No cambia
    ``ImageFile.LOAD_TRUNCATED_IMAGES``: una imagen truncada siempre es un error.
    """
    return _open(os.fspath(path))[0]


def _prepare_for(image: Image.Image, fmt: str, modes: frozenset[str]) -> Image.Image:
    """Convierte ``image`` a un modo que ``fmt`` sepa guardar (sin copiar si ya vale).

    Para JPEG (sin alfa) la transparencia se compone sobre fondo blanco.
    """
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
    normal), no 0o600, porque el temporal se convierte en la salida definitiva.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no se pudo crear un temporal único en '{folder}'")


def save_image_atomic(image: Image.Image, path: str | os.PathLike, quality: int = 90) -> int:
    """Guarda ``image`` en ``path`` de forma atómica y devuelve los bytes escritos.

    El formato sale de la extensión; ``quality`` (1-100) se usa en JPEG y WebP. Crea las
    carpetas que falten. Lanza ``OutputWriteError`` si la extensión no está soportada o no se
    puede escribir; en ese caso no queda ni temporal ni salida, y un fichero previo no cambia.
    """
    path = os.fspath(path)
    fmt = output_format(path)
    check_quality(quality)
    image = _prepare_for(image, fmt, FORMATS[os.path.splitext(path)[1].lower()][1])
    folder = os.path.dirname(path) or "."
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = _create_temp(folder, os.path.basename(path))
    except OSError as exc:
        raise OutputWriteError(
            f"No se puede crear '{path}': la carpeta '{folder}' no existe ni se puede crear, "
            f"o no admite escritura ({exc.strerror or exc}).", path) from exc
    try:
        with os.fdopen(fd, "wb") as stream:
            options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
            image.save(stream, format=fmt, **options)
            written = stream.tell()
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, Exception):
            raise OutputWriteError(
                f"No se pudo guardar '{path}' ({type(exc).__name__}: {exc}); no se ha escrito "
                "nada.", path) from exc
        raise
    return written


def process_image(image_path: str | os.PathLike, output_path: str | os.PathLike, pipeline: Any, *,
                  quality: int = 90, clock: Callable[[], float] = time.perf_counter) -> ImageResult:
    """Carga ``image_path``, aplica ``pipeline`` y guarda en ``output_path``, midiendo cada etapa.

    ``pipeline`` puede ser un ``FilterPipeline``, cualquier ``Filter``, una spec JSON (dict
    o lista) u otro objeto con ``apply(image)`` (se mide como un único paso). Lanza los
    errores de ``load_image`` y ``save_image_atomic``, ``FilterSpecError`` si la spec no es
    válida e ``ImageTaskError`` si un filtro falla con esta imagen.
    """
    start = clock()
    image_path, output_path = os.fspath(image_path), os.fspath(output_path)
    pipe = as_pipeline(pipeline)
    duck = not isinstance(pipe, FilterPipeline)
    output_format(output_path)  # falla pronto, antes de decodificar nada
    loading = clock()
    image, input_bytes = _open(image_path)
    filtering = clock()
    try:
        if duck:
            result = pipe.apply(image)
            timings = [(getattr(pipe, "name", None) or type(pipe).__name__, clock() - filtering)]
        else:
            result, timings = pipe.apply_timed(image, clock=clock)
    except Exception as exc:
        label = pipe.describe() if hasattr(pipe, "describe") else type(pipe).__name__
        raise ImageTaskError(
            f"El pipeline '{label}' falló con la imagen '{image_path}' "
            f"({type(exc).__name__}: {exc}).", image_path) from exc
    saving = clock()
    input_size = image.size
    del image
    output_bytes = save_image_atomic(result, output_path, quality=quality)
    end = clock()
    return ImageResult(
        image_path=image_path, output_path=output_path,
        load=filtering - loading, pipeline=saving - filtering, save=end - saving,
        total=end - start,
        filters=tuple(timings), input_size=input_size, output_size=result.size,
        input_bytes=input_bytes, output_bytes=output_bytes)
