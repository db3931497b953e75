"""Every body the OpenSearch backend builds, checked against the API spec; templates in sync."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from app.analysis import LUCENE_ENGLISH_STOP_WORDS, analyzer, lexical_design, opensearch_analysis
from app.backends import opensearch_queries as queries
from app.backends import opensearch_requests as req
from app.backends.base import AccessFilter, Chunk, IndexInfo, LexicalLeg, VectorLeg
from app.backends.opensearch_templates import (
    DOCUMENT_TEXT,
    build_template,
    committed_versions,
    load_template,
    render_template,
)
from app.settings import Settings

ACCESS = AccessFilter("t1", frozenset({"user:a", "group:b"}), {"team": ("x", "y")})
LEX = LexicalLeg("database failover", 30)
VEC = VectorLeg(np.ones(8, np.float32), 30)
CHUNK = Chunk("d1#0", "d1", 0, "Title", "Body", "t1", ("*",), {"team": ("x",)}, url="https://x", updated_at="2024-01-01T00:00:00Z",
              content_hash="h", vector=np.ones(8, np.float32))


def body_ref(api_spec, method: str, path: str) -> str:
    return api_spec.body_schema_ref(api_spec.operation(method, path))


def bodies() -> dict[str, tuple[str, str, object]]:
    """name → (method, path, body) of everything the backend sends as JSON."""
    pipeline_rrf = queries.search_pipeline("rrf", "min_max", [1, 1], 60)
    pipeline_linear = queries.search_pipeline("linear", "l2", [0.3, 0.7], 60)
    return {
        "template": ("PUT", "/_index_template/docs-v1", render_template(1, Settings(opensearch_knn_engine="faiss"))),
        "create_index": ("PUT", "/docs-v1-000001", req.create_index_body(IndexInfo("docs-v1", 1, "m", 8), Settings(), "2024-01-01T00:00:00Z")),
        "aliases": ("POST", "/_aliases", req.alias_actions("docs", "docs-v2-000001", ["docs-v1-000001"])),
        "pipeline_rrf": ("PUT", "/_search/pipeline/p", pipeline_rrf),
        "pipeline_linear": ("PUT", "/_search/pipeline/p", pipeline_linear),
        "hybrid": ("POST", "/docs/_search", queries.hybrid_body(LEX, VEC, ACCESS, 2.0, 10)),
        "reindex": ("POST", "/_reindex", req.reindex_body("docs-v1-000001", "docs-v1-000002")),
        "scan": ("POST", "/_search", req.scan_body("pit", "2m", 500, ["doc_id"], ["d1#0"], req.first_chunks_query())),
        "delete_stale": ("POST", "/docs-v1-000001/_delete_by_query", req.stale_chunks_query("t1", ["d1"], ["t1/d1#0"])),
        "count": ("POST", "/docs-v1-000001/_count", {"query": req.first_chunks_query("t1", ["d1"])}),
        "mget": ("POST", "/docs/_mget", {"ids": ["d1#0"]}),
        "delete_pit": ("DELETE", "/_search/point_in_time", {"pit_id": ["pit"]}),
    }


@pytest.mark.parametrize("name", sorted(bodies()))
def test_every_json_body_matches_the_spec(api_spec, name: str) -> None:
    method, path, body = bodies()[name]
    assert api_spec.errors(body_ref(api_spec, method, path), body) == []


def test_msearch_lines_match_the_spec(api_spec) -> None:
    header = queries.msearch_header("docs", queries.search_preference("t1", [LEX, VEC]), global_statistics=True)
    lines = queries.msearch_lines(
        (header, body)
        for body in [queries.leg_body(queries.lexical_query(LEX, ACCESS, 2.0), 30, 4.0), queries.leg_body(queries.vector_query(VEC, ACCESS, 128), 30)]
    )
    assert lines[0]["search_type"] == "dfs_query_then_fetch" and lines[1]["timeout"] == "4000ms"
    assert lines[3]["query"]["knn"]["embedding"]["method_parameters"] == {"ef_search": 128}
    for i, line in enumerate(lines):
        assert api_spec.errors(api_spec.schema("_core.msearch", "MultisearchHeader" if i % 2 == 0 else "MultisearchBody"), line) == []


def test_bulk_action_lines_match_the_spec(api_spec) -> None:
    (action,) = req.index_actions("docs-v1-000001", [CHUNK])
    line = {action["_op_type"]: {"_index": action["_index"], "_id": action["_id"]}}  # as helpers.expand_action sends it
    assert api_spec.errors(api_spec.schema("_core.bulk", "OperationContainer"), line) == []
    mapping = load_template(1)["template"]["mappings"]["properties"]
    assert set(action["_source"]) <= set(mapping)  # the strict mapping accepts every field we write


MISSPELLED = {
    # (body name, JSON path to a dict, good key, misspelling)
    "template mapping": ("template", ["template"], "mappings", "mapings"),
    "knn method parameters": ("template", ["template", "mappings", "properties", "embedding", "method"], "parameters", "paramters"),
    "analyzer on a text field": ("template", ["template", "mappings", "properties", "title"], "analyzer", "analyser"),
    "stop filter": ("template", ["template", "settings", "analysis", "filter", "english_text_stop"], "stopwords", "stopword"),
    "alias action": ("aliases", ["actions", -1], "add", "ad"),
    "pipeline normalization": ("pipeline_linear", ["phase_results_processors", 0, "normalization-processor"], "normalization", "normalisation"),
    "hybrid sub-queries": ("hybrid", ["query", "hybrid"], "queries", "querys"),
    "knn vector": ("hybrid", ["query", "hybrid", "queries", 1, "knn", "embedding"], "vector", "vectr"),
    "multi_match type": ("hybrid", ["query", "hybrid", "queries", 0, "bool", "must", 0, "multi_match"], "fields", "field"),
    "reindex dest": ("reindex", [], "dest", "destination"),
    "pit keep_alive": ("scan", ["pit"], "keep_alive", "keepalive"),
}


@pytest.mark.parametrize("case", sorted(MISSPELLED))
def test_a_misspelled_key_is_rejected(api_spec, case: str) -> None:
    name, path, good, bad = MISSPELLED[case]
    method, url, body = bodies()[name]
    broken = copy.deepcopy(body)
    node = broken
    for step in path:
        node = node[step]
    node[bad] = node.pop(good)
    errors = api_spec.errors(body_ref(api_spec, method, url), broken)
    assert errors and any(bad in e or "required" in e for e in errors), errors


def test_misplaced_filter_is_rejected(api_spec) -> None:
    """The k-NN filter belongs inside ``knn.<field>``, not beside the field."""
    body = queries.leg_body(queries.vector_query(VEC, ACCESS), 10)
    body["query"]["knn"]["filter"] = body["query"]["knn"]["embedding"].pop("filter")
    assert api_spec.errors(api_spec.schema("_core.msearch", "MultisearchBody"), body)


def test_where_the_spec_is_permissive(api_spec) -> None:
    """Maps stay open on purpose: ``_meta``, field names, and ``ext`` take any key."""
    method, url, body = bodies()["template"]
    body = copy.deepcopy(body)
    body["_meta"]["anything_goes"] = 1
    body["template"]["mappings"]["properties"]["new_field"] = {"type": "keyword"}
    assert api_spec.errors(body_ref(api_spec, method, url), body) == []
    assert api_spec.closed > 1000  # objects the validator closed (the spec itself closes 2)


def test_unknown_query_parameter_and_path_are_known_to_the_spec(api_spec) -> None:
    op = api_spec.operation("POST", "/docs/_search")
    assert "search_pipeline" in api_spec.query_params(op)
    assert "serch_pipeline" not in api_spec.query_params(op)


# ------------------------------------------------------------------ templates
@pytest.mark.parametrize("version", committed_versions())
def test_committed_template_json_is_in_sync_with_its_python_source(version: int) -> None:
    assert load_template(version) == json.loads(json.dumps(build_template(version))), (
        "regenerate with: python -m app.backends.opensearch_templates"
    )
    assert render_template(version, Settings()) == load_template(version)


def test_template_settings_come_from_configuration() -> None:
    settings = Settings(opensearch_shards=3, opensearch_replicas=2, hnsw_ef_search=64, hnsw_m=32, hnsw_ef_construction=256,
                        opensearch_knn_engine="faiss", index_alias="kb")
    body = render_template(1, settings)
    assert body["index_patterns"] == ["kb-v1-*"]
    assert body["template"]["settings"]["index"] == {"knn": True, "knn.algo_param.ef_search": 64, "number_of_shards": 3, "number_of_replicas": 2}
    assert body["template"]["mappings"]["properties"]["embedding"]["method"] == {
        "name": "hnsw", "space_type": "cosinesimil", "engine": "faiss", "parameters": {"m": 32, "ef_construction": 256}}
    assert body["template"]["mappings"]["dynamic"] == "strict"
    assert body["_meta"] == body["template"]["mappings"]["_meta"] and body["_meta"]["dimension"] == 384


@pytest.mark.parametrize("version", committed_versions())
def test_template_and_embedded_analyzers_agree(version: int) -> None:
    """Both come from ``app.analysis.lexical_design``: same stop words, stemmer, length cap."""
    design = lexical_design(version)
    spec = design.analyzer
    template = load_template(version)["template"]
    assert template["settings"]["analysis"] == opensearch_analysis(spec)
    text_fields = ("title", "body", DOCUMENT_TEXT) if design.whole_documents else ("title", "body")
    for field_name in text_fields:
        assert template["mappings"]["properties"][field_name]["analyzer"] == spec.name
    assert (DOCUMENT_TEXT in template["mappings"]["properties"]) == design.whole_documents
    filters = template["settings"]["analysis"]["filter"]
    assert filters[f"{spec.name}_stop"]["stopwords"] == list(spec.stop_words)
    assert filters[f"{spec.name}_stemmer"]["language"] == "English"
    assert filters[f"{spec.name}_length"]["max"] == spec.max_token_length
    # The embedded chain drops exactly the template's stop words and stems like Snowball English
    # (tests/app/test_analysis.py checks it against Lucene's own chain).
    chain = analyzer(spec)
    assert chain.analyze(" ".join(spec.stop_words)) == []
    assert chain.analyze("Running Databases Failovers") == ["run", "databas", "failov"]


def test_template_1_keeps_lucenes_stop_list_and_2_has_the_long_one() -> None:
    assert lexical_design(1).analyzer.stop_words == LUCENE_ENGLISH_STOP_WORDS
    assert {"what", "which", "how", "from", "have", "been", "can"} <= set(lexical_design(2).analyzer.stop_words)


# ------------------------------------------------------------- recorded stories
def test_stub_answers_like_the_recorded_stories(api_spec) -> None:
    """Replay two recorded stories through the stub; recorded payloads are subsets of ours."""
    import yaml

    from opensearch_stub.server import StubCluster

    for story in ("tests/default/_core/search/knn/search/search_filter.yaml", "tests/default/indices/bulk.yaml"):
        data = yaml.safe_load((api_spec.root / story).read_text())
        cluster = StubCluster(api_spec)
        for step in data.get("prologues", []) + data["chapters"]:
            path = step["path"]
            for key, value in (step.get("parameters") or {}).items():
                path = path.replace("{" + key + "}", str(value))
            method = step["method"] if isinstance(step["method"], str) else step["method"][-1]
            payload = (step.get("request") or {}).get("payload")
            raw = b"" if payload is None else (
                "\n".join(json.dumps(p) for p in payload) + "\n" if isinstance(payload, list) else json.dumps(payload)).encode()
            status, body = cluster.handle(method, path, {}, raw)
            expected = (step.get("response") or {})
            if "payload" in expected:
                assert status == expected.get("status", 200)
                assert _subset(expected["payload"], body), (story, expected["payload"], body)
        assert cluster.violations == []


def _subset(expected: object, actual: object) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_subset, expected, actual))
    return expected == actual
