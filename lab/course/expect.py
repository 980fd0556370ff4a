"""Ayudas de las celdas de comprobación de los ejercicios.

Las comprobaciones lo importan en cada celda (``from lab.course.expect import same``) y el
corrector lo borra de ``sys.modules`` antes de cada una (``lab.course.guard``): así siempre se
usa el código de este fichero, aunque una respuesta haya cambiado la copia ya importada.
"""

from __future__ import annotations

import math
import threading
from typing import Any

_NUMBERS = (int, float)
_EXACT = (str, bytes, type(None))


def same(actual: Any, expected: Any) -> bool:
    """``True`` si ``actual`` es igual a ``expected`` **y del mismo tipo exacto**, también por dentro.

    Un valor cuyo ``__eq__`` siempre dice que sí no pasa: se compara el tipo antes que el valor,
    y dentro de listas, tuplas, dicts y conjuntos, elemento a elemento. Los números ``int`` y
    ``float`` se pueden mezclar (``4 == 4.0``; los float con una tolerancia de 1e-9 relativa);
    ``bool`` no cuenta como número.
    """
    kind = type(expected)
    if kind in _NUMBERS:
        if type(actual) not in _NUMBERS:
            return False
        return actual == expected or (float in (type(actual), kind)
                                      and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12))
    if kind is bool:
        return type(actual) is bool and actual is expected
    if type(actual) is not kind:
        return False
    if kind in _EXACT:
        return actual == expected
    if kind in (list, tuple):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected))
    if kind in (dict, set, frozenset):
        if len(actual) != len(expected):
            return False
        pairs = []
        for key in actual:
            match = [e for e in expected if same(key, e)]
            if not match:
                return False
            pairs.append((key, match[0]))
        return kind is not dict or all(same(actual[a], expected[e]) for a, e in pairs)
    return bool(expected == actual)  # mismo tipo exacto: manda el __eq__ de ese tipo


class Overlap:
    """Un «filtro» para las comprobaciones: apunta qué hilos lo aplican y cuántos a la vez.

    Los ``n`` primeros que llegan se esperan entre sí (como mucho ``wait`` segundos): si los
    workers trabajan a la vez, se juntan enseguida y el pico llega a ``n``; si van de uno en
    uno, el primero espera ``wait`` segundos en balde y después ya no espera nadie.
    """

    name = "solape"

    def __init__(self, n: int, wait: float = 2.0):
        self.n, self.wait = n, wait
        self.active = self.peak = self.calls = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()
        self._together = threading.Event()
        self._gave_up = False

    def apply(self, image: Any) -> Any:
        """Devuelve una copia de la imagen tras apuntar el hilo y la concurrencia."""
        with self._lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
            self.threads.add(threading.get_ident())
            if self.active >= self.n:
                self._together.set()
            wait = not self._gave_up
        if wait and not self._together.wait(self.wait):
            self._gave_up = True
        with self._lock:
            self.active -= 1
        return image.copy()

    @property
    def on_main_thread(self) -> bool:
        """``True`` si algún trabajo se hizo en el hilo principal (sin ``threading.Thread``)."""
        return threading.main_thread().ident in self.threads
