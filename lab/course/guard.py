"""El guardián del corrector dentro del kernel de una entrega: el corrector lo envía como texto, no se importa.

``lab.course.kernel`` lo manda al kernel recién arrancado, antes de cualquier celda, y llama a
``install(clave, ayudas, memoria)`` en un espacio de nombres propio: límite de memoria, estado de
confianza, las ayudas de las comprobaciones compiladas del texto que leyó el corrector (no del
disco) y el primer *audit hook* del kernel, que rechaza otros (``sys.addaudithook``), lo que lee o
cambia lo ajeno (``REFUSED``) y cambiar el código de una función de confianza. El corrector le
habla solo por ``sys.audit("lab.corrector", petición, firma, buzón)``, firmado con la clave en los
dos sentidos. Para cada celda del profesorado o de comprobación deshace lo que tocaron las
respuestas (módulos vigilados y sus clases, ``__path__``, el importador, los nombres del cuaderno)
y la ejecuta él mismo, sin los transformadores ni la clase del shell de IPython; una comprobación,
en una copia del cuaderno con ``builtins`` y módulos congelados y con ayudas nuevas solo suyas
(``from lab.course.expect import ...``). Las ocultas no dejan nada. No cubre el código que recorre
a propósito los marcos de la pila o la memoria del proceso (``ejercicios/README.md``).
"""

from __future__ import annotations

import re
from ast import PyCF_ALLOW_TOP_LEVEL_AWAIT
from asyncio import new_event_loop
from hashlib import blake2b
from hmac import compare_digest
from inspect import CO_COROUTINE
from sys import _getframe, addaudithook, meta_path, modules, path, path_hooks, path_importer_cache
from threading import Thread
from types import FunctionType, ModuleType

#: Módulos de la biblioteca estándar cuyos atributos se vigilan, además de ``lab.*``.
WATCHED = ("builtins", "sys", "types", "math", "json", "re", "time", "threading", "asyncio", "collections",
           "dataclasses", "functools", "itertools", "pathlib", "tempfile", "copy", "statistics", "PIL.Image")
#: Lo que el guardián no deja hacer (eventos de auditoría).
REFUSED = frozenset({"sys.addaudithook", "sys.settrace", "sys.setprofile", "gc.get_objects", "gc.get_referrers",
                     "gc.get_referents", "sys._current_frames", "sys._current_exceptions"})
EVENTS = REFUSED | {"lab.corrector", "object.__setattr__", "object.__delattr__"}
SEP = "\x1f"  # separa los campos de peticiones y respuestas (sin json: sus funciones se pueden cambiar)
_HISTORY = re.compile(r"^(_+|_i+|_i\d+|_\d+|_oh|_ih|_dh|In|Out)$")
_MISSING = object()


class _State:
    """Lo que el guardián guarda entre llamadas: solo en su espacio de nombres privado."""

    key, counter, user_ns, builtins, helpers = b"", 0, {}, {}, {}
    modules, paths, classes, trusted, seen, sys_lists = {}, {}, {}, {}, {}, {}
    protected: set = set()


_S = _State()


def _sign(text: str) -> str:
    return blake2b(text.encode("utf-8", "surrogatepass"), key=_S.key, digest_size=16).hexdigest()


def _collect(values) -> None:
    """Apunta las clases (con sus bases) y las funciones de ``values``: se restauran y no se dejan cambiar."""
    for value in values:
        if isinstance(value, type):
            for cls in value.__mro__:
                if cls is object or cls in _S.classes:
                    continue
                try:
                    _S.classes[cls] = attrs = dict(cls.__dict__)
                except Exception:  # noqa: BLE001 - una clase rara sin __dict__ legible
                    continue
                _S.protected.update(f for a in attrs.values() if type(f := getattr(a, "__func__", a)) is FunctionType)
        elif type(value) is FunctionType:
            _S.protected.add(value)


