"""El cuaderno del profesorado del aula en JupyterLab de verdad: Run All con un aula de práctica y capturas.

Sin ``LAB_AULA_URL`` el cuaderno arranca un aula de práctica (servidor propio en 127.0.0.1 y 4 portátiles
simulados). Mientras Run All espera a que se vacíe la cola, el panel en directo (``.lab-room``) debe enseñar los
portátiles trabajando y sus gráficas (``.lab-room-charts``); al final, el tablero y las tres gráficas fijas caben en
un proyector de 1366×768. En ningún momento sale la contraseña del aula en la página.
"""

from __future__ import annotations

import re

import pytest

from notebook_ui import SECOND, NotebookUI
from test_jupyterlab import PROJECTOR, capture_charts, needs

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.timeout(900)]

NOTEBOOK = "profesorado/Aula.ipynb"
PASSWORD_IN_URL = re.compile(r"redis://:[A-Za-z0-9_-]{22,}@")   # una contraseña del aula (>= 128 bits)


def page_text(ui: NotebookUI) -> str:
    return ui.page.evaluate("() => document.body.innerText")


def wait_js(ui: NotebookUI, expression: str, timeout: float, message: str) -> None:
    try:
        ui.page.wait_for_function(expression, timeout=timeout * SECOND, polling=200)
    except Exception as error:
        raise AssertionError(f"{message} (en {timeout:.0f} s).") from error


@needs(NOTEBOOK)
def test_instructor_room_notebook_live_panel_and_charts(page, lab_server, shots):
    ui = NotebookUI(page, lab_server, NOTEBOOK, shots)
    ui.open()
    ui.screenshot("abierto")
    ui.start_run_all()
    wait_js(ui, "() => { const t = document.querySelector('.lab-room'); return t && /sim-4/.test(t.textContent)"
                " && /trabajando/.test(t.textContent); }", 300,
            "El panel del aula (.lab-room) no enseñó a los 4 portátiles simulados trabajando")
    wait_js(ui, "() => { const t = document.querySelector('.lab-room');"
                " return t && /Cola: \\d+ pendientes/.test(t.textContent) && !/ 0 completadas/.test(t.textContent); }",
            300, "El panel del aula no llegó a contar tareas completadas mientras trabajaban los portátiles")
    first_charts = ui.image_sources(page.locator(".lab-room-charts").first)   # las de antes de encolar
    try:
        page.wait_for_function("(old) => { const imgs = [...document.querySelectorAll('.lab-room-charts img')];"
                               " return imgs.length >= 3 && imgs.every((img) => img.complete && img.naturalWidth > 0)"
                               " && imgs.filter((img) => !old.includes(img.src)).length >= 2; }",   # el speedup no cambia
                               arg=first_charts, timeout=120 * SECOND, polling=200)
    except Exception as error:
        raise AssertionError("El panel del aula no volvió a dibujar sus gráficas de tareas/s y línea de tiempo con "
                             "las tareas en marcha (.lab-room-charts img) en 120 s") from error
    page.set_viewport_size(PROJECTOR)
    live = ui.screenshot("panel-en-directo", page.locator(".lab-room").first)
    assert live.stat().st_size > 10_000
    assert not PASSWORD_IN_URL.search(page_text(ui)), "La contraseña del aula se ve en la página"
    ui.screenshot("graficas-en-directo", page.locator(".lab-room-charts").first)
    ui.finish_run_all(timeout=600)
    final_table = page.locator(".jp-OutputArea-output .lab-room").last
    ui.screenshot("tablero-final", final_table)
    text = final_table.inner_text()
    assert "sacado" in text and "sim-2" in text and "0 pendientes, 0 en proceso" in text, text
    assert capture_charts(ui) >= 6          # las tres del panel (última lectura) y las tres fijas
    assert not PASSWORD_IN_URL.search(page_text(ui)), "La contraseña del aula se ve en la página"
