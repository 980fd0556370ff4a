"""Paneles con ipywidgets para los cuadernos 05, 06 y 07: experimentos con un botón y salud en directo.

- ``WorkersPanel`` (cuaderno 05): nº de workers, nº de imágenes, pipeline, «Ejecutar», barra de
  progreso y, al acabar, el speedup (medido, ideal y Amdahl), la línea de tiempo y el desglose.
- ``ConcurrencyPanel`` (cuaderno 06): ``max_concurrent`` de un ``AsyncWorker`` y su línea de tiempo.
- ``HealthDashboard`` (cuaderno 07): la salud de varios workers, refrescada mientras trabajan.

Los paneles solo llaman a funciones de ``lab.experiments`` y dibujan con ``lab.plots``: todo
lo que muestran se puede obtener y probar sin navegador. El experimento corre en un hilo
aparte (la barra avanza en el navegador mientras tanto) y las gráficas se escriben en el
``Output`` desde ese hilo, nunca durante la ejecución de la celda. ``panel.run(wait=True)``
hace lo mismo que el botón y espera. Cada widget lleva una clase CSS estable (``lab-...``)
para los tests de navegador.
"""

from __future__ import annotations

import base64
import html
import io
import os
import threading
import time
from typing import Any, Callable, Iterable

import ipywidgets as widgets
from matplotlib.figure import Figure

from lab import experiments, plots
from lab.plot_style import OKABE_ITO
from lab.workers.payload import describe_error

__all__ = ["WorkersPanel", "ConcurrencyPanel", "HealthDashboard", "figure_output", "watch"]


