"""``python -m lab bench``: el benchmark de rendimiento, lab frente a la biblioteca estándar, lado a lado.

Una sola ejecución con rondas intercaladas (A B A B ...): cada comparación da la mediana y el
rango (mín.–máx.) de cada lado y la razón medida ronda a ronda, con su objetivo al lado
(✅/❌). Nunca se comparan tiempos absolutos entre ejecuciones distintas.

Carga: 12 JPEG de 1920x1080 de ``lab.images.make_workload`` (en ``output/bench/``), pipeline
blur(3) + brightness(1.3) + sharpen y JPEG q90. Secciones: ``overhead``, ``threads``,
``processes``, ``queue``, ``filters`` (``lab.bench.sections``), ``memory`` y ``allocator``
(``lab.bench.memory``) y ``redis`` (``lab.bench.redis_rq``; se omite, diciendo por qué, si no hay
servidor, ``redis`` o ``rq``).

Los cuadernos usan ``run_bench(...)`` y reciben el mismo dict que ``--json`` escribe.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import lab
import lab.bench.memory as memory
import lab.bench.redis_rq as redis_rq
from lab.bench.sections import SECTIONS
from lab.bench.tasks import BenchContext, SectionSkipped

JSON_VERSION = 1
DEFAULT_TASKS, DEFAULT_SIZE = 12, (1920, 1080)
QUICK_TASKS, QUICK_SIZE = 4, (960, 540)


def sections() -> dict[str, Callable[[BenchContext], list[dict[str, Any]]]]:
    """Todas las secciones, en el orden en que se ejecutan (cada una devuelve sus filas o lanza ``SectionSkipped``)."""
    return {**SECTIONS, "memory": memory.peak_rss, "allocator": memory.allocator, "redis": redis_rq.run_section}


def machine_info() -> dict[str, Any]:
    """Núcleos, Python, Pillow y sistema: para saber dónde se midió."""
    import PIL

    return {"cpus": os.cpu_count() or 1, "python": platform.python_version(), "pillow": PIL.__version__,
            "platform": platform.platform(), "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def run_bench(*, quick: bool = False, rounds: int | None = None, tasks: int | None = None,
              size: tuple[int, int] | None = None, only: Sequence[str] | None = None,
              out_dir: str | os.PathLike | None = None, threads: Sequence[int] | None = None,
              printer: Callable[[str], None] = print) -> dict[str, Any]:
    """Ejecuta el benchmark y devuelve el informe (el mismo dict que escribe ``--json``).

    ``quick`` usa una carga pequeña (4 tareas de 960x540, 1 ronda, 1 y 2 hilos) para los
    tests y la CI. ``only`` limita las secciones. Lanza ``ValueError`` si una sección no existe.
    """
    available = sections()
    chosen = list(available) if not only else list(only)
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise ValueError(f"Sección desconocida {unknown[0]!r}; las disponibles son: {', '.join(available)}.")
    from lab.images import make_workload

    size = size or (QUICK_SIZE if quick else DEFAULT_SIZE)
    tasks = tasks or (QUICK_TASKS if quick else DEFAULT_TASKS)
    rounds = rounds or (1 if quick else 3)
    root = Path(out_dir) if out_dir is not None else lab.OUTPUT_DIR / "bench"
    inputs = make_workload(root / f"entradas-{size[0]}x{size[1]}", n=tasks, size=size)
    cores = os.cpu_count() or 1
    ctx = BenchContext(inputs=inputs, out_dir=root / "salidas", rounds=rounds, quick=quick, size=size,
                       threads=tuple(threads or ((1, 2) if quick else (1, 2, 3, 4))), cores=cores, printer=printer)
    report: dict[str, Any] = {
        "version": JSON_VERSION, "machine": machine_info(),
        "config": {"tasks": tasks, "size": list(size), "rounds": rounds, "quick": quick, "threads": list(ctx.threads),
                   "pipeline": "blur(3) + brightness(1.3) + sharpen, JPEG q90", "sections": chosen},
        "sections": {}, "skipped": {}, "rows": []}
    start = time.perf_counter()
    for name in chosen:
        printer(f"⏱  {name}...")
        began = time.perf_counter()
        try:
            rows = available[name](ctx)
        except SectionSkipped as exc:
            report["skipped"][name] = str(exc)
            printer(f"   omitida: {exc}")
            continue
        report["sections"][name] = {"rows": rows, "seconds": time.perf_counter() - began}
        report["rows"].extend(rows)
    report["seconds"] = time.perf_counter() - start
    checked = [row["ok"] for row in report["rows"] if row["ok"] is not None]
    report["targets_met"] = all(checked)
    report["targets"] = {"checked": len(checked), "met": sum(checked)}
    return report


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f}s"
    if unit == "fracción":
        return f"{value:.0%}"
    return f"{value:.1f}"


def _amount(value: float, unit: str) -> str:
    """Un tiempo de una fila de comparación: en s, ms o µs según su tamaño (``s`` y ``s/tarea``)."""
    if not unit.startswith("s"):
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.3f}s"
    return f"{value * 1e3:.2f}ms" if value >= 1e-4 else f"{value * 1e6:.1f}µs"


def _target(row: dict[str, Any]) -> str:
    target = row.get("target")
    if not target:
        return ""
    value = f"{target['value']:.0%}" if row["unit"] == "fracción" else f"{target['value']:g}"
    unit = row["unit"] if row["unit"] not in ("s", "fracción") and "value" in row else ""
    return f"{target['op']} {value} {unit}".rstrip()


def format_table(report: dict[str, Any]) -> str:
    """El informe como tabla de texto en español (una línea por comparación)."""
    lines = [f"Benchmark de Workers Lab — {report['config']['tasks']} tareas de "
             f"{report['config']['size'][0]}x{report['config']['size'][1]}, {report['config']['rounds']} rondas "
             f"intercaladas, {report['machine']['cpus']} núcleos, Pillow {report['machine']['pillow']}",
             f"{'':2}{'comparación':<52} {'lab (mediana, mín–máx)':>28} {'referencia':>10} {'razón':>19}  objetivo"]
    section = None
    for row in report["rows"]:
        if row["section"] != section:
            section = row["section"]
            lines.append(f"— {section} —")
        goal = _target(row)
        mark = {True: "✅", False: "❌", None: "  "}[row["ok"]]
        if "value" in row:
            v = row["value"]
            unit = "" if row["unit"] in ("s", "fracción") else f" {row['unit']}"
            main = f"{_fmt(v['median'], row['unit'])} ({_fmt(v['min'], row['unit'])}–{_fmt(v['max'], row['unit'])}){unit}"
            lines.append(f"{mark}{row['name']:<52} {main:>28} {'':>10} {'':>19}  {goal}")
        else:
            lab_s, base, ratio, unit = row["lab"], row["baseline"], row["ratio"], row["unit"]
            main = f"{_amount(lab_s['median'], unit)} ({_amount(lab_s['min'], unit)}–{_amount(lab_s['max'], unit)})"
            r = "—" if ratio is None else f"{ratio['median']:.3f} ({ratio['min']:.2f}–{ratio['max']:.2f})"
            lines.append(f"{mark}{row['name']:<52} {main:>28} {_amount(base['median'], unit):>10} {r:>19}  {goal}")
        note = row.get("note", "")
        if row.get("ratio"):
            note = f"razón de los mínimos {row['ratio']['of_min']:.3f}" + (f"; {note}" if note else "")
        if note:
            lines.append(f"{'':4}{note}")
    for name, why in report.get("skipped", {}).items():
        lines.append(f"  {name}: omitida ({why})")
    met = report["targets"]
    lines.append(f"Objetivos cumplidos: {met['met']}/{met['checked']} · {report['seconds']:.0f}s · carga media "
                 f"{', '.join(f'{x:.1f}' for x in report['machine']['load_average'] or [])}")
    return "\n".join(lines)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"tamaño no válido {text!r}: usa ANCHOxALTO, p. ej. 1920x1080") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"tamaño no válido {text!r}: ancho y alto deben ser >= 1")
    return width, height


def command(args: argparse.Namespace) -> int:
    """La orden ``bench``: ejecuta, imprime la tabla y, con ``--json``, guarda el informe."""
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    report = run_bench(quick=args.quick, rounds=args.rounds, tasks=args.tasks, size=args.size, only=only,
                       out_dir=args.dir, printer=lambda text: print(text, file=sys.stderr))
    print(format_table(report), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        text = json.dumps(report, indent=1, ensure_ascii=False)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(text + "\n", encoding="utf-8")
            print(f"📄 Informe JSON en {args.json}")
    return 0


def add_parser(subparsers: Any) -> None:
    """Registra la orden ``bench`` en la línea de órdenes (``python -m lab bench``)."""
    parser = subparsers.add_parser("bench", help="benchmark: lab frente a la biblioteca estándar",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="RUTA", help="guarda el informe completo en JSON ('-' = salida estándar)")
    parser.add_argument("--rounds", type=int, metavar="N", help="rondas intercaladas (3; 1 con --quick)")
    parser.add_argument("--quick", action="store_true", help="carga pequeña para tests y CI (4 tareas de 960x540)")
    parser.add_argument("--tasks", type=int, metavar="N", help="número de tareas (12; 4 con --quick)")
    parser.add_argument("--size", type=_size, metavar="ANCHOxALTO", help="tamaño de las imágenes (1920x1080)")
    parser.add_argument("--only", metavar="SECCIONES", help="solo estas secciones, separadas por comas")
    parser.add_argument("--dir", metavar="CARPETA", help="carpeta de entradas y salidas (output/bench)")
    parser.set_defaults(func=command)
