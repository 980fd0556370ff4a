"""El kernel de Jupyter de una entrega: lo arranca (en su sandbox si lo hay), le instala el guardián y le pasa celdas.

Las celdas de respuesta se ejecutan como en Jupyter (nbclient). Las del profesorado y las
comprobaciones no: van firmadas al guardián (``lab.course.guard``) por una ``user_expression``,
que las ejecuta él mismo y responde firmado; sin respuesta válida, la celda cuenta como fallida.
Ni el guardián ni las ayudas (``lab.course.expect``) se leen del disco del kernel: el corrector
los lee una vez al arrancar (``KIT``) y los envía. Con sandbox (``lab.course.sandbox``), el kernel
habla por sockets de fichero en su carpeta de trabajo, y al cerrarlo se espera a que no quede
ningún proceso suyo.
"""

from __future__ import annotations

import ast
import copy
import logging
import os
import re
import secrets
import time
from contextlib import ExitStack
from hashlib import blake2b
from hmac import compare_digest
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from lab.course.release import ROOT
from lab.course.sandbox import Isolation, Sandboxed, bwrap_args, sandbox_env

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_QUIET = logging.getLogger("lab.course.kernel.nbclient")
_QUIET.setLevel(logging.CRITICAL)
SEP = "\x1f"
#: Los ficheros que el corrector envía al kernel: el guardián y las ayudas de las comprobaciones.
_HERE = Path(__file__).resolve().parent
_HELPERS = {"lab.course.expect": _HERE / "expect.py"}


def read_kit() -> dict[str, object]:
    """El guardián y las ayudas tal como están ahora en disco (se leen una vez, antes de ejecutar ninguna entrega)."""
    return {"guard": (_HERE / "guard.py").read_text(encoding="utf-8"),
            "helpers": {name: (path.read_text(encoding="utf-8"), str(path)) for name, path in _HELPERS.items()}}


KIT = read_kit()


def use_kit(kit: dict[str, object]) -> None:
    """Usa ``kit`` (el que leyó el proceso principal) en este proceso del grupo de corrección."""
    KIT.update(kit)


