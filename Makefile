# Workers Lab — dos órdenes bastan en una máquina nueva: `make lab` y `make test`.
# `make lab` instala lo que necesita el alumnado (el paquete y el cliente de Redis, extra "redis");
# `make test` añade las herramientas de test (extra "test"). Cada conjunto tiene su marca en .venv:
# solo se reinstala cuando cambia pyproject.toml, y `make test` tras `make lab` añade solo lo que falta.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.instalado-lab
STAMP_TEST := $(VENV)/.instalado-test
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

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

.PHONY: help env env-test lab html test test-browser demo bench student grade check nav clean

help:
	@echo "make lab     crea el entorno si falta y abre JupyterLab en notebooks/00-Indice.ipynb"
	@echo "make html    ejecuta las lecciones y las guarda en HTML en output/html (proyector y lectura en casa)"
	@echo "make test    crea el entorno si falta y ejecuta todos los tests (cuadernos incluidos)"
	@echo "make demo    ejecuta las tres demos de la guía en la terminal"
	@echo "make bench   benchmark de rendimiento (lab frente a la biblioteca estándar)"
	@echo "make student genera los cuadernos de ejercicios del alumnado"
	@echo "make check NB=ruta/al/cuaderno.ipynb   comprueba tu cuaderno de ejercicios"
	@echo "make grade   corrige los ejercicios (NB=cuaderno.ipynb para uno, NB=ENTREGAS/ para una clase)"
	@echo "make clean   borra el entorno, las salidas y las cachés"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[redis]'
	@touch $@

$(STAMP_TEST): $(STAMP) pyproject.toml
	$(PIP_INSTALL) -e '.[redis,test]'
	@touch $@

env: $(STAMP)

env-test: $(STAMP_TEST)

# Sirve la raíz del proyecto (así se abren los enlaces de los cuadernos a docs/ y ejercicios/) y abre el índice.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. notebooks/00-Indice.ipynb $(JUPYTER_FLAGS)

# Las lecciones ejecutadas en HTML, sin kernel: plan B en el proyector y lectura en casa. nbconvert viene con
# JupyterLab; los enlaces entre lecciones apuntan a su .html y los de docs/ y ejercicios/ al proyecto.
html: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=600 \
		--output-dir output/html notebooks/0*.ipynb
	sed -i.bak -E -e 's/href="([0-9][0-9]-[A-Za-z-]+)\.ipynb"/href="\1.html"/g' \
		-e 's#href="\.\./docs/#href="../../docs/#g' -e 's#href="ejercicios/#href="../../notebooks/ejercicios/#g' \
		output/html/*.html && rm -f output/html/*.bak
	@echo "Lecciones en HTML: output/html/00-Indice.html"

test: $(STAMP_TEST)
	$(PY) -m pytest

# JupyterLab real en Chromium sin cabeza (Playwright); `make test` ya los incluye si hay Chromium.
test-browser: $(STAMP_TEST)
	$(PY) -m pytest tests/browser -m browser

demo: $(STAMP)
	$(PY) -m lab demo all

# La sección redis compara con RQ, que viene con las herramientas de test.
bench: $(STAMP_TEST)
	$(PY) -m lab bench

student: $(STAMP)
	$(PY) -m lab student

# NB vacío corrige todos los cuadernos de notebooks/ejercicios/; NB=ruta corrige uno; NB=ENTREGAS/ una clase.
NB ?=
grade: $(STAMP)
	$(PY) -m lab grade $(NB)

# Lo mismo que `python -m lab check CUADERNO` (la orden que se usa en Windows, donde no hay make).
check: $(STAMP)
	@test -n "$(NB)" || { echo "Uso: make check NB=notebooks/ejercicios/05-Varios-workers-y-speedup.ipynb"; exit 2; }
	$(PY) -m lab check $(NB)

nav: $(STAMP)
	$(PY) -m lab nav

clean:
	rm -rf $(VENV) output build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
