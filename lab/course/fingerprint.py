"""La huella de un cuaderno de ejercicios publicado: quién es y cómo eran sus celdas de código.

Al generar la versión del alumnado (``lab.course.release.make_student``) se guarda en los
metadatos del cuaderno, bajo la clave ``lab``::

    {"notebook": "05-Varios-workers-y-speedup",
     "cells": [{"id": "48fe299b", "role": "respuesta", "exercise": "5.1"},
               {"id": "9c1d...", "role": "comprobacion", "exercise": "5.1", "sha256": "3f2a..."}, ...]}

``notebook`` identifica el cuaderno al corregir, se llame como se llame el fichero entregado
(``lab.course.identify``). ``cells`` lista las celdas de código publicadas en orden, con su papel
y, salvo en las de respuesta (que el alumnado escribe), un resumen de su código: con él
``python -m lab check`` nota, sin la fuente del profesorado, una comprobación editada o borrada
(``lab.course.published``). No es un secreto ni una firma: solo sirve para avisar.
"""

from __future__ import annotations

import hashlib
import re

#: La clave de los metadatos del cuaderno donde va la huella.
KEY = "lab"
#: Los papeles de las celdas de código en la huella (los mismos nombres que en ``lab.course.rebuild``).
ANSWER, CHECK, INSTRUCTOR = "respuesta", "comprobacion", "profesorado"


def digest(source: str) -> str:
    """El resumen de un código: SHA-256 (16 cifras) sin espacios al final de las líneas ni líneas vacías al final."""
    text = "\n".join(line.rstrip() for line in source.replace("\r\n", "\n").split("\n")).strip("\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprint(cells: list, roles: dict[int, tuple[str, str | None]], notebook_id: str) -> dict:
    """La huella de las celdas publicadas; ``roles`` da, por índice de celda de código, su papel y su ejercicio."""
    record = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        role, exercise = roles.get(index, (INSTRUCTOR, None))
        entry = {"id": cell.get("id"), "role": role, "exercise": exercise}
        if role != ANSWER:
            entry["sha256"] = digest(cell.get("source", ""))
        record.append(entry)
    return {"notebook": notebook_id, "cells": record}


def notebook_id_of(name: str) -> str:
    """El id de un cuaderno a partir del nombre de su fuente: ``05-Varios-workers-y-speedup.ipynb`` → sin extensión."""
    return re.sub(r"\.ipynb$", "", name.rsplit("/", 1)[-1]) if name.endswith(".ipynb") else ""


def record_of(nb: dict) -> dict | None:
    """La huella guardada en un cuaderno, o ``None`` si no tiene (o no tiene la forma esperada)."""
    record = nb.get("metadata", {}).get(KEY)
    if not isinstance(record, dict) or not isinstance(record.get("cells"), list):
        return None
    if not all(isinstance(c, dict) and c.get("role") in (ANSWER, CHECK, INSTRUCTOR) for c in record["cells"]):
        return None
    return record
