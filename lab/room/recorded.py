"""Un aula grabada: lo que leyó ``Room.read()`` en una clase, guardado como JSON, para mirarlo sin servidor.

``RecordedRoom.load()`` lee ``lab/room/data/aula-grabada.json`` (o el fichero que se le dé) y ofrece
lo mismo que un aula para mirar (``snapshot()``, ``description``); encolar o sacar portátiles lanza
``LabError``. ``record(room, path)`` graba un aula en marcha. Lo grabado se valida al leerlo igual
que lo leído de Redis (``state.snapshot``): un fichero manipulado no rompe el panel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.room.state import RoomSnapshot, snapshot

__all__ = ["RecordedRoom", "record", "RECORDING"]

RECORDING = Path(__file__).resolve().parent / "data" / "aula-grabada.json"


def record(room: Any, path: str | Path, note: str = "") -> Path:
    """Guarda en ``path`` lo que ``room`` lee ahora (sin URL ni contraseña) con una nota de dónde salió."""
    raw = room.read()
    raw["events"] = [event.to_dict() for event in raw["events"]]
    raw["extra"] = {"note": note}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path


class RecordedRoom:
    """Un aula grabada: se mira (``snapshot``) pero no se toca."""

    read_only = True
    simulated = True
    room = None

    def __init__(self, raw: dict[str, Any], source: str):
        self._snapshot = snapshot(raw)
        self.source = source

    @classmethod
    def load(cls, path: str | Path = RECORDING) -> "RecordedRoom":
        """El aula grabada en ``path`` (por defecto, la que viene con el curso)."""
        path = Path(path)
        return cls(json.loads(path.read_text(encoding="utf-8")), path.name)

    @property
    def description(self) -> str:
        note = self._snapshot.extra.get("note")
        return f"aula grabada ({self.source}{': ' + str(note)[:160] if note else ''})"

    def snapshot(self) -> RoomSnapshot:
        return self._snapshot

    def _read_only(self, *_: Any, **__: Any) -> Any:
        raise LabError("Es un aula grabada: se puede mirar, no encolar ni sacar portátiles. Para eso, un aula de "
                       "práctica (sin LAB_AULA_URL) o la de verdad.")

    enqueue = take_out = _read_only

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        """Nada que cerrar."""
