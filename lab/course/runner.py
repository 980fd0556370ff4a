"""Ejecuta un cuaderno reconstruido celda a celda en un kernel nuevo, con límites y protecciones.

Cada celda se ejecuta con nbclient en un kernel recién arrancado, con un tiempo máximo por
celda, un tiempo máximo para todo el cuaderno y un límite de memoria (``Limits``). Antes de
cada celda del profesorado se llama a ``lab.course.guard.restore()`` y después a
``snapshot()`` (ver ese módulo), con una ``user_expression`` que no pasa por los
transformadores de IPython.

Cuando una celda agota el tiempo o mata el kernel, se descarta ese kernel (con los hilos que
hubiera dejado en marcha), se arranca otro, se repiten las celdas que ya habían ido bien y se
sigue con las demás: los ejercicios posteriores se corrigen igual. No se usa ``pytest
--nbval-lax`` porque nbval da por fallidas de antemano todas las celdas que siguen a un
tiempo agotado, y aquí deben corregirse.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import re
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from lab.course.rebuild import ANSWER, CHECK, HIDDEN, INSTRUCTOR, Rebuilt
from lab.course.release import ROOT, exercise_of

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_QUIET = logging.getLogger("lab.course.runner.nbclient")
_QUIET.setLevel(logging.CRITICAL)
_GUARD = "__import__('lab.course.guard', fromlist=['guard']).{}"


@dataclass
class Limits:
    """Límites de una ejecución: segundos por celda, segundos por cuaderno y MB de memoria extra (0 = sin límite)."""

    cell_timeout: float = 30
    notebook_timeout: float = 300
    memory_mb: float = 1024


@dataclass
class CellResult:
    """Resultado de una celda de código: ``status`` es ok, error, timeout, dead o not_run."""

    index: int
    exercise: str | None
    role: str = INSTRUCTOR
    status: str = "not_run"
    message: str = ""

    @property
    def check(self) -> bool:
        """``True`` si es una comprobación (visible u oculta)."""
        return self.role in (CHECK, HIDDEN)


def first_line(text: str, limit: int = 240) -> str:
    """La primera línea no vacía de ``text`` sin códigos ANSI, recortada a ``limit`` caracteres."""
    for line in ANSI_RE.sub("", text).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[:limit - 1] + "…"
    return ""


def error_line(output: dict) -> str:
    """Una línea limpia para una salida de error: ``Tipo: mensaje`` (o la línea que falló)."""
    ename, evalue = output.get("ename", "Error"), first_line(output.get("evalue", ""))
    if evalue:
        return first_line(f"{ename}: {evalue}")
    arrows = [ln for ln in ANSI_RE.sub("", "\n".join(output.get("traceback", []))).splitlines()
              if ln.lstrip().startswith("---->")]
    if arrows:
        code = re.sub(r"^\s*---->\s*\d*\s*", "", arrows[-1])
        return first_line(f"{ename} en: {code}")
    return ename


def kernel_env(workdir: Path | None = None) -> dict[str, str]:
    """Entorno del kernel: el repositorio en ``PYTHONPATH``, tracebacks sin color y ``TMPDIR`` propio."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    profile = ROOT / "tests" / "ipython"
    if "IPYTHONDIR" not in env and profile.is_dir():
        env["IPYTHONDIR"] = str(profile)
    if workdir is not None:
        for name in ("TMPDIR", "TEMP", "TMP"):
            env[name] = str(workdir)
    return env


class _Kernel:
    """Un kernel de Jupyter que ejecuta celdas sueltas con tiempo máximo y llama a ``lab.course.guard``."""

    def __init__(self, nb: nbformat.NotebookNode, cwd: Path, timeout: float):
        self.client = NotebookClient(
            copy.deepcopy(nb), timeout=int(max(1, round(timeout))), allow_errors=True, interrupt_on_timeout=False,
            kernel_name="python3", shutdown_kernel="immediate", record_timing=False, log=_QUIET,
            resources={"metadata": {"path": str(cwd)}}, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        self.client.on_cell_executed = self._on_executed
        self._reply: dict | None = None
        self._stack = ExitStack()
        self._cwd = cwd

    def __enter__(self) -> "_Kernel":
        self._stack.enter_context(self.client.setup_kernel(env=kernel_env(self._cwd)))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()
        except Exception:  # noqa: BLE001 - el kernel puede estar ya muerto; no importa
            pass

    def run(self, index: int, source: str, timeout: float, allowed_error: bool = False) -> tuple[str, str]:
        """Ejecuta ``source`` como la celda ``index``; devuelve ``(estado, mensaje)``.

        El estado sale de la respuesta ``execute_reply`` del kernel, no de las salidas, que
        pueden perderse; las salidas de error solo se miran como respaldo.
        """
        cell = nbformat.v4.new_code_cell(source)
        self._reply = None
        self.client.timeout = int(max(1, round(timeout)))
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return "timeout", (f"Tiempo agotado: más de {self.client.timeout} s "
                               f"(¿un bucle infinito o una espera que nunca acaba?).")
        except DeadKernelError:
            return "dead", "El kernel de Python murió al ejecutar la celda (¿os._exit, sin memoria?)."
        except Exception as exc:  # noqa: BLE001 - cualquier fallo de comunicación cuenta como kernel muerto
            return "dead", f"Se perdió el kernel al ejecutar la celda: {first_line(str(exc))}"
        if allowed_error:
            return "ok", ""
        content = (self._reply or {}).get("content", {})
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if content.get("status") == "error":
            return "error", error_line(content)
        if errors or content.get("status") not in ("ok", None):
            return "error", error_line(errors[0]) if errors else f"La celda acabó con estado {content['status']}."
        return "ok", ""

    def guard(self, call: str, timeout: float = 20) -> tuple[bool, str]:
        """Evalúa ``lab.course.guard.<call>`` en el kernel; ``(True, "")`` si devolvió ``'ok'``."""
        try:
            return run_sync(self._guard)(_GUARD.format(call), timeout)
        except Exception as exc:  # noqa: BLE001 - sin respuesta: kernel colgado o muerto
            return False, f"el kernel no respondió ({type(exc).__name__})"

    async def _guard(self, expression: str, timeout: float) -> tuple[bool, str]:
        kc = self.client.kc
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"g": expression},
                            allow_stdin=False)
        deadline = time.monotonic() + timeout
        while True:
            msg = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                break
        content = msg.get("content", {})
        if content.get("status") != "ok":
            return False, error_line(content)
        value = content.get("user_expressions", {}).get("g", {})
        if value.get("status") != "ok":
            return False, error_line(value)
        if value.get("data", {}).get("text/plain") != "'ok'":
            return False, "respuesta inesperada"
        return True, ""

    def _on_executed(self, execute_reply: dict, **_: object) -> None:
        self._reply = execute_reply


