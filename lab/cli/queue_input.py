"""Lo que leen del usuario las órdenes de cola: la URL, el pipeline en texto, las imágenes y los números.

Todo se valida *antes* de conectar con Redis y de encolar nada: un error es una frase en español
que nombra la opción o el fichero y la causa (``ValueError`` o un error de ``lab.errors``), y la
orden sale con código 2 sin traza. Así una imagen que no es una imagen, una calidad imposible o
una URL en blanco no llegan al worker.

La URL sale de ``--queue`` o de la variable ``LAB_REDIS_URL``, la misma que leen el cuaderno 08,
los tests y ``python -m lab redis`` (un solo nombre para «el Redis del laboratorio»). La antigua
``LAB_QUEUE_URL`` se sigue leyendo en esta versión, con un aviso.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from lab.checks import check_int, is_real
from lab.core import output_format, shown_path
from lab.errors import (FilterSpecError, ImageNotFoundError, ImageTaskError, InvalidPathError, OutputWriteError,
                        QueueConnectionError)
from lab.filters import FilterPipeline, available_filters
from lab.filters.validation import MAX_SPEC_DEPTH
from lab.imagefiles.load import probe_image
from lab.workers.redis.binary import URL_VARIABLE
from lab.workers.redis.connect import REDIS_SCHEMES

#: La variable que leían las órdenes de cola hasta esta versión (avisa y deja de leerse en la próxima).
OLD_URL_VARIABLE = "LAB_QUEUE_URL"
#: Tareas no-op por orden: 10**6 ya son ~20 s y ~600 MB en el cliente; más, repitiendo la orden.
MAX_NOOP = 1_000_000
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # como RedisTaskQueue: el nombre va en las claves lab:<name>:...


# --- la URL de la cola ---------------------------------------------------------------------

def queue_url(option: str | None, command: str) -> str:
    """La URL de Redis de ``--queue`` o, si no se dio, de ``LAB_REDIS_URL`` (o la antigua ``LAB_QUEUE_URL``).

    Lanza ``QueueConnectionError`` si no hay ninguna, está en blanco o es ``memory://`` (una cola en
    memoria muere con el proceso: las tareas encoladas desaparecerían sin que nadie las procese).
    """
    if option is not None:
        url, source = option, "--queue"
    else:
        url, source = _url_from_environment()
    if url is None:
        raise QueueConnectionError(f"Falta la cola: indica --queue redis://host:6379/0 o define {URL_VARIABLE} "
                                   "(python -m lab redis dice la URL del servidor que arranca).")
    if not url.strip():
        raise QueueConnectionError(f"{source} está en blanco: indica la URL de Redis, p. ej. "
                                   "redis://127.0.0.1:6379/0; no se ha hecho nada.")
    if not url.strip().lower().startswith(REDIS_SCHEMES):
        scheme = url.strip().split("://")[0] + "://" if "://" in url else url.strip()
        kind = ("la cola en memoria (memory://) solo vive dentro de un proceso"
                if url.strip().lower().startswith("memory://") else f"{scheme[:40]!r} no es una URL de Redis")
        raise QueueConnectionError(
            f"La orden '{command}' necesita una cola Redis compartida entre procesos (redis://, rediss:// o "
            f"unix://) y {source} dice {url.strip()[:60]!r}: {kind}; no se ha hecho nada.")
    return url.strip()


def _url_from_environment() -> tuple[str | None, str]:
    """``(url, de dónde sale)`` según las variables de entorno; avisa si se usa la antigua."""
    url, old = os.environ.get(URL_VARIABLE), os.environ.get(OLD_URL_VARIABLE)
    if old is not None and url is None:
        print(f"⚠️ La variable {OLD_URL_VARIABLE} está obsoleta y dejará de leerse en la próxima versión: "
              f"usa {URL_VARIABLE} (la misma que leen el cuaderno 08, los tests y python -m lab redis).",
              file=sys.stderr)
        return old, OLD_URL_VARIABLE
    if old is not None and old.strip() != (url or "").strip():
        print(f"⚠️ Se usa {URL_VARIABLE} y se ignora {OLD_URL_VARIABLE} (obsoleta), que dice otra URL.",
              file=sys.stderr)
    return url, URL_VARIABLE


# --- números de las opciones -----------------------------------------------------------------

def check_seconds(value: float, option: str, *, zero: str | None = None) -> float:
    """Segundos finitos: > 0, o >= 0 si ``zero`` dice qué significa 0; si no, ``ValueError`` que nombra la opción."""
    if not is_real(value) or not math.isfinite(value) or value < 0 or (value == 0 and zero is None):
        bound = f">= 0 ({zero})" if zero else "> 0"
        raise ValueError(f"{option} debe ser un número de segundos {bound} y recibió {value:g}.")
    return float(value)


def check_names(args: argparse.Namespace) -> None:
    """``--name`` (nombre de la cola: forma parte de las claves de Redis) y, si lo hay, ``--id`` (no en blanco)."""
    if not _QUEUE_NAME.fullmatch(args.name):
        raise ValueError(f"--name debe ser un nombre con letras, números, '.', '_' o '-' (p. ej. clase) y "
                         f"recibió {args.name!r:.60}.")
    if getattr(args, "id", "x").strip() == "":
        raise ValueError("--id está en blanco: indica un nombre para el worker, p. ej. --id w1.")


def check_quality(value: int | None, option: str = "--quality") -> int | None:
    """La calidad JPEG/WebP de la opción (``None`` = la de por defecto): un entero entre 1 y 100."""
    return None if value is None else check_int(value, option, minimum=1, maximum=100)


# --- pipeline en texto ----------------------------------------------------------------------

def parse_pipeline(text: str) -> dict[str, Any]:
    """La spec JSON de un pipeline a partir de texto corto, JSON o un fichero ``.json``.

    Texto corto: filtros separados por comas, parámetros tras ``:`` (por posición o
    ``nombre=valor``): ``blur:3,brightness:1.3,resize:width=320,grayscale``. Devuelve
    ``FilterPipeline.to_spec()``. Lanza ``FilterSpecError`` si no es válido (también si el
    fichero no se puede leer, no es UTF-8 o anida más de ``MAX_SPEC_DEPTH`` niveles).
    """
    text = text.strip()
    from_file = text.endswith(".json")
    subject = f"El fichero de pipeline '{shown_path(text)}'" if from_file else f"El pipeline {text!r:.60}"
    if from_file:
        text = _read_pipeline_file(text)
    if text.startswith(("{", "[")):
        try:
            spec: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FilterSpecError(f"{subject} no es JSON válido ({exc.msg}, línea {exc.lineno}, "
                                  f"columna {exc.colno}).") from None
        except RecursionError:  # json.loads también se rinde con miles de niveles
            raise FilterSpecError(f"{subject} anida el JSON a miles de niveles; una spec admite como "
                                  f"mucho {MAX_SPEC_DEPTH} (MAX_SPEC_DEPTH).") from None
        try:
            return FilterPipeline.from_spec(spec).to_spec()
        except FilterSpecError as exc:
            raise FilterSpecError(f"{subject} no es válido: {exc}.") from exc
    filters = available_filters()
    items = []
    for chunk in filter(None, (part.strip() for part in text.split(","))):
        name, *params = [piece.strip() for piece in chunk.split(":")]
        klass = filters.get(name)
        if klass is None or name == "pipeline":
            raise FilterSpecError(f"Filtro desconocido {name!r} en el pipeline {text!r}; los disponibles son: "
                                  f"{', '.join(n for n in filters if n != 'pipeline')}.")
        names = [field.name for field in dataclasses.fields(klass)]
        item: dict[str, Any] = {"name": name}
        for position, param in enumerate(params):
            key, sep, value = param.partition("=")
            if not sep:
                if position >= len(names):
                    plural = "" if len(names) == 1 else "s"
                    raise FilterSpecError(f"El filtro {name!r} admite {len(names)} parámetro{plural} por posición "
                                          f"({', '.join(names) or 'ninguno'}) y recibió {len(params)}.")
                key, value = names[position], param
            item[key.strip()] = _scalar(value.strip())
        items.append(item)
    try:
        return FilterPipeline.from_spec({"name": "pipeline", "filters": items}).to_spec()
    except FilterSpecError as exc:
        raise FilterSpecError(f"El pipeline {text!r} no es válido: {exc}.") from exc


def _read_pipeline_file(path: str) -> str:
    """El texto de un fichero ``.json`` de pipeline; ``FilterSpecError`` en español si no se puede leer."""
    shown = shown_path(path)
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise FilterSpecError(f"No existe el fichero de pipeline '{shown}'.") from None
    except UnicodeDecodeError as exc:
        raise FilterSpecError(f"El fichero de pipeline '{shown}' no está en UTF-8 (byte {exc.start}); "
                              "guárdalo como UTF-8.") from None
    except OSError as exc:
        raise FilterSpecError(f"No se puede leer el fichero de pipeline '{shown}' "
                              f"({exc.strerror or exc}).") from None


def utf8_path(path: str, what: str) -> str:
    """``path`` si se puede enviar en JSON (UTF-8); si no, ``InvalidPathError`` que lo nombra.

    En Linux un nombre de fichero con bytes que no son UTF-8 llega como ``'foto\\udcff.jpg'``: la
    cola viaja en JSON/UTF-8, así que no se puede encolar tal cual (ni adivinar su codificación).
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPathError(
            f"{what} '{shown_path(path)}' tiene bytes que no son UTF-8 y la cola solo transporta texto UTF-8; "
            "renómbralo (p. ej. con convmv o mv) y vuelve a encolar; no se ha encolado nada.", path) from None
    return path


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text



