"""Cuántos núcleos tiene la máquina: los lógicos que ve el sistema y los físicos que calculan de verdad.

``os.cpu_count()`` cuenta CPUs **lógicas**. Con *hyper-threading* (SMT), cada núcleo físico se
presenta como dos: un portátil de 4 núcleos y 8 hilos dice 8. Los dos hilos de un núcleo comparten
sus unidades de cálculo, así que con trabajo de CPU (filtros de imagen) el speedup realista se
acerca a los núcleos **físicos** (4–5× en ese portátil), no a los 8 lógicos. Por eso el ideal
``min(workers, núcleos)`` del curso usa ``cpu_cores().physical``; ``psutil`` es quien sabe contarlos.
En los Apple con núcleos de rendimiento y de eficiencia, los físicos son todos, y los de eficiencia
rinden menos: el speedup medido se queda por debajo del ideal aunque los núcleos estén libres.
"""

from __future__ import annotations

import os
import warnings
from typing import NamedTuple

import psutil

__all__ = ["CpuCores", "cpu_cores"]


class CpuCores(NamedTuple):
    """Núcleos lógicos (``os.cpu_count()``) y físicos (``psutil``) de la máquina."""

    logical: int
    physical: int


def cpu_cores() -> CpuCores:
    """Los núcleos lógicos y físicos de esta máquina.

    Si ``psutil`` no sabe cuántos núcleos físicos hay (devuelve ``None`` en algunos sistemas),
    avisa con un ``RuntimeWarning`` y usa los lógicos: el ideal puede salir optimista.
    """
    logical = os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False)
    if not physical:
        warnings.warn(f"No se pudo saber cuántos núcleos físicos tiene esta máquina; se usan los {logical} "
                      "lógicos de os.cpu_count() (con hyper-threading, el speedup ideal saldrá optimista).",
                      RuntimeWarning, stacklevel=2)
        physical = logical
    return CpuCores(logical=logical, physical=min(physical, logical))
