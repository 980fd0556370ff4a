"""El guardián del corrector dentro del kernel de una entrega: el corrector lo envía como texto, no se importa.

``lab.course.kernel`` lo manda al kernel recién arrancado, antes de cualquier celda, y llama a
``install(clave, ayudas, memoria)`` en un espacio de nombres propio (con una copia de
``builtins`` de ese momento). ``install`` pone el límite de memoria, guarda el estado de
confianza, compila las ayudas de las comprobaciones con el código que leyó el corrector al
arrancar (no el del disco) e instala un *audit hook*, el primero del kernel. Con él:

- nadie añade otro (``sys.addaudithook``) ni usa lo que sirve para leer o cambiar lo ajeno
  (``sys.settrace``, ``sys.setprofile``, ``gc.get_objects``/``get_referrers``/``get_referents``,
  ``sys._current_frames``), ni cambia el código o los valores por defecto de una función de confianza;
- el corrector le habla solo por ``sys.audit("lab.corrector", petición, firma, buzón)``: cada
  celda del profesorado o de comprobación llega firmada con la clave (nadie más puede pedir nada)
  y la respuesta vuelve firmada (nadie más puede darla).

Antes de cada celda de confianza deshace lo que tocaron las respuestas (atributos de los módulos
vigilados y de sus clases, sus ``__path__``, ``sys.path`` y el importador, los nombres del cuaderno)
y crea las ayudas de nuevo; luego ejecuta la celda él mismo, sin los transformadores ni la clase
del shell de IPython. Las comprobaciones se ejecutan con su propio espacio de nombres (una copia
del cuaderno con ``builtins`` y módulos congelados): si una respuesta cambia ``same``, ``all`` o
``math.isclose`` mientras la llaman, la comprobación no lo ve. Las ocultas no dejan nada en el
cuaderno. Lo que no cubre (ver ``ejercicios/README.md``): código que recorre a propósito los
marcos de la pila o la memoria del proceso puede cambiar su propia comprobación.
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
#: Lo que el guardián no deja hacer: evento de auditoría → qué se dice.
REFUSED = {"sys.addaudithook": "añadir audit hooks (sys.addaudithook)", "sys.settrace": "usar sys.settrace",
           "sys.setprofile": "usar sys.setprofile", "gc.get_objects": "usar gc.get_objects",
           "gc.get_referrers": "usar gc.get_referrers", "gc.get_referents": "usar gc.get_referents",
           "sys._current_frames": "usar sys._current_frames", "sys._current_exceptions": "usar sys._current_exceptions"}
EVENTS = frozenset(REFUSED) | {"lab.corrector", "object.__setattr__", "object.__delattr__"}
SEP = "\x1f"  # separa los campos de peticiones y respuestas (sin json: sus funciones se pueden cambiar)
_HISTORY = re.compile(r"^(_+|_i+|_i\d+|_\d+|_oh|_ih|_dh|In|Out)$")
_MISSING = object()


class _State:
    """Lo que el guardián guarda entre llamadas (una instancia, solo en el espacio de nombres privado)."""

    def __init__(self) -> None:
        self.key, self.counter = b"", 0
        self.builtins: dict = {}
        self.helpers: dict = {}
        self.modules: dict = {}
        self.paths: dict = {}
        self.classes: dict = {}
        self.protected: set = set()
        self.trusted: dict = {}
        self.seen: dict = {}
        self.sys_lists: dict = {}
        self.user_ns: dict = {}


_S = _State()


def _sign(text: str) -> str:
    return blake2b(text.encode("utf-8", "surrogatepass"), key=_S.key, digest_size=16).hexdigest()


def _watched() -> dict:
    found = {n: modules[n] for n in WATCHED if type(modules.get(n)) is ModuleType}
    for name, module in list(modules.items()):
        if (name == "lab" or name.startswith("lab.")) and name not in _S.helpers and type(module) is ModuleType:
            found[name] = module
    return found


def _collect(values) -> None:
    """Añade a la instantánea las clases (con sus bases) y las funciones de ``values``."""
    for value in values:
        if isinstance(value, type):
            for cls in value.__mro__:
                if cls is object or cls in _S.classes:
                    continue
                try:
                    attrs = dict(cls.__dict__)
                except Exception:  # noqa: BLE001 - una clase rara sin __dict__ legible
                    continue
                _S.classes[cls] = attrs
                for attr in attrs.values():
                    func = getattr(attr, "__func__", attr)
                    if type(func) is FunctionType:
                        _S.protected.add(func)
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
    _S.modules = {name: (module, dict(module.__dict__)) for name, module in _watched().items()}
    _S.paths = {n: list(m.__path__) for n, (m, _) in _S.modules.items() if type(getattr(m, "__path__", None)) is list}
    _S.classes = {}
    for _, attrs in _S.modules.values():
        _collect(list(attrs.values()))
    _collect(list(_S.trusted.values()))
    _S.sys_lists = {"meta_path": list(meta_path), "path_hooks": list(path_hooks), "path": list(path)}
    _S.seen = dict(namespace)


def _restore() -> None:
    """Deshace lo que cambiaron las respuestas en los módulos vigilados, sus clases, el importador y el cuaderno."""
    for name, (module, attrs) in _S.modules.items():
        if modules.get(name) is not module:
            modules[name] = module
        current = module.__dict__
        for key, value in attrs.items():
            if current.get(key, _MISSING) is not value:
                current[key] = value
        for key in [k for k in current if k not in attrs and k in ("__getattr__", "__path__")]:
            del current[key]  # un __getattr__ de módulo nuevo inventaría atributos
    for name, saved in _S.paths.items():
        _S.modules[name][0].__path__[:] = saved
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
    meta_path[:], path_hooks[:], path[:] = (_S.sys_lists[k] for k in ("meta_path", "path_hooks", "path"))
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


def _fresh_helpers() -> None:
    """Crea de nuevo los módulos de ayuda con el código que envió el corrector (sus funciones usan una copia privada)."""
    for name, (code, filename) in _S.helpers.items():
        module, (parent, _, leaf) = ModuleType(name), name.rpartition(".")
        private = {"__name__": name, "__file__": filename, "__package__": parent, "__builtins__": dict(_S.builtins)}
        modules[name] = module
        exec(code, private)
        for key, value in list(private.items()):
            if type(value) is ModuleType:
                private[key] = _frozen(value)
        module.__dict__.update(private)
        if type(modules.get(parent)) is ModuleType:
            modules[parent].__dict__[leaf] = module


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
    if len(outcome) != 1:
        raise RuntimeError("la celda no terminó (algo cambió el hilo que la ejecutaba)")
    if outcome[0] is not None:
        raise outcome[0]


def _describe(exc: BaseException, code, source: str) -> str:
    """``Tipo`` SEP ``mensaje`` SEP ``línea que falló`` de una excepción en la celda."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - un __str__ que falla no tumba al corrector
        message = ""
    line, tb = "", exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            lines = source.splitlines()
            line = lines[tb.tb_lineno - 1].strip() if 0 < tb.tb_lineno <= len(lines) else ""
        tb = tb.tb_next
    return SEP.join((type(exc).__name__, message.replace(SEP, " "), line.replace(SEP, " ")))


