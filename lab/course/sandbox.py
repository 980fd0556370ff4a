"""El aislamiento de cada entrega: su kernel corre dentro de un sandbox de bubblewrap (Linux).

bubblewrap (``bwrap``, el paquete ``bubblewrap`` de Debian y Ubuntu; el que usa Flatpak) arranca
el kernel en sus propios espacios de nombres:

- de procesos: todo lo que lance la entrega muere con su kernel (``--die-with-parent`` y el
  PID 1 del sandbox); el corrector espera a que no quede nada antes de seguir (``Sandboxed.wait_gone``);
- de ficheros: solo ve, de solo lectura, el sistema (``/usr``, las bibliotecas y lo justo de
  ``/etc``), el Python del corrector y del proyecto ``lab/``, ``images/`` y ``notebooks/``; ni
  ``ejercicios/`` (las soluciones), ni ``.git``, ni las demás entregas, ni la carpeta de notas,
  ni ``$HOME``. Escribe solo en su ``/tmp`` propio (en memoria, ``TMP_MB``) y en la carpeta de los
  sockets del kernel;
- de red: ninguna (solo su propio ``lo``); el corrector habla con el kernel por sockets de fichero
  (``transport="ipc"`` de Jupyter);
- sin capacidades (``--cap-drop ALL`` si el corrector es root) y sin poder crear más espacios de
  usuario (``--disable-userns``), con un entorno limpio (``--clearenv``).

``detect()`` prueba una vez si bwrap funciona aquí (como root y sin root; falla en macOS, en
Windows o en un contenedor sin espacios de nombres de usuario) y dice por qué no en una línea.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lab.course.release import ROOT

#: Lo que ve el kernel del proyecto (de solo lectura): lo que necesita ``import lab`` y ``lab.PROJECT_DIR``.
PROJECT_VIEW = ("lab", "images", "notebooks")
#: El perfil de IPython de los kernels (tracebacks sin color), copiado en el /tmp del sandbox.
PROFILE = ROOT / "tests" / "ipython" / "profile_default"
#: Lo que hace falta de /etc para Python, sus bibliotecas y las fuentes de las gráficas.
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group", "nsswitch.conf",
       "hosts", "mime.types", "ssl", "ca-certificates", "fonts", "alternatives")
#: MB del /tmp propio de cada sandbox (en memoria).
TMP_MB = 512
#: Las únicas variables de entorno del corrector que pasan al sandbox (ni tokens, ni ``LAB_*`` con contraseñas).
KEEP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONIOENCODING", "PYTHONUTF8")
#: Cómo instalarlo.
INSTALL = "sudo apt-get install bubblewrap"


@dataclass(frozen=True)
class Isolation:
    """Si hay sandbox aquí: ``tool`` es la ruta de bwrap (o ``None``) y ``reason``, por qué no lo hay."""

    tool: str | None
    reason: str = ""
    options: tuple[str, ...] = ()
    sized_tmp: bool = False

    def line(self) -> str:
        """La línea que imprime el corrector y que va en el informe."""
        if self.tool:
            return "🔒 Cada entrega se ejecuta aislada (bubblewrap: sin red, sin las soluciones, sin tocar tus ficheros)."
        return (f"⚠ Sin aislamiento: {self.reason} El código de las entregas se ejecuta con tus permisos (puede leer "
                f"las soluciones y dejar procesos vivos); corrige en Linux con bubblewrap (p. ej. en un contenedor).")


def _python_dirs() -> list[Path]:
    """Las carpetas del Python del corrector: prefijos, el ejecutable real y las rutas de importación."""
    dirs = [Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}]
    dirs.append(Path(os.path.realpath(sys.executable)).parent)
    for entry in sys.path:
        path = Path(os.path.realpath(entry or "."))
        if os.path.exists(path) and ROOT.resolve() not in (path, *path.parents):
            dirs.append(path)
    unique: list[Path] = []
    for path in sorted({Path(os.path.realpath(d)) for d in dirs}, key=lambda p: len(p.parts)):
        if os.path.exists(path) and not any(u == path or u in path.parents for u in unique):
            unique.append(path)
    return unique


def _ro(path: Path | str) -> list[str]:
    return ["--ro-bind", str(path), str(path)]


def _system() -> list[str]:
    """El sistema de solo lectura: /usr, las bibliotecas (o sus enlaces) y lo justo de /etc."""
    args = _ro("/usr")
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += _ro(name)
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            args += _ro(f"/etc/{name}")
    for python_etc in sorted(Path("/etc").glob("python3*")):
        args += _ro(python_etc)
    return args


def _project() -> list[str]:
    """El proyecto de solo lectura (``PROJECT_VIEW``) y, si cae dentro de otra carpeta visible, sin lo demás."""
    root = ROOT.resolve()
    args = [a for name in PROJECT_VIEW if (root / name).exists() for a in _ro(root / name)]
    if any(d == root or d in root.parents for d in _python_dirs()):  # p. ej. el proyecto dentro del entorno
        hidden = [root / n for n in os.listdir(root) if n not in PROJECT_VIEW and not (root / n).is_symlink()]
        args += [a for path in hidden if path.is_dir() for a in ("--tmpfs", str(path))]
    return args


def namespaces(isolation: Isolation) -> list[str]:
    """bwrap y sus espacios de nombres: todos nuevos (sin red), sin capacidades y sin entorno heredado."""
    args = [isolation.tool, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", *isolation.options]
    return args + (["--cap-drop", "ALL"] if os.geteuid() == 0 else [])


def bwrap_args(isolation: Isolation, ipc: Path, env: dict[str, str]) -> list[str]:
    """La orden de bwrap (sin la del kernel) para un kernel cuyos sockets van en ``ipc``."""
    args = namespaces(isolation) + ["--dev", "/dev", "--proc", "/proc"]  # /tmp antes que lo que puede ir dentro
    args += (["--size", str(TMP_MB * 1024 * 1024)] if isolation.sized_tmp else []) + ["--tmpfs", "/tmp"]
    args += _system() + [a for d in _python_dirs() for a in _ro(d)] + _project()
    if PROFILE.is_dir():
        for name in ("ipython_config.py", "startup"):
            if (PROFILE / name).exists():
                args += ["--ro-bind", str(PROFILE / name), f"/tmp/.ipython/profile_default/{name}"]
    args += ["--dir", "/tmp/entrega", "--chdir", "/tmp/entrega", "--bind", str(ipc), str(ipc)]
    for name, value in env.items():
        args += ["--setenv", name, value]
    return args


def sandbox_env() -> dict[str, str]:
    """El entorno del kernel dentro del sandbox: nada del corrector salvo idioma y zona horaria (``KEEP_ENV``)."""
    env = {"PATH": os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin",
                                                   "/bin"])),
           "HOME": "/tmp", "TMPDIR": "/tmp", "IPYTHONDIR": "/tmp/.ipython", "PYTHONPATH": str(ROOT),
           "JPY_PARENT_PID": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: v for k, v in os.environ.items() if k in KEEP_ENV})
    return env


def _features(tool: str) -> Isolation:
    """Lo que entiende esta versión de bwrap: ``--disable-userns`` (0.8) y ``--size`` (0.7)."""
    try:
        help_text = subprocess.run([tool, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        help_text = ""
    options = ("--unshare-user", "--disable-userns") if "--disable-userns" in help_text else ()
    return Isolation(tool, "", options, "--size" in help_text)


_FOUND: dict[str | None, Isolation] = {}


def detect(tool: str | None = None) -> Isolation:
    """Prueba una vez si bwrap aísla aquí un Python como el del kernel; si no, ``Isolation(None, motivo)``."""
    if tool not in _FOUND:
        _FOUND[tool] = _probe(tool)
    return _FOUND[tool]


def adopt(isolation: Isolation) -> None:
    """Usa en este proceso lo que ya probó el proceso principal (los procesos del grupo de corrección)."""
    _FOUND[None] = isolation


def _probe(tool: str | None) -> Isolation:
    """Lo que hace ``detect``, sin recordar el resultado."""
    if not sys.platform.startswith("linux"):
        system = {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)
        return Isolation(None, f"en {system} no hay bubblewrap (solo existe en Linux).")
    tool = tool or shutil.which("bwrap")
    if not tool:
        return Isolation(None, f"no está bubblewrap ({INSTALL}).")
    found = _features(tool)
    with tempfile.TemporaryDirectory(prefix="sandbox-") as probe:
        cmd = bwrap_args(found, Path(probe), sandbox_env()) + ["--", sys.executable, "-c", "import lab"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            return Isolation(None, f"bubblewrap no arranca ({exc}).")
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"código {done.returncode}"])[-1]
        return Isolation(None, f"bubblewrap no puede crear el sandbox aquí ({why}; ¿un contenedor sin espacios "
                               f"de nombres de usuario?).")
    return found


class Sandboxed:
    """El PID 1 de un sandbox en marcha: bwrap lo dice por ``--info-fd``; se espera a que muera con un pidfd."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.pid: int | None = None
        self.pidfd: int | None = None

    def args(self) -> list[str]:
        """Lo que se añade a la orden de bwrap para que diga el PID de su proceso 1."""
        return ["--info-fd", str(self.write_fd)]

    def started(self) -> None:
        """Tras arrancar bwrap: lee el PID del sandbox y abre su pidfd (así no se confunde con otro proceso)."""
        os.close(self.write_fd)
        data = b""
        while not data.rstrip().endswith(b"}"):
            chunk = os.read(self.read_fd, 4096)
            if not chunk:
                break
            data += chunk
        os.close(self.read_fd)
        try:
            self.pid = json.loads(data.decode())["child-pid"]
            self.pidfd = os.pidfd_open(self.pid)
        except (ValueError, KeyError):  # bwrap no llegó a arrancar el sandbox
            self.pid = None
        except OSError:  # ya no existe, o un núcleo sin pidfd (< 5.3): se mira /proc
            pass

    def wait_gone(self, timeout: float = 10) -> bool:
        """Espera a que el sandbox entero haya muerto (con él, todo lo que lanzó); si tarda, lo mata. ``True`` si murió."""
        if self.pidfd is None:
            deadline = time.monotonic() + timeout
            while self.pid is not None and os.path.exists(f"/proc/{self.pid}") and time.monotonic() < deadline:
                time.sleep(0.05)
            return self.pid is None or not os.path.exists(f"/proc/{self.pid}")
        try:
            poller = select.poll()
            poller.register(self.pidfd, select.POLLIN)
            if not poller.poll(timeout * 1000):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                return bool(poller.poll(timeout * 1000))
            return True
        finally:
            os.close(self.pidfd)
            self.pidfd = None
