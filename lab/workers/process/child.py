"""El proceso hijo de un ``ProcessWorker`` (``child_main``) y lo que ve de él el padre (``ChildProcess``).

Por qué un protocolo propio y no ``ProcessPoolExecutor``: cada worker tiene *su* proceso, así que se
puede matar justo el que tiene una tarea colgada (``terminate()``) y arrancar otro sin tocar a los
demás. ``ProcessPoolExecutor`` (hasta Python 3.14) no tiene forma pública de matar uno de sus
procesos, y si uno muere rompe el pool entero (``BrokenProcessPool``) con todas sus tareas.

El protocolo, por una ``multiprocessing.Pipe``: al arrancar, el hijo reconstruye el pipeline a
partir de su spec JSON y responde ``("ready",)`` o ``("fatal", *error)``; después, a cada
``(task_id, payload, quality)`` responde ``("ok", resultado, logs)`` o ``("error", *error, logs)``:
el resultado sin píxeles, el error como texto (clase, mensaje, fichero, traza) y los registros de
log emitidos durante la tarea, que el padre reemite con el logger de su worker. ``None`` le pide
terminar. El hijo ignora Ctrl-C: la parada ordenada la decide el padre.
"""

from __future__ import annotations

import builtins
import importlib
import logging
import logging.handlers
import multiprocessing
import signal
import time
import traceback
from typing import Any

from lab import errors
from lab.errors import WorkerProcessError

#: Segundos que se espera a que un hijo termine por las buenas antes de matarlo.
CLOSE_TIMEOUT = 5.0
#: Segundos entre el SIGTERM de ``terminate()`` y el SIGKILL, si el hijo no ha salido.
TERM_GRACE = 2.0
#: Cada cuánto mira el padre, mientras espera la respuesta del hijo, si toca pasar al SIGKILL.
_POLL = 0.1
#: Módulos que el servidor ``forkserver`` importa una sola vez: cada hijo nace con ellos cargados.
PRELOAD = ["lab.workers.process.child", "lab.core", "lab.workers.payload"]


class _LogBuffer(logging.handlers.QueueHandler):
    """Guarda los registros de la tarea en curso como dicts planos (``prepare`` ya formateó el mensaje)."""

    def enqueue(self, record: logging.LogRecord) -> None:
        self.queue.append(record.__dict__)

    def take(self) -> list[dict[str, Any]]:
        records, self.queue = self.queue, []
        return records


def child_main(conn: Any, spec: Any, modules: list[str], log_level: int) -> None:
    """El bucle del proceso hijo: responde a cada tarea hasta recibir ``None`` o perder la tubería."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    buffer = _LogBuffer([])
    logging.getLogger().addHandler(buffer)
    logging.getLogger().setLevel(log_level)
    try:
        for name in modules:
            importlib.import_module(name)
        from lab.core import process_image
        from lab.filters import as_pipeline
        from lab.workers.payload import parse_payload

        pipeline = None if spec is None else as_pipeline(spec)
    except Exception as exc:  # el padre lo convierte en el error de la tarea
        conn.send(("fatal", *_describe(exc)))
        return
    conn.send(("ready",))
    while (message := _receive(conn)) is not None:
        task_id, payload, quality = message
        try:
            job = parse_payload(task_id, payload, pipeline, quality)
            result = process_image(job.image_path, job.output_path, job.pipeline, quality=job.quality)
            reply = ("ok", result.to_dict(), buffer.take())
        except Exception as exc:
            reply = ("error", *_describe(exc), buffer.take())
        try:
            conn.send(reply)
        except OSError:
            break


def _receive(conn: Any) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError):  # el padre cerró la tubería
        return None


def _describe(exc: BaseException) -> tuple[str, str, str | None, str]:
    """Un error como datos planos: (clase, mensaje, fichero, traza)."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return type(exc).__name__, str(exc), getattr(exc, "path", None), trace


def rebuild_error(name: str, message: str, path: str | None, trace: str) -> Exception:
    """Reconstruye en el padre el error del hijo: la misma clase si es de ``lab.errors`` o estándar.

    Así la política de reintentos (errores permanentes) y los mensajes funcionan igual que con
    hilos. Cualquier otra clase llega como ``RuntimeError``; la traza del hijo, en ``remote_traceback``.
    """
    cls = getattr(errors, name, None) or getattr(builtins, name, None)
    error: Exception | None = None
    if isinstance(cls, type) and issubclass(cls, errors.ImageTaskError):
        error = cls(message, path)
    elif isinstance(cls, type) and issubclass(cls, Exception):
        try:
            error = cls(message)
        except Exception:  # una clase estándar con otros argumentos
            pass
    if error is None:
        error = RuntimeError(f"{name}: {message}")
    error.remote_traceback = trace  # type: ignore[attr-defined]
    return error


