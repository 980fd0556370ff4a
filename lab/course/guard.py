"""Protecciones que el corrector activa *dentro* del kernel que ejecuta una entrega.

El corrector (``lab.course.runner``) llama a estas funciones entre celda y celda con una
``user_expression`` de Jupyter (se evalúa con ``eval``, sin pasar por los transformadores de
entrada ni de AST de IPython, que el código del alumnado podría haber cambiado):

- ``init(memoria)``: al arrancar el kernel, antes de cualquier celda. Pone el límite de memoria
  y toma la primera instantánea.
- ``restore()``: antes de cada celda del profesorado (preparación, enunciado, comprobaciones
  visibles y ocultas). Deshace lo que hayan cambiado las celdas de respuesta: transformadores
  de entrada y de AST de IPython, manejadores de excepciones, métodos del shell y del kernel
  sustituidos, atributos de los módulos vigilados (``lab.*``, ``builtins``, ``math``,
  ``threading``, ``asyncio``...) y de sus clases y funciones, los nombres del cuaderno que
  definieron las celdas del profesorado y los nombres que tapan a una función de ``builtins``.
  Además borra de ``sys.modules`` los módulos de ayuda de las comprobaciones
  (``lab.course.expect``) para que cada comprobación los importe de nuevo desde el disco.
- ``snapshot()``: después de cada celda del profesorado; lo que esa celda cambió pasa a ser
  el estado de confianza.

No es un entorno aislado: el código del alumnado se ejecuta en el mismo proceso y alguien
decidido puede saltarse estas protecciones (ver ``ejercicios/README.md``).
"""

from __future__ import annotations

import builtins
import importlib
import re
import sys
import types
from typing import Any

#: Módulos de la biblioteca estándar (y de IPython) cuyos atributos se vigilan, además de ``lab.*``.
WATCHED = ("builtins", "math", "json", "re", "time", "threading", "asyncio", "collections", "dataclasses",
           "functools", "itertools", "pathlib", "tempfile", "copy", "statistics", "PIL.Image",
           "IPython.core.interactiveshell", "IPython.core.compilerop", "IPython.core.inputtransformer2",
           "ipykernel.zmqshell", "ipykernel.ipkernel", "ipykernel.kernelbase")
#: Módulos de ayuda que cada comprobación importa de nuevo.
FRESH = ("lab.course.expect",)
#: Nombres que IPython cambia solo en cada ejecución (historial): no se restauran.
_HISTORY = re.compile(r"^(_+|_i+|_i\d+|_\d+|_oh|_ih|_dh|In|Out)$")
_BUILTIN_NAMES = frozenset(dir(builtins))


class _State:
    """Todo lo que se guarda entre llamadas (una sola instancia, privada del módulo)."""

    def __init__(self) -> None:
        self.modules: dict[str, tuple[types.ModuleType, dict]] = {}
        self.classes: dict[type, dict] = {}
        self.functions: dict[types.FunctionType, tuple] = {}
        self.trusted: dict[str, Any] = {}
        self.seen: dict[str, Any] = {}
        self.shell: dict[str, Any] = {}
        self.sys_lists: dict[str, list] = {}
        self.ready = False


_STATE = _State()


