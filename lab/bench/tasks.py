"""Las piezas comunes del benchmark: la carga de trabajo, la tarea "a mano" y las medidas intercaladas.

``plain_task`` hace exactamente las mismas llamadas a Pillow que el pipeline del laboratorio
(blur(3) + brightness(1.3) + sharpen, JPEG q90), sin cola, sin worker y sin log: es la
referencia de "un bucle normal" y la función que reciben ``ThreadPoolExecutor`` y
``ProcessPoolExecutor``. Vive en un módulo importable para que los procesos hijos la encuentren.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter

from lab.filters import BlurFilter, BrightnessFilter, FilterPipeline, SharpenFilter
from lab.filters.lut import brightness_lut

BLUR_RADIUS, BRIGHTNESS, QUALITY = 3, 1.3, 90


def bench_pipeline() -> FilterPipeline:
    """El pipeline del benchmark (el de las demos): blur(3) → brightness(1.3) → sharpen."""
    return FilterPipeline([BlurFilter(radius=BLUR_RADIUS), BrightnessFilter(factor=BRIGHTNESS), SharpenFilter()])


def plain_task(job: tuple[str, str]) -> float:
    """Procesa ``(entrada, salida)`` con llamadas directas a Pillow; devuelve los segundos que tardó."""
    start = time.perf_counter()
    source, target = job
    with Image.open(source) as image:
        image.load()
    image = image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    image = image.point(brightness_lut(BRIGHTNESS, "".join(image.getbands())))
    image = image.filter(ImageFilter.SHARPEN)
    image.save(target, quality=QUALITY)
    return time.perf_counter() - start


#: Lo que espera cada tarea de calentamiento (para que cada proceso del executor reciba una).
WARM_UP_SLEEP = 0.05


def warm_up(_: Any = None) -> int:
    """Tarea vacía para arrancar los procesos de un ``ProcessPoolExecutor`` antes de medir."""
    import os

    import lab.core  # noqa: F401  (los hijos del pool de lab también lo tienen cargado)

    time.sleep(WARM_UP_SLEEP)
    return os.getpid()


class SectionSkipped(Exception):
    """Una sección no se puede ejecutar aquí (falta un servicio, p. ej. Redis); el mensaje dice por qué."""


@dataclass
class BenchContext:
    """Configuración de una ejecución y lo que las secciones comparten (p. ej. el rendimiento de 1 núcleo)."""

    inputs: list[Path]
    out_dir: Path
    rounds: int = 3
    quick: bool = False
    size: tuple[int, int] = (1920, 1080)
    threads: Sequence[int] = (1, 2, 3, 4)
    cores: int = 1
    printer: Callable[[str], None] = print
    shared: dict[str, Any] = field(default_factory=dict)

    def jobs(self, variant: str) -> list[tuple[str, str]]:
        """Pares (entrada, salida) de una variante; cada variante escribe en su carpeta."""
        folder = self.out_dir / variant
        folder.mkdir(parents=True, exist_ok=True)
        return [(str(p), str(folder / p.name)) for p in self.inputs]

    def payloads(self, variant: str) -> list[dict[str, Any]]:
        """Los mismos pares como payloads de tarea de ``lab.workers``."""
        return [{"image_path": a, "output_path": b} for a, b in self.jobs(variant)]


def interleaved(variants: dict[str, Callable[[], float]], rounds: int, *, warmup: bool = False,
                ) -> dict[str, list[float]]:
    """Ejecuta las variantes intercaladas ``rounds`` veces; cada una devuelve sus segundos.

    El orden se invierte en cada ronda (A B, B A, A B...) para que ninguna variante vaya
    siempre primera (la primera paga cachés frías). Con ``warmup`` cada variante se ejecuta
    una vez antes, sin contar.
    """
    samples: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    if warmup:
        for name in order:
            variants[name]()
    for index in range(rounds):
        for name in (order if index % 2 == 0 else order[::-1]):
            samples[name].append(float(variants[name]()))
    return samples


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Mediana, mínimo, máximo y las muestras."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "samples": list(values)}


def compare(section: str, name: str, lab: Sequence[float], baseline: Sequence[float], *, higher_is_better: bool,
            op: str | None, target: float | None, unit: str = "s", note: str = "") -> dict[str, Any]:
    """Una fila de comparación con la razón por ronda (medidas emparejadas) y si cumple el objetivo.

    Con ``higher_is_better`` (p. ej. rendimiento) la razón es ``baseline / lab`` sobre tiempos:
    > 1 significa que lab es más rápido. Si no, ``lab / baseline`` (coste relativo).
    """
    pairs = [(b / a) if higher_is_better else (a / b) for a, b in zip(lab, baseline) if a > 0 and b > 0]
    ratio = summary(pairs) if pairs else None
    if ratio is not None:  # con la máquina cargada, los mínimos son la estimación menos ruidosa
        ratio["of_min"] = (min(baseline) / min(lab)) if higher_is_better else (min(lab) / min(baseline))
    ok = None
    if op and target is not None and ratio is not None:
        ok = ratio["median"] <= target if op == "<=" else ratio["median"] >= target
    return {"section": section, "name": name, "unit": unit, "lab": summary(lab), "baseline": summary(baseline),
            "ratio": ratio, "target": None if op is None else {"op": op, "value": target}, "ok": ok, "note": note}


def metric(section: str, name: str, values: Sequence[float], *, op: str | None = None, target: float | None = None,
           unit: str = "", note: str = "") -> dict[str, Any]:
    """Una fila con una sola magnitud (p. ej. µs por tarea) y, si lo hay, su objetivo."""
    stats = summary(values)
    ok = None
    if op and target is not None:
        ok = stats["median"] <= target if op == "<=" else stats["median"] >= target
    return {"section": section, "name": name, "unit": unit, "value": stats,
            "target": None if op is None else {"op": op, "value": target}, "ok": ok, "note": note}
