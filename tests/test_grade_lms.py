"""Corregir las descargas de Moodle y de Canvas tal como vienen, e importar ``notas.csv`` sin editarlo.

Una fuente sintética con dos ejercicios (1.1 vale 2 puntos y 1.2, 1,5) y, en cada descarga,
entregas renombradas, una sin metadatos, una rota, una dentro de un zip, una fuera de plazo y un
fichero suelto que no es de nadie. Cada descarga se corrige con ``python -m lab grade`` (un
kernel por cuaderno, dos a la vez: unos 15 s cada una).
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lab.__main__ import main as lab_main
from lab.course.collect import CANVAS, MOODLE, collect
from lab.course.rebuild import fill_answers
from lab.course.release import make_student

DOBLE = "def doble(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
MITAD = "def mitad(x):\n    ### BEGIN SOLUTION\n    return x / 2\n    ### END SOLUTION"


def _source():
    def cell(factory, text, *tags):
        return factory(text, metadata={"tags": list(tags)})

    return new_notebook(cells=[
        cell(new_markdown_cell, "## Ejercicio 1.1: Doble", "ejercicio:1.1", "puntos:2"),
        cell(new_code_cell, DOBLE, "ejercicio:1.1"),
        cell(new_code_cell, "assert doble(2) == 4, 'doble(2) debería ser 4'", "ejercicio:1.1", "comprobacion"),
        cell(new_markdown_cell, "## Ejercicio 1.2: Mitad", "ejercicio:1.2", "puntos:1.5"),
        cell(new_code_cell, MITAD, "ejercicio:1.2"),
        cell(new_code_cell, "assert mitad(3) == 1.5", "ejercicio:1.2", "comprobacion"),
    ])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """La fuente y las entregas típicas: resuelta, medio resuelta (solo 1.1), solo 1.2 y sin metadatos, y rota."""
    folder = tmp_path_factory.mktemp("curso")
    (folder / "fuentes").mkdir()
    nbformat.write(_source(), folder / "fuentes" / "01-Prueba.ipynb")
    source = nbformat.read(folder / "fuentes" / "01-Prueba.ipynb", as_version=4)
    student = make_student(source, "01-Prueba.ipynb")
    half = make_student(source, "01-Prueba.ipynb")
    half.cells[1].source = DOBLE.replace("### BEGIN SOLUTION\n    ", "").replace("\n    ### END SOLUTION", "")
    other_half = make_student(source, "01-Prueba.ipynb")
    other_half.cells[4].source = "def mitad(x):\n    return x * 0.5"
    del other_half.metadata["lab"]
    return {"fuentes": folder / "fuentes", "resuelto": nbformat.writes(fill_answers(student, source)),
            "1.1": nbformat.writes(half), "1.2": nbformat.writes(other_half), "roto": '{"cells": ['}


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            (root / name).write_bytes(data)
        else:
            (root / name).write_text(data, encoding="utf-8")


def _zip(files: dict[str, str]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def _grade(target: Path, course: dict, out: Path, *extra: str) -> int:
    return lab_main(["grade", str(target), "--source", str(course["fuentes"]), "--out", str(out), "--parallel", "2",
                     "--timeout", "30", *extra])


def _csv(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def test_a_moodle_download_folder_gives_every_student_a_row_and_a_worksheet_moodle_imports(course, tmp_path, capsys):
    download = tmp_path / "Curso-Tarea 1-12345"
    _write(download, {
        "Ana Pérez_1001_assignsubmission_file_/01-Prueba.ipynb": course["resuelto"],
        "Bruno Díaz_1002_assignsubmission_file_/Copia de 01-Prueba.ipynb": course["1.1"],
        "Carla Ruiz_1003_assignsubmission_file_/entrega.ipynb": course["1.2"],
        "Dani Gil_1004_assignsubmission_file_/01-Prueba.ipynb": course["roto"],
        "Dani Gil_1004_assignsubmission_onlinetext_/onlinetext.html": "<p>hecho</p>",
        "Eva Luna_1005_assignsubmission_file_/trabajo.zip": _zip({"trabajo/01-Prueba.ipynb": course["resuelto"]}),
        "Fran Sol_1006_assignsubmission_file_Copia de 01-Prueba.ipynb": course["1.1"],  # descarga sin carpetas
        "notas-viejas.ipynb": course["resuelto"],
        ".DS_Store": b"\x00\x01",
    })
    out = tmp_path / "notas"
    assert _grade(download, course, out) == 1
    printed = capsys.readouterr().out
    assert "Corrigiendo" in printed and "6 estudiantes" in printed
    assert "notas-viejas.ipynb: no está en la carpeta de ningún estudiante" in printed
    assert "hoja de calificaciones de Moodle" in printed

    rows = _csv(out / "notas.csv")
    assert rows[0][:7] == ["Identificador", "Nombre completo", "Calificación", "Última modificación (calificación)",
                           "Identifier", "Grade", "Last modified (grade)"]
    grades = {r[1]: (r[0], r[2], r[4], r[5]) for r in rows[1:]}
    assert grades == {"Ana Pérez": ("Participante1001", "3.5", "Participante1001", "3.5"),
                      "Bruno Díaz": ("Participante1002", "2", "Participante1002", "2"),
                      "Carla Ruiz": ("Participante1003", "1.5", "Participante1003", "1.5"),
                      "Dani Gil": ("Participante1004", "0", "Participante1004", "0"),
                      "Eva Luna": ("Participante1005", "3.5", "Participante1005", "3.5"),
                      "Fran Sol": ("Participante1006", "2", "Participante1006", "2")}
    assert not (out / "notas.csv").read_bytes().startswith(b"\xef\xbb\xbf"), "Moodle compara la cabecera sin BOM"
    dani = next(r for r in rows if r[1] == "Dani Gil")
    assert "no es JSON" in dani[-1] and "onlinetext.html' no es un cuaderno" in dani[-1]

    sheet = _csv(out / "notas-hoja.csv", ";", "utf-8-sig")
    assert sheet[0] == ["Estudiante", "ID en el aula virtual", "Fuera de plazo", "1.1 (máx. 2)", "1.2 (máx. 1.5)",
                        "Total", "Máximo", "Porcentaje", "Observaciones"]
    assert sheet[1][:8] == ["Ana Pérez", "1001", "", "2", "1,5", "3,5", "3,5", "100"]
    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    assert report["lms"] == MOODLE and report["system_files"] == 1
    assert [s["reason"] for s in report["unattributed"]][0].startswith("no está en la carpeta")
    assert {"name", "points", "max_points", "notes", "lms_id", "late"} <= set(report["students"][0])
    assert sorted(p.name for p in (out / "devoluciones").iterdir())[0] == "Ana_Pérez_1001.md"


def test_a_canvas_zip_keeps_the_late_mark_and_gives_a_csv_canvas_imports(course, tmp_path, capsys):
    archive = tmp_path / "submissions.zip"
    archive.write_bytes(_zip({
        "perezana_1001_555_01-Prueba.ipynb": course["resuelto"],
        "diazbruno_late_1002_556_Copia de 01-Prueba-1.ipynb": course["1.1"],
        "ruizcarla_1003_557_entrega.ipynb": course["1.2"],
        "gildani_1004_558_01-Prueba.ipynb": course["roto"],
        "leeme.txt": "entregas de la tarea 1",
    }))
    out = tmp_path / "notas"
    assert _grade(archive, course, out, "--assignment", "Ejercicios 01 (4321)", "--max-grade", "10") == 1
    printed = capsys.readouterr().out
    assert "diazbruno (1002)" in printed and "fuera de plazo" in printed and "leeme.txt" in printed

    rows = _csv(out / "notas.csv")
    assert rows == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Ejercicios 01 (4321)"],
                    ["diazbruno", "1002", "", "", "", "5.71"],
                    ["gildani", "1004", "", "", "", "0"],
                    ["perezana", "1001", "", "", "", "10"],
                    ["ruizcarla", "1003", "", "", "", "4.29"]]
    sheet = {r[0]: r for r in _csv(out / "notas-hoja.csv", ";", "utf-8-sig")[1:]}
    assert sheet["diazbruno"][1:6] == ["1002", "sí", "2", "0", "2"] and sheet["perezana"][2] == ""
    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    assert report["lms"] == CANVAS and [s["label"] for s in report["unattributed"]] == [f"{archive}/leeme.txt"]
    assert [s["late"] for s in report["students"]] == [True, False, False, False]


def test_collect_unwraps_a_download_folder_ignores_unsafe_zip_paths_and_reads_cp437_names(tmp_path):
    archive = tmp_path / "descarga.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Tarea 1/Ana_1001_assignsubmission_file_/01.ipynb", "{}")
        zf.writestr("../fuera.ipynb", "{}")
        zf.writestr("Tarea 1/Nuuria Puig_1002_assignsubmission_file_/01.ipynb", "{}")
    # Como algunos zip de Moodle: el nombre en UTF-8 sin la marca que lo dice (zipfile lo leería como cp437).
    archive.write_bytes(archive.read_bytes().replace(b"Nuuria", "Núria".encode("utf-8")))
    found = collect([archive], tmp_path / "tmp")
    assert found.is_class and found.lms == MOODLE and not found.strays
    assert [s.label for s in found.students] == ["Ana (1001)", "Núria Puig (1002)"]
    assert not (tmp_path / "fuera.ipynb").exists() and not (tmp_path / "tmp" / "fuera.ipynb").exists()


def test_a_stray_notebook_beside_the_student_folders_keeps_class_mode_and_is_listed(tmp_path):
    _write(tmp_path / "ENTREGAS", {"ana/05-Varios.ipynb": "{}", "bruno/entrega.ipynb": "{}", "suelto.ipynb": "{}",
                                   "carla/.ipynb_checkpoints/05-Varios-checkpoint.ipynb": "{}"})
    (tmp_path / "ENTREGAS" / "dani").mkdir()
    found = collect([tmp_path / "ENTREGAS"], tmp_path / "tmp")
    assert found.is_class and found.lms == ""
    assert [s.label for s in found.students] == ["ana", "bruno", "carla", "dani"]
    assert [s.label.rsplit("/", 1)[-1] for s in found.strays] == ["suelto.ipynb"]
    assert found.strays[0].reason.startswith("no está en la carpeta de ningún estudiante")
    assert found.system_files == 1


def test_two_copies_of_the_same_notebook_grade_the_newest_and_note_the_other(course, tmp_path):
    import os

    from lab.course.gradebook import make_jobs
    from lab.course.identify import load_sources

    _write(tmp_path / "ENTREGAS", {"ana/01-Prueba.ipynb": course["1.1"], "ana/Copia de 01-Prueba.ipynb": course["resuelto"],
                                   "bruno/01-Prueba.ipynb": course["1.2"]})
    os.utime(tmp_path / "ENTREGAS" / "ana" / "01-Prueba.ipynb", (1, 1))  # la más antigua
    found = collect([tmp_path / "ENTREGAS"], tmp_path / "tmp")
    jobs = make_jobs(found, load_sources(course["fuentes"]), course["fuentes"])
    ana = [(Path(j.label).name, j.source is not None, j.reason[:18]) for j in jobs if j.student.name == "ana"]
    assert ana == [("Copia de 01-Prueba.ipynb", True, ""), ("01-Prueba.ipynb", False, "otra entrega de 01")]
