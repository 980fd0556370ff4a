"""Los dos extremos de la tubería de ``ProcessWorkerPool``: el proceso hijo y el manejador del padre.

El hijo (``child_main``) solo procesa imágenes; el padre lo controla con ``ChildProcess``.

El padre le manda por una tubería (``multiprocessing.Pipe``) datos JSON planos: el id de la
tarea, su payload y la calidad; el hijo valida el payload, llama a ``lab.core.process_image``
y responde con el resultado (tiempos, tamaños: nunca píxeles) o con el error como texto
(clase, mensaje, fichero, traza). Los registros de log que se emitan en el hijo durante la
tarea viajan con la respuesta y el padre los reemite con el logger de su worker.

Aquí no hay objetos de ``lab`` que se serialicen con pickle: el pipeline llega como spec JSON
y se reconstruye en el hijo.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import signal
import threading
import traceback
from typing import Any

from lab.errors import WorkerProcessError

#: Segundos que se espera a que un hijo termine por las buenas antes de matarlo.
CLOSE_TIMEOUT = 5.0
#: Módulos que el servidor ``forkserver`` importa una sola vez: cada hijo nace con ellos cargados.
PRELOAD = ["lab.workers.process.child", "lab.core", "lab.workers.payload"]

#: Campos de un ``LogRecord`` que se mandan al padre (el mensaje ya va formateado).
LOG_FIELDS = ("name", "levelno", "levelname", "pathname", "lineno", "funcName", "created", "msecs",
              "relativeCreated", "process", "processName")


class _BufferHandler(logging.Handler):
    """Guarda los registros de la tarea en curso como dicts planos para mandarlos al padre."""

    def __init__(self, level: int):
        super().__init__(level)
        self.buffer: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = {key: getattr(record, key, None) for key in LOG_FIELDS}
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            data["msg"] = message
            self.buffer.append(data)
        except Exception:  # un registro que no se puede formatear no debe tumbar la tarea
            self.handleError(record)

    def take(self) -> list[dict[str, Any]]:
        records, self.buffer = self.buffer, []
        return records


def child_main(conn: Any, worker_id: str, spec: Any, modules: list[str], settings: dict[str, Any]) -> None:
    """Bucle del proceso hijo: ``(task_id, payload, quality)`` → ``("ok", resultado, logs)`` o error.

    Ignora Ctrl-C (la parada ordenada la decide el padre). Termina al recibir ``None`` o si
    el padre cierra la tubería. Si el pipeline o los módulos no se pueden cargar, responde a
    la primera petición con ese error y termina.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handler = _BufferHandler(int(settings.get("log_level", logging.INFO)))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(handler.level)
    try:
        for name in modules:
            importlib.import_module(name)
        from lab.core import process_image
        from lab.filters import as_pipeline
        from lab.workers.payload import parse_payload

        pipeline = None if spec is None else as_pipeline(spec)
    except Exception as exc:  # se informa al padre, que lo convierte en el error de la tarea
        conn.send(("fatal", *_describe(exc)))
        conn.close()
        return
    conn.send(("ready", worker_id))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        task_id, payload, quality = message
        try:
            job = parse_payload(task_id, payload, pipeline, quality)
            result = process_image(job.image_path, job.output_path, job.pipeline, quality=job.quality)
            reply = ("ok", result.to_dict(), handler.take())
        except Exception as exc:
            reply = ("error", *_describe(exc), handler.take())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            break
    conn.close()


def _describe(exc: BaseException) -> tuple[str, str, str | None, str]:
    """Un error como datos planos: (clase, mensaje, fichero, traza)."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return type(exc).__name__, str(exc), getattr(exc, "path", None), trace


def rebuild_error(name: str, message: str, path: str | None, trace: str) -> Exception:
    """Reconstruye en el padre el error del hijo: la misma clase si es de ``lab.errors`` o estándar.

    Así la política de reintentos (errores permanentes) y los mensajes funcionan igual que
    con hilos. La traza del hijo queda en el atributo ``remote_traceback``.
    """
    import builtins

    from lab import errors

    cls = getattr(errors, name, None)
    error: Exception
    if isinstance(cls, type) and issubclass(cls, errors.ImageTaskError):
        error = cls(message, path)
    elif isinstance(cls, type) and issubclass(cls, errors.LabError):
        error = cls(message)
    else:
        cls = getattr(builtins, name, None)
        try:
            error = cls(message) if isinstance(cls, type) and issubclass(cls, Exception) else None
        except Exception:
            error = None
        if error is None:
            error = RuntimeError(f"{name}: {message}")
    error.remote_traceback = trace  # type: ignore[attr-defined]
    return error


# --- el lado del padre ---------------------------------------------------------------------

def default_start_method() -> str:
    """``"forkserver"`` si el sistema lo tiene (Linux, macOS) y si no ``"spawn"`` (Windows)."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _reap(process: Any, timeout: float = CLOSE_TIMEOUT) -> None:
    """Espera a que ``process`` termine; si no lo hace en ``timeout`` segundos, lo mata."""
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
    process.close()


