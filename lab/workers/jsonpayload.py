"""Los payloads son JSON: comprobarlos y copiarlos en una sola pasada (``check_payload``).

Las dos colas aceptan y rechazan exactamente lo mismo, y guardan una copia: lo que el código
que encola cambie después no cambia la tarea, y lo que un worker cambie en ``task.payload``
tampoco. Una copia que conoce la estructura es ~4 veces más barata que ida y vuelta por JSON.
"""

from __future__ import annotations

from typing import Any, Iterable

from lab.errors import InvalidTaskError


MAX_PAYLOAD_DEPTH = 32
"""Niveles de anidamiento que admite un payload (un dict que se contiene a sí mismo no acaba nunca)."""

JSON_MAX_INT = 2 ** 53 - 1
"""El mayor entero que JSON intercambia sin perder precisión (RFC 8259, §6; I-JSON, RFC 7493)."""


def check_payload(payload: Any) -> dict[str, Any]:
    """Una copia de ``payload`` en JSON puro; ``InvalidTaskError`` si no se puede guardar como JSON.

    Las dos colas aceptan y rechazan exactamente lo mismo (lo de aquí): un dict con claves de
    texto y valores dict, list/tuple, str, int, float, bool o None; los textos, UTF-8 válido
    (sin sustitutos sueltos como ``'foto\\udcff.jpg'``); los enteros, dentro de
    ``±JSON_MAX_INT``; los floats, finitos (JSON no tiene NaN ni infinito); y como mucho
    ``MAX_PAYLOAD_DEPTH`` niveles de anidamiento. La copia (tuplas → listas, subclases → tipos
    base) es lo que guarda la cola: cambiar el dict original después de ``add_task`` no cambia
    la tarea, igual que en Redis. Las colas no miran las claves (eso es cosa del worker).
    """
    if not isinstance(payload, dict):
        raise InvalidTaskError(
            f"El payload de una tarea debe ser un dict (p. ej. {{'image_path': ..., 'output_path': ...}}) "
            f"y se recibió {type(payload).__name__}.")
    try:
        return _copy_dict(payload, 1)
    except _NotJSON as problem:
        path = [f"[{key!r:.40}]" for key in reversed(problem.path)]
        where = "payload" + "".join(path if len(path) <= 6 else [*path[:3], "[…]", *path[-2:]])
        raise InvalidTaskError(f"El payload de la tarea no se puede guardar como JSON: "
                               f"{problem.text.format(where=where)}.") from None


def check_payloads(payloads: Iterable[Any]) -> list[dict[str, Any]]:
    """``check_payload`` de cada uno, antes de encolar nada (``add_tasks`` es todo o nada).

    El error dice qué payload de la lista falló (contando desde 1) y que no se encoló ninguno.
    """
    checked = []
    for number, payload in enumerate(payloads, 1):
        try:
            checked.append(check_payload(payload))
        except InvalidTaskError as exc:
            raise InvalidTaskError(f"{str(exc).rstrip('.')} (payload nº {number} de la lista; "
                                   f"no se ha encolado ninguna tarea).") from None
    return checked


class _NotJSON(Exception):
    """Uso interno: dónde y por qué un payload no es JSON (``path`` se llena al deshacer la recursión)."""

    def __init__(self, text: str, *path: Any):
        super().__init__(text)
        self.text, self.path = text, list(path)


def _copy_dict(value: dict, depth: int) -> dict[str, Any]:
    # El caso corriente (claves de texto, valores str/int/float/bool/None de tipo exacto) va sin
    # llamadas a funciones: check_payload + copia cuesta lo mismo que antes solo la comprobación.
    if depth > MAX_PAYLOAD_DEPTH:
        raise _NotJSON(f"{{where}} anida más de {MAX_PAYLOAD_DEPTH} niveles (¿un dict que se contiene "
                       f"a sí mismo?)")
    out = {}
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            key = _text(key, "la clave {!r:.40} de {{where}}")
        kind = type(item)
        if kind is str:
            if not item.isascii():
                item = _text(item, "{{where}}", key)
        elif kind is int:
            if not -JSON_MAX_INT <= item <= JSON_MAX_INT:
                raise _NotJSON(_BIG_INT.format(_int_digits(item)), key)
        elif kind is float:
            if item - item != 0.0:        # NaN o infinito
                raise _NotJSON(f"{{where}} = {item!r}, y JSON no admite NaN ni infinito", key)
        elif item is not None and kind is not bool:
            try:
                item = _copy_value(item, depth + 1)
            except _NotJSON as problem:
                problem.path.append(key)
                raise
        out[key] = item
    return out


def _copy_value(value: Any, depth: int) -> Any:
    """Copia JSON de cualquier valor (el camino lento: contenedores y subclases)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return _text(value, "{{where}}")
    if isinstance(value, int):
        if not -JSON_MAX_INT <= value <= JSON_MAX_INT:
            raise _NotJSON(_BIG_INT.format(_int_digits(value)))
        return int(value)
    if isinstance(value, float):
        if value - value != 0.0:
            raise _NotJSON(f"{{where}} = {value!r}, y JSON no admite NaN ni infinito")
        return float(value)
    if isinstance(value, dict):
        return _copy_dict(value, depth)
    if isinstance(value, (list, tuple)):
        if depth > MAX_PAYLOAD_DEPTH:
            raise _NotJSON(f"{{where}} anida más de {MAX_PAYLOAD_DEPTH} niveles (¿una lista que se contiene "
                           f"a sí misma?)")
        out = []
        for index, item in enumerate(value):
            try:
                out.append(item if type(item) is str and item.isascii() else _copy_value(item, depth + 1))
            except _NotJSON as problem:
                problem.path.append(index)
                raise
        return out
    raise _NotJSON(f"{{where}} es de tipo {type(value).__name__}, que JSON no admite")


_BIG_INT = ("{{where}} es un entero de {} cifras, fuera del rango que JSON garantiza (±2**53−1); "
            "guárdalo como texto")


def _int_digits(value: int) -> int:
    """Cifras decimales de ``value`` (aproximadas si es enorme: ``str`` no pasa de 4300 cifras)."""
    return len(str(abs(value))) if value.bit_length() < 4000 else value.bit_length() * 30103 // 100000


def _text(value: Any, what: str, *path: Any) -> str:
    """``value`` como ``str`` si es texto UTF-8 válido; si no, ``_NotJSON`` (``what`` nombra el dato)."""
    if not isinstance(value, str):
        raise _NotJSON(what.format(value) + " no es un texto", *path)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _NotJSON(what.format(value) + f" no es texto UTF-8 válido (el carácter {value[exc.start]!r} "
                       f"en la posición {exc.start}; ¿un nombre de fichero con bytes que no son UTF-8?)",
                       *path) from None
    return str(value)


_SCALARS = (str, int, float, bool, type(None))


def copy_json(value: Any) -> Any:
    """Copia profunda de un valor que ya pasó por ``check_payload`` (solo dict, list y escalares).

    Es lo que reciben los workers de la cola en memoria: cambiar ``task.payload`` no cambia la
    tarea guardada. Para un payload plano cuesta como un ``dict(...)``.
    """
    if type(value) is dict:
        for item in value.values():
            if type(item) not in _SCALARS:
                return {key: item if type(item) in _SCALARS else copy_json(item) for key, item in value.items()}
        return value.copy()   # plano (lo corriente): dict.copy() cuesta la mitad que la comprensión
    if type(value) is list:
        return [item if type(item) in _SCALARS else copy_json(item) for item in value]
    return value
