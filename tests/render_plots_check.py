"""Dibuja todas las gráficas con datos falsos realistas en ``output/plots-check/`` para mirarlas.

Uso: ``.venv/bin/python tests/render_plots_check.py`` (desde la raíz del repositorio).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab.notebook import gil, plots  # noqa: E402
from plot_data import async_events, fake_runs, simulate  # noqa: E402


GIL_ROWS = [{"operation": name, "releases_gil": releases, "threads": 2, "calls": 10, "one_thread": 0.2,
             "n_threads": 0.2 / (1.9 if releases else 1.0), "speedup": 1.9 if releases else 1.0}
            for name, (releases, _) in gil.OPERATIONS.items()]
POOLS = {"workers": 2, "cores": 2, "n_images": 8, "size": [960, 540], "startup": 0.4,
         "rows": [{"pipeline": name, "releases_gil": releases, "one": 2.0, "threads": 2.0 / s, "processes": 1.1,
                   "speedup_threads": s, "speedup_processes": 1.8}
                  for (name, (releases, _)), s in zip(gil.POOL_PIPELINES.items(), (1.05, 1.8))]}


def main(out: Path = Path("output/plots-check"), dpi: int = 100) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    sim = simulate()
    many = simulate(workers=8, tasks=60, seed=11, dying_worker="worker-5", failing_task="task-0031")
    events = sim["events"]
    figures = {
        "breakdown": plots.plot_breakdown(sim["results"]),
        "breakdown-12": plots.plot_breakdown(simulate(workers=3, tasks=12, dying_worker=None,
                                                      failing_task=None)["results"]),
        "breakdown-60": plots.plot_breakdown(many["results"]),
        "filters-one": plots.plot_filter_breakdown(sim["results"][0]),
        "filters-many": plots.plot_filter_breakdown(sim["results"]),
        "timeline": plots.plot_timeline(events),
        "timeline-8-workers": plots.plot_timeline(many["events"]),
        "timeline-async": plots.plot_timeline(async_events()),
        "timeline-running": plots.plot_timeline(events[: len(events) // 2]),
        "speedup": plots.plot_speedup(fake_runs(cores=os.cpu_count() or 2), cores=os.cpu_count() or 2),
        "speedup-8-cores": plots.plot_speedup(fake_runs(cores=8, max_workers=10, serial_fraction=0.05), cores=8),
        "speedup-one-point": plots.plot_speedup([{"workers": 1, "wall_time": 2.4}], cores=2),
        "speedup-4-rounds": plots.plot_speedup(fake_runs(cores=4, max_workers=6, repeats=3), cores=4),
        "queue-states": plots.plot_queue_states(events),
        "backoff": plots.plot_backoff(clients=200),
        "gil": gil.plot_gil(GIL_ROWS, cores=2),
        "pools": gil.plot_pools(POOLS),
        "health": plots.plot_health(sim["health"]),
        "health-8": plots.plot_health(many["health"]),
        "empty-timeline": plots.plot_timeline([]),
        "empty-speedup": plots.plot_speedup([], cores=2),
        "empty-health": plots.plot_health([]),
    }
    paths = []
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, bbox_inches="tight", dpi=dpi)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for path in main():
        print(path)
