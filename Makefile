# Workers Lab — dos órdenes bastan en una máquina nueva: `make lab` y `make test`.
# `make lab` instala lo que necesita el alumnado (el paquete y el cliente de Redis con su servidor embebido, extra
# "redis"); `make test` añade las herramientas de test (extra "test"). De eso se encarga install.py, que antes
# revisa .venv (lo rehace si su Python es anterior a 3.10, no arranca o no tiene pip), para con una línea si
# PYTHON es demasiado viejo y solo reinstala cuando cambia pyproject.toml (`make test` tras `make lab` añade lo
# que falta). Otro Python: `make lab PYTHON=python3.12`; otro entorno: `make test-fast VENV=.venv-3.13`.

ifeq ($(OS),Windows_NT)
PYTHON ?= python
BIN    := Scripts
else
PYTHON ?= python3
BIN    := bin
endif
VENV   ?= .venv
PY     := $(VENV)/$(BIN)/python
SETUP := $(PYTHON) install.py --venv $(VENV)

# JupyterLab se niega a arrancar como root sin --allow-root, y sin pantalla no hay navegador que abrir.
JUPYTER_FLAGS ?=
ifeq ($(shell id -u),0)
JUPYTER_FLAGS += --allow-root
endif
ifeq ($(shell uname -s),Linux)
ifeq ($(DISPLAY)$(WAYLAND_DISPLAY),)
JUPYTER_FLAGS += --no-browser
endif
endif

# Tracebacks sin colores ANSI en los tests de cuadernos (configuración de IPython del proyecto).
export IPYTHONDIR := $(CURDIR)/tests/ipython

.PHONY: help env env-test lab html test test-fast test-browser demo bench student grade check nav clean

help:
	@echo "make lab     crea el entorno si falta y abre JupyterLab en notebooks/00-Indice.ipynb"
	@echo "make html    ejecuta las lecciones y las guarda en HTML en output/html (proyector y lectura en casa)"
	@echo "make test    crea el entorno si falta y ejecuta todos los tests (cuadernos incluidos)"
	@echo "make test-fast  solo los tests rápidos (sin navegador, Redis, cuadernos ni los lentos)"
	@echo "make demo    ejecuta las tres demos de la guía en la terminal"
	@echo "make bench   benchmark de rendimiento (lab frente a la biblioteca estándar)"
	@echo "make student genera los cuadernos de ejercicios del alumnado"
	@echo "make check NB=ruta/al/cuaderno.ipynb   comprueba tu cuaderno de ejercicios"
	@echo "make grade   corrige los ejercicios (NB=cuaderno.ipynb para uno, NB=ENTREGAS/ para una clase)"
	@echo "make clean   borra el entorno, las salidas y las cachés"

# --again: la orden que los mensajes de install.py dicen que repitas (con otro PYTHON, por ejemplo).
env:
	@$(SETUP) lab --again "make $(or $(firstword $(MAKECMDGOALS)),lab)"

env-test:
	@$(SETUP) test --again "make $(or $(firstword $(MAKECMDGOALS)),test)"

# Sirve la raíz del proyecto (así se abren los enlaces de los cuadernos a docs/ y ejercicios/) y abre el índice.
lab: env
	$(VENV)/$(BIN)/jupyter lab --ServerApp.root_dir=. notebooks/00-Indice.ipynb $(JUPYTER_FLAGS)

# Las lecciones ejecutadas en HTML, sin kernel: plan B en el proyector y lectura en casa. nbconvert viene con
# JupyterLab; los enlaces entre lecciones apuntan a su .html y los de docs/ y ejercicios/ al proyecto.
html: env
	$(VENV)/$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=600 \
		--output-dir output/html notebooks/0*.ipynb
	sed -i.bak -E -e 's/href="([0-9][0-9]-[A-Za-z-]+)\.ipynb"/href="\1.html"/g' \
		-e 's#href="\.\./docs/#href="../../docs/#g' -e 's#href="ejercicios/#href="../../notebooks/ejercicios/#g' \
		output/html/*.html && rm -f output/html/*.bak
	@echo "Lecciones en HTML: output/html/00-Indice.html"

test: env-test
	$(PY) -m pytest

# Los tests rápidos (lo que .ci/run pasa también con Python 3.10 y 3.13): los de tests/ sin los marcados
# browser, redis o slow (los que crean entornos virtuales), y sin los cuadernos.
FAST_TESTS := -m "not browser and not redis and not slow"
test-fast: env-test
	$(PY) -m pytest tests $(FAST_TESTS)

# JupyterLab real en Chromium sin cabeza (Playwright); `make test` ya los incluye si hay Chromium.
test-browser: env-test
	$(PY) -m pytest tests/browser -m browser

demo: env
	$(PY) -m lab demo all

# La sección redis compara con RQ, que viene con las herramientas de test.
bench: env-test
	$(PY) -m lab bench

student: env
	$(PY) -m lab student

# NB vacío corrige todos los cuadernos de notebooks/ejercicios/; NB=ruta corrige uno; NB=ENTREGAS/ una clase.
NB ?=
grade: env
	$(PY) -m lab grade $(NB)

# Lo mismo que `python -m lab check CUADERNO` (la orden que se usa en Windows, donde no hay make).
check: env
	@test -n "$(NB)" || { echo "Uso: make check NB=notebooks/ejercicios/05-Varios-workers-y-speedup.ipynb"; exit 2; }
	$(PY) -m lab check $(NB)

nav: env
	$(PY) -m lab nav

clean:
	rm -rf $(VENV) output build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
