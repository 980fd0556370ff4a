"""El código que las lecciones mandan abrir cabe en una sentada (issue [Q]).

Cada lección nombra los ficheros de ``lab`` donde vive la versión terminada de lo que acaba de
escribir. Esos ficheros son el «camino del alumnado»: cada uno ≤ 250 líneas (una idea, como
``Lib/queue.py`` de CPython) y todos juntos ≤ 1.600. El endurecimiento, la contabilidad y los
atajos de velocidad viven en módulos al lado, que las lecciones no mandan leer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Lección → ficheros que manda abrir.
STUDENT_PATH = {
    "01-Filtros-y-pipeline": ["lab/filters/base.py", "lab/filters/basic.py", "lab/filters/pipeline.py"],
    "02-Cola-de-tareas": ["lab/workers/queue.py", "lab/workers/task.py"],
    "03-SimpleWorker": ["lab/workers/base.py", "lab/workers/simple.py"],
    "04-Logging-y-estadisticas": ["lab/workers/logs.py"],
    "05-Multiples-workers": ["lab/workers/pool.py"],
    "06-AsyncWorker": ["lab/workers/async_worker.py"],
    "07-Fallos-reintentos-y-salud": ["lab/workers/retry.py", "lab/workers/health.py"],
}
MAX_FILE, MAX_TOTAL = 250, 1600


def _lines(path: str) -> int:
    return len((ROOT / path).read_text(encoding="utf-8").splitlines())


def _markdown(lesson: str) -> str:
    nb = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", [p for paths in STUDENT_PATH.values() for p in paths])
def test_each_file_fits_one_sitting(path):
    assert _lines(path) <= MAX_FILE, f"{path} tiene {_lines(path)} líneas (máximo {MAX_FILE})"


def test_the_whole_path_fits():
    total = sum(_lines(p) for paths in STUDENT_PATH.values() for p in paths)
    assert total <= MAX_TOTAL, f"el camino del alumnado suma {total} líneas (máximo {MAX_TOTAL})"


@pytest.mark.parametrize("lesson", list(STUDENT_PATH))
def test_lesson_names_its_files(lesson):
    """La lista de arriba es la que las lecciones usan: cada lección nombra sus ficheros."""
    text = _markdown(lesson)
    for path in STUDENT_PATH[lesson]:
        name = path.rsplit("/", 1)[-1]
        assert path in text or f"`{name}`" in text, f"{lesson} no manda abrir {path}"
