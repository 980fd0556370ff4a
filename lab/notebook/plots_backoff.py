"""La gráfica de los reintentos de muchos clientes: ¿vuelven todos a la vez o repartidos?

``plot_backoff`` simula ``clients`` clientes que fallan a la vez en el instante 0 y reintentan
según una ``RetryPolicy`` (todos los intentos fallan, como con un servicio caído), y dibuja
cuántos reintentos llegan en cada intervalo de tiempo: un panel por política, uno encima de
otro y con el mismo eje x. Sin *jitter* todos vuelven en el mismo instante (picos de
``clients`` reintentos); con *full jitter* llegan repartidos. Se reexporta en ``lab.notebook.plots``.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lab.checks import check_int, check_positive
from lab.notebook.plot_style import FONT, MAX_HEIGHT, OKABE_ITO, new_figure, style_axes
from lab.workers.retry import RetryPolicy

__all__ = ["DEFAULT_BACKOFF_POLICIES", "backoff_arrivals", "plot_backoff"]

#: Las tres políticas que compara el cuaderno 07: 6 reintentos, 1 s de base, tope de 8 s.
DEFAULT_BACKOFF_POLICIES: dict[str, RetryPolicy] = {
    "Sin jitter (1, 2, 4, 8, 8, 8 s)": RetryPolicy(max_retries=6, max_delay=8.0, jitter="none"),
    "Jitter ±10 %": RetryPolicy(max_retries=6, max_delay=8.0, jitter=0.1),
    "Full jitter (uniforme entre 0 y la espera)": RetryPolicy(max_retries=6, max_delay=8.0, jitter="full"),
}
_COLORS = (OKABE_ITO["vermillion"], OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["blue"])


def backoff_arrivals(policy: RetryPolicy, clients: int = 200, seed: int = 0) -> list[list[float]]:
    """Los instantes de los reintentos de cada cliente (una lista por cliente), reproducibles con ``seed``."""
    check_int(clients, "clients")
    rng = random.Random(seed)
    seeded = dataclasses.replace(policy, random=rng.random)
    return [seeded.schedule() for _ in range(clients)]


def plot_backoff(policies: Mapping[str, RetryPolicy] | None = None, clients: int = 200,
                 bin_width: float = 0.25, seed: int = 0) -> Figure:
    """Histograma de llegadas de los reintentos de ``clients`` clientes, un panel por política.

    Cada panel dice en su título el pico (el máximo de reintentos que llegan en un mismo
    intervalo de ``bin_width`` segundos); el eje x recuerda el tope ``max_delay`` (las esperas dejan
    de crecer). Lanza ``ValueError`` si ``clients`` o ``bin_width`` no son positivos.
    """
    policies = dict(policies or DEFAULT_BACKOFF_POLICIES)
    check_int(clients, "clients")
    check_positive(bin_width, "bin_width")
    arrivals = {name: backoff_arrivals(policy, clients, seed) for name, policy in policies.items()}
    last = max((t for times in arrivals.values() for client in times for t in client), default=1.0)
    edges = np.arange(0, math.ceil(last / bin_width + 1) * bin_width + bin_width / 2, bin_width)
    fig, axes = new_figure((12, MAX_HEIGHT), max(len(policies), 1), 1, sharex=True, squeeze=False)
    axes = axes[:, 0]
    if not policies:
        style_axes(axes[0], "Reintentos de muchos clientes")
        return fig
    counts = {name: np.histogram([t for client in times for t in client], bins=edges)[0]
              for name, times in arrivals.items()}
    top = max(int(c.max()) for c in counts.values()) or 1
    for i, (ax, (name, policy)) in enumerate(zip(axes, policies.items())):
        ax.bar(edges[:-1], counts[name], width=bin_width, align="edge", color=_COLORS[i % len(_COLORS)],
               edgecolor="white", linewidth=0.5)
        peak = int(counts[name].max())
        style_axes(ax, "")
        ax.set_title(f"{name}: pico de {peak} a la vez", fontsize=FONT["tick"], fontweight="bold", loc="left",
                     pad=4)
        ax.set_ylim(0, top * 1.12)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=2, steps=[1, 2, 5, 10], integer=True))
    caps = sorted({f"{policy.max_delay:g} s" for policy in policies.values()})
    axes[-1].set_xlabel(f"Segundos desde el fallo ({clients} clientes, intervalos de {bin_width:g} s); "
                        f"tope max_delay = {', '.join(caps)}", fontsize=FONT["label"])
    fig.supylabel("Reintentos", fontsize=FONT["label"])
    fig.suptitle("¿Vuelven todos a la vez? Reintentos tras un fallo común", fontsize=FONT["title"],
                 fontweight="bold", x=0.01, ha="left")
    return fig


