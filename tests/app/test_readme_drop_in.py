"""The README's opensearch-py snippet, run as written against a served sample index."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from app.backends.embedded import EmbeddedBackend
from app.ingest import ingest_documents
from app.settings import PROJECT_ROOT, Settings
from app.sources import read_source
from app.web import create_app

SNIPPET = re.compile(r"<!-- drop-in snippet[^>]*-->\n```python\n(.*?)```", re.S)


def test_the_readme_snippet_returns_highlighted_hybrid_hits_and_a_facet(settings: Settings, encoder, tiny_corpus: Path) -> None:
    (code,) = SNIPPET.findall((PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(code.strip().splitlines()) == 5
    report = ingest_documents(read_source(str(tiny_corpus), settings), EmbeddedBackend(settings), encoder, settings)
    assert report.ok
    server = make_server("127.0.0.1", 0, create_app(settings, encoder=encoder), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # As written, but on this test's port and with the test's signing secret (the
        # token command reads HYBRID_JWT_SECRET; `make run` uses its dev secret instead).
        served = code.replace("http://127.0.0.1:8080", f"http://127.0.0.1:{server.server_port}")
        env = {"HYBRID_JWT_SECRET": settings.jwt_secret, "HYBRID_DATA_DIR": str(settings.data_dir), "PATH": str(Path(sys.executable).parent)}
        result = subprocess.run([sys.executable, "-c", served], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("acme-kb-0001 ") and "<em>SAML</em>" in result.stdout
    assert "'doc_count': " in result.stdout
