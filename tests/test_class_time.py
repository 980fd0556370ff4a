"""Los 45 minutos de clase, medidos: el camino ⏱ se lee a tiempo y el plan de 00 deja margen.

La estimación de lectura es la de quien prepara la clase: **130 palabras por minuto** de markdown más **30 s por
celda de código** (ejecutarla y comentar su salida), solo en las secciones ⏱ de cada cuaderno (el título de la
sección incluido). Una clase en vivo tarda unas 1,45 veces esa lectura. La introducción de cada cuaderno y su celda de
preparación no cuentan: van en el margen del plan («cambiar de cuaderno»).

Para ver la tabla por cuaderno: ``.venv/bin/python tests/test_class_time.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.course import nav  # noqa: E402

WORDS_PER_MINUTE = 130
MINUTES_PER_CODE_CELL = 0.5
LIVE_FACTOR = 1.45          # una clase en vivo frente a la lectura
MAX_READ_THROUGH = 21.0     # minutos de lectura de todo el camino ⏱ (unos 30 en vivo)
MIN_SLACK = 5               # minutos del plan sin contenido: bienvenida, abrir JupyterLab, cambiar de cuaderno, preguntas
CORE = re.compile(r" · ⏱ (\d+) min$")
PLAN_ROW = re.compile(r"^\| (\d+) min \| (.*)$", re.M)


def core_sections(notebook) -> list[dict]:
    """Las secciones ⏱ de un cuaderno: título, minutos del título, palabras de markdown y celdas de código."""
    sections, current = [], None
    for cell in notebook.cells:
        if nav.NAV_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            if current is not None:
                current["code_cells"] += 1
            continue
        for line in cell.source.splitlines():
            if line.startswith("## "):
                match = CORE.search(line)
                current = None if match is None else {"title": line[3:].strip(), "minutes": int(match.group(1)),
                                                       "words": 0, "code_cells": 0}
                if current is not None:
                    sections.append(current)
                    current["words"] += len(line[3:].split())
            elif current is not None:
                current["words"] += len(line.split())
    for section in sections:
        section["read"] = section["words"] / WORDS_PER_MINUTE + section["code_cells"] * MINUTES_PER_CODE_CELL
    return sections


def read_through() -> dict[str, dict]:
    """Por cuaderno con secciones ⏱: minutos del título, palabras, celdas de código y minutos de lectura."""
    table = {}
    for path in nav.lesson_notebooks():
        sections = core_sections(nbformat.read(path, as_version=4))
        if sections:
            table[path.stem] = {key: sum(s[key] for s in sections) for key in ("minutes", "words", "code_cells", "read")}
    return table


def index_plan() -> list[tuple[int, str]]:
    """Las filas «| N min | ... |» del plan de 00-Indice."""
    index = nbformat.read(nav.NOTEBOOKS_DIR / "00-Indice.ipynb", as_version=4)
    plan = next(c.source for c in index.cells if c.source.startswith("## Plan de la sesión (45 min)"))
    return [(int(n), text) for n, text in PLAN_ROW.findall(plan)]


def test_the_core_path_reads_in_21_minutes():
    table = read_through()
    total = sum(row["read"] for row in table.values())
    detail = ", ".join(f"{stem[:2]} {row['read']:.1f}" for stem, row in table.items())
    assert total <= MAX_READ_THROUGH, f"El camino ⏱ se lee en {total:.1f} min ({detail}); el máximo es {MAX_READ_THROUGH}"


def test_every_core_notebook_is_counted():
    assert sorted(read_through()) == ["01-Filtros-y-pipeline", "02-Cola-de-tareas", "03-SimpleWorker",
                                      "04-Logging-y-estadisticas", "05-Multiples-workers"]


def test_the_plan_adds_up_to_45_minutes_with_slack():
    rows = index_plan()
    assert sum(n for n, _ in rows) == 45, f"El plan de 00 suma {sum(n for n, _ in rows)} min, no 45"
    slack = sum(n for n, text in rows if "margen" in text.lower())
    assert slack >= MIN_SLACK, f"El plan de 00 deja {slack} min de margen; hacen falta al menos {MIN_SLACK}"


def test_the_plan_gives_each_notebook_its_core_minutes():
    rows, table = index_plan(), read_through()
    for stem, row in table.items():
        planned = sum(n for n, text in rows if f"({stem}.ipynb)" in text.split("|")[-2] and "margen" not in text.lower()
                      and "Ejercicio" not in text.split("|")[0])
        assert planned == row["minutes"], (f"{stem}: el plan de 00 le da {planned} min y sus secciones ⏱ suman "
                                           f"{row['minutes']}")


def test_the_plan_covers_a_live_reading():
    """Los minutos de las lecciones en el plan alcanzan para leerlas en vivo (1,45 × la lectura, ±1 min)."""
    table = read_through()
    planned = sum(row["minutes"] for row in table.values())
    live = LIVE_FACTOR * sum(row["read"] for row in table.values())
    assert planned >= live - 1, f"Las lecciones tienen {planned} min en el plan y en vivo se tardan unos {live:.0f}"


def test_the_instructor_script_matches_the_plan():
    """El guion minuto a minuto de docs/profesorado.md va de 0 a 45 sin huecos y deja el mismo margen que 00."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "profesorado.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+)–(\d+) \| ([^|]*) \|", text, re.M)
    assert rows and int(rows[0][0]) == 0 and int(rows[-1][1]) == 45, f"El guion no va de 0 a 45: {rows}"
    assert all(int(a[1]) == int(b[0]) for a, b in zip(rows, rows[1:])), "El guion tiene huecos o solapes"
    slack = sum(int(end) - int(start) for start, end, where in rows if "margen" in where.lower())
    assert slack == sum(n for n, text in index_plan() if "margen" in text.lower()) >= MIN_SLACK


def test_the_exercise_slot_holds_5_1_in_class_for_10_to_12_minutes():
    rows = index_plan()
    exercise = [n for n, text in rows if "**5.1**" in text and "Ejercicio" in text]
    assert len(exercise) == 1 and 10 <= exercise[0] <= 12, f"El hueco del ejercicio 5.1 en el plan: {exercise}"
    assert not any("**7.1**" in text or "**4.3**" in text for _, text in rows), "7.1 y 4.3 son para casa"


if __name__ == "__main__":
    table = read_through()
    print(f"{'Cuaderno':<28}{'⏱ min':>6}{'palabras':>10}{'código':>8}{'lectura':>9}{'en vivo':>9}")
    for stem, row in table.items():
        print(f"{stem:<28}{row['minutes']:>6}{row['words']:>10}{row['code_cells']:>8}{row['read']:>8.1f}m"
              f"{LIVE_FACTOR * row['read']:>8.1f}m")
    total = sum(row["read"] for row in table.values())
    print(f"{'Total':<28}{sum(r['minutes'] for r in table.values()):>6}{'':>18}{total:>8.1f}m{LIVE_FACTOR * total:>8.1f}m")
    rows = index_plan()
    print(f"\nPlan de 00: {sum(n for n, _ in rows)} min, margen "
          f"{sum(n for n, text in rows if 'margen' in text.lower())} min")
