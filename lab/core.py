"""Procesar una imagen de principio a fin: cargar, aplicar el pipeline y guardar, midiendo cada etapa.

Las tres etapas también son públicas (``load_image``, ``FilterPipeline.apply_timed`` y
``save_image_atomic``) para que los workers y los cuadernos puedan cronometrarlas por separado.
El guardado es atómico: se escribe un temporal oculto en la misma carpeta y se renombra con
``os.replace``; si algo falla no aparece ningún fichero de salida a medias y uno anterior
queda intacto (atómico frente a fallos del proceso; no se hace ``fsync`` para no penalizar el
tiempo de guardado, así que no protege de un corte de luz).

Lo que sale es lo que se ve al abrir la entrada en cualquier visor, o un error claro:

- **Orientación EXIF.** Una foto de móvil con la etiqueta ``Orientation`` (0x0112) distinta de 1
  se gira al cargarla (``ImageOps.exif_transpose``) y la salida sale derecha. Solo se hace si la
  etiqueta lo pide: el caso común (sin etiqueta) no paga ninguna copia.
- **16 y 32 bits.** Sin filtros, una imagen ``I;16`` se guarda en 16 bits en PNG y TIFF (y ``I``
  y ``F`` en TIFF); los demás formatos, y todos los filtros, trabajan en 8 bits y la imagen se
  *escala* a 8 bits (``I;16`` por profundidad de bits, ``I``/``F`` según su rango; ver
  ``lab.filters.basic``), nunca se recorta: un degradado de 16 bits conserva sus 256 niveles.
- **Animaciones** (GIF, APNG, WebP animado; también TIFF de varias páginas). Se procesa cada
  fotograma con el pipeline y se guardan todos con sus duraciones y su número de repeticiones
  (``loop``) si la salida es ``.gif``, ``.png`` (APNG) o ``.webp`` (o ``.tif`` para páginas sin
  tiempos). Si la salida solo guarda una imagen (``.jpg``, ``.bmp``) es un ``OutputWriteError``:
  nunca se pierden fotogramas en silencio. Los MPO de algunas cámaras (un JPEG con vistas
  previas detrás) son una foto, no una animación: se procesa la imagen principal.
- **Rutas.** Una ruta con un carácter nulo o un nombre demasiado largo da un error con tipo que
  dice la causa real; los nombres que no son UTF-8 (``foto\\udcff.jpg`` en Linux) se procesan y,
  en los mensajes, se muestran con escapes (``foto\\xff.jpg``) para que se puedan imprimir.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError

from lab.checks import check_quality
from lab.errors import (
    CorruptImageError,
    ImageNotFoundError,
    ImageTaskError,
    ImageTooLargeError,
    InvalidPathError,
    OutputWriteError,
)
from lab.filters import FilterPipeline, as_pipeline
from lab.filters.basic import has_alpha, to_working_mode

__all__ = ["FilterPipeline", "ImageResult", "load_image", "output_format",
           "process_image", "save_image_atomic", "shown_path"]

# Extensión -> (formato de Pillow, modos que ese formato guarda tal cual).
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

#: Formatos de salida que guardan una animación con duraciones y repeticiones.
ANIMATION_FORMATS = frozenset({"GIF", "PNG", "WEBP"})

_ORIENTATION = 0x0112  # etiqueta EXIF Orientation: 1 = derecha; 2..8 = espejo y/o giro
# Lo que hace ImageOps.exif_transpose para cada valor (aquí, para los fotogramas de una animación).
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}

# Causas de los errores del sistema operativo, en una frase que entienda un estudiante.
_CAUSES = {
    errno.ENOENT: "la carpeta no existe",
    errno.EACCES: "no hay permiso",
    errno.EPERM: "no hay permiso",
    errno.ENOSPC: "no queda espacio en el disco",
    errno.EROFS: "el sistema de ficheros es de solo lectura",
    errno.ENOTDIR: "una parte de la ruta es un fichero, no una carpeta",
    errno.EISDIR: "ya hay una carpeta con ese nombre",
    errno.EEXIST: "ya hay un fichero con ese nombre donde haría falta una carpeta",
    errno.ELOOP: "hay un bucle de enlaces simbólicos",
}
if hasattr(errno, "EDQUOT"):
    _CAUSES[errno.EDQUOT] = "se ha agotado la cuota de disco"


def shown_path(path: str) -> str:
    """``path`` lista para un mensaje: los bytes que no son UTF-8 se muestran como ``\\xff``.

    En Linux un nombre como ``foto<0xff>.jpg`` llega a Python como ``'foto\\udcff.jpg'``; ese texto
    no se puede imprimir ni guardar en JSON/Redis, así que los mensajes llevan ``'foto\\xff.jpg'``.
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        try:
            raw = os.fsencode(path)
        except UnicodeEncodeError:
            return path.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")


