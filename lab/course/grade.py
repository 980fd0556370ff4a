"""Corrige cuadernos de ejercicios: los ejecuta con un núcleo nuevo y da una nota por ejercicio.

Cada cuaderno se ejecuta celda a celda con nbclient en un núcleo recién arrancado (en la
carpeta del cuaderno) y con un tiempo máximo por celda. Un ejercicio (etiqueta
``ejercicio:N.M``, ver ``lab.course.release``) está *aprobado* si todas sus celdas de comprobación
se ejecutan sin error; *suspendido* si alguna de sus celdas falla, agota el tiempo o mata
el núcleo; *no evaluado* si sus comprobaciones no llegaron a ejecutarse (se dice por qué).

Cuando una celda agota el tiempo o mata el núcleo, se descarta ese núcleo (con los hilos
que hubiera dejado en marcha), se arranca otro, se repiten las celdas que ya habían ido
bien y se sigue con las demás: los ejercicios posteriores se corrigen igual. No se usa
``pytest --nbval-lax`` porque nbval da por fallidas de antemano (xfail) todas las celdas
que siguen a un tiempo agotado, y aquí deben corregirse.

Uso: ``python -m lab.course.grade [CUADERNO|CARPETA ...] [--timeout S] [--out CARPETA]``. Imprime
una tabla en español, escribe ``notas.json`` y ``notas.xml`` (JUnit) y sale con 1 si algún
ejercicio no está aprobado.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from lab.course.release import ROOT, STUDENT_DIR, exercise_of, is_check

PASSED, FAILED, NOT_RUN = "aprobado", "suspendido", "no evaluado"
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_QUIET = logging.getLogger("lab.course.grade.nbclient")
_QUIET.setLevel(logging.CRITICAL)


@dataclass
class CellResult:
    """Resultado de una celda de código: ``status`` es ok, error, timeout, dead o not_run."""

    index: int
    exercise: str | None
    check: bool
    status: str = "not_run"
    message: str = ""


@dataclass
class ExerciseResult:
    """La nota de un ejercicio y la primera línea de su fallo."""

    id: str
    title: str
    status: str
    message: str = ""
    cells: list[int] = field(default_factory=list)


@dataclass
class NotebookReport:
    """La corrección de un cuaderno: una fila por ejercicio (y por celda suelta que falló)."""

    path: str
    exercises: list[ExerciseResult]
    cells: list[CellResult]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """``True`` si hay ejercicios y todos están aprobados."""
        return bool(self.exercises) and all(e.status == PASSED for e in self.exercises)

    def summary(self) -> dict[str, int]:
        """Cuántos ejercicios hay en cada estado."""
        return {s: sum(e.status == s for e in self.exercises) for s in (PASSED, FAILED, NOT_RUN)}


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


def kernel_env() -> dict[str, str]:
    """Entorno del núcleo: el repositorio en ``PYTHONPATH`` y tracebacks de IPython sin color."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    profile = ROOT / "tests" / "ipython"
    if "IPYTHONDIR" not in env and profile.is_dir():
        env["IPYTHONDIR"] = str(profile)
    return env


