"""Ayudas de las celdas de comprobación de los ejercicios.

Las comprobaciones lo importan en cada celda (``from lab.course.expect import same``). Al
corregir, el corrector lee este fichero al arrancar y se lo envía al kernel (``lab.course.guard``):
cada comprobación recibe un módulo nuevo, solo suyo, aunque una respuesta haya cambiado la copia
importada o el fichero en disco. Una
comprobación larga vive aquí como función (``check_run_in_threads``, la del 5.1, que se hace en
clase): en la celda quedan unas pocas líneas y el resultado se ve en el proyector.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import types
from collections import Counter, OrderedDict, defaultdict
from pathlib import Path
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
    """Lo que apunta el «filtro» espía del 5.1: qué hilos lo aplican, cuántos a la vez y quién espera turno.

    Los ``n`` primeros que llegan se esperan entre sí (como mucho ``wait`` segundos): si los
    workers trabajan a la vez, se juntan enseguida y el pico llega a ``n``; si van de uno en
    uno, el primero espera ``wait`` segundos en balde y después ya no espera nadie. Cuando se
    cansa de esperar apunta en ``idle`` cuántos hilos nuevos (creados después del filtro, sin
    contar los de latidos de los workers, ``worker-N-latidos``) había en marcha sin trabajar: 0
    si los hilos van uno tras otro (``join()`` junto a ``start()``), más de 0 si están
    arrancados pero esperan su turno (un cerrojo compartido). Cada imagen tarda al menos
    ``hold`` segundos: quien vuelve sin esperar a sus hilos vuelve con el lote a medias.

    La respuesta no recibe este objeto sino ``probe()``, que solo tiene ``name`` y ``apply``:
    lo apuntado no es un atributo del filtro que recibe.
    """

    def __init__(self, n: int, wait: float = 2.0, hold: float = 0.02):
        self.n, self.wait, self.hold = n, wait, hold
        self.active = self.peak = self.calls = self.idle = 0
        self.threads: set[int] = set()
        self._before = set(threading.enumerate())
        self._lock = threading.Lock()
        self._together = threading.Event()
        self._gave_up = False

    def probe(self) -> Any:
        """El filtro que se pasa a la respuesta como ``pipeline``: ``name`` y ``apply(image)``, nada más."""
        return types.SimpleNamespace(name="solape", apply=lambda image: self.apply(image))

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


def _require(condition: bool, message: str) -> None:
    """Lanza ``AssertionError(message)`` si no se cumple ``condition`` (también con ``python -O``)."""
    if not condition:
        raise AssertionError(message)


def check_run_in_threads(run_in_threads: Any, queue: Any, n_workers: int = 3) -> None:
    """La comprobación del 5.1: ``run_in_threads`` reparte ``queue`` entre ``n_workers`` hilos que trabajan a la vez.

    Llama a ``run_in_threads(filtro espía, queue, n_workers=n_workers)`` (el espía es un
    ``Overlap``) y mira, en este orden: que devuelve una lista de ``n_workers`` ``SimpleWorker``
    con ids ``worker-0``, ``worker-1``...; que ninguna imagen se procesó en el hilo principal;
    que al volver no queda ninguna tarea a medias y los workers están parados (esperó a sus
    hilos); que los ``n_workers`` trabajaron a la vez, cada uno en su hilo (si no, dice por
    qué: en serie por un ``join()`` dentro del bucle de ``start()``, o en fila por un cerrojo);
    y que todas las tareas de ``queue`` acaban completadas por esos workers, con su imagen de
    salida. Lanza ``AssertionError`` con el mensaje del primer fallo. Decide con lo que apunta
    aquí mismo, no con atributos del filtro que recibe la respuesta.
    """
    from lab.workers import SimpleWorker  # aquí, no arriba: el resto de comprobaciones no necesita los workers

    total, ids_ok = len(queue.tasks()), [f"worker-{i}" for i in range(n_workers)]
    spy = Overlap(n_workers)
    workers = run_in_threads(spy.probe(), queue, n_workers=n_workers)
    on_return = queue.get_stats()  # justo al volver: si esperó a sus hilos, ya no queda nada por hacer
    _require(type(workers) is list and len(workers) == n_workers,
             f"Debería devolver una lista de {n_workers} workers y devolvió {workers!r}")
    _require(all(type(w) is SimpleWorker for w in workers),
             f"La lista debería tener los {n_workers} SimpleWorker que has creado")
    ids = [w.worker_id for w in workers]
    _require(same(ids, ids_ok), f"Los ids deberían ser {', '.join(ids_ok)} y son {ids}")
    _require(not spy.on_main_thread, "Alguna imagen se procesó en el hilo principal: ¿llamas a worker.start() tú "
                                     "mismo? Pásalo como target de un threading.Thread y arranca el hilo.")
    unfinished = on_return["pending"] + on_return["processing"]
    _require(unfinished == 0, f"run_in_threads volvió con {unfinished} de las {total} tareas sin terminar: sus hilos "
                              f"seguían trabajando. Espera a todos con join() antes de devolver los workers.")
    _require(all(w.state == "stopped" for w in workers),
             "Algún worker seguía en marcha cuando run_in_threads ya había vuelto: espera a todos sus hilos con join().")
    if spy.idle:
        why = (f"había {spy.idle} hilo(s) más arrancados, pero parados esperando su turno. ¿Un cerrojo (Lock) "
               f"alrededor de worker.start()? Sobra: la cola ya es segura con varios hilos, y el cerrojo los pone en fila.")
    else:
        why = ("mientras el primero trabajaba no había ningún otro hilo en marcha. ¿Haces join() en el mismo bucle "
               "que start()? Así van en serie: arranca todos y después espéralos.")
    _require(spy.peak == n_workers and len(spy.threads) == n_workers,
             f"Los {n_workers} workers no trabajaron a la vez (como mucho {spy.peak}, en {len(spy.threads)} "
             f"hilo(s)): {why}")
    stats = queue.get_stats()
    counts = [stats["completed"], stats["failed"], stats["pending"], stats["processing"]]
    _require(same(counts, [total, 0, 0, 0]), f"Las {total} tareas deberían estar completadas: {stats}")
    done = sum(w.get_stats()["tasks_completed"] for w in workers)
    _require(same(done, total), f"Entre los {n_workers} workers deberían sumar {total} tareas y suman {done}")
    tasks = queue.tasks()
    _require({t.worker_id for t in tasks} <= set(ids), "Hay tareas procesadas por workers que no son los tuyos")
    _require(queue.audit() == [], f"La cola no cuadra: {queue.audit()}")
    missing = [t.payload["output_path"] for t in tasks if not Path(t.payload["output_path"]).exists()]
    _require(not missing, f"Faltan {len(missing)} imágenes de salida, por ejemplo {missing[0] if missing else ''}")
