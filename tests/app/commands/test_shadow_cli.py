"""``hybrid-search shadow`` on a small real index: as each caller, counts weighted, reports written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backends.embedded import EmbeddedBackend
from app.cli import main
from app.ingest import ingest_documents
from app.settings import Settings
from app.sources import read_source


@pytest.fixture
def indexed(settings: Settings, encoder, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    report = ingest_documents(read_source(str(tiny_corpus), settings), EmbeddedBackend(settings), encoder, settings)
    assert report.ok
    monkeypatch.setenv("HYBRID_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HYBRID_MODEL_DIR", str(settings.model_dir))
    monkeypatch.setenv("HYBRID_JWT_SECRET", settings.jwt_secret)
    return settings


def write_log(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_shadow_settings_vs_lexical(indexed: Settings, tmp_path: Path, capsys, tiny_docs) -> None:
    acme = sorted({d["tenant"] for d in tiny_docs})
    log = write_log(tmp_path / "log.jsonl", [
        {"query": "cannot sign in with SAML", "tenant": "acme", "principals": ["user:bob"], "count": 3},
        {"query": "cannot  sign in with SAML", "tenant": "acme", "principals": ["user:bob"]},  # same query, spaced
        {"user_query": "reset my password", "query_attributes": {"tenant": "globex", "principals": []}},
        {"query": "billing invoice"},  # no caller named: --tenant
    ])
    out = tmp_path / "shadow.json"
    code = main(["shadow", "--queries", str(log), "--a", "settings", "--b", "lexical", "--k", "5",
                 "--tenant", acme[0], "--json", str(out), "--report", str(tmp_path / "report")])
    printed = capsys.readouterr().out
    assert code == 0 and "3 distinct queries (6 asked), top 5: settings vs lexical" in printed
    result = json.loads(out.read_text())
    saml = next(q for q in result["per_query"] if q["query"] == "cannot sign in with SAML")
    assert saml["count"] == 4 and saml["tenant"] == "acme" and len(saml["a"]) <= 5
    globex = next(q for q in result["per_query"] if q["query"] == "reset my password")
    assert all(doc.startswith("globex") for doc in globex["a"] + globex["b"])  # run as its caller
    weights = {q["query"]: q["count"] for q in result["per_query"]}
    expected = sum(q["jaccard"] * weights[q["query"]] for q in result["per_query"]) / sum(weights.values())
    assert result["aggregate"]["jaccard"] == pytest.approx(expected)
    assert {p.name for p in (tmp_path / "report").iterdir()} == {"shadow.md", "rbo90.png", "shadow.json"}


def test_a_system_compared_with_itself_is_identical(indexed: Settings, tmp_path: Path, capsys) -> None:
    log = write_log(tmp_path / "log.jsonl", [{"query": "cannot sign in with SAML", "tenant": "acme", "principals": ["user:bob"]}])
    out = tmp_path / "same.json"
    assert main(["shadow", "--queries", str(log), "--a", "lexical", "--b", "keyword:kb", "--json", str(out)]) == 0
    aggregate = json.loads(out.read_text())["aggregate"]
    assert aggregate["jaccard"] == pytest.approx(1.0) and aggregate["rbo90"] == pytest.approx(1.0)


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "not a JSON line"),
    ('{"tenant": "acme"}', "no query text"),
    ('{"query": "x", "count": 0}', "count a positive integer"),
])
def test_a_bad_log_is_one_readable_line(indexed: Settings, tmp_path: Path, capsys, line: str, message: str) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text(line + "\n", encoding="utf-8")
    assert main(["shadow", "--queries", str(log), "--a", "settings", "--b", "lexical"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hybrid-search shadow: error: ") and message in err[0]