def _snapshot() -> None:
    """Lo que hay ahora pasa a ser el estado de confianza."""
    namespace = _S.user_ns
    for name, value in namespace.items():
        if not _HISTORY.match(name) and _S.seen.get(name, _MISSING) is not value:
            _S.trusted[name] = value
    for name in [n for n in _S.trusted if n not in namespace]:
        del _S.trusted[name]
    watched = {n: modules[n] for n in WATCHED if type(modules.get(n)) is ModuleType}
    watched.update({n: m for n, m in list(modules.items()) if (n == "lab" or n.startswith("lab."))
                    and type(m) is ModuleType})
    _S.modules = {name: (module, dict(module.__dict__)) for name, module in watched.items()}
    _S.paths = {n: list(m.__path__) for n, m in watched.items() if type(getattr(m, "__path__", None)) is list}
    _S.classes = {}
    for _, attrs in _S.modules.values():
        _collect(list(attrs.values()))
    _collect(list(_S.trusted.values()))
    _S.sys_lists = (list(meta_path), list(path_hooks), list(path))
    _S.seen = dict(namespace)


def _restore() -> None:
    """Deshace lo que cambiaron las respuestas en los módulos vigilados, sus clases, el importador y el cuaderno."""
    for name, (module, attrs) in _S.modules.items():
        modules[name] = module
        current = module.__dict__
        for key, value in attrs.items():
            if current.get(key, _MISSING) is not value:
                current[key] = value
        for key in [k for k in current if k not in attrs and k in ("__getattr__", "__path__")]:
            del current[key]  # un __getattr__ de módulo nuevo inventaría atributos
    for name, saved in _S.paths.items():
        _S.modules[name][0].__path__[:] = saved  # la lista es la misma: se cambió dentro
    for cls, attrs in _S.classes.items():
        for key in [k for k in list(cls.__dict__) if k not in attrs]:
            try:
                delattr(cls, key)
            except (AttributeError, TypeError):
                pass
        for key, value in attrs.items():
            if cls.__dict__.get(key, _MISSING) is not value:
                try:
                    setattr(cls, key, value)
                except (AttributeError, TypeError):
                    pass
    meta_path[:], path_hooks[:], path[:] = _S.sys_lists
    path_importer_cache.clear()
    namespace = _S.user_ns
    for name, value in _S.trusted.items():
        if namespace.get(name, _MISSING) is not value:
            namespace[name] = value
    for name in [n for n in namespace if n in _S.builtins and n not in _S.trusted]:
        del namespace[name]  # una función del alumnado llamada como una de builtins (all, len...) la taparía
    _S.seen = dict(namespace)


def _frozen(module: ModuleType) -> ModuleType:
    """Una copia de ``module`` con sus atributos de confianza: lo que le cambien después no se ve en ella."""
    copy = ModuleType(module.__name__)
    copy.__dict__.update(_S.modules[module.__name__][1] if module.__name__ in _S.modules else module.__dict__)
    return copy


def _private_builtins() -> dict:
    """Los ``builtins`` de confianza para una comprobación; su ``import`` da las ayudas nuevas, solo suyas."""
    fresh, real_import = {}, _S.builtins["__import__"]

    def private_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and fromlist and name in _S.helpers:
            if name not in fresh:
                code, filename = _S.helpers[name]
                ns = {"__name__": name, "__file__": filename, "__builtins__": dict(_S.builtins)}
                exec(code, ns)
                ns.update({k: _frozen(v) for k, v in ns.items() if type(v) is ModuleType})
                fresh[name] = ModuleType(name)
                fresh[name].__dict__.update(ns)
            return fresh[name]
        return real_import(name, globals, locals, fromlist, level)

    return {**_S.builtins, "__import__": private_import}


def _run_coroutine(coroutine) -> None:
    """Ejecuta una celda con ``await`` en su propio bucle de asyncio (en un hilo: el del kernel ya está en marcha)."""
    outcome: list = []

    def target() -> None:
        loop = new_event_loop()
        try:
            loop.run_until_complete(coroutine)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - se devuelve tal cual
            outcome.append(exc)
        finally:
            loop.close()

    thread = Thread(target=target, name="corrector-celda", daemon=True)
    thread.start()
    thread.join()
    if len(outcome) != 1 or outcome[0] is not None:
        raise outcome[0] if outcome else RuntimeError("la celda no terminó (algo cambió el hilo que la ejecutaba)")


