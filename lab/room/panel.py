"""El panel del aula para el cuaderno del profesorado: tabla y gráficas que se refrescan solas, y mandos.

``RoomPanel(aula)`` acepta un ``Room``, un ``PracticeRoom`` o un ``RecordedRoom``. Un hilo vuelve a
leer el aula cada ``interval`` segundos y reescribe la tabla (``dashboard.room_html``); cada
``charts_every`` refrescos, también las gráficas (tareas/s, línea de tiempo de los últimos
``last`` segundos y speedup por núcleos). Mandos: encolar N tareas y sacar un portátil del aula. Un
error al leer (el aula no responde) se muestra en la línea de estado, escapado, y el refresco sigue.
Clases CSS para los tests de navegador: ``lab-room`` (la tabla), ``lab-room-charts``,
``lab-room-enqueue``, ``lab-room-takeout`` y ``lab-room-status``.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as widgets

from lab.notebook.widgets import figure_output
from lab.room.charts import plot_room_speedup, plot_room_throughput, plot_room_timeline
from lab.room.dashboard import room_html
from lab.room.state import summarize

__all__ = ["RoomPanel"]


def _styled(widget: widgets.Widget, css_class: str) -> widgets.Widget:
    widget.add_class(css_class)
    return widget


class RoomPanel:
    """Panel en directo del aula ``room``; ``start()`` lanza el refresco (``stop()`` lo para, ``timeout`` también)."""

    def __init__(self, room: Any, *, interval: float = 2.0, charts_every: int = 3, last: float = 90.0,
                 timeout: float | None = 3 * 3600, size: int | None = None):
        self.room, self.interval, self.charts_every, self.last, self.timeout = room, interval, charts_every, last, timeout
        self.size = size
        self.refreshes = 0
        self.table = widgets.HTML()
        self.charts = _styled(widgets.Output(), "lab-room-charts")
        self.status = _styled(widgets.HTML(), "lab-room-status")
        self.count = widgets.BoundedIntText(value=200, min=1, max=100_000, description="Tareas", layout={"width": "180px"})
        self.enqueue_button = _styled(widgets.Button(description="Encolar", button_style="primary", icon="plus"),
                                      "lab-room-enqueue")
        self.machine = widgets.Dropdown(options=[], description="Portátil", layout={"width": "260px"})
        self.takeout_button = _styled(widgets.Button(description="Sacar del aula", button_style="danger",
                                                     icon="sign-out"), "lab-room-takeout")
        for button in (self.enqueue_button, self.takeout_button):
            button.disabled = bool(getattr(room, "read_only", False))
        self.enqueue_button.on_click(lambda _: self._act(self.enqueue))
        self.takeout_button.on_click(lambda _: self._act(self.take_out))
        controls = widgets.HBox([self.count, self.enqueue_button, self.machine, self.takeout_button])
        self.widget = widgets.VBox([self.table, controls, self.status, self.charts])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh(charts=True)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#D55E00" if error else "#000000"
        self.status.value = f'<span style="font-size:16px;color:{colour}">{html.escape(text)}</span>'

    def _act(self, action: Any) -> None:
        try:
            action()
        except Exception as exc:       # se muestra y el panel sigue (p. ej. un aula grabada)
            self._say(f"❌ {exc}", error=True)

    def enqueue(self, count: int | None = None) -> list[str]:
        """Encola ``count`` tareas (por defecto, las del cuadro «Tareas») y lo dice en la línea de estado."""
        count = self.count.value if count is None else count
        ids = self.room.enqueue(count, *(() if self.size is None else (self.size,)))
        self._say(f"✅ {len(ids)} tareas encoladas a las {time.strftime('%H:%M:%S')}.")
        return ids

    def take_out(self, name: str | None = None) -> None:
        """Saca del aula al portátil ``name`` (por defecto, el elegido): se va sin terminar sus tareas."""
        name = self.machine.value if name is None else name
        if not name:
            raise ValueError("Elige un portátil en la lista.")
        self.room.take_out(name)
        self._say(f"🚪 {name} sale del aula a las {time.strftime('%H:%M:%S')}: sus tareas en curso volverán a la "
                  f"cola cuando caduque su concesión (rayadas en la línea de tiempo).")

    def refresh(self, charts: bool = False) -> dict[str, Any]:
        """Vuelve a leer el aula y reescribe la tabla (y, con ``charts``, las gráficas); devuelve el resumen."""
        self.refreshes += 1
        snap = self.room.snapshot()
        summary = summarize(snap)
        note = f"actualizado {time.strftime('%H:%M:%S')}, refresco nº {self.refreshes}"
        self.table.value = room_html(summary, self.room.description, note)
        names = tuple(m["name"] for m in summary["machines"] if m["state"] in ("working", "measuring"))
        if names != tuple(self.machine.options):
            chosen = self.machine.value
            self.machine.options = names
            self.machine.value = chosen if chosen in names else (names[0] if names else None)
        if charts:
            figures = (plot_room_throughput(summary, recent=self.running),
                       plot_room_timeline(snap, last=self.last), plot_room_speedup(summary))
            self.charts.outputs = tuple(figure_output(fig) for fig in figures)
        return summary

    @property
    def running(self) -> bool:
        """``True`` mientras el hilo de refresco está en marcha."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "RoomPanel":
        """Lanza el hilo de refresco; devuelve el propio panel (para mostrarlo en la misma línea)."""
        if not self.running and not getattr(self.room, "read_only", False):
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="panel-aula", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        tick = 0
        while not self._stop.wait(self.interval):
            tick += 1
            try:
                self.refresh(charts=tick % self.charts_every == 0)
            except Exception as exc:       # el aula no responde: se dice y se reintenta
                self._say(f"⚠️ No se pudo leer el aula ({exc}); reintento en {self.interval:g} s.", error=True)
            if deadline is not None and time.monotonic() >= deadline:
                break

    def stop(self) -> None:
        """Para el refresco y dibuja una última vez (tabla y gráficas)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        try:
            self.refresh(charts=True)
        except Exception as exc:
            self._say(f"⚠️ No se pudo leer el aula ({exc}).", error=True)
