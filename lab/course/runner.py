"""Ejecuta un cuaderno reconstruido celda a celda en un kernel nuevo, con límites y protecciones.

Cada celda se ejecuta en un kernel recién arrancado (``lab.course.kernel``), aislado en su
sandbox si lo hay (``lab.course.sandbox``), con un tiempo máximo por celda, un tiempo máximo para
todo el cuaderno y un límite de memoria (``Limits``). Las celdas de respuesta se ejecutan como
en Jupyter; las del profesorado y las comprobaciones las ejecuta el guardián del corrector dentro
del kernel (``lab.course.guard``), que deshace antes lo que tocaron las respuestas y responde
firmado.

Cuando una celda agota el tiempo o mata el kernel, se descarta ese kernel (con los procesos e
hilos que hubiera dejado en marcha), se arranca otro, se repiten las celdas que ya habían ido
bien y se sigue con las demás: los ejercicios posteriores se corrigen igual. No se usa ``pytest
--nbval-lax`` porque nbval da por fallidas de antemano todas las celdas que siguen a un tiempo
agotado, y aquí deben corregirse.
"""

from __future__ import annotations

import asyncio
import time

import nbformat
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from nbclient.util import run_sync

from lab.course.rebuild import ANSWER, CHECK, HIDDEN, INSTRUCTOR, Rebuilt
from lab.course.kernel import Kernel, error_line, first_line, kernel_env
from lab.course.release import exercise_of
from lab.course.sandbox import detect

__all__ = ["CellResult", "Limits", "error_line", "first_line", "kernel_env", "run_cells"]


@dataclass
class Limits:
    """Límites de una ejecución: segundos por celda y por cuaderno, MB de memoria extra (0 = sin límite) y aislamiento.

    ``sandbox=False`` no aísla aunque haya bubblewrap (``sandbox.detect()``); por defecto se aísla si se puede.
    """

    cell_timeout: float = 30
    notebook_timeout: float = 300
    memory_mb: float = 1024
    sandbox: bool = True


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


def _step(kernel: Kernel, result: CellResult, source: str, timeout: float, allowed: bool) -> tuple[str, str]:
    """Una celda: la respuesta, como en Jupyter; lo demás, por el guardián (una celda con error permitido cuenta como ok)."""
    if result.role == ANSWER:
        return kernel.answer(result.index, source, timeout)
    status, message = kernel.trusted(result.index, source, result.role, timeout)
    if status == "error" and allowed:
        return "ok", ""
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
           sources: dict[int, str], allowed: set[int]) -> "Kernel | str":
    """Arranca un kernel, activa las protecciones y repite ``replay``; devuelve el kernel o el motivo del fallo."""
    for attempt in range(3):  # con varios kernels a la vez, dos pueden elegir el mismo puerto libre: se reintenta
        try:
            kernel = stack.enter_context(Kernel(nb, cwd, limits.cell_timeout, detect() if limits.sandbox else None))
            break
        except Exception as exc:  # noqa: BLE001
            if attempt == 2:
                return f"No se ejecutó: no arrancó el kernel de Python ({first_line(str(exc))})."
            time.sleep(0.5 + attempt)
    ok, why = kernel.install_guard(limits.memory_mb)
    if not ok:
        return f"No se ejecutó: no se pudieron activar las protecciones del corrector ({why})."
    for result in replay:
        status, _ = _step(kernel, result, sources[result.index], limits.cell_timeout, result.index in allowed)
        if status != "ok":
            return (f"No se ejecutó: tras reiniciar el kernel, la celda {result.index} falló al repetirla "
                    f"y no se pudo restaurar el estado.")
    return kernel