class _Kernel:
    """Un núcleo de Jupyter que ejecuta celdas sueltas con tiempo máximo."""

    def __init__(self, nb: nbformat.NotebookNode, cwd: Path, timeout: float):
        self.client = NotebookClient(
            copy.deepcopy(nb), timeout=int(max(1, round(timeout))), allow_errors=True, interrupt_on_timeout=False,
            kernel_name="python3", shutdown_kernel="immediate", record_timing=False, log=_QUIET,
            resources={"metadata": {"path": str(cwd)}}, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        self.client.on_cell_executed = self._on_executed
        self._reply: dict | None = None
        self._stack = ExitStack()

    def __enter__(self) -> "_Kernel":
        self._stack.enter_context(self.client.setup_kernel(env=kernel_env()))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()
        except Exception:  # noqa: BLE001 - el núcleo puede estar ya muerto; no importa
            pass

    def run(self, index: int, source: str, allowed_error: bool = False) -> tuple[str, str]:
        """Ejecuta ``source`` como la celda ``index``; devuelve ``(estado, mensaje)``.

        El estado sale de la respuesta ``execute_reply`` del núcleo, no de las salidas, que
        pueden perderse; las salidas de error solo se miran como respaldo.
        """
        cell = nbformat.v4.new_code_cell(source)
        self._reply = None
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return "timeout", (f"Tiempo agotado: más de {self.client.timeout} s "
                               f"(¿un bucle infinito o una espera que nunca acaba?).")
        except DeadKernelError:
            return "dead", "El núcleo de Python murió al ejecutar la celda."
        except Exception as exc:  # noqa: BLE001 - cualquier fallo de comunicación cuenta como núcleo muerto
            return "dead", f"Se perdió el núcleo al ejecutar la celda: {first_line(str(exc))}"
        if allowed_error:
            return "ok", ""
        content = (self._reply or {}).get("content", {})
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if content.get("status") == "error":
            return "error", error_line(content)
        if errors or content.get("status") not in ("ok", None):
            return "error", error_line(errors[0]) if errors else f"La celda acabó con estado {content['status']}."
        return "ok", ""

    def _on_executed(self, execute_reply: dict, **_: object) -> None:
        self._reply = execute_reply


def _cancel_orphans() -> None:
    """Cancela las tareas de sondeo que nbclient deja vivas tras un tiempo agotado.

    Si siguieran vivas se comerían los mensajes del núcleo nuevo (salidas perdidas).
    """
    async def cancel() -> None:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task() and task.get_coro().__name__.startswith("_async_poll"):
                task.cancel()
    try:
        run_sync(cancel)()
    except Exception:  # noqa: BLE001 - no hay bucle o ya no queda nada que cancelar
        pass


def _where(nb: nbformat.NotebookNode, index: int) -> str:
    """Cómo nombrar una celda: su primer comentario hasta los dos puntos (``Comprobación 1.1 a``) o ``celda N``."""
    first = nb.cells[index].source.lstrip().split("\n", 1)[0]
    if first.startswith("#") and first.lstrip("# ").strip():
        return first.lstrip("# ").split(":", 1)[0].strip()[:60]
    return f"celda {index}"


def _title(nb: nbformat.NotebookNode, exercise: str) -> str:
    """El título del ejercicio: el primer encabezado markdown de sus celdas, sin «Ejercicio N.M»."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and exercise_of(cell) == exercise:
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    text = line.lstrip("#").strip().replace("`", "")
                    text = re.sub(rf"^Ejercicio\s+{re.escape(exercise)}\s*[:.—–-]*\s*", "", text)
                    return text[:1].upper() + text[1:]
    return ""


def run_cells(nb: nbformat.NotebookNode, cwd: Path, timeout: float) -> list[CellResult]:
    """Ejecuta las celdas de código de ``nb`` y devuelve el resultado de cada una.

    Tras un tiempo agotado o un núcleo muerto arranca otro núcleo, repite las celdas que
    ya habían ido bien y sigue; si no puede, las celdas restantes quedan sin ejecutar
    (``not_run``) con el motivo.
    """
    results = [CellResult(i, exercise_of(c), is_check(c)) for i, c in enumerate(nb.cells)
               if c.cell_type == "code"]
    sources = {r.index: nb.cells[r.index].source for r in results}
    allowed = {r.index for r in results if "raises-exception" in nb.cells[r.index].metadata.get("tags", [])}
    done_ok: list[int] = []
    with ExitStack() as stack:
        kernel = _start(stack, nb, cwd, timeout, [], sources, allowed)
        for pos, result in enumerate(results):
            if isinstance(kernel, str):
                result.message = kernel
                continue
            result.status, result.message = kernel.run(result.index, sources[result.index],
                                                       allowed_error=result.index in allowed)
            if result.status == "ok":
                done_ok.append(result.index)
            elif result.status in ("timeout", "dead") and pos + 1 < len(results):
                stack.close()
                _cancel_orphans()
                kernel = _start(stack, nb, cwd, timeout, done_ok, sources, allowed)
    _cancel_orphans()
    return results


def _start(stack: ExitStack, nb: nbformat.NotebookNode, cwd: Path, timeout: float, replay: list[int],
           sources: dict[int, str], allowed: set[int]) -> "_Kernel | str":
    """Arranca un núcleo y repite las celdas ``replay``; devuelve el núcleo o el motivo del fallo."""
    try:
        kernel = stack.enter_context(_Kernel(nb, cwd, timeout))
    except Exception as exc:  # noqa: BLE001
        return f"No se ejecutó: no arrancó el núcleo de Python ({first_line(str(exc))})."
    for index in replay:
        status, _ = kernel.run(index, sources[index], allowed_error=index in allowed)
        if status != "ok":
            return (f"No se ejecutó: tras reiniciar el núcleo, la celda {index} falló al repetirla "
                    f"y no se pudo restaurar el estado.")
    return kernel


def grade_notebook(path: str | Path, timeout: float = 30) -> NotebookReport:
    """Corrige un cuaderno y devuelve su informe.

    ``timeout`` es el máximo de segundos por celda. Lanza ``FileNotFoundError`` si el cuaderno
    no existe y los errores de nbformat si no es un cuaderno válido.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    cells = run_cells(nb, path.resolve().parent, timeout)
    return summarize(nb, cells, str(path), time.perf_counter() - start)


def summarize(nb: nbformat.NotebookNode, cells: list[CellResult], path: str = "",
              seconds: float = 0.0) -> NotebookReport:
    """Reúne los resultados por celda en una fila por ejercicio (más una por celda suelta que falló)."""
    rows: list[ExerciseResult] = []
    order: list[str] = []
    for cell in nb.cells:
        exercise = exercise_of(cell)
        if exercise and exercise not in order:
            order.append(exercise)
    for exercise in order:
        mine = [c for c in cells if c.exercise == exercise]
        checks = [c for c in mine if c.check]
        failed = [c for c in mine if c.status in ("error", "timeout", "dead")]
        pending = [c for c in checks if c.status == "not_run"]
        if failed:
            status, message = FAILED, f"{_where(nb, failed[0].index)}: {failed[0].message}"
        elif pending:
            status, message = NOT_RUN, pending[0].message or "sus comprobaciones no llegaron a ejecutarse."
        elif not checks:
            status, message = NOT_RUN, "no tiene celdas de comprobación (etiqueta 'comprobacion')."
        else:
            status, message = PASSED, ""
        rows.append(ExerciseResult(exercise, _title(nb, exercise), status, message, [c.index for c in mine]))
    for cell in cells:
        if cell.exercise is None and cell.status in ("error", "timeout", "dead"):
            rows.append(ExerciseResult(f"celda {cell.index}", "fuera de los ejercicios", FAILED, cell.message,
                                       [cell.index]))
    if not rows:
        rows.append(ExerciseResult("-", "", NOT_RUN, "el cuaderno no tiene ejercicios (etiqueta 'ejercicio:N.M')."))
    return NotebookReport(path, rows, cells, seconds)


def format_table(report: NotebookReport) -> str:
    """La tabla en español de un informe: ejercicio, estado y primera línea del fallo."""
    rows = [(f"{e.id} {e.title}".strip(), e.status, e.message) for e in report.exercises]
    width = max([len("Ejercicio")] + [len(r[0]) for r in rows])
    lines = [f"Cuaderno: {report.path}", f"  {'Ejercicio':<{width}}  {'Estado':<11}  Detalle"]
    lines += [f"  {name:<{width}}  {status:<11}  {detail}".rstrip() for name, status, detail in rows]
    summary = report.summary()
    lines.append("  Resumen: " + ", ".join(f"{n} {s}" for s, n in summary.items()) + ".")
    return "\n".join(lines)


def to_json(reports: list[NotebookReport], timeout: float) -> dict:
    """Los informes como datos JSON."""
    return {"timeout": timeout,
            "passed": all(r.passed for r in reports),
            "notebooks": [{**asdict(r), "summary": r.summary()} for r in reports]}


def to_junit(reports: list[NotebookReport]) -> ET.ElementTree:
    """Los informes en formato JUnit XML: un ``testsuite`` por cuaderno y un ``testcase`` por ejercicio."""
    root = ET.Element("testsuites", name="ejercicios")
    for report in reports:
        summary = report.summary()
        suite = ET.SubElement(root, "testsuite", name=report.path, tests=str(len(report.exercises)),
                              failures=str(summary[FAILED]), skipped=str(summary[NOT_RUN]),
                              time=f"{report.seconds:.3f}")
        for exercise in report.exercises:
            case = ET.SubElement(suite, "testcase", classname=Path(report.path).stem,
                                 name=f"Ejercicio {exercise.id} {exercise.title}".strip())
            if exercise.status == FAILED:
                ET.SubElement(case, "failure", message=exercise.message)
            elif exercise.status == NOT_RUN:
                ET.SubElement(case, "skipped", message=exercise.message)
    return ET.ElementTree(root)


def _expand(paths: list[str]) -> list[Path]:
    """Los cuadernos de ``paths`` (las carpetas se expanden), relativos a la carpeta actual si cuelgan de ella."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_absolute() and path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())
        found.extend(sorted(path.glob("*.ipynb")) if path.is_dir() else [path])
    return found


def add_parser(subparsers: Any) -> None:
    """Registra la orden ``grade`` en la línea de órdenes (``python -m lab grade``)."""
    parser = subparsers.add_parser("grade", help="corrige los cuadernos de ejercicios", description="Corrige los cuadernos de ejercicios.")
    parser.add_argument("paths", nargs="*", default=[str(STUDENT_DIR)],
                        help=f"cuadernos o carpetas (por defecto {STUDENT_DIR.relative_to(ROOT)})")
    parser.add_argument("--timeout", type=float, default=30, help="segundos máximos por celda (30)")
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "notas",
                        help="carpeta donde escribir notas.json y notas.xml (output/notas)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """La orden ``grade``; devuelve el código de salida."""
    notebooks = _expand(args.paths)
    missing = [p for p in notebooks if not p.is_file()]
    if not notebooks or missing:
        print(f"Error: no encuentro cuadernos en {', '.join(map(str, missing or args.paths))}.", file=sys.stderr)
        return 2
    reports = []
    for path in notebooks:
        try:
            report = grade_notebook(path, timeout=args.timeout)
        except Exception as exc:  # noqa: BLE001 - un cuaderno ilegible no impide corregir los demás
            reason = f"No se pudo leer el cuaderno ({type(exc).__name__}: {first_line(str(exc))})."
            report = NotebookReport(str(path), [ExerciseResult("-", "", NOT_RUN, reason)], [])
        print(format_table(report) + "\n", flush=True)
        reports.append(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "notas.json").write_text(json.dumps(to_json(reports, args.timeout), ensure_ascii=False, indent=2)
                                         + "\n", encoding="utf-8")
    tree = to_junit(reports)
    ET.indent(tree)
    tree.write(args.out / "notas.xml", encoding="utf-8", xml_declaration=True)
    print(f"Informe escrito en {args.out / 'notas.json'} y {args.out / 'notas.xml'}.")
    return 0 if all(r.passed for r in reports) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.course.grade`` es un alias de ``python -m lab grade``."""
    from lab.__main__ import main as lab_main

    return lab_main(["grade", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
