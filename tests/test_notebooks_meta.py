"""Los cuadernos como ficheros: completos, sin salidas, con su barra de navegación al día."""

from __future__ import annotations

import json

import nbformat
import pytest

from lab.course import nav

EXPECTED = ["00-Indice", "01-Filtros-y-pipeline", "02-Cola-de-tareas", "03-SimpleWorker",
            "04-Logging-y-estadisticas", "05-Multiples-workers", "06-AsyncWorker",
            "07-Fallos-reintentos-y-salud", "08-Hacia-Redis"]
NOTEBOOKS = nav.lesson_notebooks()


def test_the_whole_series_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


def test_navigation_bars_are_up_to_date():
    stale = nav.update(check=True)
    assert not stale, f"Barras desfasadas en {[p.name for p in stale]}: ejecuta `python -m lab.course.nav`."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: hay una celda con salidas guardadas; límpialas antes de hacer commit."
    assert path.name.isascii()
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem != "00-Indice"], ids=lambda p: p.stem)
def test_lesson_has_objectives_exercises_and_further_reading(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for heading in ("Objetivos", "Ejercicios", "Para saber más"):
        assert f"## {heading}" in markdown, f"{path.name} no tiene la sección «{heading}»"
    assert markdown.rindex("## Para saber más") > markdown.rindex("## Ejercicios")
    assert "lab." in markdown, f"{path.name} no dice en qué módulo de lab vive la pieza terminada"


def test_index_links_every_notebook():
    index = json.dumps(nbformat.read(nav.NOTEBOOKS_DIR / "00-Indice.ipynb", as_version=4).cells)
    for name in EXPECTED[1:]:
        assert f"{name}.ipynb" in index


# --- El camino de clase de 45 minutos y el final de cada cuaderno --------------------------------------------------
#
# Convenciones (README, «Mapa de la sesión», y docs/profesorado.md):
# - una sección de clase termina su título en « · ⏱ N min» (la presentación del ejercicio 5.1, en 05, también);
#   tests/test_class_time.py mide cuánto se tarda en leerlas y comprueba el plan de 45 minutos de 00;
# - una sección opcional empieza su título por «🏠 Para casa · » y su primera línea es el aviso CALLOUT;
# - cada cuaderno de lección termina en «Puntos clave», «Comprueba lo que has aprendido», «Ejercicios» y «Para saber
#   más», y después solo la barra de navegación.

import re  # noqa: E402

from lab import PROJECT_DIR  # noqa: E402

LESSONS = [p for p in NOTEBOOKS if p.stem != "00-Indice"]
CALLOUT = "> 🏠 **Para casa (opcional):** fuera de los 45 minutos de clase; se puede saltar sin perder el hilo."
CORE = re.compile(r" · ⏱ (\d+) min$")
OPTIONAL = "🏠 Para casa · "
STRUCTURAL = {"Objetivos", "Preparación", "Puntos clave", "Comprueba lo que has aprendido", "Ejercicios",
              "Para saber más"}
ENDING = ["Puntos clave", "Comprueba lo que has aprendido", "Ejercicios", "Para saber más"]
CORE_MINUTES = {"01-Filtros-y-pipeline": 3, "02-Cola-de-tareas": 8, "03-SimpleWorker": 6,
                "04-Logging-y-estadisticas": 8, "05-Multiples-workers": 4}


def _sections(notebook):
    """[(título de nivel 2, índice de su celda, texto de la sección hasta el siguiente título de nivel 2)]."""
    found = []
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown" or nav.NAV_TAG in cell.metadata.get("tags", []):
            continue
        for line in cell.source.splitlines():
            if line.startswith("## "):
                found.append([line[3:].strip(), i, []])
            elif found:   # una celda sin títulos sigue la sección anterior (las de código no cuentan)
                found[-1][2].append(line)
    return [(title, i, "\n".join(lines)) for title, i, lines in found]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_section_is_core_optional_or_structural(path):
    notebook = nbformat.read(path, as_version=4)
    for title, _, text in _sections(notebook):
        if title in STRUCTURAL:
            continue
        if title.startswith(OPTIONAL):
            first = next((line for line in text.splitlines() if line.strip()), "")
            assert first == CALLOUT, f"{path.name}: la sección «{title}» debe empezar por el aviso:\n{CALLOUT}"
        else:
            assert CORE.search(title), (
                f"{path.name}: «{title}» no es de clase (« · ⏱ N min») ni para casa («{OPTIONAL}»)")


@pytest.mark.parametrize("path", [p for p in LESSONS if p.stem in CORE_MINUTES], ids=lambda p: p.stem)
def test_core_minutes_follow_the_plan(path):
    minutes = sum(int(m.group(1)) for title, _, _ in _sections(nbformat.read(path, as_version=4))
                  if (m := CORE.search(title)))
    assert minutes == CORE_MINUTES[path.stem], f"{path.name}: sus secciones ⏱ suman {minutes} min"


def test_index_plan_puts_5_1_in_class_and_7_1_and_4_3_at_home():
    index = nbformat.read(nav.NOTEBOOKS_DIR / "00-Indice.ipynb", as_version=4)
    plan = next(c.source for c in index.cells if c.source.startswith("## Plan de la sesión (45 min)"))
    table, home = plan.split("### Para casa")
    assert "**5.1**" in table and "**7.1**" not in table and "**4.3**" not in table
    assert "**7.1**" in home and "**4.3**" in home


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_ends_with_key_points_questions_exercises_and_reading(path):
    notebook = nbformat.read(path, as_version=4)
    sections = _sections(notebook)
    assert [title for title, _, _ in sections[-4:]] == ENDING, f"{path.name} debe terminar en {ENDING}"
    after = [c for c in notebook.cells[sections[-1][1] + 1:]]
    assert all(nav.NAV_TAG in c.metadata.get("tags", []) for c in after), \
        f"{path.name}: después de «Para saber más» solo va la barra de navegación"
    text = {title: body for title, _, body in sections}
    bullets = [line for line in text["Puntos clave"].splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 5, f"{path.name}: «Puntos clave» tiene {len(bullets)} puntos (3 a 5)"
    answers = text["Comprueba lo que has aprendido"].count("<details><summary>Respuesta</summary>")
    assert 2 <= answers <= 3, f"{path.name}: hay {answers} preguntas con su respuesta oculta (2 o 3)"
    assert text["Comprueba lo que has aprendido"].count("</details>") == answers
    exercises = text["Ejercicios"]
    assert "python -m lab check notebooks/ejercicios/" in exercises and "make check NB=notebooks/ejercicios/" in exercises, \
        f"{path.name}: «Ejercicios» debe enseñar `python -m lab check ...` (Windows no tiene make) y `make check NB=...`"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_intentional_errors_are_announced_and_short(path):
    notebook = nbformat.read(path, as_version=4)
    xmode_seen = False
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "%xmode Minimal" in cell.source:
            xmode_seen = True
        if "raises-exception" not in cell.metadata.get("tags", []):
            continue
        assert xmode_seen, f"{path.name}: falta `%xmode Minimal` antes del primer error a propósito (celda {i})"
        before = next(c.source for c in reversed(notebook.cells[:i]) if c.cell_type == "markdown")
        assert "a propósito" in before, f"{path.name}: la celda {i} falla sin que la frase anterior lo avise"


# Una cifra fija de núcleos («una máquina de 2 núcleos») es falsa en cuanto el cuaderno se abre en otra máquina: lo
# que dependa de los núcleos se imprime con os.cpu_count() y se dice en condicional («si tu máquina tiene N
# núcleos...»). Se permite una cifra dentro de una condición (un «si» poco antes).
FIXED_CORES = re.compile(r"\b(\d+|dos|tres|cuatro|seis|ocho|dieciséis)\s+núcleos\b", re.I)
ALL_NOTEBOOKS = sorted({*nav.NOTEBOOKS_DIR.rglob("*.ipynb"), *(PROJECT_DIR / "ejercicios").rglob("*.ipynb")}
                       - {*nav.NOTEBOOKS_DIR.rglob(".ipynb_checkpoints/*")})


def _fixed_core_counts(path):
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        for match in FIXED_CORES.finditer(cell.source):
            before = cell.source[max(0, match.start() - 60):match.start()]
            if not re.search(r"\b[Ss]i\b", before):
                found.append(cell.source[max(0, match.start() - 40):match.end() + 10].replace("\n", " "))
    return found


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(PROJECT_DIR))) for p in ALL_NOTEBOOKS])
def test_no_notebook_states_a_fixed_core_count(path):
    found = _fixed_core_counts(path)
    assert not found, f"{path.name} da por hecho un número de núcleos: {found}"


