"""Herramientas del profesorado: versiones del alumnado (``release``), corrector (``grade``) y barra de navegación (``nav``).

Ala de apoyo, no material del curso: se usan con ``python -m lab student|grade|nav``
(o ``make student``, ``make grade``, ``make nav``).
"""

from lab import PROJECT_DIR

#: Las fuentes de los ejercicios, con soluciones (profesorado).
SOURCE_DIR = PROJECT_DIR / "ejercicios" / "soluciones"
#: Los cuadernos de ejercicios del alumnado (generados con ``python -m lab student``).
STUDENT_DIR = PROJECT_DIR / "notebooks" / "ejercicios"
#: Los cuadernos de la sesión.
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
