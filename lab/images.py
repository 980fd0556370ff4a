"""Las fotos de ejemplo del repositorio y las cargas de trabajo grandes que se generan a partir de ellas.

- ``IMAGES_DIR`` y ``sample_images()``: las fotos ``images/photo*.jpg`` (dominio público / CC0,
  ver ``images/CREDITS.md``). Son pequeñas (~512 px) para que el repositorio pese poco.
- ``make_workload()``: escribe N JPEG deterministas de 1920x1080 (o el tamaño pedido) derivados
  de las fotos; es la carga de los experimentos de speedup y del benchmark (~0,2 s por tarea).
  Nunca se versiona: va a ``output/`` (ignorada por git) o a una carpeta temporal.
- ``pattern_image()`` / ``make_test_image()``: imágenes diminutas con degradados para pruebas.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from lab.checks import check_int, check_quality
from lab import PROJECT_DIR
from lab.errors import CorruptImageError, ImageNotFoundError, OutputWriteError
from lab.imagefiles.modes import to_working_mode

__all__ = ["IMAGES_DIR", "MANIFEST_NAME", "make_test_image", "make_workload", "pattern_image",
           "sample_images"]

#: Carpeta ``images/`` del repositorio (junto a la carpeta del paquete ``lab``).
IMAGES_DIR = PROJECT_DIR / "images"

#: Fichero con el que ``make_workload`` recuerda qué generó (para reutilizarlo sin recalcular).
MANIFEST_NAME = "workload-manifest.json"

# Cambiar este número invalida las cargas ya generadas (si cambia el algoritmo de variación).
_GENERATOR_VERSION = 1
# Solo espejo horizontal: una foto boca abajo despista al mirar los resultados en los cuadernos.
_TRANSPOSES = (None, Image.Transpose.FLIP_LEFT_RIGHT)


def _natural_key(path: Path) -> tuple:
    """Clave de orden natural: ``photo2.jpg`` va antes que ``photo10.jpg``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def sample_images(folder: str | os.PathLike | None = None) -> list[Path]:
    """Las fotos de ejemplo ``photo*.jpg`` de ``folder`` (por defecto ``IMAGES_DIR``), en orden natural.

    Lanza ``ImageNotFoundError`` si la carpeta no existe o no contiene ninguna ``photo*.jpg``.
    """
    folder = Path(IMAGES_DIR if folder is None else folder)
    if not folder.is_dir():
        hint = ("clona el repositorio completo (la carpeta images/ va junto al paquete lab)" if folder == IMAGES_DIR
                else "revisa la ruta que has indicado")
        raise ImageNotFoundError(f"No existe la carpeta de fotos de ejemplo '{folder}': {hint}.", str(folder))
    photos = sorted((p for p in folder.glob("photo*.jpg") if p.is_file()), key=_natural_key)
    if not photos:
        raise ImageNotFoundError(
            f"La carpeta '{folder}' no contiene ninguna foto de ejemplo (photo*.jpg).", str(folder))
    return photos


def pattern_image(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """Una imagen determinista con degradados distintos por canal, en el modo de Pillow pedido.

    Sirve para pruebas y cuadernos: no usa azar y no depende de ``images/``.
    Lanza ``ValueError`` si el tamaño no es positivo o el modo no existe.
    """
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"Tamaño de imagen no válido {size}: ancho y alto deben ser >= 1.")
    red = Image.linear_gradient("L").rotate(90).resize(size)
    green = Image.linear_gradient("L").resize(size)
    blue = Image.radial_gradient("L").resize(size)
    rgb = Image.merge("RGB", (red, green, blue))
    if mode == "RGB":
        return rgb
    if mode in ("RGBA", "LA"):
        alpha = Image.linear_gradient("L").rotate(-90).resize(size)
        base = rgb if mode == "RGBA" else rgb.convert("L")
        base.putalpha(alpha)
        return base
    if mode == "P":
        return rgb.quantize(64)
    try:
        return rgb.convert(mode)
    except ValueError as exc:
        raise ValueError(f"Modo de imagen no soportado '{mode}'.") from exc


def make_test_image(path: str | os.PathLike, size: tuple[int, int] = (64, 48), mode: str = "RGB", *,
                    quality: int = 90) -> Path:
    """Guarda ``pattern_image(size, mode)`` en ``path`` (formato según la extensión) y devuelve la ruta.

    Crea la carpeta si hace falta. Lanza ``OutputWriteError`` si no se puede escribir o si el
    formato no admite ese modo (p. ej. RGBA en ``.jpg``).
    """
    path = Path(path)
    image = pattern_image(size, mode)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=quality)
    except (OSError, ValueError, KeyError) as exc:
        raise OutputWriteError(
            f"No se pudo guardar la imagen de prueba '{path}' ({mode}): {exc}", str(path)) from exc
    return path


