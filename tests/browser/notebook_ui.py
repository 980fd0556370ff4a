"""Acciones de alumno en JupyterLab con Playwright: abrir, Run All, mover el slider, pulsar, observar.

``NotebookUI(page, server, path, shots)`` envuelve una pestaña con un cuaderno abierto. Toda espera
está acotada y, si vence, falla con un ``AssertionError`` en castellano que dice qué no se vio.
``open()`` deja en la página un ``MutationObserver`` que anota cada cambio de la barra de
progreso (``.lab-progress``) y del tablero de salud (``.lab-health``): así ningún paso intermedio se
pierde aunque el trabajo sea rápido, y las comprobaciones no dependen del ritmo de la máquina.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

from jlab_server import JupyterLabServer

SECOND = 1000  # Playwright mide en milisegundos

RECORDER_JS = """() => {
  if (window.__labRecord) return;
  const hash = (text) => {
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return h;
  };
  const record = window.__labRecord = {progress: [], health: []};
  const progressValue = () => {
    const bar = document.querySelector('.lab-progress .progress-bar');
    return bar ? parseFloat(bar.style.width) || 0 : null;
  };
  const healthValue = () => {
    const panel = document.querySelector('.lab-health');
    if (!panel) return null;
    const images = [...panel.querySelectorAll('img')].map((img) => hash(img.src)).join(',');
    return panel.textContent.trim() + (images ? ' [img ' + images + ']' : '');
  };
  const note = (list, value) => {
    if (value !== null && (list.length === 0 || list[list.length - 1].value !== value))
      list.push({value, t: performance.now()});
  };
  const observe = () => { note(record.progress, progressValue()); note(record.health, healthValue()); };
  new MutationObserver(observe).observe(document.body, {subtree: true, childList: true,
                                                        attributes: true, characterData: true});
  observe();
}"""

# Celdas ejecutadas, pendientes y con error, leídas del modelo del cuaderno (window.jupyterapp).
CELLS_JS = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const cells = widget.content.model.cells;
  const result = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    const outputs = cell.outputs.toJSON();
    const error = outputs.find((o) => o.output_type === 'error');
    result.push({index: i, count: cell.executionCount,
                 tags: cell.getMetadata('tags') || [],
                 error: error ? error.ename + ': ' + error.evalue : null,
                 source: cell.sharedModel.getSource().slice(0, 80)});
  }
  return result;
}"""


