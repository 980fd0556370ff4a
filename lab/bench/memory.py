"""Memoria y asignador: pico de RSS de un pool con imágenes grandes y el efecto de la caché de bloques de Pillow.

``peak_rss`` lanza un proceso Python nuevo (``python -m lab.bench.memory ...``) para que su pico
de memoria (``ru_maxrss``) no arrastre lo que ya usó el benchmark; ese proceso procesa las
tareas con un ``WorkerPool`` de hilos e imprime una línea JSON.

``allocator`` compara, en este mismo proceso y con rondas intercaladas, el bucle a mano con
la caché de bloques de Pillow apagada (``Image.core.set_blocks_max(0)``, lo normal) y
encendida: con ella Pillow reutiliza la memoria de las imágenes en vez de pedir (y estrenar)
páginas nuevas al sistema en cada imagen.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from lab import PROJECT_DIR
from lab.bench.tasks import BenchContext, compare, interleaved, metric, plain_task

#: Bloques que guarda la caché de Pillow cuando se activa (cada bloque, como mucho 16 MB).
BLOCKS_MAX = 16


def _rss_mb() -> float:
    """Pico de memoria residente de este proceso en MB.

    En Linux se lee ``VmHWM`` de ``/proc/self/status``: ``ru_maxrss`` arrastra la memoria del
    proceso padre de antes del ``exec`` y daría un pico falso.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def peak_rss(ctx: BenchContext) -> list[dict[str, Any]]:
    """Pico de RSS de un ``WorkerPool`` de 4 hilos con 8 imágenes de 4000x3000 (con ``quick``, 2 hilos y la carga rápida)."""
    from lab.images import make_workload

    size, n, workers = (ctx.size, len(ctx.inputs), 2) if ctx.quick else ((4000, 3000), 8, 4)
    inputs = make_workload(ctx.out_dir.parent / f"entradas-{size[0]}x{size[1]}", n=n, size=size)
    command = [sys.executable, "-m", "lab.bench.memory", "--workers", str(workers), "--out", str(ctx.out_dir / "memoria"),
               *map(str, inputs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    if done.returncode != 0:
        raise RuntimeError(f"La medida de memoria falló: {done.stderr.strip()[-500:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    image_mb = size[0] * size[1] * 4 / 2**20
    return [metric("memory", f"pico de RSS, {workers} workers, {n} imágenes de {size[0]}x{size[1]}",
                   [data["peak_rss_mb"]], unit="MB",
                   note=f"antes de procesar: {data['baseline_rss_mb']:.0f} MB; una imagen en Pillow ocupa "
                        f"{image_mb:.0f} MB; {data['completed']} tareas completadas")]


def allocator(ctx: BenchContext) -> list[dict[str, Any]]:
    """Bucle a mano con la caché de bloques de Pillow encendida frente a apagada (mismos bytes de salida)."""
    jobs_off, jobs_on = ctx.jobs("bloques-0"), ctx.jobs(f"bloques-{BLOCKS_MAX}")
    previous = Image.core.get_blocks_max()

    def run(blocks: int, jobs: list) -> float:
        Image.core.set_blocks_max(blocks)
        start = time.perf_counter()
        for job in jobs:
            plain_task(job)
        return time.perf_counter() - start

    try:
        samples = interleaved({"on": lambda: run(BLOCKS_MAX, jobs_on), "off": lambda: run(0, jobs_off)}, ctx.rounds,
                              warmup=not ctx.quick)
    finally:
        Image.core.set_blocks_max(previous)
    same = all(Path(a[1]).read_bytes() == Path(b[1]).read_bytes() for a, b in zip(jobs_on, jobs_off))
    row = compare("allocator", f"caché de bloques de Pillow ({BLOCKS_MAX}) / sin caché", samples["on"], samples["off"],
                  higher_is_better=False, op=None, target=None,
                  note=f"bucle a mano, {len(jobs_on)} tareas; salidas idénticas: {'sí' if same else 'NO'}")
    row["same_output"] = same
    return [row]


def main(argv: list[str] | None = None) -> int:
    """Proceso de medida: procesa las imágenes con un ``WorkerPool`` e imprime el pico de RSS en JSON."""
    parser = argparse.ArgumentParser(prog="python -m lab.bench.memory")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", required=True)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    from lab.bench.tasks import bench_pipeline
    from lab.workers import TaskQueue, WorkerPool
    from lab.workers.logs import configure_logging

    configure_logging(level="WARNING")
    baseline = _rss_mb()
    queue = TaskQueue()
    os.makedirs(args.out, exist_ok=True)
    queue.add_tasks({"image_path": p, "output_path": os.path.join(args.out, os.path.basename(p))} for p in args.inputs)
    stats = WorkerPool(args.workers, bench_pipeline(), queue).run()
    print(json.dumps({"peak_rss_mb": _rss_mb(), "baseline_rss_mb": baseline, "completed": stats["tasks_completed"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
