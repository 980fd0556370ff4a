"""Errores del paquete ``lab``: una jerarquía pequeña con mensajes en español.

Cada error lleva un mensaje pensado para un estudiante: una frase que nombra la
tarea o el fichero y la causa. Los workers convierten cualquiera de ellos en el
texto de ``mark_failed`` sin necesidad de mostrar una traza.
"""

from __future__ import annotations


class LabError(Exception):
    """Base de todos los errores propios del paquete ``lab``."""


# --- Filtros y pipelines -------------------------------------------------------------

class FilterSpecError(LabError, ValueError):
    """Una especificación de filtro o pipeline (JSON) no es válida."""


# --- Imágenes (lab.core) -------------------------------------------------------------

class ImageTaskError(LabError):
    """Fallo al cargar, procesar o guardar una imagen; ``path`` es el fichero implicado."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class ImageNotFoundError(ImageTaskError, FileNotFoundError):
    """El fichero de entrada no existe."""


class CorruptImageError(ImageTaskError):
    """El fichero existe pero no es una imagen legible (vacío, truncado, otro formato)."""


class ImageTooLargeError(ImageTaskError):
    """La imagen supera el límite de píxeles de Pillow (posible bomba de descompresión)."""


class OutputWriteError(ImageTaskError):
    """No se pudo escribir la imagen de salida (carpeta sin permisos, disco lleno...)."""


class UnsupportedFormatError(OutputWriteError):
    """La extensión de salida no es un formato soportado, o no guarda todos los fotogramas de la entrada.

    A diferencia de un disco lleno, reintentar no sirve de nada: es un error permanente.
    """


class WorkerProcessError(LabError):
    """El proceso hijo de un worker no arrancó o murió a mitad de tarea (p. ej. sin memoria)."""


class InvalidTaskError(LabError, ValueError):
    """El payload de una tarea no tiene la forma esperada (falta una clave, tipo erróneo)."""


# --- Colas de tareas (lab.workers) ---------------------------------------------------

class QueueError(LabError):
    """Base de los errores de una cola de tareas."""


class UnknownTaskError(QueueError, KeyError):
    """No existe ninguna tarea con ese id en la cola."""

    def __str__(self) -> str:  # KeyError pondría el mensaje entre comillas
        return str(self.args[0]) if self.args else ""


class InvalidTransitionError(QueueError):
    """Cambio de estado no permitido (p. ej. completar una tarea pendiente o ya terminada)."""


class LeaseLostError(InvalidTransitionError):
    """El worker ya no tiene la tarea: su concesión (lease) caducó y se reasignó."""


class QueueShutDown(QueueError):
    """La cola está cerrada (``shutdown()``) y no acepta tareas nuevas."""


class QueueConnectionError(QueueError, ConnectionError):
    """No se puede contactar con el servidor de la cola (p. ej. Redis apagado o URL errónea)."""


class InvalidPathError(ImageTaskError, ValueError):
    """La ruta de una imagen no es válida en ningún sistema de ficheros (p. ej. lleva un carácter nulo)."""


class QueueStateLostError(QueueError):
    """El estado de una cola compartida desapareció (p. ej. Redis se reinició sin persistencia)."""


class QueueConfigError(QueueError, ValueError):
    """Un cliente pidió una configuración distinta de la que la cola guardó al crearse."""
