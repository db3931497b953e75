"""Judgment and run loaders: BEIR directories, TREC qrels/run files, CSV.

Everything loads into plain dicts — qrels ``{qid: {doc_id: grade}}``, runs
``{qid: {doc_id: score}}``, queries ``{qid: text}`` — the shapes
:mod:`app.evaluation.metrics` reads. Only queries with judgments are evaluated
(trec_eval convention), so :func:`judged_queries` drops the rest.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]

QRELS_SUFFIXES = (".tsv", ".csv", ".qrels", ".trec", ".txt")


class JudgmentError(ValueError):
    """A judgment, query or run file cannot be read."""


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR-layout directory: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``."""

    root: Path
    split: str
    queries: dict[str, str]
    qrels: Qrels

    @property
    def name(self) -> str:
        return self.root.resolve().name

    @property
    def corpus_path(self) -> Path:
        return self.root / "corpus.jsonl"

    def judged_queries(self) -> dict[str, str]:
        """Queries that have judgments and text, in qrels order."""
        return judged_queries(self.queries, self.qrels)


def load_beir(root: Path | str, split: str = "test") -> BeirDataset:
    """Read a BEIR directory; the qrels file may be TSV, CSV or TREC format."""
    root = Path(root)
    if not (root / "corpus.jsonl").is_file():
        raise JudgmentError(f"{root} is not a BEIR directory (no corpus.jsonl)")
    qrels_path = next((root / "qrels" / f"{split}{s}" for s in QRELS_SUFFIXES if (root / "qrels" / f"{split}{s}").is_file()), None)
    if qrels_path is None:
        raise JudgmentError(f"{root}: no qrels/{split}.tsv (split {split!r})")
    return BeirDataset(root=root, split=split, queries=load_queries(root / "queries.jsonl"), qrels=load_qrels(qrels_path))


def load_corpus(path: Path) -> dict[str, tuple[str, str]]:
    """``corpus.jsonl`` (``{"_id", "title", "text"}`` per line) → ``{doc_id: (title, text)}``."""
    corpus: dict[str, tuple[str, str]] = {}
    for number, record in _jsonl(path):
        try:
            corpus[str(record["_id"])] = (str(record.get("title") or ""), str(record.get("text") or ""))
        except (KeyError, TypeError, AttributeError):
            raise JudgmentError(f"{path}:{number}: a document needs '_id'") from None
    return corpus


def load_queries(path: Path) -> dict[str, str]:
    """``queries.jsonl`` (``{"_id", "text"}`` per line) → ``{qid: text}``."""
    queries: dict[str, str] = {}
    for number, record in _jsonl(path):
        try:
            queries[str(record["_id"])] = str(record["text"])
        except (KeyError, TypeError):
            raise JudgmentError(f"{path}:{number}: a query needs '_id' and 'text'") from None
    return queries


def load_qrels(path: Path | str) -> Qrels:
    """Qrels in any supported format, chosen by content: TREC, TSV or CSV."""
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "")
    if "," in first and "\t" not in first:
        return load_csv_qrels(path)
    if "\t" in first:
        return load_tsv_qrels(path)
    return load_trec_qrels(path)


def load_tsv_qrels(path: Path) -> Qrels:
    """BEIR ``query-id<TAB>corpus-id<TAB>score`` with an optional header."""
    return _table_qrels(path, delimiter="\t")


def load_csv_qrels(path: Path) -> Qrels:
    """CSV ``query,doc_id,grade`` with an optional header row."""
    return _table_qrels(path, delimiter=",")


def load_trec_qrels(path: Path) -> Qrels:
    """TREC qrels: ``qid iteration doc_id grade`` separated by whitespace."""
    qrels: Qrels = {}
    for number, fields in _lines(path):
        if len(fields) != 4:
            raise JudgmentError(f"{path}:{number}: expected 'qid iter doc_id grade', got {len(fields)} fields")
        _add(qrels, fields[0], fields[2], fields[3], path, number)
    return qrels


def load_trec_run(path: Path | str) -> Run:
    """TREC run: ``qid Q0 doc_id rank score tag``; ranks are ignored (trec_eval re-sorts by score)."""
    run: Run = {}
    for number, fields in _lines(Path(path)):
        if len(fields) != 6:
            raise JudgmentError(f"{path}:{number}: expected 'qid Q0 doc_id rank score tag', got {len(fields)} fields")
        try:
            run.setdefault(fields[0], {})[fields[2]] = float(fields[4])
        except ValueError:
            raise JudgmentError(f"{path}:{number}: score {fields[4]!r} is not a number") from None
    return run


def write_trec_run(run: Mapping[str, Mapping[str, float]], path: Path, tag: str = "hybrid") -> None:
    """Write a run in TREC format, ranked by score (for trec_eval and other tools)."""
    with open(path, "w", encoding="utf-8") as out:
        for qid in sorted(run):
            ranked = sorted(run[qid].items(), key=lambda item: (item[1], item[0]), reverse=True)
            for rank, (doc, score) in enumerate(ranked, start=1):
                out.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def judged_queries(queries: Mapping[str, str], qrels: Qrels) -> dict[str, str]:
    """The queries that appear in the qrels; a judged query without text is an error."""
    missing = [qid for qid in qrels if qid not in queries]
    if missing:
        raise JudgmentError(f"{len(missing)} judged queries have no text, e.g. {missing[:3]}")
    return {qid: queries[qid] for qid in qrels}


def file_digest(*paths: Path) -> str:
    """SHA-256 over the files' bytes (and their order); the collection's identity."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


# --- helpers ------------------------------------------------------------------


def _table_qrels(path: Path, delimiter: str) -> Qrels:
    qrels: Qrels = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 3:
                raise JudgmentError(f"{path}:{number}: expected 3 columns (query, doc_id, grade), got {len(row)}")
            if number == 1 and not _is_int(row[2]):
                continue  # header
            _add(qrels, row[0], row[1], row[2], path, number)
    return qrels


def _add(qrels: Qrels, qid: str, doc: str, grade: str, path: Path, number: int) -> None:
    if not _is_int(grade):
        raise JudgmentError(f"{path}:{number}: grade {grade!r} is not an integer")
    qrels.setdefault(qid.strip(), {})[doc.strip()] = int(grade)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line.split()


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise JudgmentError(f"{path}:{number}: invalid JSON: {exc}") from None
