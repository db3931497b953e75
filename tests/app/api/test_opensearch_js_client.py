"""The facade driven by the official JavaScript client (``@opensearch-project/opensearch``), run by Node.

``js_client/`` pins the client (package.json, package-lock.json); the fixture
installs it with ``npm ci`` when missing. Without Node this is a skip locally
and a failure in CI (``CI=true``), like a missing dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.auth import mint_token
from app.web import create_app

CLIENT_DIR = Path(__file__).parent / "js_client"


@pytest.fixture(scope="session")
def node_client() -> Path:
    """The client installed (idempotently) in ``js_client/node_modules``."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        message = "Node.js and npm are needed to run the JavaScript client test"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    if not (CLIENT_DIR / "node_modules" / "@opensearch-project" / "opensearch" / "package.json").is_file():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, check=True, capture_output=True, timeout=300)
    return CLIENT_DIR


def test_the_javascript_client_searches_facets_highlights_and_fails_typed(node_client, indexed_settings, encoder) -> None:
    server = make_server("127.0.0.1", 0, create_app(indexed_settings, encoder=encoder), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = mint_token(indexed_settings, subject="ui", tenant="acme", principals=["user:bob"])
    try:
        run = subprocess.run(
            ["node", "search.mjs"], cwd=node_client, capture_output=True, text=True, timeout=120,
            env={**os.environ, "FACADE_URL": f"http://127.0.0.1:{server.server_port}", "FACADE_TOKEN": token},
        )
    finally:
        server.shutdown()
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["info"]["distribution"] == "opensearch"
    assert out["search"]["ids"][0] == "acme-1" and "acme-2" not in out["search"]["ids"]  # must_not sso
    assert out["search"]["highlight"] == {"title": ["<em>Reset</em> your <em>password</em>"]}
    assert out["search"]["total"]["relation"] == "eq"
    assert {b["key"] for b in out["search"]["buckets"]} and all(b["doc_count"] >= 1 for b in out["search"]["buckets"])
    assert out["msearch"][0]["status"] == 200 and out["msearch"][0]["ids"][0] == "acme-4"
    assert out["msearch"][1] == {"status": 400, "ids": None}
    assert out["errors"] == {
        "unknownClause": {"isResponseError": True, "status": 400, "type": "parsing_exception"},
        "wrongIndex": {"isResponseError": True, "status": 404, "type": "index_not_found_exception"},
        "noToken": {"isResponseError": True, "status": 401, "type": "security_exception"},
    }
