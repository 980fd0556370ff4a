"""Ayudas de las celdas de comprobación de los ejercicios.

Las comprobaciones lo importan en cada celda (``from lab.course.expect import same``) y el
corrector lo borra de ``sys.modules`` antes de cada una (``lab.course.guard``): así siempre se
usa el código de este fichero, aunque una respuesta haya cambiado la copia ya importada.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from typing import Any

_NUMBERS = (int, float)
_EXACT = (str, bytes, type(None))
#: Lo que cuenta como «un dict»: los de la biblioteca estándar que son dicts (un ``Counter`` cuenta).
_DICTS = (dict, Counter, OrderedDict, defaultdict)


def answered(exercise: str, *names: str) -> None:
    """Falla con «Ejercicio N.M: falta tu solución» si la celda de respuesta aún no ha definido ``names``.

    Es lo primero de cada comprobación: si se ejecuta antes que la respuesta (por ejemplo, tras
    un *Run All* que se paró en un ejercicio anterior), el error es el mismo
    ``NotImplementedError`` del esqueleto sin resolver, no un ``NameError``. Busca los nombres
    en el cuaderno que la llama.
    """
    namespace = sys._getframe(1).f_globals
    missing = [name for name in names if name not in namespace]
    if missing:
        raise NotImplementedError(f"Ejercicio {exercise}: falta tu solución; escríbela y ejecuta su celda "
                                  f"(aún no existe {', '.join(missing)}).")


def same(actual: Any, expected: Any) -> bool:
    """``True`` si ``actual`` es igual a ``expected`` **y del mismo tipo exacto**, también por dentro.

    Un valor cuyo ``__eq__`` siempre dice que sí no pasa: se compara el tipo antes que el valor,
    y dentro de listas, tuplas, dicts y conjuntos, elemento a elemento. Los números ``int`` y
    ``float`` se pueden mezclar (``4 == 4.0``; los float con una tolerancia de 1e-9 relativa);
    ``bool`` no cuenta como número. Donde se espera un ``dict`` vale cualquier dict de la
    biblioteca estándar (``Counter``, ``defaultdict``, ``OrderedDict``): se compara por dentro.
    """
    kind = type(expected)
    if kind in _NUMBERS:
        if type(actual) not in _NUMBERS:
            return False
        return actual == expected or (float in (type(actual), kind)
                                      and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12))
    if kind is bool:
        return type(actual) is bool and actual is expected
    if type(actual) is not kind and not (kind is dict and type(actual) in _DICTS):
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
    """Un «filtro» para las comprobaciones: apunta qué hilos lo aplican, cuántos a la vez y quién espera turno.

    Los ``n`` primeros que llegan se esperan entre sí (como mucho ``wait`` segundos): si los
    workers trabajan a la vez, se juntan enseguida y el pico llega a ``n``; si van de uno en
    uno, el primero espera ``wait`` segundos en balde y después ya no espera nadie. Cuando se
    cansa de esperar apunta en ``idle`` cuántos hilos nuevos (creados después del filtro, sin
    contar los de latidos de los workers, ``worker-N-latidos``) había en marcha sin trabajar: 0
    si los hilos van uno tras otro (``join()`` junto a ``start()``), más de 0 si están
    arrancados pero esperan su turno (un cerrojo compartido). Cada imagen tarda al menos
    ``hold`` segundos: quien vuelve sin esperar a sus hilos vuelve con el lote a medias.
    """

    name = "solape"

    def __init__(self, n: int, wait: float = 2.0, hold: float = 0.02):
        self.n, self.wait, self.hold = n, wait, hold
        self.active = self.peak = self.calls = self.idle = 0
        self.threads: set[int] = set()
        self._before = set(threading.enumerate())
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
            with self._lock:
                if not self._gave_up:
                    self._gave_up = True
                    self.idle = sum(1 for t in threading.enumerate() if t not in self._before
                                    and t.ident not in self.threads and not t.name.endswith("-latidos"))
        time.sleep(self.hold)
        with self._lock:
            self.active -= 1
        return image.copy()

    @property
    def on_main_thread(self) -> bool:
        """``True`` si algún trabajo se hizo en el hilo principal (sin ``threading.Thread``)."""
        return threading.main_thread().ident in self.threads
