"""Rutas de imagen: mostrarlas siempre imprimibles y explicar en español por qué no se pueden usar.

``shown_path`` muestra con escapes los nombres que no son UTF-8; ``check_path`` rechaza una ruta
con un carácter nulo; ``describe_os_error`` da la causa de un ``OSError`` en una frase.
"""

from __future__ import annotations

import errno
import os

from lab.errors import ImageTaskError


_CAUSES = {
    errno.ENOENT: "la carpeta no existe",
    errno.EACCES: "no hay permiso",
    errno.EPERM: "no hay permiso",
    errno.ENOSPC: "no queda espacio en el disco",
    errno.EROFS: "el sistema de ficheros es de solo lectura",
    errno.ENOTDIR: "una parte de la ruta es un fichero, no una carpeta",
    errno.EISDIR: "ya hay una carpeta con ese nombre",
    errno.EEXIST: "ya hay un fichero con ese nombre donde haría falta una carpeta",
    errno.ELOOP: "hay un bucle de enlaces simbólicos",
}
if hasattr(errno, "EDQUOT"):
    _CAUSES[errno.EDQUOT] = "se ha agotado la cuota de disco"


def shown_path(path: str) -> str:
    """``path`` lista para un mensaje: los bytes que no son UTF-8 se muestran como ``\\xff``.

    En Linux un nombre como ``foto<0xff>.jpg`` llega a Python como ``'foto\\udcff.jpg'``; ese texto
    no se puede imprimir ni guardar en JSON/Redis, así que los mensajes llevan ``'foto\\xff.jpg'``.
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        try:
            raw = os.fsencode(path)
        except UnicodeEncodeError:
            return path.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")


def describe_os_error(exc: BaseException, path: str | None = None) -> str:
    """La causa de ``exc`` en español si es un error conocido del sistema; si no, su texto.

    Con ``path``, un nombre demasiado largo dice cuántos bytes ocupa (el nombre o la ruta entera).
    """
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        name = len(os.fsencode(os.path.basename(path))) if path else 0
        if name > 255:
            return (f"el nombre del fichero ocupa {name} bytes, más de los 255 que admite el "
                    "sistema de ficheros; acórtalo")
        return "la ruta es demasiado larga para el sistema de ficheros; acórtala"
    if isinstance(exc, OSError) and exc.errno in _CAUSES:
        return _CAUSES[exc.errno]
    return f"{type(exc).__name__}: {exc}"


def check_path(path: str, role: str, error: type[ImageTaskError]) -> None:
    """Rechaza con ``error`` una ruta que ningún sistema de ficheros admite (con ``\\0``)."""
    if "\0" in path:
        raise error(
            f"La ruta {role} {shown_path(path)!r} contiene un carácter nulo (\\0), que ningún "
            "sistema de ficheros admite en un nombre; revisa de dónde sale esa ruta.", path)