def _cause(exc: BaseException, path: str | None = None) -> str:
    """La causa de ``exc`` en español si es un error conocido del sistema; si no, su texto.

    Con ``path``, un nombre demasiado largo dice cuántos bytes ocupa (el nombre o la ruta entera).
    """
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        name = len(os.fsencode(os.path.basename(path))) if path else 0
        if name > 255:
            return (f"el nombre del fichero ocupa {name} bytes, más de los 255 que admite el "
                    "sistema de ficheros; acórtalo")
        return "la ruta es demasiado larga para el sistema de ficheros; acórtala"
    if isinstance(exc, OSError) and exc.errno in _CAUSES:
        return _CAUSES[exc.errno]
    return f"{type(exc).__name__}: {exc}"


def _check_path(path: str, role: str, error: type[ImageTaskError]) -> None:
    """Rechaza con ``error`` una ruta que ningún sistema de ficheros admite (con ``\\0``)."""
    if "\0" in path:
        raise error(
            f"La ruta {role} {shown_path(path)!r} contiene un carácter nulo (\\0), que ningún "
            "sistema de ficheros admite en un nombre; revisa de dónde sale esa ruta.", path)



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
            f"No sé en qué formato guardar '{shown_path(path)}': la extensión {shown_path(ext) or '(ninguna)'!r} no "
            f"está soportada; usa una de {', '.join(FORMATS)}.", path)
    return FORMATS[ext][0]


@dataclass
class _Frames:
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