class ChildProcess:
    """Lo que ve el padre: el proceso hijo de un worker y su tubería; arranca a demanda y se reinicia si muere."""

    def __init__(self, worker_id: str, spec: Any, modules: list[str], settings: dict[str, Any],
                 start_method: str | None):
        self.worker_id, self.spec, self.modules, self.settings = worker_id, spec, modules, settings
        self.start_method = start_method or default_start_method()
        self.process: Any = None
        self.conn: Any = None
        self._ready = self._killed = False
        self._lock = threading.Lock()
        self._reapers: list[threading.Thread] = []

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
        parent, child = context.Pipe()
        self.process = context.Process(target=child_main, name=f"lab-{self.worker_id}", daemon=True,
                                       args=(child, self.worker_id, self.spec, self.modules, self.settings))
        self.process.start()
        child.close()
        self.conn, self._ready, self._killed = parent, False, False

    def ensure_ready(self) -> None:
        """Lanza el hijo si hace falta y espera su aviso de listo; ``WorkerProcessError`` si falla."""
        self.spawn()
        if self._ready:
            return
        message = self._recv("arrancar")
        if message[0] == "fatal":
            self._discard()
            error = rebuild_error(*message[1:])
            raise WorkerProcessError(f"El proceso del {self.worker_id} no pudo preparar el pipeline: "
                                     f"{type(error).__name__}: {error}") from error
        self._ready = True

    def run(self, task_id: str, payload: dict[str, Any], quality: int) -> tuple[Any, ...]:
        """Procesa una tarea en el hijo; devuelve ``("ok", resultado, logs)`` o ``("error", ..., logs)``."""
        with self._lock:
            self.ensure_ready()
            try:
                self.conn.send((task_id, payload, quality))
            except (BrokenPipeError, OSError):
                pass  # el hijo murió: _recv lo explica
            return self._recv(f"procesar la tarea {task_id}")

    def _recv(self, doing: str) -> tuple[Any, ...]:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            process = self.process
            process.join(1.0)
            code = process.exitcode
            self._discard()
            cause = f"código de salida {code}" if code is not None else "sin código de salida"
            if code is not None and code < 0:
                cause = f"señal {-code}" + (" (¿sin memoria?)" if -code == 9 else "")
            if self._killed:
                cause = "detenido con terminate()"
            hint = ("; si lanzas el pool desde un script, pon su código principal bajo "
                    "`if __name__ == \"__main__\":`") if doing == "arrancar" and code == 1 else ""
            raise WorkerProcessError(f"El proceso del {self.worker_id} terminó inesperadamente al {doing} "
                                     f"({cause}){hint}.") from None

    def release(self) -> None:
        """Pide al hijo que termine sin esperarle: un hilo aparte lo recoge (y lo mata si no sale)."""
        with self._lock:
            process, conn = self.process, self.conn
            if process is None:
                return
            self.process = self.conn = None
            self._ready = False
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            conn.close()
            reaper = threading.Thread(target=_reap, args=(process,), name=f"{self.worker_id}-recoger", daemon=True)
            self._reapers.append(reaper)
            reaper.start()

    def close(self) -> None:
        """Como ``release`` pero esperando a que el proceso haya terminado."""
        self.release()
        while self._reapers:
            self._reapers.pop().join()

    def terminate(self) -> None:
        """Mata el hijo ya (la tarea en curso fallará con ``WorkerProcessError``)."""
        process = self.process
        if process is not None and process.is_alive():
            self._killed = True
            process.kill()

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
