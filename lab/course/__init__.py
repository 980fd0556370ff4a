"""Herramientas del profesorado: versiones del alumnado (``release``), corrector (``grade``) y barra de navegación (``nav``).

Ala de apoyo, no material del curso: se usan con ``python -m lab student|grade|nav``
(o ``make student``, ``make grade``, ``make nav``).
"""