class NotebookUI:
    """Un cuaderno abierto en una pestaña de Chromium, con capturas numeradas en ``shots``."""

    def __init__(self, page: Page, server: JupyterLabServer, path: str, shots: Path) -> None:
        self.page = page
        self.server = server
        self.path = path
        self.shots = shots
        self._shot_number = 0

    def screenshot(self, step: str, target: Locator | None = None) -> Path:
        """Guarda ``NN-step.png`` (la ventana, con ``target`` a la vista si se da) y devuelve su ruta."""
        self._shot_number += 1
        path = self.shots / f"{self._shot_number:02d}-{step}.png"
        if target is not None:
            try:
                target.scroll_into_view_if_needed(timeout=5 * SECOND)
            except PlaywrightError:
                pass
        self.page.screenshot(path=str(path))
        return path

    def open(self, *, timeout: float = 90) -> None:
        """Abre el cuaderno y espera a que la barra de estado diga que el kernel está ``| Idle``."""
        # ?reset: espacio de trabajo vacío, sin reabrir los cuadernos de tests anteriores.
        self.page.goto(self.server.url(f"lab/tree/{self.path}", "reset"))
        self._wait(".jp-Notebook .jp-Cell", timeout, f"No se vio el cuaderno {self.path} abierto en JupyterLab")
        self._wait_js("() => [...document.querySelectorAll('.jp-StatusBar-Item')]"
                      ".some((item) => /\\| Idle$/.test(item.textContent.trim()))", timeout,
                      f"No se vio «| Idle» en la barra de estado tras abrir {self.path}: el kernel no arrancó")
        self.page.evaluate(RECORDER_JS)

    def run_all(self, *, timeout: float = 180) -> None:
        """Menú Run > Run All Cells; espera al final y falla si alguna celda dio error o no se ejecutó."""
        self.start_run_all()
        self.finish_run_all(timeout=timeout)

    def start_run_all(self) -> None:
        """Menú Run > Run All Cells, sin esperar a que termine."""
        self.page.locator("li.lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        self.page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        # Las celdas pasan a [*] al encolarse: primero se ve alguna en [*] (o ya todas numeradas), después
        # ninguna en [*] y, por último, el kernel en reposo 1 s seguido (la barra de herramientas miente).
        self._wait_js("() => { const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];"
                      " return prompts.some((p) => p.textContent.includes('*'))"
                      " || prompts.every((p) => /\\[\\d+\\]/.test(p.textContent)); }", 30,
                      f"Run All no empezó a ejecutar {self.path}: ninguna celda pasó a [*]")

    def finish_run_all(self, *, timeout: float = 180) -> None:
        """Espera al final de Run All y falla si alguna celda dio error o no se ejecutó.

        Una celda con la etiqueta ``raises-exception`` puede dar error sin que el test falle.
        """
        cells = self.wait_run_all_settled(timeout=timeout)
        errors = [c for c in cells if c["error"] and "raises-exception" not in c["tags"]]
        assert not errors, (f"Run All en {self.path}: hay celdas con error: "
                            + "; ".join(f"celda {c['index']} ({c['error']})" for c in errors))
        skipped = [c for c in cells if c["count"] is None]
        assert not skipped, (f"Run All en {self.path}: celdas sin ejecutar: "
                             + ", ".join(f"{c['index']} «{c['source']}»" for c in skipped))

    def wait_run_all_settled(self, *, timeout: float = 180) -> list[dict[str, Any]]:
        """Espera al final de Run All aunque una celda dé error (JupyterLab para ahí); devuelve las celdas."""
        self._wait_js("() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
                      ".some((p) => p.textContent.includes('*'))", timeout,
                      f"Tras Run All siguen celdas en ejecución ([*]) en {self.path}")
        self.server.wait_kernels_idle(self.path, quiet=1.0, timeout=timeout)
        return self.cells()

    def cells(self) -> list[dict[str, Any]]:
        """Las celdas de código: ``index``, ``count``, ``tags``, ``error`` y el principio de ``source``."""
        return self.page.evaluate(CELLS_JS)

    def write_cell(self, index: int, source: str) -> None:
        """Escribe ``source`` en la celda ``index`` del cuaderno abierto (como si la hubiera tecleado el alumno)."""
        self.page.evaluate("([index, source]) => window.jupyterapp.shell.currentWidget.content.model.cells"
                           ".get(index).sharedModel.setSource(source)", [index, source])

    def run_cell(self, index: int, *, timeout: float = 120) -> dict[str, Any]:
        """Ejecuta solo la celda ``index`` (la activa y Run > Run Selected Cell) y espera a que termine.

        Devuelve la celda como ``cells()``; sus salidas de texto, en ``text``.
        """
        before = self.page.evaluate("(index) => window.jupyterapp.shell.currentWidget.content.model.cells"
                                    ".get(index).executionCount", index)
        self.page.evaluate("""(index) => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.deselectAll();
            notebook.activeCellIndex = index;
            return window.jupyterapp.commands.execute('notebook:run-cell');
        }""", index)
        self._wait_js("([index, before]) => { const cell = window.jupyterapp.shell.currentWidget.content.model"
                      ".cells.get(index); return cell.executionCount !== null && cell.executionCount !== before; }",
                      timeout, f"La celda {index} de {self.path} no terminó de ejecutarse", arg=[index, before])
        self.server.wait_kernels_idle(self.path, quiet=0.5, timeout=timeout)
        cell = next(c for c in self.cells() if c["index"] == index)
        cell["text"] = self.page.evaluate("""(index) => window.jupyterapp.shell.currentWidget.content.model.cells
            .get(index).outputs.toJSON().map((o) => o.text || (o.data && o.data['text/plain']) || '')
            .map((t) => Array.isArray(t) ? t.join('') : t).join('')""", index)
        return cell

    def cell_node(self, index: int) -> Locator:
        """El nodo de la celda ``index`` en la página (para capturas)."""
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def widget(self, lab_class: str, generic: str, what: str) -> Locator:
        """El widget con la clase ``lab_class``; si falta, el único ``generic`` del cuaderno.

        Errores: ``AssertionError`` si no hay ninguno o hay varios ``generic`` sin ``lab_class``.
        """
        located = self.page.locator(f".{lab_class}")
        if located.count() == 0:
            located = self.page.locator(generic)
            count = located.count()
            assert count == 1, (f"No se vio {what} en {self.path}: falta la clase CSS «{lab_class}» "
                                f"y hay {count} elementos «{generic}»")
        return located.first

    def move_slider(self, slider: Locator, presses: int = 1) -> tuple[str, str]:
        """Enfoca el asa del slider y pulsa ArrowRight; devuelve la lectura (antes, después)."""
        readout = slider.locator(".widget-readout")
        before = readout.inner_text().strip()
        handle = slider.locator(".noUi-handle")
        handle.focus()
        for _ in range(presses):
            handle.press("ArrowRight")
        self._wait_js(f"(before) => document.querySelector('.{self._class_of(slider)} .widget-readout')"
                      ".textContent.trim() !== before", 10,
                      f"La lectura del slider de workers no cambió de «{before}» al pulsar ArrowRight",
                      arg=before)
        return before, readout.inner_text().strip()

    def record(self) -> dict[str, list[dict[str, Any]]]:
        """Lo anotado por el observador: ``{"progress": [...], "health": [...]}`` con ``value`` y ``t``."""
        return self.page.evaluate("() => window.__labRecord")

    def wait_record(self, key: str, since: int, changes: int, timeout: float, message: str) -> list[Any]:
        """Espera a ver ``changes`` cambios de ``key`` a partir de la posición ``since``; devuelve los valores."""
        self._wait_js(f"([since, changes]) => window.__labRecord.{key}.length - since >= changes",
                      timeout, message, arg=[since, changes])
        return [item["value"] for item in self.record()[key]]

    def new_image(self, container: Locator, old_sources: list[str], timeout: float, message: str) -> Locator:
        """Espera una imagen nueva y cargada (``naturalWidth > 0``) dentro de ``container``."""
        selector = f".{self._class_of(container)} .jp-RenderedImage img"
        self._wait_js(f"(old) => [...document.querySelectorAll('{selector}')]"
                      ".some((img) => img.complete && img.naturalWidth > 0 && !old.includes(img.src))",
                      timeout, message, arg=old_sources)
        return container.locator(".jp-RenderedImage img").last

    def image_sources(self, container: Locator) -> list[str]:
        """Los ``src`` de las imágenes que hay ya dentro de ``container``."""
        return container.locator(".jp-RenderedImage img").evaluate_all("(imgs) => imgs.map((i) => i.src)")

    @staticmethod
    def _class_of(locator: Locator) -> str:
        classes = locator.evaluate("(el) => [...el.classList]")
        lab = [name for name in classes if name.startswith("lab-")]
        if lab:
            return lab[0]
        return ".".join(name for name in classes if name.startswith("widget-"))

    def _wait(self, selector: str, timeout: float, message: str) -> None:
        try:
            self.page.wait_for_selector(selector, timeout=timeout * SECOND)
        except PlaywrightError as error:
            raise AssertionError(f"{message} (en {timeout:.0f} s).") from error

    def _wait_js(self, expression: str, timeout: float, message: str, *, arg: Any = None) -> None:
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=timeout * SECOND, polling=100)
        except PlaywrightError as error:
            raise AssertionError(f"{message} (en {timeout:.0f} s).") from error