def kernel_env(workdir: Path | None = None) -> dict[str, str]:
    """Entorno del kernel sin sandbox: el repositorio en ``PYTHONPATH``, tracebacks sin color y ``TMPDIR`` propio."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    profile = ROOT / "tests" / "ipython"
    if "IPYTHONDIR" not in env and profile.is_dir():
        env["IPYTHONDIR"] = str(profile)
    if workdir is not None:
        for name in ("TMPDIR", "TEMP", "TMP"):
            env[name] = str(workdir)
    return env


class _SandboxedManager(AsyncKernelManager):
    """Un ``KernelManager`` que lanza el kernel dentro de bwrap, con sockets de fichero en ``ipc``."""

    def setup(self, isolation: Isolation, ipc: Path, sandboxed: Sandboxed) -> "_SandboxedManager":
        self.isolation, self.ipc, self.sandboxed = isolation, ipc, sandboxed
        self.transport, self.ip, self.connection_file = "ipc", str(ipc / "k"), str(ipc / "kernel.json")
        return self

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return bwrap_args(self.isolation, self.ipc, sandbox_env()) + self.sandboxed.args() + ["--", *cmd]


def _sign(key: bytes, text: str) -> str:
    return blake2b(text.encode("utf-8", "surrogatepass"), key=key, digest_size=16).hexdigest()


class Kernel:
    """Un kernel de Jupyter con el guardián instalado: ``answer`` para respuestas y ``trusted`` para lo demás."""

    def __init__(self, nb: nbformat.NotebookNode, workdir: Path, timeout: float, isolation: Isolation | None):
        self.isolation = isolation if isolation and isolation.tool else None
        self.sandboxed = Sandboxed() if self.isolation else None
        km = None
        if self.isolation:
            km = _SandboxedManager(kernel_name="python3").setup(self.isolation, workdir, self.sandboxed)
        self.client = NotebookClient(
            copy.deepcopy(nb), km=km, timeout=int(max(1, round(timeout))), allow_errors=True,
            interrupt_on_timeout=False, kernel_name="python3", shutdown_kernel="immediate", record_timing=False,
            log=_QUIET, resources={"metadata": {"path": str(workdir)}},
            extra_arguments=["--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"])
        self.client.on_cell_executed = self._on_executed
        self._reply: dict | None = None
        self._stack = ExitStack()
        self._workdir = workdir
        self._key, self._counter = b"", 0

    def __enter__(self) -> "Kernel":
        if self.sandboxed:
            env = dict(os.environ)
            try:
                self._stack.enter_context(self.client.setup_kernel(env=env, pass_fds=(self.sandboxed.write_fd,),
                                                                      cleanup_kc=True))
            finally:
                self.sandboxed.started()
        else:
            self._stack.enter_context(self.client.setup_kernel(env=kernel_env(self._workdir)))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()
        except Exception:  # noqa: BLE001 - el kernel puede estar ya muerto; no importa
            pass
        if self.sandboxed:
            self.sandboxed.wait_gone()

    def answer(self, index: int, source: str, timeout: float) -> tuple[str, str]:
        """Ejecuta una celda de respuesta como en Jupyter; devuelve ``(estado, mensaje)``."""
        cell = nbformat.v4.new_code_cell(source)
        self._reply = None
        self.client.timeout = int(max(1, round(timeout)))
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return "timeout", timeout_message(self.client.timeout)
        except DeadKernelError:
            return "dead", "El kernel de Python murió al ejecutar la celda (¿os._exit, sin memoria?)."
        except Exception as exc:  # noqa: BLE001 - cualquier fallo de comunicación cuenta como kernel muerto
            return "dead", f"Se perdió el kernel al ejecutar la celda: {first_line(str(exc))}"
        content = (self._reply or {}).get("content", {})
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if content.get("status") == "error":
            return "error", error_line(content)
        if errors or content.get("status") not in ("ok", None):
            return "error", error_line(errors[0]) if errors else f"La celda acabó con estado {content['status']}."
        return "ok", ""

    def install_guard(self, memory_mb: float, timeout: float = 30) -> tuple[bool, str]:
        """Envía el guardián y lo instala antes de cualquier celda; ``(True, "")`` si respondió ``'ok'``."""
        key = secrets.token_hex(32)
        expression = ("(lambda ns: (exec({guard!r}, ns), ns['install']({key!r}, {helpers!r}, {memory!r}))[1])"
                      "({{'__name__': 'lab.course.guard', '__builtins__': __import__('builtins').__dict__.copy()}})"
                      ).format(guard=KIT["guard"], key=key, helpers=KIT["helpers"], memory=float(memory_mb))
        status, value = self._evaluate(expression, timeout)
        if status != "ok" or value != "'ok'":
            return False, value if status != "ok" else "respuesta inesperada"
        self._key = bytes.fromhex(key)
        return True, ""

    def trusted(self, index: int, source: str, role: str, timeout: float) -> tuple[str, str]:
        """Pide al guardián que ejecute una celda del profesorado o de comprobación; ``(estado, mensaje)``."""
        self._counter += 1
        request = SEP.join((str(self._counter), role, f"<celda {index}>", source))
        expression = (f"(lambda b: (__import__('sys').audit('lab.corrector', {request!r}, "
                      f"{_sign(self._key, request)!r}, b), b)[1])([])")
        status, value = self._evaluate(expression, timeout)
        if status != "ok":
            return status, (value if status != "error" else
                            f"El corrector no pudo ejecutar esta celda en el kernel ({value}): alguna respuesta ha "
                            f"tocado lo que no debía.")
        try:
            box = ast.literal_eval(value)
            reply, signature = box[0].rsplit(SEP, 1)
        except (ValueError, SyntaxError, TypeError, IndexError):
            reply, signature = "", ""
        fields = reply.split(SEP)
        if not compare_digest(_sign(self._key, reply), signature) or fields[0] != str(self._counter):
            return "error", ("El corrector no recibió una respuesta válida del kernel para esta celda: alguna "
                             "respuesta ha tocado lo que no debía.")
        if fields[1] == "ok":
            return "ok", ""
        ename, evalue, line = (fields[2:] + ["", "", ""])[:3]
        return "error", error_line({"ename": ename, "evalue": evalue, "line": line})

    def _evaluate(self, expression: str, timeout: float) -> tuple[str, str]:
        """Evalúa una ``user_expression``: ``("ok", texto)``, ``("error", motivo)``, ``("timeout"|"dead", mensaje)``."""
        try:
            return run_sync(self._async_evaluate)(expression, timeout)
        except TimeoutError:
            return "timeout", timeout_message(timeout)
        except Exception as exc:  # noqa: BLE001 - sin respuesta: kernel muerto
            return "dead", f"Se perdió el kernel al ejecutar la celda ({type(exc).__name__})."

    async def _async_evaluate(self, expression: str, timeout: float) -> tuple[str, str]:
        kc, km = self.client.kc, self.client.km
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"g": expression},
                            allow_stdin=False)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            try:
                msg = await kc.get_shell_msg(timeout=min(1.0, remaining))
            except Exception:  # noqa: BLE001 - queue.Empty: ¿sigue vivo?
                if not await km.is_alive():
                    return "dead", "El kernel de Python murió al ejecutar la celda (¿os._exit, sin memoria?)."
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                break
        content = msg.get("content", {})
        if content.get("status") != "ok":
            return "error", error_line(content)
        value = content.get("user_expressions", {}).get("g", {})
        if value.get("status") != "ok":
            return "error", error_line(value)
        return "ok", value.get("data", {}).get("text/plain", "")

    def _on_executed(self, execute_reply: dict, **_: object) -> None:
        self._reply = execute_reply


def timeout_message(seconds: float) -> str:
    """El mensaje de una celda que agotó su tiempo."""
    return f"Tiempo agotado: más de {seconds:g} s (¿un bucle infinito o una espera que nunca acaba?)."


def first_line(text: str, limit: int = 240) -> str:
    """La primera línea no vacía de ``text`` sin códigos ANSI, recortada a ``limit`` caracteres."""
    for line in ANSI_RE.sub("", text).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[:limit - 1] + "…"
    return ""


def error_line(output: dict) -> str:
    """Una línea limpia para un error: ``Tipo: mensaje`` o, sin mensaje, ``Tipo en: la línea que falló``."""
    ename, evalue = output.get("ename", "Error"), first_line(output.get("evalue", ""))
    if evalue:
        return first_line(f"{ename}: {evalue}")
    arrows = [ln for ln in ANSI_RE.sub("", "\n".join(output.get("traceback", []))).splitlines()
              if ln.lstrip().startswith("---->")]
    line = re.sub(r"^\s*---->\s*\d*\s*", "", arrows[-1]) if arrows else output.get("line", "")
    return first_line(f"{ename} en: {line}") if line else ename
