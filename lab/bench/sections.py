"""Las comparaciones del benchmark, una función por sección; cada una devuelve filas de ``bench_tasks``.

1. ``overhead``: ``SimpleWorker`` frente a un bucle con las mismas llamadas a Pillow.
2. ``threads``: ``WorkerPool`` de 1..4 hilos frente a ``ThreadPoolExecutor`` del mismo tamaño, y
   el speedup de ``WorkerPool(n)`` frente a ``WorkerPool(1)`` medido en las mismas rondas.
3. ``processes``: ``ProcessWorkerPool`` frente a ``ProcessPoolExecutor`` y frente al límite de
   la máquina (rendimiento de un núcleo × núcleos, medido en la misma ejecución).
4. ``queue``: coste de ``TaskQueue`` (add + get + mark) frente a ``queue.Queue`` (put + get), sin
   trabajo: una cifra informativa (sin objetivo), puesta al lado de lo que dura una tarea de imagen.
5. ``filters``: cada filtro de ``lab`` frente a la llamada directa a Pillow que envuelve.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import queue as stdlib_queue
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable, Iterator

from PIL import Image, ImageChops, ImageEnhance, ImageFilter

from lab.bench.tasks import (WARM_UP_SLEEP, BenchContext, bench_pipeline, compare, interleaved, metric,
                             plain_task, summary, warm_up)
from lab.filters import (BlurFilter, BrightnessFilter, ContrastFilter, EdgeFilter, GrayscaleFilter,
                         ResizeFilter, SharpenFilter)
from lab.workers import SimpleWorker, TaskQueue, WorkerPool
from lab.workers.logs import GuideFormatter, configure_logging
from lab.workers.pool import ProcessWorkerPool
from lab.workers.process.child import default_start_method

#: Los objetivos son los que ve quien usa el paquete: el marco frente al bucle a mano sobre tareas de
#: imagen, los pools frente a sus pares de la biblioteca estándar (y al límite de la máquina) y, en
#: ``redis_rq``, la cola de Redis frente a RQ. El coste de la cola en memoria sin trabajo (sección
#: ``queue``) se informa sin objetivo: unos µs por tarea al lado de 10–100 ms de una imagen.
FRAMEWORK_TARGET, EXECUTOR_TARGET, LIMIT_TARGET = 1.03, 0.97, 0.90
# Un filtro que envuelve una llamada de Pillow hace esa misma llamada: la razón esperada es 1. El
# objetivo solo detecta copias o conversiones de más (que cuestan un 30 % o más); con la máquina
# compartida, la razón de una operación de milisegundos oscila ±15 % entre ejecuciones.
FILTER_TARGET = 1.25


@contextlib.contextmanager
def worker_logs_to_memory() -> Iterator[None]:
    """Los logs de los workers se formatean igual (se paga su coste) pero no salen por la terminal."""
    root = configure_logging()
    saved = list(root.handlers)
    sink = logging.StreamHandler(io.StringIO())
    sink.setFormatter(GuideFormatter())
    sink._lab_worker_handler = True  # type: ignore[attr-defined]
    root.handlers = [sink]
    try:
        yield
    finally:
        root.handlers = saved


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# --- 1. sobrecoste del framework -----------------------------------------------------------

def overhead(ctx: BenchContext) -> list[dict[str, Any]]:
    """``SimpleWorker`` (cola + worker + log) frente al bucle a mano, emparejados tarea a tarea.

    Cada tarea se procesa de las dos maneras, una detrás de otra (y el orden se alterna): a mano
    y con un ``SimpleWorker`` sobre una ``TaskQueue`` con esa única tarea (así el worker paga
    además su arranque en cada tarea: la medida es conservadora). Emparejar tarea a tarea hace
    la razón robusta aunque la máquina esté cargada. Guarda el rendimiento de 1 núcleo.
    """
    pipeline, plain_jobs, payloads = bench_pipeline(), ctx.jobs("bucle"), ctx.payloads("simple")
    samples: dict[str, list[float]] = {"lab": [], "plain": []}

    def lab(payload: dict[str, Any]) -> float:
        start = time.perf_counter()
        queue = TaskQueue()
        queue.add_task(payload)
        SimpleWorker("bench-1", pipeline, queue).start()
        return time.perf_counter() - start

    with worker_logs_to_memory():
        for job, payload in zip(plain_jobs, payloads):  # calentamiento
            plain_task(job), lab(payload)
        for index in range(ctx.rounds):
            for job, payload in zip(plain_jobs, payloads):
                first_lab = (index + len(samples["lab"])) % 2 == 0  # alterna quién va primero
                if first_lab:
                    samples["lab"].append(lab(payload))
                samples["plain"].append(plain_task(job))
                if not first_lab:
                    samples["lab"].append(lab(payload))
    n = len(ctx.inputs)
    per_task = statistics.median(samples["plain"])
    ctx.shared["single_core_throughput"] = 1 / per_task
    return [compare("overhead", "SimpleWorker / bucle a mano, por tarea", samples["lab"], samples["plain"],
                    higher_is_better=False, op="<=", target=FRAMEWORK_TARGET,
                    note=f"{n} tareas × {ctx.rounds} rondas emparejadas tarea a tarea; tiempos por tarea; "
                         "razón de tiempos (menor es mejor)")]


# --- 2. hilos ----------------------------------------------------------------------------

def threads(ctx: BenchContext) -> list[dict[str, Any]]:
    """``WorkerPool(n)`` frente a ``ThreadPoolExecutor(n)`` y, para n > 1, frente a ``WorkerPool(1)``.

    Para cada n de ``ctx.threads``, las variantes van intercaladas en las mismas rondas: el pool
    de 1 hilo (solo si n > 1), el de n hilos y el executor de n hilos. El orden (1, n, executor;
    executor, n, 1; ...) deja el pool de n hilos siempre junto a sus dos referencias y alterna
    cuál va primera. El speedup de cada ronda es ``t(1 hilo) / t(n hilos)`` de esa misma ronda;
    nunca se compara con tiempos de otra sección, medidos minutos antes y con otra carga.
    """
    pipeline, rows, n = bench_pipeline(), [], len(ctx.inputs)

    def pool_run(size: int, payloads: list) -> Callable[[], float]:
        def timed() -> float:
            def run() -> None:
                queue = TaskQueue()
                queue.add_tasks(payloads)
                WorkerPool(size, pipeline, queue).run()
            return _timed(run)
        return timed

    for size in ctx.threads:
        jobs = ctx.jobs(f"executor-{size}")

        def executor(size: int = size, jobs: list = jobs) -> float:
            def run() -> None:
                with ThreadPoolExecutor(size) as pool:
                    list(pool.map(plain_task, jobs))
            return _timed(run)

        variants: dict[str, Callable[[], float]] = {}
        if size > 1:  # la referencia del speedup, en las mismas rondas y junto al pool de n hilos
            variants["lab_1"] = pool_run(1, ctx.payloads(f"pool-1-frente-a-{size}"))
        variants["lab"] = pool_run(size, ctx.payloads(f"pool-{size}"))
        variants["executor"] = executor
        with worker_logs_to_memory():
            samples = interleaved(variants, ctx.rounds, warmup=not ctx.quick)
        rows.append(compare("threads", f"WorkerPool({size}) / ThreadPoolExecutor({size})", samples["lab"],
                            samples["executor"], higher_is_better=True, op=">=", target=EXECUTOR_TARGET,
                            note=f"rendimiento relativo (mayor es mejor); {n} tareas"))
        if size > 1:
            rows.append(speedup_row(size, samples["lab"], samples["lab_1"], cores=ctx.cores))
    return rows


def speedup_row(size: int, pool_n: list[float], pool_1: list[float], *, cores: int) -> dict[str, Any]:
    """La fila del speedup de ``WorkerPool(size)`` frente a ``WorkerPool(1)``, ronda a ronda.

    ``pool_n[i]`` y ``pool_1[i]`` son de la misma ronda ``i``; la razón de cada ronda es
    ``pool_1[i] / pool_n[i]``. Añade ``ideal`` (``min(size, cores)``) y ``efficiency`` (el
    speedup de cada ronda dividido por el ideal). Informativa: sin objetivo.
    """
    ideal = min(size, max(cores, 1))
    row = compare("threads", f"speedup de {size} hilos frente a 1, misma ronda", pool_n, pool_1,
                  higher_is_better=True, op=None, target=None)
    efficiency = summary([value / ideal for value in row["ratio"]["samples"]]) if row["ratio"] else None
    row.update(threads=size, ideal=ideal, efficiency=efficiency)
    reading = (f"; eficiencia {efficiency['median']:.0%} ({efficiency['min']:.0%}–{efficiency['max']:.0%})"
               if efficiency else "")
    row["note"] = (f"WorkerPool(1) / WorkerPool({size}), tiempos de la misma ronda ({len(pool_n)} rondas, alternando "
                   f"quién va primero); ideal min({size} hilos, {cores} núcleos) = {ideal}{reading}")
    return row


# --- 3. procesos ---------------------------------------------------------------------------

def processes(ctx: BenchContext) -> list[dict[str, Any]]:
    """``ProcessWorkerPool`` frente a ``ProcessPoolExecutor`` y al límite de la máquina.

    Los dos arrancan sus procesos antes de medir (el arranque se mide aparte); usan el mismo
    método de arranque. El límite es el rendimiento del bucle a mano en un núcleo, medido en
    las mismas rondas (A B C A B C...), multiplicado por ``min(workers, núcleos)``.
    """
    size, method, n = max(ctx.cores, 1), default_start_method(), len(ctx.inputs)
    pipeline, jobs = bench_pipeline(), ctx.jobs(f"ppe-{size}")
    payloads = ctx.payloads(f"procesos-{size}")
    import multiprocessing

    context = multiprocessing.get_context(method)
    startup: dict[str, list[float]] = {"lab": [], "executor": []}

    def executor() -> float:
        start = time.perf_counter()
        with ProcessPoolExecutor(size, mp_context=context) as pool:
            list(pool.map(warm_up, range(size)))
            startup["executor"].append(time.perf_counter() - start - WARM_UP_SLEEP)
            return _timed(lambda: list(pool.map(plain_task, jobs)))

    def lab() -> float:
        start = time.perf_counter()
        pool = ProcessWorkerPool(size, pipeline, TaskQueue(), start_method=method)
        pool.prestart()
        startup["lab"].append(time.perf_counter() - start)
        try:
            def run() -> None:
                pool.queue.add_tasks(payloads)
                pool.run()
            return _timed(run)
        finally:
            pool.stop()

    plain_jobs = ctx.jobs("bucle-procesos")

    def plain() -> float:
        return _timed(lambda: [plain_task(job) for job in plain_jobs])

    with worker_logs_to_memory():
        # El doble de rondas: con dos procesos ocupando los dos núcleos, esta es la medida que
        # más sufre cualquier otra carga de la máquina.
        samples = interleaved({"lab": lab, "executor": executor, "plain": plain}, 2 * ctx.rounds,
                              warmup=not ctx.quick)
    startup = {key: values[-2 * ctx.rounds:] for key, values in startup.items()}  # sin el calentamiento
    rows = [compare("processes", f"ProcessWorkerPool({size}) / ProcessPoolExecutor({size})", samples["lab"],
                    samples["executor"], higher_is_better=True, op=">=", target=EXECUTOR_TARGET,
                    note=f"rendimiento relativo; arranque '{method}' medido aparte")]
    cores = min(size, ctx.cores)
    # Límite de cada ronda: el bucle a mano de esa misma ronda (1 núcleo) multiplicado por los núcleos.
    fractions = [t_plain / (t_lab * cores) for t_lab, t_plain in zip(samples["lab"], samples["plain"])]
    single = n / statistics.median(samples["plain"])
    rows.append(metric("processes", f"ProcessWorkerPool({size}) / límite de la máquina", fractions, op=">=",
                       target=LIMIT_TARGET, unit="fracción",
                       note=f"límite = bucle a mano de la misma ronda ({single:.2f} tareas/s, mediana) × {cores} núcleos"))
    rows.append(compare("processes", f"arranque de {size} procesos (lab / executor)", startup["lab"],
                        startup["executor"], higher_is_better=False, op=None, target=None,
                        note="informativo: no entra en las medidas de arriba"))
    return rows


# --- 4. cola -----------------------------------------------------------------------------------

def _lab_queue_ops(q: TaskQueue, count: int, payload: dict, result: dict, worker: str) -> None:
    for _ in range(count):
        q.add_task(payload)
        task = q.get_task(worker)
        q.mark_completed(task.id, result=result, worker_id=worker)


def _std_queue_ops(q: stdlib_queue.Queue, count: int, payload: dict, result: dict, worker: str) -> None:
    for _ in range(count):
        q.put(payload)
        q.get()
        q.task_done()


def _queue_time(make: Callable[[], Any], ops: Callable[..., None], total: int, n_threads: int) -> float:
    q, payload = make(), {"image_path": "images/photo1.jpg", "output_path": "output/photo1.jpg"}
    result = {"load": 0.01, "pipeline": 0.1, "save": 0.01, "total": 0.12, "filters": [["blur", 0.1]]}
    share = total // n_threads
    workers = [threading.Thread(target=ops, args=(q, share, payload, result, f"w{i}")) for i in range(n_threads)]
    start = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return (time.perf_counter() - start) / (share * n_threads) * 1e6


def queue_cost(ctx: BenchContext) -> list[dict[str, Any]]:
    """µs por tarea: ``TaskQueue`` add + get + mark frente a ``queue.Queue`` put + get + task_done.

    Informativo (sin objetivo). Si la sección ``overhead`` ya midió una tarea de imagen a mano,
    la nota dice qué fracción de esa tarea es el coste de la cola.
    """
    total = 2_000 if ctx.quick else 20_000
    # Lo que dejaron en memoria las secciones anteriores (imágenes, pools) no se mide: con el montón
    # congelado el recolector de basura no lo recorre. Importa porque la cola crea objetos en cada
    # tarea y queue.Queue casi ninguno: sin esto la razón sube de ~2,7 a ~3,4 con 2 millones de objetos vivos.
    gc.collect()
    gc.freeze()
    try:
        return _queue_rows(ctx, total)
    finally:
        gc.unfreeze()


def _queue_rows(ctx: BenchContext, total: int) -> list[dict[str, Any]]:
    rows = []
    image = ctx.shared.get("single_core_throughput")    # tareas de imagen por segundo, de ``overhead``
    for n_threads, label in ((1, "un hilo"), (4, "4 hilos a la vez")):
        samples = interleaved({
            "lab": lambda n=n_threads: _queue_time(TaskQueue, _lab_queue_ops, total, n),
            "std": lambda n=n_threads: _queue_time(stdlib_queue.Queue, _std_queue_ops, total, n)}, ctx.rounds,
            warmup=True)
        share = ""
        if image:
            cost = statistics.median(samples["lab"]) * 1e-6 * image
            share = f"; {cost:.3%} de una tarea de imagen a mano ({1e3 / image:.0f} ms)"
        rows.append(compare("queue", f"TaskQueue / queue.Queue, {label}", samples["lab"], samples["std"],
                            higher_is_better=False, op=None, target=None, unit="µs/tarea",
                            note=f"informativo; TaskQueue add+get+mark frente a queue.Queue put+get+task_done "
                                 f"(µs por tarea, misma ronda); {total} tareas{share}"))
    return rows


# --- 5. filtros ---------------------------------------------------------------------------------

def _max_diff(a: Image.Image, b: Image.Image) -> int:
    """La mayor diferencia por canal entre dos imágenes del mismo modo y tamaño."""
    extrema = ImageChops.difference(a, b).getextrema()
    return max(high for _, high in extrema) if isinstance(extrema[0], tuple) else extrema[1]


FILTER_CASES: list[tuple[str, Any, Callable[[Image.Image], Image.Image]]] = [
    ("blur(3)", BlurFilter(radius=3), lambda im: im.filter(ImageFilter.GaussianBlur(3))),
    ("brightness(1.3) [tabla]", BrightnessFilter(factor=1.3), lambda im: ImageEnhance.Brightness(im).enhance(1.3)),
    ("contrast(1.3)", ContrastFilter(factor=1.3), lambda im: ImageEnhance.Contrast(im).enhance(1.3)),
    ("sharpen", SharpenFilter(), lambda im: im.filter(ImageFilter.SHARPEN)),
    ("edges", EdgeFilter(), lambda im: im.filter(ImageFilter.FIND_EDGES)),
    ("grayscale", GrayscaleFilter(), lambda im: im.convert("L")),
    ("resize(0.5)", ResizeFilter(scale=0.5),
     lambda im: im.resize((round(im.width * 0.5), round(im.height * 0.5)), Image.Resampling.BICUBIC)),
]


def filters(ctx: BenchContext) -> list[dict[str, Any]]:
    """Cada filtro de ``lab`` frente a la llamada directa de Pillow, sobre la primera imagen de la carga."""
    with Image.open(ctx.inputs[0]) as image:
        image.load()
    rows = []
    for label, lab_filter, direct in FILTER_CASES:
        # Repeticiones por muestra: las que quepan en ~0,1 s (al menos 3), para que los filtros
        # rápidos (grises, brillo) no queden a merced del ruido del reloj y de la máquina.
        once = _timed(lambda d=direct: d(image))
        reps = 1 if ctx.quick else max(3, min(50, int(0.1 / max(once, 1e-4))))

        def timed(fn: Callable[[Image.Image], Image.Image], reps: int = reps) -> float:
            return _timed(lambda: [fn(image) for _ in range(reps)]) / reps

        samples = interleaved({"lab": lambda f=lab_filter: timed(f.apply), "pillow": lambda d=direct: timed(d)},
                              ctx.rounds, warmup=True)
        diff = _max_diff(lab_filter.apply(image), direct(image))
        fast = "tabla" in label
        rows.append(compare("filters", label, samples["lab"], samples["pillow"], higher_is_better=False,
                            op="<=", target=1.0 if fast else FILTER_TARGET,
                            note=f"diferencia máx. por canal: {diff}" + (" (debe ser <= 1)" if fast else "")))
        rows[-1]["max_channel_diff"] = diff
        if diff > (1 if fast else 0):
            rows[-1]["ok"] = False
    return rows


SECTIONS: dict[str, Callable[[BenchContext], list[dict[str, Any]]]] = {
    "overhead": overhead, "threads": threads, "processes": processes, "queue": queue_cost, "filters": filters,
}
