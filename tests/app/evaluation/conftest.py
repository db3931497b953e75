"""A tiny judged BEIR collection, generated (no shared text copied), and its cached index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import Settings

TOPICS = {
    "volcano": ["lava flows from the volcano crater", "magma chamber pressure before an eruption", "ash clouds ground flights"],
    "bread": ["knead the dough and let the yeast rise", "sourdough starter needs flour and water", "bake the loaf until the crust is brown"],
    "orbit": ["satellites circle the earth in low orbit", "rocket launch windows depend on orbital mechanics", "the moon is tidally locked"],
    "violin": ["rosin the bow before playing the violin", "string instruments need regular tuning", "the orchestra rehearsed the concerto"],
    "tax": ["file your income tax return before the deadline", "deductions lower the taxable income", "the revenue office audits returns"],
    "glacier": ["glaciers carve valleys as the ice moves", "melting ice sheets raise the sea level", "crevasses open on the frozen glacier"],
}
QUERIES = {
    "volcano": "when does a volcano erupt",
    "bread": "how to bake sourdough bread",
    "orbit": "satellite orbit around earth",
    "violin": "playing a string instrument",
    "tax": "income tax deadline",
    "glacier": "ice sheet melting",
}


def write_tiny_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    docs, qrels = [], ["query-id\tcorpus-id\tscore"]
    for t, (topic, sentences) in enumerate(TOPICS.items()):
        for i, sentence in enumerate(sentences):
            doc_id = f"{topic}-{i}"
            docs.append({"_id": doc_id, "title": f"{topic} note {i}", "text": f"{sentence}. More about {sentence}."})
            qrels.append(f"q{t}\t{doc_id}\t{2 if i == 0 else 1}")
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [{"_id": f"q{t}", "text": QUERIES[topic]} for t, topic in enumerate(TOPICS)]
    queries.append({"_id": "unjudged", "text": "nothing judged here"})
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return root


@pytest.fixture(scope="session")
def tiny_beir(tmp_path_factory) -> Path:
    return write_tiny_beir(tmp_path_factory.mktemp("tiny-beir"))


@pytest.fixture(scope="session")
def eval_settings(tmp_path_factory) -> Settings:
    from identity import TEST_JWT_SECRET
    from shared_paths import MODEL_DIR

    root = tmp_path_factory.mktemp("eval")
    return Settings(data_dir=root / "data", model_dir=MODEL_DIR, profiles_dir=root / "profiles",
                    eval_cache_dir=root / "eval-cache", jwt_secret=TEST_JWT_SECRET)