def _read_frames(image: Image.Image, path: str, orientation: int) -> _Frames:
    """Decodifica todos los fotogramas de ``image`` (abierta) como imágenes independientes.

    Si los fotogramas llegan en modos distintos (en un GIF el primero es ``P`` y los demás
    ``RGB``), se igualan (``_same_mode``) para que el pipeline dé lo mismo en todos.
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
    return _Frames(_same_mode(frames), durations if timed else None, loop if timed else None)


def _same_mode(frames: list[Image.Image]) -> list[Image.Image]:
    """``frames`` en un solo modo: tal cual si ya lo comparten; si no, al modo de trabajo y, si
    aún difieren, a ``RGBA`` (si alguno tiene transparencia) o ``RGB``."""
    if len({frame.mode for frame in frames}) <= 1:
        return frames
    frames = [to_working_mode(frame) for frame in frames]
    if len({frame.mode for frame in frames}) <= 1:
        return frames
    mode = "RGBA" if any(has_alpha(frame) for frame in frames) else "RGB"
    return [frame if frame.mode == mode else frame.convert(mode) for frame in frames]


def _open(path: str, all_frames: bool = True) -> tuple[Image.Image, int, _Frames | None]:
    """Abre y decodifica ``path`` por completo: ``(imagen derecha, bytes del fichero, fotogramas)``.

    ``fotogramas`` es ``None`` salvo en animaciones y TIFF de varias páginas (y ``all_frames``);
    entonces la imagen es el primero.
    """
    _check_path(path, "de entrada", InvalidPathError)
    name = shown_path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ImageNotFoundError(f"No existe la imagen de entrada '{name}'.", path) from None
    except OSError as exc:
        raise ImageTaskError(f"No se puede acceder a '{name}': {_cause(exc, path)}.", path) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageNotFoundError(f"'{name}' es una carpeta, no un fichero de imagen.", path)
    if info.st_size == 0:
        raise CorruptImageError(f"La imagen '{name}' está vacía (0 bytes).", path)
    limit = Image.MAX_IMAGE_PIXELS
    too_large = (f"La imagen '{name}' es demasiado grande: supera el límite de {limit} píxeles "
                 "(Image.MAX_IMAGE_PIXELS) y podría ser una bomba de descompresión, así que no se carga.")
    frames = None
    try:
        with Image.open(path) as image:
            # Pillow solo avisa (DecompressionBombWarning) entre 1x y 2x el límite: aquí es error.
            if limit and image.width * image.height > limit:
                raise ImageTooLargeError(f"{too_large[:-1]} ({image.width}x{image.height}).", path)
            # MPO: un JPEG de cámara con vistas previas detrás; la foto es la primera imagen.
            # (is_animated se mira antes de load(): en GIF, averiguarlo mueve el fichero.)
            animated = all_frames and image.format != "MPO" and getattr(image, "is_animated", False)
            image.load()
            orientation = _orientation(image)
            if animated:
                frames = _read_frames(image, path, orientation)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(too_large, path) from exc
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
    return _open(os.fspath(path), all_frames=False)[0]


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
            f"crear ({_cause(exc, folder)}).", path) from exc
    try:
        fd, tmp = _create_temp(folder, os.path.basename(path))
    except OSError as exc:
        raise OutputWriteError(
            f"No se puede crear '{name}': no se puede escribir en la carpeta '{shown_path(folder)}' "
            f"({_cause(exc, folder)}).", path) from exc
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
                f"No se pudo guardar '{name}' ({_cause(exc, path)}); no se ha escrito nada.", path) from exc
        raise
    return written


def save_image_atomic(image: Image.Image, path: str | os.PathLike, quality: int = 90) -> int:
    """Guarda ``image`` en ``path`` de forma atómica y devuelve los bytes escritos.

    El formato sale de la extensión; ``quality`` (1-100) se usa en JPEG y WebP. Crea las
    carpetas que falten. Una imagen ``I;16`` se guarda en 16 bits en PNG y TIFF; en los demás
    formatos se escala a 8 bits (ver el docstring del módulo). Lanza ``OutputWriteError`` si la
    extensión no está soportada, la ruta no es válida o no se puede escribir; en ese caso no
    queda ni temporal ni salida, y un fichero previo no cambia.
    """
    path = os.fspath(path)
    _check_path(path, "de salida", OutputWriteError)
    fmt = output_format(path)
    check_quality(quality)
    image = _prepare_for(image, fmt, FORMATS[os.path.splitext(path)[1].lower()][1])
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    return _write_atomic(path, lambda stream: image.save(stream, format=fmt, **options))


def _save_frames(frames: _Frames, path: str, quality: int) -> int:
    """Guarda todos los fotogramas de ``frames`` en ``path`` (animación o páginas), de forma atómica."""
    fmt = output_format(path)
    check_quality(quality)
    modes = FORMATS[os.path.splitext(path)[1].lower()][1]
    images = _same_mode([_prepare_for(frame, fmt, modes) for frame in frames.frames])
    options: dict[str, Any] = {"save_all": True, "append_images": images[1:]}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
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


def _check_frames_fit(frames: _Frames, image_path: str, output_path: str) -> None:
    """``OutputWriteError`` si el formato de ``output_path`` no puede guardar todos los fotogramas."""
    fmt = output_format(output_path)
    what = (f"una animación de {len(frames)} fotogramas" if frames.durations is not None
            else f"una imagen de {len(frames)} páginas")
    if fmt in ANIMATION_FORMATS or (fmt == "TIFF" and frames.durations is None):
        return
    keeps = ("guarda páginas pero no sus duraciones" if fmt == "TIFF" else "solo guarda una imagen")
    raise OutputWriteError(
        f"'{shown_path(image_path)}' es {what} y el formato {fmt} de '{shown_path(output_path)}' {keeps}; "
        "para no perder fotogramas, guarda la salida como .gif, .png (APNG) o .webp.", output_path)


def _label(pipe: Any) -> str:
    return pipe.describe() if hasattr(pipe, "describe") else type(pipe).__name__


def _run(pipe: Any, duck: bool, image: Image.Image,
         clock: Callable[[], float]) -> tuple[Image.Image, list[tuple[str, float]]]:
    """Aplica ``pipe`` a una imagen y devuelve ``(resultado, [(nombre, segundos), ...])``."""
    if duck:
        start = clock()
        result = pipe.apply(image)
        return result, [(getattr(pipe, "name", None) or type(pipe).__name__, clock() - start)]
    return pipe.apply_timed(image, clock=clock)


def process_image(image_path: str | os.PathLike, output_path: str | os.PathLike, pipeline: Any, *,
                  quality: int = 90, clock: Callable[[], float] = time.perf_counter) -> ImageResult:
    """Carga ``image_path``, aplica ``pipeline`` y guarda en ``output_path``, midiendo cada etapa.

    ``pipeline`` puede ser un ``FilterPipeline``, cualquier ``Filter``, una spec JSON (dict
    o lista) u otro objeto con ``apply(image)`` (se mide como un único paso). Una imagen con
    orientación EXIF se procesa ya derecha (``input_size`` es el tamaño derecho); de una
    animación se procesan todos los fotogramas (``filters`` suma los tiempos de todos y
    ``input_size``/``output_size`` son los del primero). Lanza los errores de ``load_image`` y
    ``save_image_atomic`` (``OutputWriteError`` también si la salida no puede guardar todos los
    fotogramas de una animación), ``FilterSpecError`` si la spec no es válida e
    ``ImageTaskError`` si un filtro falla con esta imagen.
    """
    start = clock()
    image_path, output_path = os.fspath(image_path), os.fspath(output_path)
    pipe = as_pipeline(pipeline)
    duck = not isinstance(pipe, FilterPipeline)
    _check_path(output_path, "de salida", OutputWriteError)
    output_format(output_path)  # falla pronto, antes de decodificar nada
    loading = clock()
    image, input_bytes, frames = _open(image_path)
    if frames is not None:
        _check_frames_fit(frames, image_path, output_path)
    filtering = clock()
    input_size = image.size
    if frames is None:
        try:
            result, timings = _run(pipe, duck, image, clock)
        except Exception as exc:
            raise ImageTaskError(
                f"El pipeline '{_label(pipe)}' falló con la imagen '{shown_path(image_path)}' "
                f"({type(exc).__name__}: {exc}).", image_path) from exc
        saving = clock()
        del image
        output_bytes = save_image_atomic(result, output_path, quality=quality)
    else:
        outputs, totals = [], {}
        for index, frame in enumerate(frames.frames):
            try:
                result, timings = _run(pipe, duck, frame, clock)
            except Exception as exc:
                raise ImageTaskError(
                    f"El pipeline '{_label(pipe)}' falló con el fotograma {index + 1} de {len(frames)} "
                    f"de la imagen '{shown_path(image_path)}' ({type(exc).__name__}: {exc}).",
                    image_path) from exc
            outputs.append(result)
            for position, (name, seconds) in enumerate(timings):
                key = (position, name)
                totals[key] = totals.get(key, 0.0) + seconds
        timings = [(name, seconds) for (_, name), seconds in totals.items()]
        saving = clock()
        del image, frames.frames[:]
        result = outputs[0]
        output_bytes = _save_frames(_Frames(outputs, frames.durations, frames.loop), output_path, quality)
    end = clock()
    return ImageResult(
        image_path=image_path, output_path=output_path,
        load=filtering - loading, pipeline=saving - filtering, save=end - saving,
        total=end - start,
        filters=tuple(timings), input_size=input_size, output_size=result.size,
        input_bytes=input_bytes, output_bytes=output_bytes)