def _cancel_orphans() -> None:
    """Cancela las tareas de sondeo que nbclient deja vivas tras un tiempo agotado.

    Si siguieran vivas se comerían los mensajes del kernel nuevo (salidas perdidas).
    """
    async def cancel() -> None:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task() and task.get_coro().__name__.startswith("_async_poll"):
                task.cancel()
    try:
        run_sync(cancel)()
    except Exception:  # noqa: BLE001 - no hay bucle o ya no queda nada que cancelar
        pass


def _step(kernel: _Kernel, result: CellResult, source: str, timeout: float, allowed: bool) -> tuple[str, str]:
    """Una celda con sus protecciones: restaurar antes y fotografiar después si es del profesorado."""
    trusted = result.role != ANSWER
    if trusted:
        ok, why = kernel.guard("restore()")
        if not ok:
            return "error", (f"El corrector no pudo restaurar el kernel antes de esta celda ({why}): "
                             f"alguna respuesta ha tocado lo que no debía.")
    status, message = kernel.run(result.index, source, timeout, allowed_error=allowed)
    if status == "ok" and trusted:
        ok, why = kernel.guard("snapshot()")
        if not ok:
            return "error", f"El corrector no pudo guardar el estado tras esta celda ({why})."
    return status, message


def run_cells(rebuilt: Rebuilt, cwd: Path, limits: Limits) -> list[CellResult]:
    """Ejecuta las celdas de código de ``rebuilt`` y devuelve el resultado de cada una.

    Tras un tiempo agotado o un kernel muerto arranca otro kernel, repite las celdas que ya
    habían ido bien y sigue; si no puede, las restantes quedan sin ejecutar (``not_run``) con
    el motivo. Agotado el tiempo del cuaderno, las celdas que faltan cuentan como ``timeout``.
    """
    nb = rebuilt.nb
    results = [CellResult(i, exercise_of(c), rebuilt.roles[i]) for i, c in enumerate(nb.cells)
               if c.cell_type == "code"]
    sources = {r.index: nb.cells[r.index].source for r in results}
    allowed = {r.index for r in results if r.role == INSTRUCTOR
               and "raises-exception" in nb.cells[r.index].metadata.get("tags", [])}
    deadline = time.monotonic() + limits.notebook_timeout
    done_ok: list[CellResult] = []
    with ExitStack() as stack:
        kernel = _start(stack, nb, cwd, limits, [], sources, allowed)
        for pos, result in enumerate(results):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.status = "timeout"
                result.message = f"No se ejecutó: se agotó el tiempo total del cuaderno ({limits.notebook_timeout:g} s)."
                continue
            if isinstance(kernel, str):
                result.message = kernel
                continue
            result.status, result.message = _step(kernel, result, sources[result.index],
                                                  min(limits.cell_timeout, remaining), result.index in allowed)
            if result.status == "ok":
                done_ok.append(result)
            elif result.status in ("timeout", "dead") and pos + 1 < len(results):
                stack.close()
                _cancel_orphans()
                kernel = _start(stack, nb, cwd, limits, done_ok, sources, allowed)
    _cancel_orphans()
    return results


def _start(stack: ExitStack, nb: nbformat.NotebookNode, cwd: Path, limits: Limits, replay: list[CellResult],
           sources: dict[int, str], allowed: set[int]) -> "_Kernel | str":
    """Arranca un kernel, activa las protecciones y repite ``replay``; devuelve el kernel o el motivo del fallo."""
    for attempt in range(3):  # con varios kernels a la vez, dos pueden elegir el mismo puerto libre: se reintenta
        try:
            kernel = stack.enter_context(_Kernel(nb, cwd, limits.cell_timeout))
            break
        except Exception as exc:  # noqa: BLE001
            if attempt == 2:
                return f"No se ejecutó: no arrancó el kernel de Python ({first_line(str(exc))})."
            time.sleep(0.5 + attempt)
    ok, why = kernel.guard(f"init({float(limits.memory_mb)!r})")
    if not ok:
        return f"No se ejecutó: no se pudieron activar las protecciones del corrector ({why})."
    for result in replay:
        status, _ = _step(kernel, result, sources[result.index], limits.cell_timeout, result.index in allowed)
        if status != "ok":
            return (f"No se ejecutó: tras reiniciar el kernel, la celda {result.index} falló al repetirla "
                    f"y no se pudo restaurar el estado.")
    return kernel
