"""Helpers of ``loadtests/run.py`` that read what the served workers left behind."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key

from loadtests.run import searches_per_worker

HELP = "HTTP responses by route template, method and status code."


def write_counters(path: Path, counts: dict[tuple[str, str], float]) -> None:
    """A worker's multiprocess counter file, as prometheus-client writes it."""
    values = MmapedDict(str(path))
    for (endpoint, status), count in counts.items():
        key = mmap_key("hybrid_http_requests", "hybrid_http_requests_total", ["endpoint", "method", "status"],
                       [endpoint, "POST", status], HELP)
        values.write_value(key, count, 0.0)
    values.close()


def test_searches_are_counted_per_worker_file(tmp_path: Path) -> None:
    write_counters(tmp_path / "counter_101.db", {("/v1/search", "200"): 40, ("/v1/search", "400"): 2, ("/readyz", "200"): 9})
    write_counters(tmp_path / "counter_102.db", {("/v1/search", "200"): 100, ("/<target>/_search", "200"): 20})
    write_counters(tmp_path / "counter_103.db", {("/readyz", "200"): 3})  # a worker no user reached
    (tmp_path / "histogram_101.db").write_bytes(b"")  # other kinds of file are not read
    assert searches_per_worker(tmp_path) == [120, 42, 0]
    assert searches_per_worker(tmp_path / "missing") == []
