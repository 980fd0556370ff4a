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
- **Color.** El perfil ICC de la entrada (p. ej. Display P3 de un móvil) va a la salida en JPEG,
  WebP, PNG y TIFF; en GIF y BMP, que no lo guardan, los colores se convierten a sRGB
  (``lab.imagefiles.profiles``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from lab.errors import ImageTaskError, OutputWriteError, UnsupportedFormatError
from lab.filters import FilterPipeline, as_pipeline
from lab.imagefiles.load import ANIMATION_FORMATS, Frames, load_image, read_image
from lab.imagefiles.paths import check_path, shown_path
from lab.imagefiles.save import output_format, save_frames, save_image_atomic


__all__ = ["FilterPipeline", "ImageResult", "load_image", "output_format",
           "process_image", "save_image_atomic", "shown_path"]


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


def _check_frames_fit(frames: Frames, image_path: str, output_path: str) -> None:
    """``UnsupportedFormatError`` si el formato de ``output_path`` no puede guardar todos los fotogramas."""
    fmt = output_format(output_path)
    what = (f"una animación de {len(frames)} fotogramas" if frames.durations is not None
            else f"una imagen de {len(frames)} páginas")
    if fmt in ANIMATION_FORMATS or (fmt == "TIFF" and frames.durations is None):
        return
    keeps = ("guarda páginas pero no sus duraciones" if fmt == "TIFF" else "solo guarda una imagen")
    raise UnsupportedFormatError(
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
    check_path(output_path, "de salida", OutputWriteError)
    output_format(output_path)  # falla pronto, antes de decodificar nada
    loading = clock()
    image, input_bytes, frames = read_image(image_path)
    if frames is not None:
        _check_frames_fit(frames, image_path, output_path)
    filtering = clock()
    input_size = image.size
    profile = image.info.get("icc_profile")  # los filtros pueden perderlo: se guarda con el de la entrada
    if frames is None:
        try:
            result, timings = _run(pipe, duck, image, clock)
        except Exception as exc:
            raise ImageTaskError(
                f"El pipeline '{_label(pipe)}' falló con la imagen '{shown_path(image_path)}' "
                f"({type(exc).__name__}: {exc}).", image_path) from exc
        saving = clock()
        del image
        output_bytes = save_image_atomic(result, output_path, quality=quality, icc_profile=profile)
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
        output_bytes = save_frames(Frames(outputs, frames.durations, frames.loop), output_path, quality, profile)
    end = clock()
    return ImageResult(
        image_path=image_path, output_path=output_path,
        load=filtering - loading, pipeline=saving - filtering, save=end - saving,
        total=end - start,
        filters=tuple(timings), input_size=input_size, output_size=result.size,
        input_bytes=input_bytes, output_bytes=output_bytes)