# --- qué se encola --------------------------------------------------------------------------

def noop_payloads(count: int, sleep: float) -> list[dict[str, Any]]:
    """``count`` payloads no-op (``--noop``) que duermen ``sleep`` segundos (``--sleep``)."""
    check_int(count, "--noop", minimum=1, maximum=MAX_NOOP)
    if sleep:
        check_seconds(sleep, "--sleep", zero="sin trabajo simulado")
    return [{"noop": True, **({"sleep": sleep} if sleep else {})} for _ in range(count)]


def image_payloads(patterns: list[str], spec: dict[str, Any], output_dir: str,
                   quality: int | None) -> list[dict[str, Any]]:
    """Un payload por imagen de ``patterns`` (admiten comodines), comprobadas todas antes de encolar.

    Cada imagen tiene que existir, tener un nombre UTF-8, ser una imagen que Pillow reconozca
    (solo se lee la cabecera) y tener una extensión en la que se pueda guardar la salida. Si una
    no vale se lanza su error (nombra el fichero) y no se encola ninguna.
    """
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ImageNotFoundError(f"Ninguna imagen coincide con {shown_path(pattern)!r}; no se ha encolado nada.",
                                     pattern)
        paths.extend(utf8_path(path, "El nombre de la imagen") for path in matches)
    out = Path(utf8_path(output_dir, "La carpeta de salida"))
    payloads, taken = [], {}
    for path in paths:
        output = str(out / Path(path).name)
        try:
            probe_image(path)
            output_format(output)
            _check_output(path, output, taken)
        except ImageTaskError as exc:
            raise type(exc)(f"{str(exc).rstrip('.')}; no se ha encolado nada.", path) from None
        payloads.append({"image_path": path, "output_path": output, "pipeline": spec,
                         **({"quality": quality} if quality else {})})
    return payloads


def _check_output(path: str, output: str, taken: dict[str, str]) -> None:
    """``OutputWriteError`` si ``output`` es la propia entrada o la de otra imagen (las de ``taken``)."""
    if os.path.realpath(output) == os.path.realpath(path):
        raise OutputWriteError(f"La salida de '{shown_path(path)}' sería el mismo fichero: el worker "
                               "sobrescribiría la imagen original; indica otra carpeta con --output-dir", path)
    other = taken.setdefault(os.path.realpath(output), path)
    if other != path:
        raise OutputWriteError(f"'{shown_path(other)}' y '{shown_path(path)}' se guardarían las dos en "
                               f"'{shown_path(output)}' y una borraría a la otra; encólalas por separado con "
                               "otra --output-dir", path)
