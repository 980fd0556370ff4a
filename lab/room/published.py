"""Lo que publica un portátil no es de fiar: se valida (tipos, tamaños, rangos) antes de usarlo.

Todos los portátiles del aula tienen la contraseña, así que cualquiera puede escribir lo que quiera
en su ficha. El panel solo usa lo que pasa por aquí: ``clean_machine`` devuelve una ficha con
exactamente los campos conocidos, cada uno de su tipo y en su rango, o un motivo de rechazo; los
textos libres (modelo de CPU, sistema) se recortan y pierden los caracteres de control. Escapar
para HTML es cosa de quien dibuja (``dashboard.py``); para matplotlib, ``plain_label``.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from lab.checks import is_integer, is_real
from lab.room.machine import NAME_PATTERN

__all__ = ["MAX_RECORD_BYTES", "MAX_CORES", "LOST_AFTER", "clean_machine", "clean_measurement", "clean_presence",
           "safe_text", "plain_label", "shown_name"]

MAX_RECORD_BYTES = 16_384     # una ficha de verdad ocupa menos de 2 KB
MAX_CORES = 1024
MAX_POINTS = 64
MAX_TEXT = 80
PRESENCE_STATES = ("measuring", "working", "left", "out")
LOST_AFTER = 10.0         # segundos sin señal para dar un portátil por perdido


class Rejected(ValueError):
    """Una ficha que no se usa; el mensaje dice por qué (ya seguro para mostrar)."""


def safe_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Un texto imprimible de como mucho ``limit`` caracteres (sin controles ni saltos de línea)."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if unicodedata.category(c)[0] != "C" else "�" for c in text[:limit * 4])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def shown_name(value: Any) -> str:
    """Un nombre para mostrar: el de verdad si es válido; si no, un texto seguro entre comillas."""
    return value if isinstance(value, str) and NAME_PATTERN.fullmatch(value) else safe_text(value, 24)


def plain_label(text: str) -> str:
    """Un texto para matplotlib sin *mathtext*: ``$`` lo convertiría en fórmula (y una mal cerrada falla)."""
    return safe_text(text).replace("$", r"\$")


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if not is_integer(value) or not low <= value <= high:
        raise Rejected(f"«{key}» debe ser un entero de {low} a {high} y es {safe_text(value, 20)}")
    return int(value)


def _seconds(value: Any, key: str) -> float:
    if not is_real(value) or not math.isfinite(value) or not 0 < value <= 3600:
        raise Rejected(f"«{key}» debe ser un número de segundos > 0 y <= 3600 y es {safe_text(value, 20)}")
    return float(value)


def clean_measurement(points: Any, cores: int) -> list[dict[str, Any]]:
    """Los puntos del speedup medido: ``workers`` (1..``cores``×4), ``tasks`` y ``wall_time``, sin repetir workers.

    Cada punto se devuelve con ``tasks_per_second`` recalculado (no se cree el publicado).
    """
    if not isinstance(points, list) or len(points) > MAX_POINTS:
        raise Rejected(f"«measurement» debe ser una lista de como mucho {MAX_POINTS} puntos")
    clean, seen = [], set()
    for point in points:
        if not isinstance(point, dict):
            raise Rejected("cada punto de «measurement» debe ser un objeto")
        workers = _int(point, "workers", 1, min(cores * 4, MAX_CORES))
        tasks = _int(point, "tasks", 1, 100_000)
        wall = _seconds(point.get("wall_time"), "wall_time")
        if workers in seen:
            raise Rejected(f"«measurement» repite {workers} workers")
        seen.add(workers)
        clean.append({"workers": workers, "tasks": tasks, "wall_time": wall, "tasks_per_second": tasks / wall})
    return sorted(clean, key=lambda p: p["workers"])


def clean_machine(name: Any, raw: Any) -> dict[str, Any]:
    """La ficha validada del portátil ``name`` a partir del texto JSON ``raw`` guardado en Redis.

    Lanza ``Rejected`` (con un motivo seguro de mostrar) si el nombre no es válido, el JSON no se
    lee, pasa de ``MAX_RECORD_BYTES``, el nombre de dentro no coincide o algún campo no vale.
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise Rejected("el nombre no es válido (1 a 32 letras, números, '_', '.' o '-')")
    if not isinstance(raw, str) or len(raw) > MAX_RECORD_BYTES:
        raise Rejected(f"la ficha no es un texto de como mucho {MAX_RECORD_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise Rejected("la ficha no es JSON") from None
    if not isinstance(data, dict) or data.get("name") != name:
        raise Rejected("la ficha no es un objeto con su propio nombre")
    cores = _int(data, "cores", 1, MAX_CORES)
    physical = _int(data, "physical_cores", 1, cores)
    limited = data.get("limited_to")
    if limited is not None:
        limited = _int(data, "limited_to", 1, MAX_CORES)
    texts = {}
    for key in ("cpu_model", "os", "python", "pillow"):
        if not isinstance(data.get(key), str):
            raise Rejected(f"«{key}» debe ser un texto")
        texts[key] = safe_text(data[key], MAX_TEXT if key in ("cpu_model", "os") else 24)
    return {"name": name, "cores": cores, "physical_cores": physical, **texts, "limited_to": limited,
            "measurement": clean_measurement(data.get("measurement", []), cores)}


def clean_presence(raw: Any, now: float) -> dict[str, Any] | None:
    """La última señal de un portátil: ``state`` (de ``PRESENCE_STATES``), ``session`` y ``age`` (s); o ``None``."""
    try:
        data = json.loads(raw) if isinstance(raw, str) and len(raw) <= 1024 else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("state") not in PRESENCE_STATES:
        return None
    seen, session = data.get("time"), data.get("session")
    if not is_real(seen) or not math.isfinite(seen) or not isinstance(session, str):
        return None
    return {"state": data["state"], "session": safe_text(session, 40), "age": max(now - float(seen), 0.0)}
