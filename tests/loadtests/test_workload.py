"""The load test's query mix: every query lands with a persona that has a token."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
from identity import TEST_JWT_SECRET

from app.auth import TokenVerifier
from app.settings import Settings
from loadtests.workload import build_workload, deal_order, load_queries, mint_tokens, parse_personas


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    return path


def test_untagged_beir_queries_are_dealt_to_the_personas(tmp_path: Path) -> None:
    sample = write_jsonl(tmp_path / "queries.jsonl", [
        {"id": "q1", "text": "reset password", "tenant": "acme", "principals": ["user:zoe"]},
        {"id": "q2", "text": "failover", "tenant": "globex", "principals": ["user:ivan", "group:sre"]},
        {"id": "q3", "text": "   ", "tenant": "acme", "principals": []},
    ])
    beir = write_jsonl(tmp_path / "beir.jsonl", [{"_id": str(i), "text": f"beir query {i}"} for i in range(4)])
    workload = build_workload(load_queries([sample, beir]), parse_personas("initech:user:rita"))
    assert set(workload) == {("acme", ("user:zoe",)), ("globex", ("group:sre", "user:ivan")), ("initech", ("user:rita",))}
    assert sum(map(len, workload.values())) == 6  # the blank query is dropped
    assert workload[("acme", ("user:zoe",))][0] == "reset password"


def test_each_persona_gets_a_token_the_server_accepts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret=TEST_JWT_SECRET)
    tokens = mint_tokens([("acme", ("group:sre", "user:bob")), ("globex", ())], settings)
    caller = TokenVerifier(settings).verify(f"Bearer {tokens[('acme', ('group:sre', 'user:bob'))]}")
    assert caller.tenant == "acme" and caller.principals == {"group:sre", "user:bob"}
    assert jwt.decode(tokens[("globex", ())], options={"verify_signature": False})["tenant"] == "globex"


def test_personas_spec_parses() -> None:
    assert parse_personas("acme:group:sre,user:bob; globex:") == [("acme", ("group:sre", "user:bob")), ("globex", ())]


def test_users_take_personas_tenant_by_tenant_in_a_fixed_order() -> None:
    personas = [("globex", ("user:b",)), ("acme", ("user:z",)), ("acme", ("user:a",)), ("initech", ()), ("globex", ("user:a",))]
    dealt = deal_order(personas)
    assert dealt == [("acme", ("user:a",)), ("globex", ("user:a",)), ("initech", ()), ("acme", ("user:z",)), ("globex", ("user:b",))]
    assert deal_order(reversed(personas)) == dealt


def test_the_query_stream_mixes_unseen_spans_with_zipf_repeats() -> None:
    from loadtests.workload import UNSEEN_WORDS, QueryStream

    documents = [[f"w{d}-{i}" for i in range(50)] for d in range(20)]
    seen = [f"fixed {i}" for i in range(30)]
    stream = QueryStream(seen, documents, 0.5, seed=7)
    asked = [stream.next() for _ in range(2000)]
    unseen = [q for q in asked if q not in seen]
    assert len(unseen) == len(set(unseen)) == stream.unseen and 0.45 < len(unseen) / len(asked) < 0.55
    assert all(UNSEEN_WORDS[0] <= len(q.split()) <= UNSEEN_WORDS[1] for q in unseen)
    repeats = [q for q in asked if q in seen]
    assert repeats.count("fixed 0") > 3 * repeats.count("fixed 29")  # Zipf: the first asked most
    again = QueryStream(seen, documents, 0.5, seed=7)
    assert [again.next() for _ in range(2000)] == asked  # deterministic for a seed
    only_fixed = QueryStream(seen, [], 0.0, seed=1)
    assert all(only_fixed.next() in seen for _ in range(100))


def test_the_cache_hit_rate_is_read_from_the_scrape(tmp_path) -> None:
    from loadtests.run import cache_hit_rate

    scrape = tmp_path / "metrics.txt"
    scrape.write_text('# HELP x\nhybrid_query_embedding_cache_total{result="hit"} 30.0\n'
                      'hybrid_query_embedding_cache_total{result="miss"} 10.0\n')
    assert cache_hit_rate(scrape) == 0.75 and cache_hit_rate(tmp_path / "none.txt") is None
