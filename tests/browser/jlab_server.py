"""Un JupyterLab de usar y tirar para los tests de navegador: aislado, en loopback y con token.

``JupyterLabServer(root_dir, work_dir).start()`` arranca ``python -m jupyterlab`` en 127.0.0.1 en un
puerto libre, con carpetas de configuración, datos, runtime, ajustes y espacios de trabajo propias
dentro de ``work_dir`` (nada del usuario ni de ``~/.jupyter`` entra en juego), y espera a que
``/api/status`` responda. ``stop()`` apaga el servidor por su API, después señala a su grupo de
procesos y, por último, mata por PID los kernels que sigan vivos usando su fichero de conexión.
Errores: ``RuntimeError`` con el final del log si el servidor muere o no responde a tiempo.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Ajustes de usuario de JupyterLab: sin noticias ni avisos de versión, y todas las celdas en el DOM
# (sin ventana virtual) para que los selectores vean el cuaderno entero.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    """Un puerto TCP libre en 127.0.0.1 (el sistema lo elige)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLabServer:
    """Proceso de JupyterLab con su token, su puerto y su log; se para siempre con ``stop()``."""

    def __init__(self, root_dir: Path, work_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log_path = self.work_dir / "jupyterlab.log"
        self.runtime_dir = self.work_dir / "runtime"
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, query: str = "") -> str:
        """URL de la interfaz para ``path`` (p. ej. ``lab/tree/x.ipynb``) con el token en la query."""
        return f"{self.base_url}/{path.lstrip('/')}?{query + '&' if query else ''}token={self.token}"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        folders = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
                   "JUPYTER_RUNTIME_DIR": "runtime", "JUPYTERLAB_SETTINGS_DIR": "settings",
                   "JUPYTERLAB_WORKSPACES_DIR": "workspaces"}
        for variable, name in folders.items():
            folder = self.work_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            env[variable] = str(folder)
        for name, values in USER_SETTINGS.items():
            path = self.work_dir / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        env.pop("JUPYTER_TOKEN", None)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        """La línea de órdenes del servidor (sin navegador, loopback, token, raíz = ``root_dir``)."""
        command = [sys.executable, "-m", "jupyterlab", "--no-browser",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root_dir}", "--ServerApp.terminals_enabled=False",
                   "--LabApp.expose_app_in_browser=True", "--ServerApp.log_level=INFO"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        return command

    def start(self, *, timeout: float = 90.0) -> "JupyterLabServer":
        """Arranca el servidor y espera a que ``/api/status`` conteste.

        Errores: ``RuntimeError`` si el proceso termina antes o no contesta en ``timeout`` segundos.
        """
        self.work_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(self.command(), cwd=self.root_dir, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab terminó al arrancar (código {self.process.returncode}):\n"
                                   f"{self.log_tail()}")
            try:
                self.api("GET", "api/status", timeout=2)
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.25)
        raise RuntimeError(f"JupyterLab no respondió en /api/status en {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, *, timeout: float = 10.0) -> Any:
        """Llama a la API REST del servidor con el token; devuelve el JSON (o ``None`` si no hay cuerpo)."""
        request = urllib.request.Request(f"{self.base_url}/{path.lstrip('/')}", method=method,
                                         headers={"Authorization": f"token {self.token}"},
                                         data=b"" if method in ("POST", "PUT") else None)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernel_states(self, notebook: str | None = None) -> list[str]:
        """Estado (``idle``, ``busy``, ``starting``...) de los kernels; solo el del cuaderno si se indica."""
        if notebook is None:
            return [kernel["execution_state"] for kernel in self.api("GET", "api/kernels")]
        return [session["kernel"]["execution_state"] for session in self.api("GET", "api/sessions")
                if session.get("path") == notebook and session.get("kernel")]

    def wait_kernels_idle(self, notebook: str | None = None, *, quiet: float = 1.0,
                          timeout: float = 180.0) -> None:
        """Espera a que los kernels (o el del cuaderno) lleven ``quiet`` segundos seguidos en ``idle``.

        Errores: ``AssertionError`` si no ocurre en ``timeout`` segundos.
        """
        deadline = time.monotonic() + timeout
        idle_since = None
        states: list[str] = []
        while time.monotonic() < deadline:
            states = self.kernel_states(notebook)
            if states and all(state == "idle" for state in states):
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= quiet:
                    return
            else:
                idle_since = None
            time.sleep(0.2)
        what = f"el kernel de {notebook}" if notebook else "los kernels"
        raise AssertionError(f"No se vio {what} en reposo (idle) durante {quiet:.0f} s seguidos en "
                             f"{timeout:.0f} s; último estado: {states or 'sin kernel'}.")

    def shutdown_kernels(self) -> None:
        """Apaga todos los kernels por la API (sin error si ya no estaban)."""
        for session in self.api("GET", "api/sessions"):
            try:
                self.api("DELETE", f"api/sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass
        for kernel in self.api("GET", "api/kernels"):
            try:
                self.api("DELETE", f"api/kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass

    def log_tail(self, lines: int = 40) -> str:
        """Las últimas líneas del log del servidor."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(sin log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, timeout: float = 15.0) -> None:
        """Para el servidor y sus kernels, pase lo que pase: API, SIGTERM, SIGKILL y kernels por PID."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                self.api("POST", "api/shutdown", timeout=5)
            except (OSError, urllib.error.URLError):
                pass
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    process.wait(timeout=timeout if sig == signal.SIGTERM else 5)
                    break
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(process.pid, sig)
                    except ProcessLookupError:
                        break
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._kill_orphan_kernels()

    def _kill_orphan_kernels(self) -> None:
        """Mata por PID los procesos cuya línea de órdenes nombra nuestra carpeta de runtime."""
        marker = str(self.runtime_dir).encode()
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if marker in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                continue
