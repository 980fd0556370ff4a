"""``lab.bench_redis``: el benchmark contra RQ funciona y deja el servidor limpio (sin medir tiempos)."""

from __future__ import annotations

import pytest

from tests.redis_support import redis_url  # noqa: F401

pytestmark = pytest.mark.redis


def test_bench_redis_runs_both_sides_and_cleans_up(redis_url):
    pytest.importorskip("rq")
    import redis

    from lab.bench_redis import bench_redis, format_report

    client = redis.Redis.from_url(redis_url)
    before = set(client.keys("lab:bench-*")) | set(client.keys("rq:job:*"))
    report = bench_redis(redis_url, n_tasks=20, rounds=1)
    assert report["rq_finished"] == 40          # 20 de punta a punta + 20 al vaciar
    assert report["lab_tasks_per_s"] > 0 and report["rq_drain_per_s"] > 0 and report["ratio_drain"] > 0
    assert "lab / RQ" in format_report(report)
    assert set(client.keys("lab:bench-*")) | set(client.keys("rq:job:*")) == before
    assert client.keys("rq:*bench-*") == []
