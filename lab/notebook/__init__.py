"""Lo que usan los cuadernos y no se estudia: gráficas, paneles, experimentos y las demos de la guía.

- ``plots`` (con ``plots_health``, ``plots_backoff`` y ``plot_style``): gráficas legibles en proyector.
- ``analysis`` y ``timeline``: speedup, Amdahl, desglose y la línea de tiempo de una cola.
- ``experiments`` y ``gil``: los experimentos con varios workers y el GIL medido.
- ``cores``: ``cpu_cores()``, los núcleos lógicos y físicos (el ideal de speedup usa los físicos).
- ``widgets`` y ``widgets_health``: los paneles de ipywidgets de los cuadernos 05, 06 y 07.
- ``demos``: las tres demos de la guía (``python -m lab demo``).

El núcleo del curso (``lab.filters``, ``lab.imagefiles``, ``lab.core``, ``lab.workers``) no importa nada
de aquí; ``tests/test_architecture.py`` lo comprueba.
"""
