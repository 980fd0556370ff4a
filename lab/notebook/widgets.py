"""Paneles con ipywidgets para los cuadernos 05, 06 y 07: experimentos con un botón y salud en directo.

- ``WorkersPanel`` (cuaderno 05): nº de workers, nº de imágenes, pipeline, «Ejecutar», barra de
  progreso y, al acabar, el speedup (medido, ideal y Amdahl), la línea de tiempo y el desglose.
- ``ConcurrencyPanel`` (cuaderno 06): ``max_concurrent`` de un ``AsyncWorker`` y su línea de tiempo.
- ``HealthDashboard`` (cuaderno 07, en ``lab.notebook.widgets_health``): la salud de varios workers, refrescada
  mientras trabajan.

Los paneles solo llaman a funciones de ``lab.notebook.experiments`` y dibujan con ``lab.notebook.plots``: todo
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
import threading
from typing import Any, Callable

import ipywidgets as widgets
from matplotlib.figure import Figure

from lab.notebook import experiments, plots
from lab.notebook.cores import cpu_cores
from lab.notebook.widgets_health import HealthDashboard, watch
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
                 pipeline: str = experiments.DEFAULT_PIPELINE, kind: str = "thread", repeats: int = 1,
                 **options: Any):
        cores = cpu_cores().physical
        self.size, self.kind, self.options = size, kind, options
        self.workers = _styled(widgets.IntSlider(value=workers or min(max(cores, 2), 8), min=1, max=8,
                                                 description="Workers"), "lab-workers-slider")
        self.images = _styled(widgets.IntSlider(value=n_images, min=2, max=48, description="Imágenes"),
                              "lab-images-slider")
        self.repeats = _styled(widgets.IntSlider(value=repeats, min=1, max=5, description="Rondas"),
                               "lab-repeats-slider")
        self.pipeline = _styled(widgets.Dropdown(options=experiments.pipeline_names(), value=pipeline,
                                                 description="Pipeline", layout={"width": "420px"}),
                                "lab-pipeline")
        super().__init__([self.workers, self.images, self.repeats, self.pipeline])

    def _experiment(self, on_progress: Callable[[int, int], None]) -> dict[str, Any]:
        counts = tuple(range(1, self.workers.value + 1))
        return experiments.run_workers_experiment(counts, self.images.value, self.size, self.pipeline.value,
                                                  repeats=self.repeats.value, on_progress=on_progress,
                                                  kind=self.kind, **self.options)

    def _figures(self, data: dict[str, Any]) -> list[Figure]:
        n = max(data["worker_counts"])
        return [plots.plot_speedup(data["runs"], cores=data["cores"]),
                plots.plot_timeline(data["timelines"][n]),
                plots.plot_breakdown(data["results"][n])]

    def _summary(self, data: dict[str, Any]) -> str:
        rows = {row["workers"]: row for row in data["summary"]}
        n = max(data["worker_counts"])
        parts = [f"✅ {data['n_images']} imágenes con 1 a {n} workers ({data['cores']} núcleos, "
                 f"{data['repeats']} {'ronda' if data['repeats'] == 1 else 'rondas'})."]
        if n in rows and rows[n]["speedup"]:
            parts.append(f"Speedup con {n}: <b>{rows[n]['speedup']:.2f}×</b> "
                         f"(ideal {min(n, data['cores'])}×).")
        amdahl = data.get("amdahl") or {}
        if amdahl.get("fraction") is not None:
            text = f"Amdahl: fracción serie ≈ <b>{amdahl['fraction']:.0%}</b>"
            if amdahl["rounds"] >= 2:
                text += f" (entre {amdahl['low']:.0%} y {amdahl['high']:.0%} según la ronda)"
            parts.append(text + ("." if amdahl["reliable"] else f"; poco fiable: {html.escape(amdahl['reason'])}."))
        failed = sum(run["failed"] for run in data["runs"])
        if failed:
            parts.append(f"❌ {failed} tareas fallidas.")
        return " ".join(parts)


_TH = 'style="padding:4px 14px;text-align:right;border-bottom:2px solid #999;white-space:nowrap"'
_TD = 'style="padding:4px 14px;text-align:right;white-space:nowrap"'
_HISTORY = ("Ejecución", "Límite a la vez", "Tareas", "Tiempo", "Pico observado")


class ConcurrencyPanel(_Panel):
    """Panel del cuaderno 06: un ``AsyncWorker`` con un límite de concurrencia y su línea de tiempo.

    Por defecto, 24 imágenes de 1920x1080 con el pipeline pesado: unos segundos, para que la
    barra de progreso se vea avanzar. Guarda una tabla con las últimas ejecuciones.
    """

    title = "AsyncWorker: concurrencia limitada"

    def __init__(self, max_concurrent: int = 3, n_tasks: int = 24, size: tuple[int, int] = (1920, 1080),
                 pipeline: str = "pesado: blur(3) + brillo + sharpen", **options: Any):
        self.size, self.options = size, options
        self.max_concurrent = _styled(widgets.IntSlider(value=max_concurrent, min=1, max=8,
                                                        description="Límite a la vez",
                                                        style={"description_width": "initial"}),
                                      "lab-concurrency-slider")
        self.tasks = _styled(widgets.IntSlider(value=n_tasks, min=1, max=48, description="Tareas"),
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

    def history_table(self, last: int = 6) -> str:
        """La tabla HTML de las últimas ``last`` ejecuciones, con cabeceras en español."""
        first = max(len(self.history) - last, 0)
        rows = "".join(
            "<tr>" + "".join(f"<td {_TD}>{value}</td>" for value in (
                first + i + 1, h["max_concurrent"], h["n_tasks"], f"{h['wall_time']:.2f} s", h["peak_overlap"]))
            + "</tr>" for i, h in enumerate(self.history[first:]))
        header = "".join(f"<th {_TH}>{title}</th>" for title in _HISTORY)
        return (f'<table style="border-collapse:collapse;margin-top:8px"><tr>{header}</tr>{rows}</table>')

    def _summary(self, data: dict[str, Any]) -> str:
        return (f"✅ {data['completed']} de {data['n_tasks']} tareas en <b>{data['wall_time']:.2f} s</b>; "
                f"como mucho <b>{data['peak_overlap']}</b> a la vez (límite {data['max_concurrent']})."
                + self.history_table())