def _shell() -> Any:
    """El shell de IPython de este kernel."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("no hay un shell de IPython")
    return shell


def _watched_modules() -> dict[str, types.ModuleType]:
    """Los módulos vigilados que ya están importados."""
    found = {name: sys.modules[name] for name in WATCHED if isinstance(sys.modules.get(name), types.ModuleType)}
    for name, module in list(sys.modules.items()):
        if (name == "lab" or name.startswith("lab.")) and name not in FRESH and isinstance(module, types.ModuleType):
            found[name] = module
    return found


def _collect(values: list[Any]) -> None:
    """Añade a la instantánea las clases y funciones de ``values`` (y sus bases y métodos)."""
    for value in values:
        if isinstance(value, type):
            for cls in value.__mro__:
                if cls is object or cls in _STATE.classes:
                    continue
                try:
                    attrs = dict(cls.__dict__)
                except Exception:  # noqa: BLE001 - una clase rara sin __dict__ legible
                    continue
                _STATE.classes[cls] = attrs
                for attr in attrs.values():
                    func = getattr(attr, "__func__", attr)
                    if isinstance(func, types.FunctionType):
                        _STATE.functions[func] = (func.__code__, func.__defaults__, func.__kwdefaults__)
        elif isinstance(value, types.FunctionType):
            _STATE.functions[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)


def _take_snapshot(namespace: dict) -> None:
    """Guarda el estado de confianza: módulos, clases, funciones, shell y listas de ``sys``."""
    shell = _shell()
    manager = shell.input_transformer_manager
    _STATE.modules = {name: (module, dict(module.__dict__)) for name, module in _watched_modules().items()}
    _STATE.classes, _STATE.functions = {}, {}
    for _, attrs in _STATE.modules.values():
        _collect(list(attrs.values()))
    _collect(list(_STATE.trusted.values()))
    _STATE.shell = {
        "manager": manager, "cleanup": list(manager.cleanup_transforms), "line": list(manager.line_transforms),
        "token": list(manager.token_transformers), "post": list(shell.input_transformers_post),
        "ast": list(shell.ast_transformers), "compile": shell.compile,
        "custom_exceptions": shell.custom_exceptions, "CustomTB": shell.CustomTB,
        "events": {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        "shell_keys": set(vars(shell)), "kernel_keys": set(vars(shell.kernel)) if getattr(shell, "kernel", None) else set(),
    }
    _STATE.sys_lists = {"meta_path": list(sys.meta_path), "path_hooks": list(sys.path_hooks), "path": list(sys.path)}
    _STATE.seen = dict(namespace)


def init(memory_mb: float = 0) -> str:
    """Primera llamada, con el kernel recién arrancado: límite de memoria e instantánea inicial."""
    if memory_mb:
        _limit_memory(memory_mb)
    namespace = _shell().user_ns
    _STATE.trusted = {k: v for k, v in namespace.items() if not _HISTORY.match(k)}
    _take_snapshot(namespace)
    _STATE.ready = True
    return "ok"


def _limit_memory(memory_mb: float) -> None:
    """Limita la memoria virtual del kernel a la que usa ahora más ``memory_mb`` MB (solo Linux/macOS)."""
    try:
        import resource
    except ImportError:  # Windows: sin límite
        return
    current = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    current = int(line.split()[1]) * 1024
    except OSError:
        pass
    limit = current + int(memory_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _restore_instance(obj: Any, baseline: set) -> None:
    """Quita los métodos sustituidos en la instancia ``obj`` (atributos nuevos que tapan a los de su clase)."""
    for key in list(vars(obj)):
        if key not in baseline and callable(getattr(type(obj), key, None)):
            delattr(obj, key)


def _restore_shell() -> None:
    """Devuelve IPython a su estado de confianza: transformadores, compilador, excepciones y eventos."""
    shell, saved = _shell(), _STATE.shell
    _restore_instance(shell, saved["shell_keys"])
    if getattr(shell, "kernel", None) is not None:
        _restore_instance(shell.kernel, saved["kernel_keys"])
    manager = saved["manager"]
    shell.input_transformer_manager = manager
    manager.cleanup_transforms[:] = saved["cleanup"]
    manager.line_transforms[:] = saved["line"]
    manager.token_transformers[:] = saved["token"]
    shell.input_transformers_post = list(saved["post"])
    shell.ast_transformers = list(saved["ast"])
    shell.compile = saved["compile"]
    shell.custom_exceptions, shell.CustomTB = saved["custom_exceptions"], saved["CustomTB"]
    for name, callbacks in saved["events"].items():
        shell.events.callbacks[name] = list(callbacks)


def _restore_objects() -> None:
    """Deshace los cambios en módulos vigilados, sus clases y sus funciones."""
    for name, (module, attrs) in _STATE.modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        current = module.__dict__
        for key, value in attrs.items():
            if current.get(key, _MISSING) is not value:
                current[key] = value
        if "__getattr__" not in attrs:
            current.pop("__getattr__", None)  # un __getattr__ de módulo nuevo inventaría atributos
    for cls, attrs in _STATE.classes.items():
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
    for func, (code, defaults, kwdefaults) in _STATE.functions.items():
        if func.__code__ is not code:
            func.__code__ = code
        func.__defaults__, func.__kwdefaults__ = defaults, kwdefaults
    sys.meta_path[:] = _STATE.sys_lists["meta_path"]
    sys.path_hooks[:] = _STATE.sys_lists["path_hooks"]
    sys.path[:] = _STATE.sys_lists["path"]
    sys.path_importer_cache.clear()
    sys.settrace(None)
    sys.setprofile(None)


_MISSING = object()


def restore() -> str:
    """Antes de cada celda del profesorado: deshace los cambios de las celdas de respuesta."""
    if not _STATE.ready:
        raise RuntimeError("el corrector no se inicializó en este kernel")
    _restore_shell()
    _restore_objects()
    namespace = _shell().user_ns
    for name, value in _STATE.trusted.items():
        if namespace.get(name, _MISSING) is not value:
            namespace[name] = value
    for name in [n for n in namespace if n in _BUILTIN_NAMES and n not in _STATE.trusted]:
        del namespace[name]  # una función del alumnado llamada como una de builtins (all, len...) la taparía
    for name in FRESH:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    _STATE.seen = dict(namespace)
    return "ok"


def snapshot() -> str:
    """Después de cada celda del profesorado: lo que cambió pasa a ser de confianza."""
    if not _STATE.ready:
        raise RuntimeError("el corrector no se inicializó en este kernel")
    namespace = _shell().user_ns
    for name, value in namespace.items():
        if not _HISTORY.match(name) and _STATE.seen.get(name, _MISSING) is not value:
            _STATE.trusted[name] = value
    for name in [n for n in _STATE.trusted if n not in namespace]:
        del _STATE.trusted[name]
    _take_snapshot(namespace)
    return "ok"
