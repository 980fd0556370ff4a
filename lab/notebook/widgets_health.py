"""El tablero de salud en directo del cuaderno 07 (``HealthDashboard``); se reexporta en ``lab.notebook.widgets``.

Un hilo en segundo plano vuelve a leer ``worker.health()`` y ``worker.get_stats()`` cada
``interval`` segundos y reescribe una tabla HTML (clase CSS ``lab-health`` para los tests de
navegador); se para solo cuando todos los workers han terminado.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable, Iterable

import ipywidgets as widgets

from lab.notebook.plot_style import OKABE_ITO

__all__ = ["HealthDashboard", "watch"]


def _styled(widget: widgets.Widget, css_class: str) -> widgets.Widget:
    widget.add_class(css_class)
    return widget


def _age(seconds: float | None) -> str:
    return "—" if seconds is None else f"hace {seconds:.1f} s"


_STATES = {"busy": "ocupado", "idle": "esperando", "stopped": "parado"}
_OK, _BAD = OKABE_ITO["green"], OKABE_ITO["vermillion"]
_COLUMNS = ("Salud", "Worker", "Estado", "Completadas", "Fallidas", "Último latido", "Tarea actual")
# Letra de proyector (la de JupyterLab es de 13 px): 18 px se leen desde el fondo del aula y la tabla cabe en
# una pantalla de 1366 px con el explorador de ficheros abierto. Cada dato en una línea; los motivos de un
# worker enfermo van en su propia fila, a lo ancho de la tabla.
_PANEL = 'style="font-size:18px;line-height:1.4"'
_CELL = 'style="padding:3px 8px;text-align:left;white-space:nowrap"'
_REASONS = f'style="padding:0 8px 8px;text-align:left;color:{_BAD}"'


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
        """El HTML del tablero: una fila por worker (✅/❌, estado, contadores, latido, tarea actual).

        Bajo cada worker enfermo, una fila con sus motivos a lo ancho de la tabla.
        """
        rows = self.rows()
        healthy = sum(row["healthy"] for row in rows)
        lines = []
        for row in rows:
            colour, verdict = (_OK, "✅ sano") if row["healthy"] else (_BAD, "❌ enfermo")
            failed = f'<b style="color:{_BAD}">{row["tasks_failed"]}</b>' if row["tasks_failed"] else "0"
            values = [f'<b style="color:{colour}">{verdict}</b>', f"<b>{html.escape(row['worker_id'])}</b>",
                      _STATES.get(row["state"], row["state"]), str(row["tasks_completed"]), failed,
                      _age(row["heartbeat_age"]), html.escape(row["current_task"] or "—")]
            lines.append("<tr>" + "".join(f"<td {_CELL}>{v}</td>" for v in values) + "</tr>")
            if row["reasons"]:
                lines.append(f'<tr><td></td><td colspan="{len(_COLUMNS) - 1}" {_REASONS}>Motivo: '
                             f'{html.escape(" ".join(row["reasons"]))}</td></tr>')
        header = "".join(f"<th {_CELL}>{title}</th>" for title in _COLUMNS)
        return (f'<div {_PANEL}><b style="font-size:1.2em">Salud de los workers: {healthy} de {len(rows)} sanos</b> '
                f"<small>(actualizado {time.strftime('%H:%M:%S')}, refresco nº {self.refreshes})</small>"
                f'<table style="border-collapse:collapse;font-size:inherit">'
                f'<tr style="border-bottom:2px solid #999">{header}</tr>{"".join(lines)}</table></div>')

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
