"""¿De qué cuaderno de ejercicios es esta entrega? Se mira su contenido, no el nombre del fichero.

Las descargas de las aulas virtuales renombran los ficheros («Copia de 05-....ipynb»,
«perezana_12345_67890_entrega.ipynb»), así que la fuente de cada entrega se busca, por este
orden, en:

1. el id que ``python -m lab student`` escribe en sus metadatos (``lab.course.fingerprint``);
2. las etiquetas ``ejercicio:N.M`` de sus celdas (el 5.1 solo está en el cuaderno 05);
3. los ids de celda de nbformat que comparte con una fuente (JupyterLab los conserva);
4. las funciones y clases que definen sus celdas (``run_in_threads`` es del 5.1);
5. y solo si nada de eso decide (o el fichero no se puede leer), su nombre: el mismo que una
   fuente o el mismo prefijo ``NN-`` (también tras «Copia de »).

En los pasos 2 a 4 gana la fuente con más coincidencias, si es una sola.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lab.course.fingerprint import notebook_id_of, record_of
from lab.course.rebuild import defined_names, is_answer
from lab.course.release import exercise_of


@dataclass
class Source:
    """Lo que identifica a una fuente: su id, sus ejercicios, sus ids de celda y lo que definen sus respuestas."""

    path: Path
    id: str
    exercises: set[str] = field(default_factory=set)
    cell_ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


def load_sources(source_dir: Path) -> list[Source]:
    """Las fuentes de ``source_dir`` (vacío si la carpeta no existe, como en la copia del alumnado)."""
    found = []
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found.append(Source(path, notebook_id_of(path.name),
                            {e for e in map(exercise_of, nb.cells) if e},
                            {c.get("id") for c in nb.cells if c.get("id")},
                            {n for c in nb.cells if is_answer(c) and c.cell_type == "code" for n in defined_names(c.source)}))
    return found


def _best(sources: list[Source], score) -> Source | None:
    """La fuente con la puntuación más alta (> 0), si no empata con otra."""
    scored = sorted(((score(s), s.id) for s in sources), reverse=True)
    if not scored or scored[0][0] <= 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return next(s for s in sources if s.id == scored[0][1])


def by_name(name: str, sources: list[Source]) -> Source | None:
    """La fuente con el mismo nombre de fichero o, si no, el mismo prefijo ``NN-`` (una sola)."""
    base = re.sub(r"^(Copia de |Copy of )", "", Path(name).name, flags=re.IGNORECASE)
    exact = [s for s in sources if s.path.name == base]
    if exact:
        return exact[0]
    prefix = re.match(r"(\d\d)[-_ ]", base)
    same = [s for s in sources if prefix and s.path.name.startswith(prefix.group(1) + "-")]
    return same[0] if len(same) == 1 else None


def identify(nb: nbformat.NotebookNode | None, name: str, sources: list[Source]) -> Source | None:
    """La fuente de la entrega ``nb`` (``None`` si no se pudo leer) llamada ``name``, o ``None`` si no se sabe."""
    if nb is not None:
        record = record_of(nb)
        if record and record.get("notebook"):
            known = [s for s in sources if s.id == record["notebook"]]
            if known:
                return known[0]
        cells = nb.get("cells", [])
        tags = {e for e in map(exercise_of, cells) if e}
        ids = {c.get("id") for c in cells if c.get("id")}
        names = {n for c in cells if c.get("cell_type") == "code" for n in defined_names(c.get("source", ""))}
        for score in (lambda s: len(s.exercises & tags), lambda s: len(s.cell_ids & ids),
                      lambda s: len(s.names & names)):
            found = _best(sources, score)
            if found is not None:
                return found
    return by_name(name, sources)