def test_fixed_core_count_detector():
    text = "En una máquina de 2 núcleos el speedup no pasa de 2; si tu máquina tiene 4 núcleos, de 4."
    assert [m.group(0) for m in FIXED_CORES.finditer(text)] == ["2 núcleos", "4 núcleos"]


# --- Una lección no imprime la respuesta de un ejercicio ---------------------------------------------------------
#
# Ninguna línea no trivial de una solución (lo que va entre ### BEGIN SOLUTION y ### END SOLUTION en
# ejercicios/soluciones/) aparece en una celda de código de una lección. «Trivial»: menos de 25 caracteres sin
# espacios (return, else:, un contador...), que cualquier código comparte, o una llamada de la API de la guía.

GUIDE_API = {"return self._do_process(task)"}   # el gancho de process_task, tal cual en el ejercicio 2 de la guía

def _solution_lines():
    lines = {}
    for path in sorted((PROJECT_DIR / "ejercicios" / "soluciones").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    inside = True
                elif "### END SOLUTION" in line:
                    inside = False
                elif inside and len(re.sub(r"\s", "", line)) >= 25 and line.strip() not in GUIDE_API:
                    lines[" ".join(line.split())] = path.stem
    return lines


def test_no_lesson_prints_an_exercise_answer():
    solutions = _solution_lines()
    assert len(solutions) > 50
    leaks = []
    for path in LESSONS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                leaks += [f"{path.stem}: {line.strip()!r} (solución de {solutions[key]})"
                          for line in cell.source.splitlines() if (key := " ".join(line.split())) in solutions]
    assert not leaks, "Una lección copia líneas de una solución:\n" + "\n".join(leaks)


# --- Enlaces que se abren en el JupyterLab de `make lab` -----------------------------------------------------------
#
# `make lab` sirve la raíz del proyecto: un enlace relativo de un cuaderno de notebooks/ se abre si apunta a un
# fichero (no a una carpeta, que JupyterLab no abre desde un enlace) dentro del proyecto. Un enlace a un fichero
# local no lleva el texto en `código`: así no parece clicable.

LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_local_links_open_a_file_inside_the_project(path):
    notebook = nbformat.read(path, as_version=4)
    bad = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for text, target in LINK.findall(cell.source):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file = (path.parent / target.split("#")[0]).resolve()
            if not file.is_file() or PROJECT_DIR.resolve() not in file.parents:
                bad.append(f"{target} (no es un fichero del proyecto)")
            if text.startswith("`"):
                bad.append(f"[{text}]({target}) (texto en código: no parece un enlace)")
    assert not bad, f"{path.name}: {bad}"


# --- Una palabra por concepto, la del glosario ----------------------------------------------------------------------

RETIRED = {"apagado ordenado": "parada ordenada", "concurrencia acotada": "concurrencia limitada",
           "token de exclusión": "fencing token", "carga útil": "payload", "Breakdown": "desglose"}


@pytest.mark.parametrize("path", [*NOTEBOOKS, *sorted((PROJECT_DIR / "docs").glob("*.md")), PROJECT_DIR / "README.md"],
                         ids=lambda p: p.name)
def test_one_word_per_concept(path):
    text = path.read_text(encoding="utf-8")
    used = [f"«{old}» (di «{new}»)" for old, new in RETIRED.items() 
            if re.search(rf"\b{old}\b", text, 0 if old[0].isupper() else re.I)]
    assert not used, f"{path.name} usa palabras retiradas del glosario: {used}"