def _load_source(path: Path) -> Image.Image:
    """Abre una foto de origen en RGB; ``CorruptImageError`` si no es una imagen legible.

    Como ``lab.core.load_image``: una foto de móvil con orientación EXIF sale derecha y una de 16
    bits se escala a 8 (no se recorta). De una animación se usa el primer fotograma.
    """
    try:
        with Image.open(path) as image:
            if image.getexif().get(0x0112, 1) in range(2, 9):
                image = ImageOps.exif_transpose(image)
            return to_working_mode(image).convert("RGB")
    except FileNotFoundError as exc:
        raise ImageNotFoundError(f"No existe la foto de origen '{path}'.", str(path)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CorruptImageError(f"La foto de origen '{path}' no es una imagen legible: {exc}",
                                str(path)) from exc


def _variant(source: Image.Image, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Recorte del tamaño de ``size`` (con zoom, desplazamiento y espejo elegidos por ``rng``)."""
    width, height = size
    transpose = rng.choice(_TRANSPOSES)
    zoom = 1.0 + 0.6 * rng.random()
    fx, fy = rng.random(), rng.random()
    if transpose is not None:
        source = source.transpose(transpose)
    sw, sh = source.size
    # La caja más grande con la proporción pedida que cabe en la foto, reducida por el zoom.
    box_w = min(sw, sh * width / height) / zoom
    box_h = box_w * height / width
    left = fx * (sw - box_w)
    top = fy * (sh - box_h)
    return source.resize(size, Image.Resampling.LANCZOS, box=(left, top, left + box_w, top + box_h))


def _write_atomic(image: Image.Image, path: Path, quality: int) -> int:
    """Guarda ``image`` como JPEG en ``path`` vía un temporal + ``os.replace``; devuelve los bytes."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        image.save(tmp, "JPEG", quality=quality)
        os.replace(tmp, path)
        return path.stat().st_size
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputWriteError(f"No se pudo escribir la imagen de carga '{path}': {exc}",
                               str(path)) from exc


def _read_manifest(folder: Path) -> dict[str, dict]:
    """Lee el manifiesto de ``folder``; uno ausente o ilegible cuenta como vacío."""
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _write_manifest(folder: Path, files: dict[str, dict]) -> None:
    """Escribe el manifiesto de forma atómica (temporal + ``os.replace``)."""
    path = folder / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps({"version": _GENERATOR_VERSION, "files": files}, indent=1,
                                  sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputWriteError(f"No se pudo escribir el manifiesto '{path}': {exc}",
                               str(path)) from exc


def make_workload(folder: str | os.PathLike, n: int = 12, size: tuple[int, int] = (1920, 1080), *,
                  quality: int = 90, seed: int = 0,
                  sources: Sequence[str | os.PathLike] | None = None) -> list[Path]:
    """Escribe ``n`` JPEG deterministas de ``size`` (``work-0001.jpg``...) en ``folder`` y devuelve sus rutas.

    La imagen ``i`` sale de la foto ``i mod k`` de ``sources`` (por defecto ``sample_images()``),
    recortada para cubrir ``size`` con un zoom, un desplazamiento y un espejo que dependen de
    ``seed`` y de ``i``: los ficheros son distintos entre sí y los mismos argumentos dan los
    mismos bytes. Cada fichero se escribe de forma atómica (temporal + ``os.replace``), así que
    nunca se devuelve uno a medias. Un manifiesto (``MANIFEST_NAME``) recuerda con qué
    parámetros se generó cada fichero: si ya está y coincide, se reutiliza sin tocarlo; los
    ``work-*.jpg`` del manifiesto que sobran (de una llamada con ``n`` mayor) se borran.
    Lanza ``ValueError`` si ``n``, ``size`` o ``quality`` no son válidos, ``ImageNotFoundError``
    si no hay fotos de origen, ``CorruptImageError`` si una no se puede leer y
    ``OutputWriteError`` si no se puede escribir en ``folder``.
    """
    width, height = size
    check_int(n, "El número de imágenes", minimum=0)
    check_int(width, "El ancho", minimum=1)
    check_int(height, "El alto", minimum=1)
    check_quality(quality, "La calidad JPEG")
    paths = [Path(p) for p in (sample_images() if sources is None else sources)]
    if not paths:
        raise ImageNotFoundError("No hay fotos de origen para generar la carga de trabajo.")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(f"No se pudo crear la carpeta de la carga '{folder}': {exc}",
                               str(folder)) from exc
    digests: dict[Path, str] = {}
    for path in paths:
        try:
            digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError as exc:
            raise ImageNotFoundError(f"No existe la foto de origen '{path}'.", str(path)) from exc
        except OSError as exc:
            raise CorruptImageError(f"No se pudo leer la foto de origen '{path}': {exc}",
                                    str(path)) from exc

    manifest = _read_manifest(folder)
    loaded: dict[Path, Image.Image] = {}
    result: list[Path] = []
    changed = False
    for index in range(1, n + 1):
        source = paths[(index - 1) % len(paths)]
        out = folder / f"work-{index:04d}.jpg"
        key = (f"v{_GENERATOR_VERSION}:{width}x{height}:q{quality}:seed{seed}:{index}:"
               f"{digests[source]}")
        entry = manifest.get(out.name)
        if (isinstance(entry, dict) and entry.get("key") == key and out.is_file()
                and out.stat().st_size == entry.get("bytes")):
            result.append(out)
            continue
        if source not in loaded:
            loaded[source] = _load_source(source)
        rng = random.Random(f"{seed}:{index}")
        nbytes = _write_atomic(_variant(loaded[source], size, rng), out, quality)
        manifest[out.name] = {"key": key, "bytes": nbytes, "source": source.name}
        changed = True
        result.append(out)

    wanted = {p.name for p in result}
    for name in [name for name in manifest if name not in wanted]:
        if re.fullmatch(r"work-\d{4,}\.jpg", name):
            (folder / name).unlink(missing_ok=True)
        del manifest[name]
        changed = True
    if changed or not (folder / MANIFEST_NAME).exists():
        _write_manifest(folder, manifest)
    return result
