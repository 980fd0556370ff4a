"""El benchmark: la orden ``bench`` produce las claves documentadas; sus piezas miden lo que dicen medir.

Sin aserciones de tiempo: solo estructura, emparejamiento de rondas y que las salidas coinciden.
"""

from __future__ import annotations

import json

import pytest
from PIL import ImageChops, ImageEnhance

from lab.__main__ import main
from lab.bench import format_table, run_bench
from lab.bench.tasks import BenchContext, bench_pipeline, compare, interleaved, metric, plain_task
from lab.core import process_image
from lab.filters import BrightnessFilter
from lab.images import make_workload, pattern_image

ROW_KEYS = {"section", "name", "unit", "target", "ok", "note"}
SECTIONS = ["overhead", "threads", "processes", "queue", "filters", "memory", "allocator"]


def test_bench_command_quick_json_has_the_documented_keys(tmp_path, capsys):
    out = tmp_path / "informe.json"
    code = main(["bench", "--quick", "--json", str(out), "--tasks", "2", "--size", "96x64", "--dir", str(tmp_path)])
    assert code == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"version", "machine", "config", "sections", "skipped", "rows", "seconds", "targets",
            "targets_met"} <= set(report)
    assert {"cpus", "python", "pillow", "platform"} <= set(report["machine"])
    assert report["config"]["tasks"] == 2 and report["config"]["size"] == [96, 64] and report["config"]["quick"]
    optional = [] if "redis" in report["skipped"] else ["redis"]   # la sección de Redis, si hay servidor
    assert list(report["sections"]) == SECTIONS + optional
    for row in report["rows"]:
        assert ROW_KEYS <= set(row), row["name"]
        assert ("value" in row) != ("lab" in row and "baseline" in row and "ratio" in row)
        stats = row.get("value") or row["lab"]
        assert {"median", "min", "max", "samples"} <= set(stats) and stats["min"] <= stats["median"] <= stats["max"]
        if row["target"] is not None:
            assert row["target"]["op"] in ("<=", ">=") and isinstance(row["ok"], bool)
    names = [row["name"] for row in report["rows"]]
    assert any(n.startswith("SimpleWorker") for n in names)
    assert any(n.startswith("WorkerPool(2) / ThreadPoolExecutor(2)") for n in names)
    assert "speedup de 2 hilos frente a 1, misma ronda" in names and not any("bucle" in row["note"] for row in
                                                                             report["sections"]["threads"]["rows"])
    assert any(n.startswith("ProcessWorkerPool(") and "ProcessPoolExecutor" in n for n in names)
    assert any("límite de la máquina" in n for n in names)
    assert any(n.startswith("TaskQueue / queue.Queue, un hilo") for n in names)
    # El coste de la cola sin trabajo se informa (µs por tarea y razón), sin objetivo; los objetivos son
    # los que ve quien usa el paquete: marco frente al bucle a mano, pools, filtros y Redis frente a RQ.
    assert all(row["target"] is None and row["ok"] is None and "informativo" in row["note"]
               for row in report["sections"]["queue"]["rows"])
    assert {row["section"] for row in report["rows"] if row["target"]} <= {"overhead", "threads", "processes",
                                                                           "filters", "redis"}
    filters = [row for row in report["rows"] if row["section"] == "filters"]
    assert len(filters) == 7 and all(row["max_channel_diff"] <= 1 for row in filters)
    assert report["sections"]["allocator"]["rows"][0]["same_output"] is True
    assert report["targets"]["checked"] >= 10 and report["targets_met"] == all(
        row["ok"] for row in report["rows"] if row["ok"] is not None)
    printed = capsys.readouterr().out
    assert "Objetivos cumplidos" in printed and "ProcessPoolExecutor" in printed and "📄" in printed


def test_unknown_section_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="Sección desconocida 'gpu'"):
        run_bench(quick=True, only=["gpu"], out_dir=tmp_path)


