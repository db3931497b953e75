"""The ``lucene-bm25`` system: Lucene's BM25 over whole documents, the keyword search users run today.

Lucene 9.5 (the engine inside OpenSearch) comes from the ``pyserini==0.22.1``
wheel's fat jar; ``lucene/LuceneBm25.java``, our own program on Lucene's public
API, is compiled against it at run time. It indexes ``title + text`` of each
document in one field with the ``english`` analyzer and ranks ``match``
queries with BM25 (k1 = 1.2, b = 0.75): what a UI on OpenSearch gets from a
default ``text`` field. A missing jar or Java is :class:`Unavailable` with the reason.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from app.documents import Document
from app.evaluation.collection import beir_documents
from app.evaluation.judgments import BeirDataset

SYSTEM = "lucene-bm25"
#: Our Java programs on Lucene's public API, one ``<Program>.java`` each.
SOURCES = Path(__file__).with_name("lucene")
JAR_GLOB = "anserini-*-fatjar.jar"


class LuceneUnavailable(RuntimeError):
    """Lucene cannot run here; the message says what is missing."""


def find_jar(configured: Path | None = None) -> Path:
    """The Lucene fat jar: ``configured``, else the one in the installed pyserini wheel."""
    if configured is not None:
        if not configured.is_file():
            raise LuceneUnavailable(f"HYBRID_LUCENE_JAR names no file ({configured.name})")
        return configured
    spec = importlib.util.find_spec("pyserini")  # finds the package without importing its dependencies
    if spec is None or not spec.submodule_search_locations:
        raise LuceneUnavailable("pyserini is not installed (pip install --no-deps pyserini==0.22.1)")
    for location in spec.submodule_search_locations:
        jars = sorted((Path(location) / "resources" / "jars").glob(JAR_GLOB))
        if jars:
            return jars[-1]
    raise LuceneUnavailable("the pyserini package holds no anserini fat jar")


def _java_tools() -> tuple[str, str]:
    java, javac = shutil.which("java"), shutil.which("javac")
    if not java or not javac:
        raise LuceneUnavailable("java and javac (JDK 17) are needed to run Lucene")
    return java, javac


def _one_line(text: str) -> str:
    return " ".join(text.split())


def rank_documents(dataset: BeirDataset, queries: Mapping[str, str], size: int, jar: Path | None = None) -> dict[str, list[str]]:
    """Lucene's top ``size`` document ids per query over ``dataset``'s corpus."""
    with tempfile.TemporaryDirectory(prefix="lucene-bm25-") as scratch:
        work = Path(scratch)
        write_tsv(work / "docs.tsv", _documents(dataset))
        write_tsv(work / "queries.tsv", queries.items())
        run_program("LuceneBm25", [work / "docs.tsv", work / "queries.tsv", size, work / "run.tsv"], work, jar)
        rankings: dict[str, list[str]] = {qid: [] for qid in queries}
        for line in (work / "run.tsv").read_text(encoding="utf-8").splitlines():
            qid, doc_id, _score = line.split("\t")
            rankings[qid].append(doc_id)
    return rankings


def _documents(dataset: BeirDataset) -> Iterable[tuple[str, str]]:
    """(id, title + body) of the documents our own index of ``dataset`` holds."""
    for document in beir_documents(dataset, tenant="lucene"):
        if isinstance(document, Document):
            yield document.id, f"{document.title} {document.body}"


def write_tsv(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """One line per row, its fields tab-separated, each field's whitespace collapsed."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write("\t".join(_one_line(field) for field in row) + "\n")


def run_program(program: str, args: Sequence[object], work: Path, jar: Path | None = None) -> None:
    """Compile ``lucene/<program>.java`` into ``work`` against the jar and run it with ``args``."""
    jar = find_jar(jar)
    java, javac = _java_tools()
    _run([javac, "-cp", str(jar), "-d", str(work), str(SOURCES / f"{program}.java")], f"compiling {program}.java")
    _run([java, "-cp", f"{jar}:{work}", program, *map(str, args)], f"running {program}")


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LuceneUnavailable(f"{what} failed (exit {done.returncode}): {last}")
