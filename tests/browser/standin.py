"""Cuaderno de ensayo para el arnés de navegador: el contrato de widgets de 05 y 07 en pequeño.

``write_standin(path)`` escribe un cuaderno con un panel (``IntSlider`` «Workers», ``Button``
«Ejecutar», ``IntProgress``, ``Output`` con una figura de matplotlib) y un tablero de salud
(``HTML``) que cambia mientras «trabajan» los workers; lleva las clases CSS ``lab-*`` del contrato
(ver ``README.md``). Sirve para probar el arnés sin depender de los cuadernos reales.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

PANEL = '''\
import threading
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

slider = widgets.IntSlider(value=2, min=1, max=8, description="Workers")
button = widgets.Button(description="Ejecutar")
progress = widgets.IntProgress(value=0, min=0, max=10)
health = widgets.HTML("<b>Salud</b>: sin workers")
chart = widgets.Output()
for widget, name in [(slider, "lab-workers-slider"), (button, "lab-run-button"),
                     (progress, "lab-progress"), (chart, "lab-chart"), (health, "lab-health")]:
    widget.add_class(name)


def run(_):
    """Simula tareas: avanza la barra y el tablero, y dibuja el speedup al terminar."""
    button.disabled = True
    progress.value = 0
    for done in range(1, progress.max + 1):
        time.sleep(0.15)
        progress.value = done
        health.value = f"<b>Salud</b>: {slider.value} workers, {done} tareas hechas"
    workers = list(range(1, slider.value + 1))
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(workers, workers, "o-", label="ideal")
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup")
    ax.legend()
    chart.clear_output()
    with chart:
        display(fig)
    plt.close(fig)
    button.disabled = False


button.on_click(run)
display(widgets.VBox([slider, button, progress, chart, health]))
'''


def write_standin(path: Path) -> Path:
    """Escribe el cuaderno de ensayo en ``path`` y devuelve la ruta."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# Cuaderno de ensayo del arnés de navegador"),
                      nbformat.v4.new_code_cell("print('celda previa sin widgets')"),
                      nbformat.v4.new_code_cell(PANEL)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path