def test_rounds_alternate_and_ratios_are_paired():
    calls = []
    samples = interleaved({"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0}, 3,
                          warmup=True)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert samples == {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}
    row = compare("s", "x", [1.0, 2.0, 4.0], [2.0, 2.0, 2.0], higher_is_better=True, op=">=", target=0.97)
    assert row["ratio"]["samples"] == [2.0, 1.0, 0.5] and row["ratio"]["median"] == 1.0 and row["ok"] is True
    row = compare("s", "x", [1.1, 1.0], [1.0, 1.0], higher_is_better=False, op="<=", target=1.03)
    assert row["ratio"]["median"] == pytest.approx(1.05) and row["ok"] is False
    assert metric("q", "µs", [12.0, 9.0, 11.0], op="<=", target=10.0)["ok"] is False


def test_thread_speedup_comes_from_the_same_rounds(tmp_path, monkeypatch):
    """El speedup de n hilos usa el pool de 1 hilo de las mismas rondas, nunca tiempos de otra sección."""
    import lab.bench.sections as sections

    clock = iter(range(1, 1000))
    monkeypatch.setattr(sections, "_timed", lambda run: float(next(clock)))  # cada medida, un valor distinto
    calls: list[tuple[list[str], dict[str, list[float]]]] = []
    real_interleaved = sections.interleaved

    def spy(variants, rounds, **kwargs):
        samples = real_interleaved(variants, rounds, **kwargs)
        calls.append((list(variants), samples))
        return samples

    monkeypatch.setattr(sections, "interleaved", spy)
    ctx = BenchContext(inputs=make_workload(tmp_path / "in", n=1, size=(32, 24)), out_dir=tmp_path / "out",
                       rounds=3, quick=True, threads=(1, 2, 4), cores=2)
    ctx.shared["plain_loop_time"] = [1e6]  # un bucle "de la sección 1": no debe aparecer en ninguna cifra
    rows = sections.threads(ctx)
    assert [row["name"] for row in rows] == [
        "WorkerPool(1) / ThreadPoolExecutor(1)", "WorkerPool(2) / ThreadPoolExecutor(2)",
        "speedup de 2 hilos frente a 1, misma ronda", "WorkerPool(4) / ThreadPoolExecutor(4)",
        "speedup de 4 hilos frente a 1, misma ronda"]
    assert [order for order, _ in calls] == [["lab", "executor"], ["lab_1", "lab", "executor"],
                                             ["lab_1", "lab", "executor"]]
    for row, (_, samples) in zip((rows[2], rows[4]), calls[1:]):
        # mismas rondas: tantas muestras como rondas, y cada razón es t(1 hilo) / t(n hilos) de su ronda
        assert row["lab"]["samples"] == samples["lab"] and row["baseline"]["samples"] == samples["lab_1"]
        assert len(row["ratio"]["samples"]) == len(row["lab"]["samples"]) == ctx.rounds
        assert row["ratio"]["samples"] == [one / many for one, many in zip(samples["lab_1"], samples["lab"])]
        assert row["target"] is None and row["ok"] is None and row["ideal"] == 2
        assert row["efficiency"]["samples"] == [r / 2 for r in row["ratio"]["samples"]]
        assert "misma ronda" in row["note"] and max(row["ratio"]["samples"]) < 100  # nada del bucle de 1e6 s
    # el pool de 1 hilo va siempre junto al de n hilos (en la misma ronda, sin nada entre medias)
    _, first = calls[1]
    assert first["lab"][0] - first["lab_1"][0] == 1 and first["lab_1"][1] - first["lab"][1] == 1
    assert rows[4]["threads"] == 4 and "min(4 hilos, 2 núcleos) = 2" in rows[4]["note"]


def test_format_table_marks_targets():
    report = {"config": {"tasks": 2, "size": [96, 64], "rounds": 1}, "machine": {"cpus": 2, "pillow": "x",
              "load_average": None}, "rows": [metric("queue", "cola", [12.0], op="<=", target=10.0, unit="µs/tarea"),
                                              compare("overhead", "w", [1.0], [1.0], higher_is_better=False,
                                                      op="<=", target=1.03)],
              "targets": {"met": 1, "checked": 2}, "seconds": 1.0}
    table = format_table(report)
    assert "❌cola" in table and "<= 10 µs/tarea" in table and "✅w" in table and "Objetivos cumplidos: 1/2" in table


def test_plain_task_does_the_same_work_as_the_lab_pipeline(tmp_path):
    source = make_workload(tmp_path / "in", n=1, size=(96, 64))[0]
    plain_task((str(source), str(tmp_path / "plain.jpg")))
    process_image(source, tmp_path / "lab.jpg", bench_pipeline(), quality=90)
    assert (tmp_path / "plain.jpg").read_bytes() == (tmp_path / "lab.jpg").read_bytes()


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA"])
@pytest.mark.parametrize("factor", [0.3, 0.77, 1.0, 1.3, 2.5])
def test_brightness_fast_path_matches_pillow_within_one_per_channel(mode, factor):
    image = pattern_image((64, 48), mode)
    fast, reference = BrightnessFilter(factor=factor).apply(image), ImageEnhance.Brightness(image).enhance(factor)
    assert fast.mode == reference.mode == mode
    extrema = ImageChops.difference(fast, reference).getextrema()
    highs = [high for _, high in extrema] if isinstance(extrema[0], tuple) else [extrema[1]]
    assert max(highs) <= 1
    if "A" in mode:  # el alfa no cambia
        assert fast.getchannel("A").tobytes() == image.getchannel("A").tobytes()


def test_a_section_that_cannot_run_here_is_reported_as_skipped(tmp_path, monkeypatch):
    import lab.bench.runner as runner
    from lab.bench import SectionSkipped

    def run_section(ctx):
        raise SectionSkipped("no hay servidor")

    monkeypatch.setattr(runner.redis_rq, "run_section", run_section)
    assert list(runner.sections())[-1] == "redis"
    report = run_bench(quick=True, tasks=1, size=(32, 24), only=["redis"], out_dir=tmp_path, printer=lambda _: None)
    assert report["skipped"] == {"redis": "no hay servidor"} and report["rows"] == []