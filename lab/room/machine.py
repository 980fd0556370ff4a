"""Quién es cada portátil: su nombre en el aula y la ficha que publica al unirse.

La ficha (``machine_info``) lleva el nombre, los núcleos lógicos y físicos (``cpu_cores()``, los
mismos que usa el ideal de speedup del curso), el modelo de CPU, el sistema operativo y las
versiones de Python y de Pillow. Con ``cpus=K`` (solo Linux) el proceso se limita a K núcleos
(``os.sched_setaffinity``, que heredan sus hijos): así una sola máquina puede hacer de portátiles
distintos en el modo de práctica, y la ficha lo dice (``limited_to``).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from typing import Any

import PIL

from lab.notebook.cores import cpu_cores

__all__ = ["NAME_PATTERN", "check_name", "machine_info", "limit_cpus", "worker_name", "machine_of"]

#: Un nombre de portátil: letras (con tildes), números, '_', '.' o '-', de 1 a 32, empezando por letra o número.
NAME_PATTERN = re.compile(r"[^\W_][\w.-]{0,31}")
_UNKNOWN = "desconocido"


def check_name(name: Any) -> str:
    """El nombre validado; ``ValueError`` con un ejemplo si no vale."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"--name debe ser un nombre de 1 a 32 letras, números, '_', '.' o '-' (sin espacios), "
                         f"como --name ana o --name mesa-3, y recibió {name!r:.40}.")
    return name


def worker_name(name: str, index: int) -> str:
    """El id en la cola del worker ``index`` (1, 2...) del portátil ``name``: ``ana/1``."""
    return f"{name}/{index}"


def machine_of(worker_id: Any) -> str | None:
    """El portátil de un id de worker (``ana/1`` → ``ana``); ``None`` si no tiene la forma del aula."""
    if not isinstance(worker_id, str):
        return None
    name, slash, index = worker_id.rpartition("/")
    return name if slash and index.isdigit() and NAME_PATTERN.fullmatch(name) else None


def limit_cpus(cpus: int) -> int:
    """Limita este proceso (y los que lance) a sus ``cpus`` primeros núcleos; devuelve cuántos quedan.

    Lanza ``ValueError`` si el sistema no lo permite (solo Linux) o ``cpus`` no es >= 1.
    """
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("--cpus solo funciona en Linux (os.sched_setaffinity): sirve para simular portátiles "
                         "distintos en una sola máquina.")
    if cpus < 1:
        raise ValueError(f"--cpus debe ser >= 1 y recibió {cpus}.")
    allowed = sorted(os.sched_getaffinity(0))[:cpus]
    os.sched_setaffinity(0, allowed)
    return len(allowed)


def cpu_model() -> str:
    """El modelo de CPU (``AMD Ryzen 7 5800U``, ``Apple M2``...) o ``desconocido``."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
                for line in info:
                    if line.lower().startswith(("model name", "hardware", "cpu model")):
                        return line.split(":", 1)[1].strip() or _UNKNOWN
        elif sys.platform == "darwin":
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
            if out:
                return out
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or _UNKNOWN


def machine_info(name: str, cpus: int | None = None) -> dict[str, Any]:
    """La ficha que publica el portátil ``name`` al unirse (JSON plano).

    ``cores`` y ``physical_cores`` son los de ``cpu_cores()``; con ``cpus`` (ya aplicado con
    ``limit_cpus``) los dos valen ``cpus`` como mucho y ``limited_to`` lo dice.
    """
    cores = cpu_cores()
    logical, physical = cores.logical, cores.physical
    if cpus is not None:
        logical, physical = min(logical, cpus), min(physical, cpus)
    return {"name": check_name(name), "cores": logical, "physical_cores": physical, "cpu_model": cpu_model(),
            "os": f"{platform.system()} {platform.release()}".strip() or _UNKNOWN,
            "python": platform.python_version(), "pillow": PIL.__version__, "limited_to": cpus,
            "measurement": []}
