"""Leer el payload de una tarea y explicar en español por qué falló.

``parse_payload`` comprueba las claves y tipos (``image_path``, ``output_path``, y de forma
opcional ``pipeline`` y ``quality``) y lanza ``InvalidTaskError`` o ``FilterSpecError`` con
un mensaje que nombra la tarea. ``failure_message`` convierte cualquier excepción en el
texto que el worker guarda con ``mark_failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.checks import check_quality
from lab.errors import FilterSpecError, InvalidTaskError, LabError
from lab.filters import as_pipeline


@dataclass(frozen=True)
class ImageJob:
    """Lo que hace falta para procesar una imagen: rutas, pipeline y calidad JPEG."""

    image_path: str
    output_path: str
    pipeline: Any
    quality: int


def read_pipeline(pipeline: Any, where: str) -> Any:
    """``as_pipeline(pipeline)`` con un mensaje que nombra ``where`` (la tarea o el worker) si no vale.

    Lanza ``FilterSpecError`` si la spec no es válida y ``TypeError`` si no es ni un
    pipeline, ni un filtro, ni su spec.
    """
    try:
        return as_pipeline(pipeline)
    except FilterSpecError as exc:
        raise FilterSpecError(f"{where} tiene un pipeline no válido: {_lower_first(str(exc))}") from exc
    except TypeError as exc:
        raise TypeError(f"{where}: {exc}.") from exc


def parse_payload(task_id: str, payload: Any, default_pipeline: Any, default_quality: int) -> ImageJob:
    """Valida el payload de ``task_id`` y devuelve un ``ImageJob``.

    Lanza ``InvalidTaskError`` si falta una clave o un valor tiene el tipo equivocado, y
    ``FilterSpecError`` si el pipeline del payload no es válido.
    """
    where = f"La tarea {task_id}"
    if not isinstance(payload, dict):
        raise InvalidTaskError(f"{where} no tiene un payload dict sino {type(payload).__name__}.")
    paths = []
    for key in ("image_path", "output_path"):
        if key not in payload:
            raise InvalidTaskError(f"{where} no tiene la clave '{key}' en su payload.")
        value = payload[key]
        if not isinstance(value, str) or not value.strip():
            raise InvalidTaskError(f"{where} tiene '{key}' = {value!r:.60}, que no es una ruta (texto no vacío).")
        paths.append(value)
    spec = payload.get("pipeline")
    if spec is None:
        if default_pipeline is None:
            raise InvalidTaskError(f"{where} no trae 'pipeline' y el worker no tiene un pipeline por defecto.")
        pipeline = default_pipeline
    elif isinstance(spec, (list, dict)):
        pipeline = read_pipeline(spec, where)
    else:
        raise InvalidTaskError(f"{where} tiene 'pipeline' de tipo {type(spec).__name__}; "
                               f"debe ser una lista de filtros o un dict.")
    quality = payload.get("quality", default_quality)
    return ImageJob(paths[0], paths[1], pipeline, check_quality(quality, f"{where}: 'quality'", InvalidTaskError))


def as_result(value: Any) -> dict[str, Any]:
    """El resultado de ``process_task`` como dict (``None`` → ``{}``; objetos con ``to_dict``).

    Lanza ``TypeError`` si no es ninguna de esas cosas.
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"process_task debe devolver un dict y devolvió {type(value).__name__}.")


def describe_error(error: BaseException) -> str:
    """La causa de un error en una frase: el mensaje de los errores propios, tipo y mensaje del resto."""
    if isinstance(error, LabError) and str(error).strip():
        return str(error).strip().rstrip(".")
    text = str(error).strip().rstrip(".")
    return f"error inesperado {type(error).__name__}" + (f": {text}" if text else "")


def failure_message(task_id: str, error: BaseException, attempts: int = 1) -> str:
    """El texto de ``mark_failed``: nombra la tarea, los intentos (si hubo más de uno) y la causa."""
    cause = describe_error(error)
    if cause.startswith(f"La tarea {task_id} "):
        cause = cause[len(f"La tarea {task_id} "):]
        head = f"La tarea {task_id}" + (f" (tras {attempts} intentos)" if attempts > 1 else "")
        return f"{head} {cause}."
    after = f" tras {attempts} intentos" if attempts > 1 else ""
    return f"La tarea {task_id} falló{after}: {_lower_first(cause)}."


def _lower_first(text: str) -> str:
    """Pone en minúscula la inicial si la primera palabra es normal (``No existe`` → ``no existe``).

    Las siglas y los nombres de clase (``JPEG``, ``FilterPipeline``) se dejan como están.
    """
    word = text.split(" ", 1)[0].rstrip(",.:;")
    if len(word) > 1 and word[0].isupper() and word[1:].isalpha() and word[1:].islower():
        return text[0].lower() + text[1:]
    return text