def _describe(exc: BaseException, code, source: str) -> str:
    """``Tipo`` SEP ``mensaje`` SEP ``línea que falló`` de una excepción en la celda."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - un __str__ que falla no tumba al corrector
        message = ""
    line, tb, lines = "", exc.__traceback__, source.splitlines()
    while tb is not None:
        if tb.tb_frame.f_code is code and 0 < tb.tb_lineno <= len(lines):
            line = lines[tb.tb_lineno - 1].strip()
        tb = tb.tb_next
    return SEP.join((type(exc).__name__, message.replace(SEP, " "), line.replace(SEP, " ")))


def _run(role: str, source: str, filename: str) -> str:
    """Restaura, ejecuta una celda de confianza y devuelve ``ok`` o ``error`` SEP su descripción."""
    _restore()
    namespace = user_ns = _S.user_ns
    if role != "profesorado":  # comprobación: su propio espacio de nombres, con builtins y módulos congelados
        namespace = {k: _frozen(v) if type(v) is ModuleType else v for k, v in user_ns.items()}
        namespace["__builtins__"] = _private_builtins()
    before, result, code = dict(namespace), "ok", None
    try:
        if source.lstrip().startswith(("%", "!")) or "\n%" in source or "\n!" in source:
            from IPython.core.inputtransformer2 import TransformerManager
            source = TransformerManager().transform_cell(source)
        code = compile(source, filename, "exec", flags=PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        if code.co_flags & CO_COROUTINE:
            _run_coroutine(eval(code, namespace))
        else:
            exec(code, namespace)
    except BaseException as exc:  # noqa: BLE001 - cualquier fallo de la celda (también SystemExit) es su error
        result = SEP.join(("error", _describe(exc, code, source)))
    if role == "comprobacion":  # lo que definió la comprobación pasa al cuaderno (no las copias congeladas)
        user_ns.update({k: v for k, v in namespace.items() if k != "__builtins__" and before.get(k, _MISSING) is not v})
    if role != "oculta":
        _snapshot()
    return result


def _hook(event: str, args: tuple) -> None:
    """El audit hook: atiende al corrector (petición firmada y nueva) y se niega a lo que no se deja hacer."""
    if event not in EVENTS:
        return
    if event == "lab.corrector":
        request, signature, box = (args + (None, None, None))[:3]
        if type(request) is str and type(signature) is str and compare_digest(_sign(request), signature):
            number, role, filename, source = request.split(SEP, 3)
            if int(number) > _S.counter:  # una petición repetida no se atiende
                _S.counter = int(number)
                reply = SEP.join((number, _run(role, source, filename)))
                box.append(reply + SEP + _sign(reply))
    elif event in REFUSED:
        raise PermissionError(f"El corrector no deja usar {event} durante la corrección.")
    elif args and type(args[0]) is FunctionType and args[0] in _S.protected:
        raise PermissionError(f"El corrector no deja cambiar {args[1]} de {args[0].__qualname__}: es una función "
                              f"del curso o del profesorado.")


def _limit_memory(memory_mb: float) -> None:
    """Limita la memoria virtual del kernel a la que usa ahora más ``memory_mb`` MB (solo Linux/macOS)."""
    try:
        import resource
        with open("/proc/self/status", encoding="ascii") as status:
            current = next((int(ln.split()[1]) * 1024 for ln in status if ln.startswith("VmSize:")), 0)
    except ImportError:  # Windows: sin límite
        return
    except OSError:  # macOS: sin /proc
        current = 0
    limit = current + int(memory_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def install(key: str, helpers: dict, memory_mb: float = 0) -> str:
    """Primera llamada, con el kernel recién arrancado: límite de memoria, instantánea, ayudas y audit hook."""
    import builtins

    from IPython import get_ipython

    if memory_mb:
        _limit_memory(memory_mb)
    _S.key, _S.builtins, _S.user_ns = bytes.fromhex(key), dict(builtins.__dict__), get_ipython().user_ns
    _S.helpers = {name: (compile(text, filename, "exec", dont_inherit=True), filename)
                  for name, (text, filename) in helpers.items()}
    _S.trusted = {k: v for k, v in _S.user_ns.items() if not _HISTORY.match(k)}
    _snapshot()
    del _getframe(0).f_globals["install"]  # nadie puede volver a llamarlo desde este espacio de nombres
    addaudithook(_hook)
    return "ok"
