"""Build an index of ≥ 100,000 chunks for latency tests, in a separate data dir.

    python scripts/make_large_index.py                    # → data-large/, 100,000 chunks
    python loadtests/run.py --data-dir data-large         # load-test it

What it builds, and how far it is realistic:

- **Text** is real English: each synthetic document is a title and 40-140
  words of sentences drawn from the sample corpus and the shared BEIR
  collections (``cranfield``, ``cisi``, ``cacm``), so BM25 posting lists have
  natural lengths. One chunk per document.
- **Access control** is copied from the sample corpus: each synthetic document
  takes the tenant, ACL and metadata of a random sample document, so the
  sample queries' callers see the same share of the index as on the sample.
- **Vectors are random unit vectors by default** (``--vectors random``): the
  vector leg does the same arithmetic per distance, but its HNSW walk visits
  more of a graph of random 384-d vectors than of real embeddings, so they are
  the vector leg's worst case; useless for relevance. ``--vectors encoder``
  embeds the text with the real encoder instead: 27 minutes for 100,000 chunks
  on these 2 cores (~61 chunks/s, both cores embedding; the load-test figures in
  ``loadtests/README.md`` are quoted on both).
- The index records the real encoder's model version, so the service serves it.

Writes go through the backend's public interface in large batches with the
HNSW build held back, then one final write builds the graphs once (one per
tenant), and a force-merge leaves one text segment instead of one per write
(lexical leg 2.7 → 1.8 ms). Cost here: ~1 min writing 100,000 chunks, then the
three tenants' graphs in 70 s wall (2.2 CPU-minutes on 2 threads) and the merge
in ~12 s on a quiet machine; 14 min wall in all when the shared cores ran at
load average ~12.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.backends.base import Chunk, IndexInfo, by_document, chunk_key, index_name  # noqa: E402
from app.backends.embedded import EmbeddedBackend  # noqa: E402
from app.settings import Settings  # noqa: E402

SAMPLE_CORPUS = ROOT / "sample_data" / "corpus.jsonl"
BEIR_DIR = Settings.from_env().datasets_dir
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data-large", help="data dir to create (default data-large/)")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--vectors", choices=("random", "encoder"), default="random")
    parser.add_argument("--batch", type=int, default=20_000, help="chunks per write")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--force", action="store_true", help="delete a non-empty --out first")
    return parser.parse_args(argv)


def read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def text_pool() -> tuple[list[str], list[str]]:
    """Titles and sentences from the sample corpus and the shared BEIR collections."""
    titles, sentences = [], []
    sources = [SAMPLE_CORPUS] + sorted(BEIR_DIR.glob("*/corpus.jsonl"))
    for path in sources:
        if not path.is_file():
            continue
        for record in read_jsonl(path):
            if record.get("title"):
                titles.append(" ".join(record["title"].split()))
            body = record.get("body") or record.get("text") or ""
            sentences.extend(s for s in (" ".join(p.split()) for p in _SENTENCE.split(body)) if len(s.split()) >= 4)
    if not sentences:
        raise SystemExit(f"no text found in {SAMPLE_CORPUS} or {BEIR_DIR}")
    return titles or ["Untitled"], sentences


def access_templates() -> list[dict]:
    """Tenant, ACL and metadata of every sample document."""
    if not SAMPLE_CORPUS.is_file():
        raise SystemExit(f"{SAMPLE_CORPUS} is missing; it supplies the tenants and ACLs (run `make sample`)")
    return [
        {"tenant": r["tenant"], "acl": tuple(sorted(set(r["acl"]))), "metadata": r.get("metadata") or {}}
        for r in read_jsonl(SAMPLE_CORPUS)
    ]


def synthetic_chunks(count: int, rng: random.Random) -> Iterator[Chunk]:
    titles, sentences = text_pool()
    templates = access_templates()
    for n in range(count):
        template = rng.choice(templates)
        words: list[str] = []
        target = rng.randint(40, 140)
        while len(words) < target:
            words.extend(rng.choice(sentences).split())
        metadata = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in template["metadata"].items()}
        doc_id = f"large-{n:07d}"
        yield Chunk(
            chunk_id=chunk_key(template["tenant"], doc_id, 0),
            doc_id=doc_id,
            position=0,
            title=rng.choice(titles),
            text=" ".join(words),
            tenant=template["tenant"],
            acl=template["acl"],
            metadata=metadata,
            content_hash=f"synthetic-{n}",
        )


def graph_count(index_dir: Path) -> int:
    """How many tenant graphs the index's newest HNSW set holds."""
    manifests = sorted(index_dir.glob("hnsw-*/manifest.json"), key=lambda m: int(m.parent.name.split("-")[1]))
    return len(json.loads(manifests[-1].read_text())) if manifests else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from app.embedding import load_encoder

    if args.out.exists() and any(args.out.iterdir()):
        if not args.force:
            raise SystemExit(f"{args.out} is not empty; pass --force to delete and rebuild it")
        shutil.rmtree(args.out)
    base = Settings.from_env(data_dir=args.out.resolve())
    encoder = load_encoder(base.model_dir, variant=base.model_variant, threads=2, cache_size=0)
    # Bulk writes with the HNSW build held back; the last write builds them once.
    bulk = EmbeddedBackend(base.replace(hnsw_min_chunks=10**12))
    target = index_name(bulk.alias, base.template_version)
    bulk.create_index(IndexInfo(target, base.template_version, encoder.model_version, encoder.dimension))
    bulk.switch_alias(target)

    rng = random.Random(args.seed)
    vectors = np.random.default_rng(args.seed)
    started = time.perf_counter()
    batch: list[Chunk] = []
    written = 0
    last: Chunk | None = None

    def flush() -> None:
        nonlocal written, batch, last
        if args.vectors == "random":
            matrix = vectors.standard_normal((len(batch), encoder.dimension), dtype=np.float32)
        else:
            matrix = np.asarray(encoder.embed_passages([c.passage() for c in batch], batch_size=base.embed_batch_size))
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        bulk.replace_documents(target, by_document(replace(c, vector=v) for c, v in zip(batch, matrix)))
        last = replace(batch[-1], vector=matrix[-1])
        written += len(batch)
        print(f"  {written:>7} chunks written ({time.perf_counter() - started:.0f} s)", flush=True)
        batch = []

    for chunk in synthetic_chunks(args.chunks, rng):
        batch.append(chunk)
        if len(batch) >= args.batch:
            flush()
    if batch:
        flush()
    assert last is not None
    # Rewrite the last document with the real threshold: builds the HNSW graphs.
    began = time.perf_counter()
    final = EmbeddedBackend(base)
    final.replace_documents(target, by_document([last]))
    # One text segment instead of one per write, as an index about to go live gets.
    final.force_merge(target)
    info = final.live_index()
    print(
        f"{args.out}: {info.name} with {info.chunks} chunks ({args.vectors} vectors, model {info.model_version}); "
        f"HNSW graphs for {graph_count(args.out / 'indexes' / target)} tenants "
        f"in {time.perf_counter() - began:.0f} s; total {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
