"""Los cuadernos usados como los usa el alumnado: JupyterLab real en Chromium sin cabeza.

05: Run All, mover el slider de workers con ArrowRight, pulsar «Ejecutar», ver la barra de progreso
avanzar y aparecer la gráfica de speedup. 07: el tablero de salud cambia mientras trabajan los
workers. El cuaderno de ensayo (``standin.py``) prueba el mismo recorrido sin depender de 05 y 07:
si él falla, el fallo es del arnés o del entorno, no de los cuadernos.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notebook_ui import NotebookUI
from standin import write_standin

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK_05 = "05-Multiples-workers.ipynb"
NOTEBOOK_07 = "07-Fallos-reintentos-y-salud.ipynb"
STANDIN = "_ensayo-navegador.ipynb"
CLOCK = re.compile(r"\d{1,2}:\d{2}(:\d{2})?|nº ?\d+")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PROJECTOR = {"width": 1366, "height": 768}


def needs(name: str):
    """Salta el test (antes de arrancar nada) si el cuaderno aún no existe en ``notebooks/``."""
    return pytest.mark.skipif(not (NOTEBOOKS / name).exists(), reason=f"Todavía no existe notebooks/{name}")


def increases(values: list[float]) -> int:
    """Cuántas veces un valor supera al anterior."""
    return sum(1 for before, after in zip(values, values[1:]) if after > before)


def open_notebook(page, lab_server, shots, name: str, *, run: bool = True) -> NotebookUI:
    """Abre ``name`` de la copia de los cuadernos y, si ``run``, lo ejecuta entero (Run All)."""
    ui = NotebookUI(page, lab_server, name, shots)
    ui.open()
    ui.screenshot("abierto")
    if run:
        ui.run_all()
    return ui


def capture_charts(ui: NotebookUI) -> int:
    """Captura cada gráfica (imagen de una salida de celda) en una pantalla de proyector de 1366×768.

    Cada imagen debe estar cargada y caber entera en la ventana; devuelve cuántas había.
    """
    previous = ui.page.viewport_size
    ui.page.set_viewport_size(PROJECTOR)
    try:
        images = ui.page.locator(".jp-Notebook .jp-Cell-outputArea .jp-RenderedImage img")
        for i in range(images.count()):
            image = images.nth(i)
            ui.screenshot(f"grafica-{i + 1}-proyector", image)
            box = image.bounding_box()
            assert box and box["height"] > 0 and box["height"] <= PROJECTOR["height"] - 140, (
                f"La gráfica {i + 1} de {ui.path} mide {box and box['height']:.0f} px de alto: no cabe en una "
                f"pantalla de {PROJECTOR['height']} px con las barras de JupyterLab")
        return images.count()
    finally:
        ui.page.set_viewport_size(previous)


def check_worker_panel(ui: NotebookUI) -> None:
    """Slider de workers +1, pulsar «Ejecutar», barra de progreso que avanza y gráfica nueva."""
    slider = ui.widget("lab-workers-slider", ".widget-slider", "el slider de workers")
    ui.screenshot("run-all", slider)
    before, after = ui.move_slider(slider)
    assert int(after) == int(before) + 1, f"El slider pasó de {before} a {after}, no a {int(before) + 1}"
    ui.screenshot("slider-movido", slider)

    progress = ui.widget("lab-progress", ".widget-progress", "la barra de progreso")
    chart = ui.widget("lab-chart", ".widget-output", "la salida de la gráfica de speedup")
    old_images = ui.image_sources(chart)
    since = len(ui.record()["progress"])
    ui.widget("lab-run-button", ".widget-button", "el botón «Ejecutar»").click()
    ui.wait_record("progress", since, 1, 60, "La barra de progreso no se movió tras pulsar «Ejecutar»")
    ui.screenshot("progreso", progress)
    ui.new_image(chart, old_images, 120, "No apareció la gráfica de speedup (.jp-RenderedImage img "
                                         "con naturalWidth > 0) en la salida del panel tras pulsar «Ejecutar»")
    ui.screenshot("grafica", chart)
    values = [item["value"] for item in ui.record()["progress"][max(since - 1, 0):]]
    assert increases(values) >= 2 and values[-1] > values[0], (
        f"La barra de progreso no avanzó por pasos mientras trabajaban los workers: {values}")


def check_health_dashboard(ui: NotebookUI, lab_server) -> None:
    """El tablero de salud cambia al menos dos veces mientras trabajan los workers.

    Los workers arrancan con Run All (el tablero se mira mientras el cuaderno aún se ejecuta) o,
    si el cuaderno tiene un botón ``lab-run-button``, al pulsarlo después de Run All.
    """
    ui.start_run_all()
    ui.wait_record("health", 0, 1, 180, "No apareció el tablero de salud (.lab-health) durante Run All")
    health = ui.widget("lab-health", ".lab-health", "el tablero de salud")
    ui.screenshot("tablero-aparece", health)
    since = 1  # valen los cambios desde que apareció
    if not ui.page.locator(".lab-run-button").count():
        ui.wait_record("health", since, 1, 120, "El tablero de salud no cambió mientras Run All ponía a "
                                                "trabajar a los workers")
        ui.screenshot("tablero-en-marcha", health)
    ui.finish_run_all()
    run = ui.page.locator(".lab-run-button")
    if run.count():
        since = len(ui.record()["health"])
        run.first.click()
    ui.wait_record("health", since, 1, 120, "El tablero de salud no cambió mientras trabajaban los workers")
    seen = ui.wait_record("health", since, 2, 120, "El tablero de salud cambió una sola vez: no se "
                                                   "refresca mientras trabajan los workers")
    if run.count():
        ui.screenshot("tablero-cambia", health)
    # Un reloj o un contador de refrescos cambian siempre: lo que debe cambiar son los datos de los workers.
    data = {CLOCK.sub("", value) for value in seen[max(since - 1, 0):]}
    assert len(data) >= 2, f"El tablero solo cambió la hora o el contador de refrescos: {seen[-2:]}"
    lab_server.wait_kernels_idle(ui.path, timeout=180)
    ui.screenshot("tablero-final", health)


def test_standin_notebook_proves_the_harness(page, lab_server, notebook_root, shots):
    write_standin(notebook_root / STANDIN)
    ui = open_notebook(page, lab_server, shots, STANDIN)
    check_worker_panel(ui)
    ui.screenshot("tablero", ui.page.locator(".lab-health").first)
    health = ui.record()["health"]
    assert len(health) >= 3, f"El tablero de ensayo no cambió durante la ejecución: {health}"


@needs(NOTEBOOK_05)
def test_notebook_05_worker_panel(page, lab_server, shots):
    ui = open_notebook(page, lab_server, shots, NOTEBOOK_05)
    assert capture_charts(ui) >= 4
    check_worker_panel(ui)


@needs(NOTEBOOK_07)
def test_notebook_07_health_dashboard(page, lab_server, shots):
    ui = open_notebook(page, lab_server, shots, NOTEBOOK_07, run=False)
    check_health_dashboard(ui, lab_server)
    ui.page.set_viewport_size(PROJECTOR)
    ui.screenshot("tablero-proyector", ui.widget("lab-health", ".lab-health", "el tablero de salud"))
    assert capture_charts(ui) >= 3  # backoff, línea de tiempo y salud
