"""The production serving path: gunicorn with ``app/gunicorn_conf.py``, two workers.

Everything else drives the app through Flask's test client; this starts the
real server once, to prove the pieces only gunicorn exercises: the preloaded
app, post-fork BLAS limits and warm-up, multiprocess metrics merged across
workers, and one JSON access line per request (the app's, not gunicorn's).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.embedding import load_encoder
from app.query_cache import SharedVectorCache
from app.settings import PROJECT_ROOT, Settings

QUERY = "how do I reset my password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None, body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_gunicorn_serves_searches_metrics_and_one_access_line_per_request(
    indexed_settings: Settings, token_for, tmp_path: Path
) -> None:
    port = _free_port()
    log_path = tmp_path / "server.log"
    env = dict(
        os.environ,
        HYBRID_DATA_DIR=str(indexed_settings.data_dir),
        HYBRID_MODEL_DIR=str(indexed_settings.model_dir),
        HYBRID_PROFILES_DIR=str(indexed_settings.profiles_dir),
        HYBRID_METRICS_DIR=str(tmp_path / "metrics"),
        HYBRID_QUERY_CACHE_DIR=str(tmp_path / "query-cache"),
        HYBRID_GUNICORN_WORKERS="2",
        HYBRID_JWT_SECRET=indexed_settings.jwt_secret,
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:app.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "app.wsgi:app"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not become ready:\n" + log_path.read_text()
            time.sleep(0.3)

        auth = token_for("acme")
        request_ids = [f"gunicorn-test-{i}" for i in range(6)]
        for request_id in request_ids:  # several, so both workers are likely to serve some
            status, headers, body = _get(f"{base}/v1/search", {**auth, "X-Request-ID": request_id}, {"query": QUERY, "size": 3})
            assert status == 200, body
            assert headers["X-Request-ID"] == request_id
            assert json.loads(body)["hits"][0]["id"] == "acme-1"
        assert _get(f"{base}/v1/search", {"X-Request-ID": "gunicorn-test-401"}, {"query": QUERY})[0] == 401
        # Rejected by gunicorn before the app runs, still in the service's JSON error shape.
        status, headers, body = _get(f"{base}/v1/search", {**auth, "X-Padding": "x" * 9000}, {"query": QUERY})
        assert status == 431 and headers["Content-Type"] == "application/json", body
        assert json.loads(body)["error"]["code"] == "request_header_fields_too_large"

        status, _, metrics = _get(f"{base}/metrics")
        assert status == 200
        text = metrics.decode()
        for stage in ("embed", "lexical", "vector", "fuse", "total"):
            assert f'hybrid_search_stage_duration_seconds_count{{stage="{stage}"}} 6.0' in text, stage
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "hybrid.access" and line.get("path") == "/v1/search"]
    assert sorted(line["request_id"] for line in access) == sorted(request_ids + ["gunicorn-test-401"])
    assert not [line for line in lines if line.get("logger") == "gunicorn.access"]
    assert any("loaded before fork" in line.get("message", "") for line in lines)  # one copy, shared by the workers
    assert QUERY not in log_path.read_text()  # the query is logged as a hash and a length only
    # The workers share query vectors: whichever embedded the query left it for the other.
    model_version = load_encoder(indexed_settings.model_dir, cache_size=0).model_version
    shared = SharedVectorCache(tmp_path / "query-cache", model_version, 384, 2**20)
    assert shared.get(QUERY) is not None and shared.get("warm up") is not None
