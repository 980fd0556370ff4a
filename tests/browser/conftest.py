"""Fixtures de los tests de navegador: un JupyterLab y un Chromium por sesión, una pestaña por test.

Sin ``/usr/bin/chromium`` (o sin Playwright) los tests se saltan con el motivo; con
``LAB_REQUIRE_BROWSER=1`` (CI) fallan. El servidor trabaja sobre una COPIA temporal de
``notebooks/`` (los cuadernos del repositorio nunca se guardan con salidas) y se para siempre, igual
que el navegador. Las capturas van a ``test-artifacts/browser/<test>/`` (ignorada por git; otra
carpeta con ``LAB_BROWSER_ARTIFACTS``), junto con el log del servidor y la consola del navegador.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from jlab_server import JupyterLabServer

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1440, "height": 900}


def artifacts_root() -> Path:
    """Carpeta de capturas y logs de los tests de navegador."""
    return Path(os.environ.get("LAB_BROWSER_ARTIFACTS", REPO / "test-artifacts" / "browser"))


def _unavailable(reason: str) -> None:
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} y LAB_REQUIRE_BROWSER=1 exige los tests de navegador.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_api():
    """Playwright (API síncrona) arrancado una vez; se salta o falla si no hay Chromium."""
    if not CHROMIUM.exists():
        _unavailable(f"No hay Chromium en {CHROMIUM} (instálalo con `apt-get install chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("No está instalado el paquete playwright de Python")
    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def browser(playwright_api):
    """Chromium sin cabeza de Debian (nunca `playwright install`), cerrado al final de la sesión."""
    instance = playwright_api.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_FLAGS)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module")
def notebook_root(tmp_path_factory) -> Path:
    """Copia temporal del repositorio en lo que importa a los cuadernos: ``notebooks/`` e ``images/``.

    Devuelve la carpeta ``notebooks`` de la copia; ``../output`` apunta a una carpeta temporal.
    """
    base = tmp_path_factory.mktemp("lab-navegador")
    shutil.copytree(REPO / "notebooks", base / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if (REPO / "images").is_dir():
        (base / "images").symlink_to(REPO / "images", target_is_directory=True)
    (base / "output").mkdir()
    return base / "notebooks"


@pytest.fixture(scope="module")
def lab_server(browser, notebook_root):
    """Un JupyterLab para toda la sesión sobre la copia de los cuadernos; se para pase lo que pase."""
    # Carpeta corta en /tmp: el socket y los ficheros de conexión de los kernels viven ahí.
    work = Path(tempfile.mkdtemp(prefix="lab-jupyter-"))
    server = JupyterLabServer(notebook_root, work)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        target = artifacts_root()
        target.mkdir(parents=True, exist_ok=True)
        if server.log_path.exists():
            shutil.copy(server.log_path, target / "jupyterlab.log")
        shutil.rmtree(work, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Guarda el resultado de cada fase en el item para que la fixture ``page`` sepa si falló."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def shots(request) -> Path:
    """Carpeta de capturas de este test, vacía al empezar."""
    folder = artifacts_root() / request.node.name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def page(request, browser, lab_server, shots):
    """Una pestaña nueva (contexto limpio); al acabar guarda consola y captura de fallo, y apaga kernels."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    tab.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    try:
        yield tab
    finally:
        report = getattr(request.node, "report_call", None)
        shots.mkdir(parents=True, exist_ok=True)
        if report is None or report.failed:
            try:
                tab.screenshot(path=str(shots / "fallo.png"))
            except Exception:  # la pestaña puede haber muerto: la captura es opcional
                pass
            if report is not None:
                (shots / "fallo.txt").write_text(report.longreprtext, encoding="utf-8")
        (shots / "consola.txt").write_text("\n".join(console) + "\n", encoding="utf-8")
        context.close()
        lab_server.shutdown_kernels()
