"""El benchmark de rendimiento (``python -m lab bench``): lab frente a la biblioteca estándar y RQ.

Ala de apoyo, no material del curso: ``runner`` ejecuta las secciones y da la tabla,
``sections`` mide workers, pools, cola y filtros, ``memory`` la memoria, ``redis_rq`` la cola
de Redis frente a RQ y ``tasks`` tiene las tareas y utilidades de medida compartidas.
"""

from lab.bench.runner import add_parser, format_table, run_bench
from lab.bench.tasks import SectionSkipped

__all__ = ["SectionSkipped", "add_parser", "format_table", "run_bench"]