def default_start_method() -> str:
    """``"forkserver"`` si el sistema lo tiene (Linux, macOS) y si no ``"spawn"`` (Windows)."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ChildProcess:
    """El proceso hijo de un worker y su tubería: arranca a demanda y se sustituye si muere."""

    def __init__(self, worker_id: str, spec: Any, modules: list[str], log_level: int, start_method: str | None):
        self.worker_id, self.spec, self.modules, self.log_level = worker_id, spec, modules, log_level
        self.start_method = start_method or default_start_method()
        self.process: Any = None
        self.conn: Any = None
        self._ready = False
        self._killed: str | None = None     # por qué lo mató el padre, si lo mató
        self._kill_at: float | None = None  # cuándo pasar del SIGTERM al SIGKILL (time.monotonic)
        self._leaving: list[Any] = []       # procesos a los que se pidió terminar, aún sin recoger

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def spawn(self) -> None:
        """Lanza el proceso si no está vivo (sin esperar a que termine de importar)."""
        if self.process is not None and self.process.is_alive():
            return
        self._discard()
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload(PRELOAD)
        self.conn, child = context.Pipe()
        self.process = context.Process(target=child_main, name=f"lab-{self.worker_id}", daemon=True,
                                       args=(child, self.spec, self.modules, self.log_level))
        self.process.start()
        child.close()
        self._ready, self._killed, self._kill_at = False, None, None

    def ensure_ready(self) -> None:
        """Lanza el hijo si hace falta y espera su aviso de listo; ``WorkerProcessError`` si falla."""
        self.spawn()
        if not self._ready:
            message = self._recv("arrancar")
            if message[0] == "fatal":
                self._discard()
                error = rebuild_error(*message[1:])
                raise WorkerProcessError(f"El proceso del {self.worker_id} no pudo preparar el pipeline: "
                                         f"{type(error).__name__}: {error}") from error
            self._ready = True

    def run(self, task_id: str, payload: dict[str, Any], quality: int) -> tuple[Any, ...]:
        """Procesa una tarea en el hijo; devuelve ``("ok", resultado, logs)`` o ``("error", ..., logs)``."""
        self.ensure_ready()
        try:
            self.conn.send((task_id, payload, quality))
        except OSError:
            pass  # el hijo murió: _recv lo explica
        return self._recv(f"procesar la tarea {task_id}")

    def _recv(self, doing: str) -> tuple[Any, ...]:
        """La respuesta del hijo; mientras espera, remata con SIGKILL un hijo que no salió con SIGTERM."""
        try:
            while not self.conn.poll(_POLL):
                self._escalate()
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1.0)
            code, killed = self.process.exitcode, self._killed
            if killed:
                signame = {-signal.SIGTERM: " (SIGTERM)", -signal.SIGKILL: " (SIGKILL)"}.get(code, "")
                message = f"El {self.worker_id} mató su proceso hijo{signame} al {doing}: {killed}."
            else:
                if code is None:
                    cause = "sin código de salida"
                elif code < 0:
                    cause = f"señal {-code}" + (" (¿sin memoria?)" if code == -9 else "")
                else:
                    cause = f"código de salida {code}"
                hint = ("; si lanzas el pool desde un script, pon su código principal bajo "
                        "`if __name__ == \"__main__\":`") if doing == "arrancar" and code == 1 else ""
                message = f"El proceso del {self.worker_id} terminó inesperadamente al {doing} ({cause}){hint}."
            self._discard()
            raise WorkerProcessError(message) from None

    def terminate(self, reason: str = "detenido con terminate()", grace: float | None = None) -> None:
        """Pide al hijo que salga ya (SIGTERM) y, si a los ``grace`` s (``TERM_GRACE``) sigue vivo, lo mata (SIGKILL).

        No espera: la tarea en curso falla con ``WorkerProcessError`` que dice ``reason``. El SIGKILL lo
        da quien espera al hijo (el hilo del worker en ``run``, o ``close``).
        """
        process = self.process  # otro hilo (el del worker) puede estar sustituyéndolo
        try:
            if process is not None and process.is_alive():
                self._killed = reason
                self._kill_at = time.monotonic() + (TERM_GRACE if grace is None else grace)
                process.terminate()
        except ValueError:  # el hilo del worker acaba de cerrarlo: ya no hay nada que matar
            pass

    def _escalate(self) -> None:
        """SIGKILL al hijo si se le pidió salir con SIGTERM hace más de su plazo y sigue vivo."""
        process = self.process
        if self._kill_at is not None and time.monotonic() >= self._kill_at and process is not None:
            self._kill_at = None
            if process.is_alive():
                process.kill()

    def release(self) -> None:
        """Pide al hijo que termine, sin esperarle (``close()`` lo recoge)."""
        if self.process is not None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.conn.close()
            self._leaving.append(self.process)
            self.process = self.conn = None
            self._ready = False

    def close(self) -> None:
        """Como ``release`` pero esperando a que el proceso termine (y matándolo si tarda demasiado)."""
        grace = None if self._kill_at is None else max(self._kill_at - time.monotonic(), 0.0)
        self.release()
        while self._leaving:
            process = self._leaving.pop()
            process.join(CLOSE_TIMEOUT if grace is None else grace)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()

    def _discard(self) -> None:
        process, conn = self.process, self.conn
        self.process = self.conn = None
        self._ready = False
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join()
            process.close()
        if conn is not None:
            conn.close()
