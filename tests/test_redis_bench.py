"""``lab.bench.redis_rq``: la sección del benchmark funciona, da sus claves y deja el servidor limpio (sin medir tiempos)."""

from __future__ import annotations

import json

import pytest


pytestmark = pytest.mark.redis

SECTION_KEYS = {"section", "skipped", "server", "url", "n_tasks", "rounds", "hiredis", "target", "ok",
                "worker", "end_to_end", "lines"}


def test_bench_section_quick_reports_the_documented_keys_and_cleans_up(redis_url):
    pytest.importorskip("rq")
    import redis

    from lab.bench.redis_rq import QUICK_ROUNDS, QUICK_TASKS, bench_section

    client = redis.Redis.from_url(redis_url)
    def ours() -> set:  # todo lo de las colas del benchmark (rq:clean_* es un testigo global de RQ)
        return {key for key in client.keys("lab:bench-*") + client.keys("rq:*") if not key.startswith(b"rq:clean_")}

    before = ours()
    report = bench_section(redis_url, quick=True)
    assert set(report) >= SECTION_KEYS, report.get("reason")
    assert report["skipped"] is False and report["server"] == "dado" and report["section"] == "redis"
    assert (report["n_tasks"], report["rounds"], report["target"]) == (QUICK_TASKS, QUICK_ROUNDS, 10.0)
    for kind in ("worker", "end_to_end"):
        for side in ("lab", "rq", "ratio"):
            summary = report[kind][side]
            assert summary["min"] <= summary["median"] <= summary["max"] and len(summary["runs"]) == QUICK_ROUNDS
    assert report["ok"] == (report["worker"]["ratio"]["median"] >= 10.0)
    assert any("objetivo >= 10x" in line for line in report["lines"])
    json.dumps(report)                                   # se puede guardar tal cual con --json
    assert ours() == before


def test_bench_section_without_a_server_says_why_in_spanish(monkeypatch):
    import lab.workers.redis.binary
    from lab.bench.redis_rq import bench_section

    monkeypatch.setattr(lab.workers.redis.binary, "find_redis_server", lambda: None)
    report = bench_section(None, quick=True)
    assert report["skipped"] is True and "redis-server" in report["reason"]
    assert report["lines"] == [f"Cola en Redis: omitida ({report['reason']})."]


def test_bench_section_with_an_unreachable_url_is_skipped_not_raised():
    from lab.bench.redis_rq import bench_section
    from tests.redis_support import free_port

    report = bench_section(f"redis://127.0.0.1:{free_port()}/0", quick=True)
    assert report["skipped"] is True and "No se puede conectar con Redis" in report["reason"]
