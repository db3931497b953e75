"""``hybrid-search index ...`` end to end on the embedded backend: exit codes, output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backends.embedded import EmbeddedBackend
from app.cli import main
from app.settings import Settings


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys):
    """Run the console script in-process with ``settings`` as its environment; (code, out, err)."""
    monkeypatch.setenv("HYBRID_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HYBRID_MODEL_DIR", str(settings.model_dir))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def one_line_error(err: str, command: str = "index") -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hybrid-search {command}: error: "), err
    return lines[0]


def test_lifecycle_through_the_cli(cli, settings: Settings, tiny_corpus: Path) -> None:
    code, out, err = cli("index", "status")
    assert code == 0 and "alias docs → (none)" in out and "(no indexes)" in out

    code, out, _ = cli("index", "install-templates")
    assert code == 0 and out.startswith("embedded: action none")

    code, out, _ = cli("index", "create", "--version", "1")
    assert code == 0 and out.endswith("created docs-v1; the alias points at it\n")
    assert cli("ingest", "--quiet", str(tiny_corpus))[0] == 0

    code, out, err = cli("index", "migrate", "--to", "2")
    assert code == 0, err
    assert "docs-v2 filled by copy" in out and "9/9 title probes found" in out
    assert "alias now on docs-v2; docs-v1 kept for rollback" in out

    code, out, _ = cli("index", "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["live"] == "docs-v2"
    assert [(i["name"], i["documents"]) for i in status["indexes"]] == [("docs-v1", 9), ("docs-v2", 9)]

    code, out, _ = cli("index", "status")
    assert "* docs-v2" in out and "  docs-v1" in out

    assert cli("index", "rollback")[:2] == (0, "alias docs: docs-v2 → docs-v1 (docs-v2 kept)\n")
    assert EmbeddedBackend(settings).alias_target() == "docs-v1"


def test_failures_exit_1_with_one_line_and_leave_the_alias(cli, settings: Settings, tiny_corpus: Path) -> None:
    code, _, err = cli("index", "migrate", "--to", "2")
    assert code == 1 and "points at no index to copy from; give --source" in one_line_error(err)

    code, _, err = cli("index", "rollback")
    assert code == 1 and "nothing to roll back" in one_line_error(err)

    code, _, err = cli("index", "migrate", "--to", "1", "--source", str(tiny_corpus))
    assert code == 0 and f"source {tiny_corpus}: 9/9 documents, " in err and "passages/s" in err
    code, _, err = cli("index", "migrate", "--to", "2", "--source", str(tiny_corpus.parent / "gone.jsonl"))
    line = one_line_error(err)
    assert code == 1 and "gone.jsonl: no such file or folder" in line and "still points at docs-v1" in line
    assert EmbeddedBackend(settings).alias_target() == "docs-v1"

    code, _, err = cli("index", "import", "--from-index", "docs-v1", "--field-map", "title=title")
    assert code == 1 and "field map lacks tenant, acl" in one_line_error(err)

    code, _, err = cli("index", "rollback", "--to", "7")
    assert code == 1 and "no index '7' (have: docs-v1)" in one_line_error(err)


def test_usage_errors_are_argparse_errors(cli) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli("index", "migrate")
    assert exit_.value.code == 2


def test_force_merge_through_the_cli(cli, settings: Settings, tiny_docs: list[dict], tmp_path: Path) -> None:
    from app.analysis import lexical_design
    from app.backends.embedded.text_index import TextIndex

    def segments() -> int:
        return TextIndex(lexical_design(2)).segment_count(settings.data_dir / "indexes" / "docs-v2" / "text")

    for part, docs in enumerate((tiny_docs[:5], tiny_docs[5:])):  # two ingests, two commits
        source = tmp_path / f"part{part}.jsonl"
        source.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf-8")
        assert cli("ingest", "--quiet", str(source))[0] == 0
    assert segments() == 2
    assert cli("index", "force-merge") == (0, "force-merged docs-v2\n", "")
    assert segments() == 1
    assert EmbeddedBackend(settings).live_index().documents == 9
    code, _, err = cli("index", "force-merge", "--index", "docs-v7")
    assert code == 1 and "docs-v7" in one_line_error(err)


def test_ingest_delete_names_the_tenant(cli, tiny_corpus: Path) -> None:
    assert cli("ingest", "--quiet", str(tiny_corpus))[0] == 0
    code, _, err = cli("ingest", "--delete", "acme-kb-0001")
    assert code != 0 and "--tenant" in one_line_error(err, "ingest")
    code, out, _ = cli("ingest", "--delete", "acme-kb-0001", "--tenant", "globex")
    assert code == 1 and "deleted 0 of 1" in out  # globex has no such document; acme's stays
    code, out, _ = cli("ingest", "--delete", "acme-kb-0001", "--tenant", "acme")
    assert code == 0 and "deleted 1 of 1" in out


def test_ingest_reports_progress_and_a_summary_with_passages_per_second(cli, tiny_corpus: Path) -> None:
    code, out, err = cli("ingest", str(tiny_corpus))
    documents = sum(1 for line in tiny_corpus.read_text().splitlines() if line.strip())
    assert code == 0
    assert f"{tiny_corpus}: {documents}/{documents} documents, " in err and "passages/s, 0s left" in err
    assert "passages/s; embedding" in out and f"indexed {documents}" in out