def figure_output(fig: Figure, dpi: int = 80) -> dict[str, Any]:
    """Una salida ``display_data`` con la figura en PNG, lista para ``Output.outputs``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                     "text/plain": f"<Figura: {fig.axes[0].get_title() if fig.axes else ''}>"}}


def _styled(widget: widgets.Widget, css_class: str) -> widgets.Widget:
    widget.add_class(css_class)
    return widget


class _Panel:
    """Lo común: botón «Ejecutar», barra de progreso, línea de estado, salida de gráficas y el hilo."""

    title = ""

    def __init__(self, controls: list[widgets.Widget]):
        self.button = _styled(widgets.Button(description="Ejecutar", button_style="primary", icon="play"),
                              "lab-run-button")
        self.progress = _styled(widgets.IntProgress(value=0, min=0, max=1, description="Progreso"), "lab-progress")
        self.status = _styled(widgets.HTML("Pulsa <b>Ejecutar</b> para lanzar el experimento."), "lab-status")
        self.chart = _styled(widgets.Output(), "lab-chart")
        self.widget = widgets.VBox([widgets.HTML(f"<h3>{self.title}</h3>"), *controls,
                                    widgets.HBox([self.button, self.progress]), self.status, self.chart])
        self.button.on_click(lambda _button: self.run())
        self.data: dict[str, Any] | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def running(self) -> bool:
        """``True`` mientras el experimento está en marcha."""
        return self._thread is not None and self._thread.is_alive()

    def run(self, wait: bool = False) -> None:
        """Lo que hace el botón: lanza el experimento en un hilo (y con ``wait=True`` espera a que acabe).

        Si ya hay uno en marcha no lanza otro.
        """
        if not self.running:
            self.button.disabled = True
            self.progress.value = 0
            self.error = None
            self.status.value = "⏳ Preparando las imágenes..."
            self._thread = threading.Thread(target=self._work, name=f"{type(self).__name__}", daemon=True)
            self._thread.start()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Espera a que acabe el experimento en curso; ``False`` si vence ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.status.value = f"⏳ {done} de {total} tareas terminadas..."

    def _work(self) -> None:
        try:
            data = self._experiment(self._on_progress)
            figures = self._figures(data)
            self.chart.outputs = tuple(figure_output(fig) for fig in figures)
            self.data = data
            self.status.value = self._summary(data)
        except Exception as exc:  # el panel muestra una frase; el detalle queda en self.error
            self.error = describe_error(exc)
            self.status.value = f"❌ No se pudo ejecutar el experimento: {html.escape(self.error)}."
        finally:
            self.button.disabled = False

    def _experiment(self, on_progress: Callable[[int, int], None]) -> dict[str, Any]:
        raise NotImplementedError

    def _figures(self, data: dict[str, Any]) -> list[Figure]:
        raise NotImplementedError

    def _summary(self, data: dict[str, Any]) -> str:
        raise NotImplementedError


class WorkersPanel(_Panel):
    """Panel del cuaderno 05: ejecuta 1..N workers sobre las mismas imágenes y dibuja el speedup.

    ``size`` es el tamaño de las imágenes (1920x1080, como la guía) y ``kind`` el tipo de pool.
    """

    title = "Múltiples workers: speedup"

    def __init__(self, workers: int | None = None, n_images: int = 12, size: tuple[int, int] = (1920, 1080),
                 pipeline: str = experiments.DEFAULT_PIPELINE, kind: str = "thread", **options: Any):
        cores = os.cpu_count() or 1
        self.size, self.kind, self.options = size, kind, options
        self.workers = _styled(widgets.IntSlider(value=workers or min(max(cores, 2), 8), min=1, max=8,
                                                 description="Workers"), "lab-workers-slider")
        self.images = _styled(widgets.IntSlider(value=n_images, min=2, max=48, description="Imágenes"),
                              "lab-images-slider")
        self.pipeline = _styled(widgets.Dropdown(options=experiments.pipeline_names(), value=pipeline,
                                                 description="Pipeline", layout={"width": "420px"}),
                                "lab-pipeline")
        super().__init__([self.workers, self.images, self.pipeline])

    def _experiment(self, on_progress: Callable[[int, int], None]) -> dict[str, Any]:
        counts = tuple(range(1, self.workers.value + 1))
        return experiments.run_workers_experiment(counts, self.images.value, self.size, self.pipeline.value,
                                                  on_progress=on_progress, kind=self.kind, **self.options)

    def _figures(self, data: dict[str, Any]) -> list[Figure]:
        n = max(data["worker_counts"])
        return [plots.plot_speedup(data["runs"], cores=data["cores"]),
                plots.plot_timeline(data["timelines"][n]),
                plots.plot_breakdown(data["results"][n])]

    def _summary(self, data: dict[str, Any]) -> str:
        rows = {row["workers"]: row for row in data["summary"]}
        n = max(data["worker_counts"])
        parts = [f"✅ {data['n_images']} imágenes con 1 a {n} workers ({data['cores']} núcleos)."]
        if n in rows and rows[n]["speedup"]:
            parts.append(f"Speedup con {n}: <b>{rows[n]['speedup']:.2f}×</b> "
                         f"(ideal {min(n, data['cores'])}×).")
        if data["serial_fraction"] is not None:
            parts.append(f"Amdahl: fracción serie ≈ <b>{data['serial_fraction']:.0%}</b>.")
        failed = sum(run["failed"] for run in data["runs"])
        if failed:
            parts.append(f"❌ {failed} tareas fallidas.")
        return " ".join(parts)


class ConcurrencyPanel(_Panel):
    """Panel del cuaderno 06: un ``AsyncWorker`` con ``max_concurrent`` elegido y su línea de tiempo."""

    title = "AsyncWorker: concurrencia acotada"

    def __init__(self, max_concurrent: int = 3, n_tasks: int = 6, size: tuple[int, int] = (960, 540),
                 pipeline: str = experiments.DEFAULT_PIPELINE, **options: Any):
        self.size, self.options = size, options
        self.max_concurrent = _styled(widgets.IntSlider(value=max_concurrent, min=1, max=8,
                                                        description="max_concurrent",
                                                        style={"description_width": "initial"}),
                                      "lab-concurrency-slider")
        self.tasks = _styled(widgets.IntSlider(value=n_tasks, min=1, max=24, description="Tareas"),
                             "lab-tasks-slider")
        self.pipeline = _styled(widgets.Dropdown(options=experiments.pipeline_names(), value=pipeline,
                                                 description="Pipeline", layout={"width": "420px"}),
                                "lab-pipeline")
        self.history: list[dict[str, Any]] = []
        super().__init__([self.max_concurrent, self.tasks, self.pipeline])

    def _experiment(self, on_progress: Callable[[int, int], None]) -> dict[str, Any]:
        data = experiments.run_async_experiment(self.max_concurrent.value, self.tasks.value, self.size,
                                                self.pipeline.value, on_progress, **self.options)
        self.history.append({key: data[key] for key in ("max_concurrent", "n_tasks", "wall_time",
                                                        "peak_overlap")})
        return data

    def _figures(self, data: dict[str, Any]) -> list[Figure]:
        return [plots.plot_timeline(data["timeline"])]

    def _summary(self, data: dict[str, Any]) -> str:
        rows = "".join(f"<tr><td>{h['max_concurrent']}</td><td>{h['n_tasks']}</td><td>{h['wall_time']:.2f} s</td>"
                       f"<td>{h['peak_overlap']}</td></tr>" for h in self.history[-6:])
        return (f"✅ {data['completed']} de {data['n_tasks']} tareas en <b>{data['wall_time']:.2f} s</b>; "
                f"como mucho <b>{data['peak_overlap']}</b> a la vez (límite {data['max_concurrent']})."
                "<table><tr><th>max_concurrent</th><th>tareas</th><th>tiempo</th><th>pico</th></tr>"
                f"{rows}</table>")


def _age(seconds: float | None) -> str:
    return "—" if seconds is None else f"hace {seconds:.1f} s"


_STATES = {"busy": "ocupado", "idle": "esperando", "stopped": "parado"}
_OK, _BAD = OKABE_ITO["green"], OKABE_ITO["vermillion"]
_COLUMNS = ("Salud", "Worker", "Estado", "Completadas", "Fallidas", "Último latido", "Tarea actual", "Motivos")
_CELL = 'style="padding:3px 12px;text-align:left"'
_NOWRAP = 'style="padding:3px 12px;text-align:left;white-space:nowrap"'


class HealthDashboard:
    """Tablero de salud de varios workers que se refresca solo cada ``interval`` segundos.

    ``workers`` es un ``WorkerPool`` o una lista de workers. ``start()`` lanza el hilo que
    refresca; se para solo cuando todos los workers han terminado (estado ``stopped``), con
    ``stop()`` o al pasar ``timeout`` segundos. ``render()`` devuelve el HTML de la tabla.
    """

    def __init__(self, workers: Any, interval: float = 0.5, timeout: float | None = 600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.workers = list(getattr(workers, "workers", workers))
        self.interval, self.timeout, self.clock = interval, timeout, clock
        self.html = _styled(widgets.HTML(), "lab-health")
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.html)

    def rows(self) -> list[dict[str, Any]]:
        """Una fila por worker: salud, estado, contadores, edad del latido, tarea actual y motivos."""
        rows = []
        for worker in self.workers:
            stats, health = worker.get_stats(), worker.health()
            rows.append({"worker_id": worker.worker_id, "healthy": health["healthy"], "state": health["state"],
                         "tasks_completed": stats["tasks_completed"], "tasks_failed": stats["tasks_failed"],
                         "heartbeat_age": health["heartbeat_age"], "current_task": stats["current_task"],
                         "reasons": health["reasons"]})
        return rows

    def render(self) -> str:
        """El HTML del tablero: una tabla con ✅/❌, estado, completadas, fallidas, latido y tarea actual."""
        rows = self.rows()
        healthy = sum(row["healthy"] for row in rows)
        lines = []
        for row in rows:
            colour, verdict = (_OK, "✅ sano") if row["healthy"] else (_BAD, "❌ enfermo")
            failed = f'<b style="color:{_BAD}">{row["tasks_failed"]}</b>' if row["tasks_failed"] else "0"
            values = [f'<b style="color:{colour}">{verdict}</b>', f"<b>{html.escape(row['worker_id'])}</b>",
                      _STATES.get(row["state"], row["state"]), str(row["tasks_completed"]), failed,
                      _age(row["heartbeat_age"]), html.escape(row["current_task"] or "—")]
            reasons = html.escape(" ".join(row["reasons"]))
            lines.append("<tr>" + "".join(f"<td {_NOWRAP}>{v}</td>" for v in values) + f"<td {_CELL}>{reasons}</td></tr>")
        header = "".join(f"<th {_NOWRAP}>{title}</th>" for title in _COLUMNS)
        return (f'<div style="font-size:1.1em"><b>Salud de los workers: {healthy} de {len(rows)} sanos</b> '
                f"<small>(actualizado {time.strftime('%H:%M:%S')}, refresco nº {self.refreshes})</small>"
                f'<table style="border-collapse:collapse"><tr style="border-bottom:2px solid #999">{header}</tr>'
                f"{''.join(lines)}</table></div>")

    def refresh(self) -> None:
        """Vuelve a leer la salud de los workers y actualiza el HTML."""
        self.refreshes += 1
        self.html.value = self.render()

    @property
    def finished(self) -> bool:
        """``True`` si todos los workers han terminado (estado ``stopped``)."""
        return bool(self.workers) and all(worker.state == "stopped" for worker in self.workers)

    @property
    def running(self) -> bool:
        """``True`` mientras el hilo de refresco está en marcha."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "HealthDashboard":
        """Lanza el hilo que refresca el tablero; devuelve el propio tablero."""
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="tablero-salud", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        deadline = None if self.timeout is None else self.clock() + self.timeout
        while not self._stop.is_set():
            self.refresh()
            if self.finished or (deadline is not None and self.clock() >= deadline):
                break
            self._stop.wait(self.interval)
        self.refresh()

    def stop(self) -> None:
        """Para el refresco (el tablero se queda con la última lectura)."""
        self._stop.set()
        self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Espera a que el refresco termine (solo, cuando acaban los workers); ``False`` si vence ``timeout``."""
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self.running


def watch(workers: Iterable[Any], interval: float = 0.5) -> HealthDashboard:
    """Atajo: un ``HealthDashboard`` ya arrancado para ``workers``."""
    return HealthDashboard(workers, interval=interval).start()