def _run(role: str, source: str, filename: str) -> str:
    """Ejecuta una celda de confianza y devuelve ``ok`` o ``error`` SEP su descripción."""
    _restore()
    _fresh_helpers()
    user_ns = _S.user_ns
    namespace = user_ns
    if role != "profesorado":  # comprobación: su propio espacio de nombres, con builtins y módulos congelados
        namespace = dict(user_ns)
        namespace["__builtins__"] = dict(_S.builtins)
        for key, value in list(namespace.items()):
            if type(value) is ModuleType:
                namespace[key] = _frozen(value)
    before = dict(namespace)
    result = "ok"
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
        result = SEP.join(("error", _describe(exc, locals().get("code"), source)))
    if role == "comprobacion":  # lo que definió la comprobación pasa al cuaderno (no las copias congeladas)
        for key, value in namespace.items():
            if key != "__builtins__" and before.get(key, _MISSING) is not value:
                user_ns[key] = value
    if role != "oculta":
        _snapshot()
    return result


def _serve(request, signature, box) -> None:
    """Atiende una petición del corrector si está firmada con la clave y es nueva; responde firmado en ``box``."""
    if type(request) is not str or type(signature) is not str or not compare_digest(_sign(request), signature):
        return
    number, role, filename, source = request.split(SEP, 3)
    if int(number) <= _S.counter:
        return  # una petición repetida
    _S.counter = int(number)
    reply = SEP.join((number, _run(role, source, filename)))
    box.append(reply + SEP + _sign(reply))


def _hook(event: str, args: tuple) -> None:
    """El audit hook: atiende al corrector y se niega a lo que no se deja hacer."""
    if event not in EVENTS:
        return
    if event == "lab.corrector":
        if len(args) == 3:
            _serve(*args)
        return
    if event in REFUSED:
        raise PermissionError(f"El corrector no deja {REFUSED[event]} durante la corrección.")
    if args and type(args[0]) is FunctionType and args[0] in _S.protected:
        raise PermissionError(f"El corrector no deja cambiar {args[1]} de {args[0].__qualname__}: es una función "
                              f"del curso o del profesorado.")


def _limit_memory(memory_mb: float) -> None:
    """Limita la memoria virtual del kernel a la que usa ahora más ``memory_mb`` MB (solo Linux/macOS)."""
    try:
        import resource
    except ImportError:  # Windows: sin límite
        return
    current = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            current = next((int(ln.split()[1]) * 1024 for ln in status if ln.startswith("VmSize:")), 0)
    except OSError:
        pass
    limit = current + int(memory_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def install(key: str, helpers: dict, memory_mb: float = 0) -> str:
    """Primera llamada, con el kernel recién arrancado: límite de memoria, instantánea, ayudas y audit hook."""
    if _S.key:
        raise RuntimeError("el guardián ya está instalado")
    import builtins

    from IPython import get_ipython

    if memory_mb:
        _limit_memory(memory_mb)
    _S.key, _S.builtins = bytes.fromhex(key), dict(builtins.__dict__)
    _S.helpers = {name: (compile(text, filename, "exec", dont_inherit=True), filename)
                  for name, (text, filename) in helpers.items()}
    _S.user_ns = get_ipython().user_ns
    _S.trusted = {k: v for k, v in _S.user_ns.items() if not _HISTORY.match(k)}
    _snapshot()
    _getframe(0).f_globals.pop("install", None)  # nadie puede volver a instalarlo desde este espacio de nombres
    addaudithook(_hook)
    return "ok"
