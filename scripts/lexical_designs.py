"""Lexical designs side by side: stop lists × how title and body are indexed, whole documents.

    python scripts/lexical_designs.py DATASET_DIR...

Indexes each BEIR corpus in memory with tantivy (our analyzer chain as the
embedded backend runs it, terms handed to tantivy; BM25 k1 1.2, b 0.75) once per design and prints nDCG@10 and recall@100 over the top 1,000.
Layouts: ``one`` — title and body as one field; ``title xN`` — a title field
boosted N times plus a body field. Chunk-level BM25 (template v1) is the
``lexical`` system of ``hybrid-search eval`` on a v1 index.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.analysis import ENGLISH_STOP_WORDS, LUCENE_ENGLISH_STOP_WORDS, Analyzer, AnalyzerSpec, document_text  # noqa: E402
from app.evaluation.judgments import load_beir  # noqa: E402
from app.evaluation.metrics import evaluate, mean  # noqa: E402

STOP_LISTS = {"lucene (33)": LUCENE_ENGLISH_STOP_WORDS, f"long ({len(ENGLISH_STOP_WORDS)})": ENGLISH_STOP_WORDS}
LAYOUTS = {"one": None, "title x1": 1.0, "title x2": 2.0}


def score(dataset_dir: str, stop_words: tuple[str, ...], title_boost: float | None) -> dict[str, float]:
    import tantivy

    dataset = load_beir(dataset_dir)
    analyzer = Analyzer(AnalyzerSpec(name="study", stop_words=stop_words, stemmer="english"))
    builder = tantivy.SchemaBuilder()
    for name in ("text", "title", "body"):
        builder.add_text_field(name, tokenizer_name="study")
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    index = tantivy.Index(builder.build())
    index.register_tokenizer("study", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    writer = index.writer(heap_size=100_000_000, num_threads=1)
    with open(dataset.corpus_path, encoding="utf-8") as corpus:
        for line in corpus:
            record = json.loads(line)
            title, body = record.get("title", ""), record.get("text", "")
            doc = tantivy.Document(id=record["_id"])
            if title_boost is None:
                doc.add_text("text", " ".join(analyzer.analyze(document_text(title, body))))
            else:
                doc.add_text("title", " ".join(analyzer.analyze(title)))
                doc.add_text("body", " ".join(analyzer.analyze(body)))
            writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher, schema = index.searcher(), index.schema
    Q, Occur = tantivy.Query, tantivy.Occur
    run: dict[str, dict[str, float]] = {}
    for qid, text in dataset.queries.items():
        should = []
        for term, count in Counter(analyzer.analyze(text)).items():
            if title_boost is None:
                should.append((Occur.Should, Q.boost_query(Q.term_query(schema, "text", term), float(count))))
            else:
                should.append((Occur.Should, Q.boost_query(Q.term_query(schema, "body", term), float(count))))
                should.append((Occur.Should, Q.boost_query(Q.term_query(schema, "title", term), title_boost * count)))
        hits = searcher.search(Q.boolean_query(should), 1000).hits if should else []
        run[qid] = {searcher.doc(address)["id"][0]: s for s, address in hits}
    results = evaluate(dataset.qrels, run, ["ndcg@10", "recall@100"])
    return {metric: mean(values) for metric, values in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    args = parser.parse_args()
    print("| collection | stop list | layout | ndcg@10 | recall@100 |\n|---|---|---|---|---|")
    for dataset_dir in args.datasets:
        for (stop_name, words), (layout, boost) in itertools.product(STOP_LISTS.items(), LAYOUTS.items()):
            got = score(dataset_dir, words, boost)
            print(f"| {Path(dataset_dir).name} | {stop_name} | {layout} | {got['ndcg@10']:.4f} | {got['recall@100']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
