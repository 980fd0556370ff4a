"""Herramientas del curso: ``student``, ``release``, ``grade``, ``check`` y ``nav``.

Cuadernos de ejercicios del alumnado (``student``), su copia del repositorio (``release``), el
corrector (``grade``), la comprobación (``check``) y la barra de navegación (``nav``): un ala de
apoyo, no material del curso. Se usan con ``python -m lab <orden>`` (o ``make student``, ``make
grade``, ``make check``, ``make nav``). ``check`` es la del alumnado y funciona también en su
copia, sin ``ejercicios/soluciones/``.
"""

from lab import PROJECT_DIR

#: Las fuentes de los ejercicios, con soluciones (profesorado).
SOURCE_DIR = PROJECT_DIR / "ejercicios" / "soluciones"
#: Los cuadernos de ejercicios del alumnado (generados con ``python -m lab student``).
STUDENT_DIR = PROJECT_DIR / "notebooks" / "ejercicios"
#: Los cuadernos de la sesión.
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
