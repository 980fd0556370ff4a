"""Qué ha entregado cada estudiante: las descargas de Moodle y Canvas tal como vienen, o una carpeta por estudiante.

``python -m lab grade`` acepta, en zip o descomprimidas:

- **Moodle** («Descargar todas las entregas»): una carpeta por estudiante y tipo de entrega,
  ``Nombre Apellido_1234567_assignsubmission_file_/05-....ipynb``, o, sin carpetas,
  ``Nombre Apellido_1234567_assignsubmission_file_05-....ipynb``. El número es el id de
  participante de la tarea (el del «Identificador» de su hoja de calificaciones).
- **Canvas** («Descargar entregas»): ficheros sueltos ``apellidonombre_12345_67890_fichero.ipynb``,
  con ``_late`` tras el nombre si llegó fuera de plazo; el primer número es el id de Canvas del
  estudiante (el «ID» de su libro de calificaciones).
- **Una carpeta por estudiante**: ``ENTREGAS/ana/05-....ipynb``.

Un zip dentro de una entrega se abre también (un nivel). Un fichero suelto que no es de ningún
estudiante (junto a las carpetas, o en una descarga de Canvas sin su nombre) no se salta en
silencio: va a ``Collection.strays`` con el motivo. Solo se dejan de mirar, y se cuentan, los
ficheros del sistema (``.DS_Store``, ``__MACOSX/``, ``Thumbs.db``...). Sin nada de eso (una
carpeta de cuadernos o cuadernos sueltos) no es una clase: cada cuaderno se corrige solo.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lab.errors import LabError

MOODLE, CANVAS, FOLDER = "moodle", "canvas", "carpeta"
MOODLE_RE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[A-Za-z0-9]+)_(?P<rest>.*)$")
CANVAS_RE = re.compile(r"^(?P<name>[^_]+?)(?P<late>_late)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<rest>.+)$", re.IGNORECASE)
SYSTEM_FILES = {".DS_Store", "Thumbs.db", "desktop.ini", "__MACOSX", "__pycache__", ".ipynb_checkpoints"}
#: Lo más que se descomprime de una descarga (entre todos sus ficheros).
MAX_UNZIPPED = 2 * 1024 ** 3


@dataclass(frozen=True)
class Student:
    """Un estudiante tal como lo nombra la descarga: nombre, id del aula virtual y de dónde viene."""

    name: str
    lms_id: str = ""
    origin: str = ""

    @property
    def label(self) -> str:
        """Cómo se le nombra en los informes: el nombre y, si lo hay, el id (dos «Ana García» no se mezclan)."""
        return f"{self.name} ({self.lms_id})" if self.lms_id else self.name


@dataclass
class Delivery:
    """Un fichero entregado (o la carpeta vacía de un estudiante), con la ruta que se muestra.

    ``name`` es el nombre con que lo subió el estudiante (sin lo que antepone Moodle o Canvas).
    """

    student: Student
    path: Path
    label: str
    late: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.path.name


@dataclass
class Stray:
    """Un fichero que no se puede atribuir a ningún estudiante, y por qué."""

    label: str
    reason: str


@dataclass
class Collection:
    """Todo lo recogido: entregas, estudiantes, ficheros sin dueño y si es una clase (y de qué aula virtual)."""

    deliveries: list[Delivery] = field(default_factory=list)
    strays: list[Stray] = field(default_factory=list)
    is_class: bool = False
    system_files: int = 0

    @property
    def students(self) -> list[Student]:
        """Los estudiantes, sin repetir, en el orden en que aparecen."""
        return list(dict.fromkeys(d.student for d in self.deliveries))

    @property
    def late(self) -> set[Student]:
        """Los estudiantes con alguna entrega fuera de plazo (Canvas lo dice en el nombre del fichero)."""
        return {d.student for d in self.deliveries if d.late}

    @property
    def lms(self) -> str:
        """``moodle`` o ``canvas`` si todos los estudiantes vienen de esa descarga; si no, ``""``."""
        origins = {s.origin for s in self.students}
        return origins.pop() if len(origins) == 1 and origins <= {MOODLE, CANVAS} else ""


def _is_system(path: Path) -> bool:
    return path.name in SYSTEM_FILES or path.name.startswith(("._", "~$"))


def unzip(archive: Path, target: Path) -> Path:
    """Descomprime ``archive`` en ``target`` sin salirse de ella; ``LabError`` si no es un zip o es enorme."""
    try:
        with zipfile.ZipFile(archive) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED:
                raise LabError(f"{archive.name} ocupa más de {MAX_UNZIPPED // 1024 ** 3} GB descomprimido.")
            for info in zf.infolist():
                name = info.filename
                if not info.flag_bits & 0x800:  # sin la marca UTF-8, zipfile lo lee como cp437
                    try:
                        name = name.encode("cp437").decode("utf-8")
                    except (UnicodeEncodeError, UnicodeDecodeError):
                        pass
                parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "/")]
                if not parts or ".." in parts or name.startswith(("/", "\\")):
                    continue
                dest = target.joinpath(*parts)
                if info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile:
        raise LabError(f"{archive.name} no es un zip válido.") from None
    return target


class _Collector:
    """Recorre las rutas de ``collect`` y va llenando una ``Collection``."""

    def __init__(self, workdir: Path):
        self.workdir, self.found, self._zips = workdir, Collection(), 0

    def _visible(self, folder: Path) -> list[Path]:
        entries = []
        for path in sorted(folder.iterdir()):
            if _is_system(path):
                self.found.system_files += sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else 1
            else:
                entries.append(path)
        return entries

    def _files(self, folder: Path) -> list[Path]:
        """Los ficheros de una entrega, recursivamente y sin los del sistema."""
        out = []
        for path in self._visible(folder):
            out.extend(self._files(path) if path.is_dir() else [path])
        return out

    def _unzip_here(self, archive: Path) -> Path | None:
        self._zips += 1
        try:
            return unzip(archive, self.workdir / f"zip-{self._zips}")
        except LabError:
            return None

    def _deliver(self, student: Student, path: Path, label: str, late: bool = False, name: str = "") -> None:
        """Una entrega; si es un zip que se abre, cada uno de sus ficheros."""
        inner = self._unzip_here(path) if path.suffix.lower() == ".zip" else None
        if inner is None:
            self.found.deliveries.append(Delivery(student, path, label, late, name))
            return
        files = self._files(inner)
        for file in files:
            self.found.deliveries.append(Delivery(student, file, f"{label}/{file.relative_to(inner).as_posix()}", late))
        if not files:
            self.found.deliveries.append(Delivery(student, path, label, late))

    def _student_entry(self, entry: Path, shown: str) -> bool:
        """Reparte una entrada de una clase (carpeta o fichero con nombre de descarga); ``False`` si no es de nadie."""
        moodle, canvas = MOODLE_RE.match(entry.name), CANVAS_RE.match(entry.name)
        if moodle and (entry.is_dir() or moodle.group("rest")):
            student = Student(moodle.group("name").strip(), moodle.group("id"), MOODLE)
        elif canvas and entry.is_file():
            student = Student(canvas.group("name"), canvas.group("id"), CANVAS)
            self._deliver(student, entry, shown, late=bool(canvas.group("late")), name=canvas.group("rest"))
            return True
        elif entry.is_dir():
            student = Student(entry.name, origin=FOLDER)
        else:
            return False
        if entry.is_file():
            self._deliver(student, entry, shown, name=moodle.group("rest"))
            return True
        files = self._files(entry)
        for file in files:
            self._deliver(student, file, f"{shown}/{file.relative_to(entry).as_posix()}")
        if not files:
            self.found.deliveries.append(Delivery(student, entry, shown))
        return True

    def add(self, path: Path, shown: str) -> None:
        """Una ruta de la línea de órdenes: zip, carpeta (clase o de cuadernos) o cuaderno suelto."""
        if path.is_file() and path.suffix.lower() == ".zip":
            self._zips += 1
            path = unzip(path, self.workdir / f"descarga-{self._zips}")
        if path.is_file():
            self.found.deliveries.append(Delivery(Student(""), path, shown))
            return
        entries = self._visible(path)
        while len(entries) == 1 and entries[0].is_dir() and not MOODLE_RE.match(entries[0].name) \
                and self._looks_like_download(entries[0]):
            shown, path = f"{shown}/{entries[0].name}", entries[0]  # la carpeta que envuelve una descarga
            entries = self._visible(path)
        if not self._looks_like_class(path):
            for entry in entries:
                if entry.suffix == ".ipynb":
                    self.found.deliveries.append(Delivery(Student(""), entry, f"{shown}/{entry.name}"))
                else:
                    self.found.strays.append(Stray(f"{shown}/{entry.name}", "no es un cuaderno de Jupyter (.ipynb)."))
            return
        self.found.is_class = True
        for entry in entries:
            if not self._student_entry(entry, f"{shown}/{entry.name}"):
                self.found.strays.append(Stray(f"{shown}/{entry.name}", "no está en la carpeta de ningún estudiante ni "
                                               "lleva el nombre de una descarga de Moodle o Canvas."))

    def _looks_like_download(self, folder: Path) -> bool:
        """Algún fichero o carpeta con nombre de descarga de Moodle o Canvas."""
        return any(MOODLE_RE.match(e.name) or CANVAS_RE.match(e.name) for e in folder.iterdir() if not _is_system(e))

    def _looks_like_class(self, folder: Path) -> bool:
        """Una clase: alguna subcarpeta o algún fichero con nombre de descarga de Moodle o Canvas."""
        return self._looks_like_download(folder) or any(e.is_dir() for e in folder.iterdir() if not _is_system(e))


def collect(paths: list[str | Path], workdir: Path) -> Collection:
    """Lo entregado en ``paths`` (zips, carpetas o cuadernos); los zips se descomprimen en ``workdir``.

    Lanza ``LabError`` si una ruta no existe o un zip de la línea de órdenes no se puede abrir.
    """
    collector = _Collector(Path(workdir))
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise LabError(f"no encuentro {raw}.")
        collector.add(path, str(raw).rstrip("/\\") or str(raw))
    return collector.found
