"""Las tareas sintéticas del aula: una semilla y un tamaño, nunca un fichero.

Cada portátil genera la imagen de la tarea de forma determinista (la misma semilla da los mismos
píxeles en cualquier máquina), le aplica el pipeline de la guía y la codifica en JPEG en memoria,
midiendo cada etapa con los nombres de siempre: ``load`` (generar), ``pipeline`` y ``save``
(codificar). Así no hace falta compartir ficheros entre portátiles, y un portátil nunca lee ni
escribe nada de su disco por una tarea que le llega de la red: ``check_payload`` rechaza cualquier
payload que no sea exactamente una tarea del aula.
"""

from __future__ import annotations

import io
import random
import time
import zlib
from typing import Any, Callable

from PIL import Image

from lab.checks import is_integer
from lab.errors import InvalidTaskError
from lab.filters import BlurFilter, BrightnessFilter, FilterPipeline, SharpenFilter

__all__ = ["KIND", "DEFAULT_SIZE", "MIN_SIZE", "MAX_SIZE", "MAX_SEED", "room_pipeline", "make_payloads",
           "check_payload", "synthetic_image", "run_synthetic"]

KIND = "aula"
DEFAULT_SIZE = 768          # ~0,1 s por tarea en un núcleo de portátil
MIN_SIZE, MAX_SIZE = 16, 2048
MAX_SEED = 2 ** 31 - 1
QUALITY = 90


def room_pipeline() -> FilterPipeline:
    """El pipeline de todas las tareas del aula: el «pesado» de la guía (blur 3 + brillo 1,3 + sharpen)."""
    return FilterPipeline([BlurFilter(radius=3), BrightnessFilter(factor=1.3), SharpenFilter()])


def make_payloads(count: int, size: int = DEFAULT_SIZE, first_seed: int = 1) -> list[dict[str, Any]]:
    """``count`` payloads de tareas del aula con semillas consecutivas desde ``first_seed``.

    Lanza ``InvalidTaskError`` si ``size`` o alguna semilla no valen (como ``check_payload``).
    """
    payloads = [{"kind": KIND, "seed": first_seed + i, "size": size} for i in range(count)]
    for payload in payloads[:1] + payloads[-1:]:
        check_payload(payload)
    return payloads


def check_payload(payload: Any) -> tuple[int, int]:
    """La ``(semilla, tamaño)`` de un payload del aula; ``InvalidTaskError`` si es cualquier otra cosa.

    Solo vale ``{"kind": "aula", "seed": 0..2**31-1, "size": 16..2048}``: un worker del aula no
    procesa imágenes de disco ni tareas no-op, aunque alguien las encole en la cola del aula.
    """
    if not isinstance(payload, dict) or set(payload) != {"kind", "seed", "size"} or payload["kind"] != KIND:
        shown = sorted(payload)[:6] if isinstance(payload, dict) else type(payload).__name__
        raise InvalidTaskError(f"Un portátil del aula solo procesa tareas sintéticas "
                               f"{{'kind': 'aula', 'seed': ..., 'size': ...}} y esta trae {shown!r:.80}.")
    seed, size = payload["seed"], payload["size"]
    if not (is_integer(seed) and 0 <= seed <= MAX_SEED):
        raise InvalidTaskError(f"La semilla de una tarea del aula debe ser un entero de 0 a {MAX_SEED} "
                               f"y es {seed!r:.40}.")
    if not (is_integer(size) and MIN_SIZE <= size <= MAX_SIZE):
        raise InvalidTaskError(f"El tamaño de una tarea del aula debe ser un entero de {MIN_SIZE} a {MAX_SIZE} "
                               f"píxeles y es {size!r:.40}.")
    return int(seed), int(size)


def synthetic_image(seed: int, size: int) -> Image.Image:
    """Una imagen RGB de ``size``×``size`` que solo depende de ``seed``: degradados y ruido.

    El ruido sale de ``random.Random(seed)`` (Mersenne Twister, el mismo en todas las
    plataformas y versiones de Python), así que la imagen es idéntica en cualquier portátil.
    """
    noise = Image.frombytes("L", (size, size), random.Random(seed).randbytes(size * size))
    linear = Image.linear_gradient("L").resize((size, size))
    radial = Image.radial_gradient("L").resize((size, size))
    return Image.merge("RGB", (linear, radial, noise))


def run_synthetic(payload: Any, clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Genera, procesa y codifica la imagen de una tarea del aula; devuelve los tiempos y una suma.

    El resultado (JSON plano): ``seed``, ``size``, ``load``, ``pipeline``, ``save`` y ``total``
    (segundos), ``output_bytes`` (el JPEG) y ``pixels_crc`` (CRC32 de los píxeles procesados: dos
    portátiles con la misma versión de Pillow dan el mismo). Lanza ``InvalidTaskError`` si el
    payload no es una tarea del aula.
    """
    seed, size = check_payload(payload)
    start = clock()
    image = synthetic_image(seed, size)
    generated = clock()
    result = room_pipeline().apply(image)
    filtered = clock()
    buffer = io.BytesIO()
    result.save(buffer, "JPEG", quality=QUALITY)
    end = clock()
    return {"seed": seed, "size": size, "load": generated - start, "pipeline": filtered - generated,
            "save": end - filtered, "total": end - start, "output_bytes": buffer.tell(),
            "pixels_crc": zlib.crc32(result.tobytes())}
