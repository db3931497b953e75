"""The OpenSearch backend against the stub answering as a given release: bodies
built for the cluster's version, and what a real cluster checks beyond shape.

Each test names the OpenSearch behaviour it models (source or documentation).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.backends import opensearch_queries as queries
from app.backends.base import IndexInfo, LexicalLeg, QueryRejected, VectorLeg
from app.backends.opensearch import OpenSearchBackend
from app.backends.opensearch_versions import UnsupportedByCluster, parse_release
from app.cli import main
from test_opensearch_backend import DIM, USER, chunk

from chunk_keys import keyed


@pytest.fixture
def live(backend: OpenSearchBackend) -> OpenSearchBackend:
    backend.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
    backend.switch_alias("docs-v1")
    backend.replace_documents("docs-v1", keyed({
        "d1": [chunk("d1", 0, "Database failover", "promote the replica"), chunk("d1", 1, "Database failover", "repoint")],
        "d2": [chunk("d2", 0, "Database backup", "nightly database dump")],
    }))
    return backend


def fused(live: OpenSearchBackend, method: str, weights: dict[str, float]):
    return live.run_fused(LexicalLeg("database", 10), VectorLeg(np.ones(DIM, np.float32), 10), USER,
                          method=method, weights=weights)


# --- 1. neural-search ScoreCombinationUtil.validateWeights: each in [0, 1], sum 1.0
def test_linear_fusion_with_the_default_equal_weights_is_accepted(live: OpenSearchBackend, stub) -> None:
    result = fused(live, "linear", {"lexical": 1.0, "vector": 1.0})  # the profiles' default weights
    assert {h.doc_id for h in result.hits} == {"d1", "d2"}
    (pipeline,) = [c["body"] for c in stub.calls("PUT", "^/_search/pipeline/")]
    combination = pipeline["phase_results_processors"][0]["normalization-processor"]["combination"]
    assert combination["parameters"]["weights"] == [0.5, 0.5]


def test_scaled_weights_rank_as_the_raw_ones(live: OpenSearchBackend) -> None:
    raw = [(h.doc_id, h.score) for h in fused(live, "linear", {"lexical": 3.0, "vector": 1.0}).hits]
    unit = [(h.doc_id, h.score) for h in fused(live, "linear", {"lexical": 0.75, "vector": 0.25}).hits]
    assert raw == unit


def test_the_stub_rejects_weights_a_cluster_rejects(live: OpenSearchBackend) -> None:
    body = {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [1.0, 1.0]}}}}]}
    with pytest.raises(QueryRejected, match="sum of weights for combination must be equal to 1.0"):
        live.cluster.call("x", live.client.transport.perform_request, "PUT", "/_search/pipeline/p", body=body)


def test_all_zero_weights_are_refused_before_the_cluster(live: OpenSearchBackend, stub) -> None:
    with pytest.raises(ValueError, match="at least one above 0"):
        fused(live, "linear", {"lexical": 0.0, "vector": 0.0})
    assert stub.calls("PUT", "^/_search/pipeline/") == []


@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=2, max_size=4).filter(lambda w: sum(w) > 1e-6))
def test_unit_sum_weights_keep_the_ratios(weights: list[float]) -> None:
    scaled = queries.unit_sum_weights(weights)
    assert abs(sum(scaled) - 1.0) < 1e-9 and all(0.0 <= w <= 1.0 for w in scaled)
    top = max(range(len(weights)), key=weights.__getitem__)
    for w, s in zip(weights, scaled):
        assert abs(w * scaled[top] - s * weights[top]) <= 1e-9 * max(1.0, weights[top])


# --- 2. bodies for the cluster's version (read once from GET /)
@pytest.mark.parametrize("stub_version", ["2.11.1"])
def test_before_2_19_the_hybrid_query_goes_without_pagination_depth(live: OpenSearchBackend, stub) -> None:
    # HybridQueryBuilder parses pagination_depth from 2.19; 2.17 answers
    # "[hybrid] query does not support [pagination_depth]".
    result = fused(live, "linear", {"lexical": 0.5, "vector": 0.5})
    assert result.hits
    (search,) = stub.calls("POST", "^/docs/_search$")
    assert "pagination_depth" not in search["body"]["query"]["hybrid"]
    assert len(stub.calls("GET", "^/$")) == 1  # the version is read once
    fused(live, "linear", {"lexical": 0.5, "vector": 0.5})
    assert len(stub.calls("GET", "^/$")) == 1


@pytest.mark.parametrize("stub_version", ["2.19.1", "3.1.0"])
def test_from_2_19_each_sub_query_ranks_to_the_pagination_depth(live: OpenSearchBackend, stub) -> None:
    fused(live, "linear", {"lexical": 0.5, "vector": 0.5})
    (search,) = stub.calls("POST", "^/docs/_search$")
    assert search["body"]["query"]["hybrid"]["pagination_depth"] == 10


@pytest.mark.parametrize("stub_version", ["2.11.1"])
def test_the_stub_refuses_pagination_depth_before_2_19(live: OpenSearchBackend) -> None:
    fused(live, "linear", {"lexical": 0.5, "vector": 0.5})  # installs the pipeline
    body = queries.hybrid_body(LexicalLeg("x", 5), VectorLeg(np.ones(DIM, np.float32), 5), USER, 1.0, 5)  # latest release
    pipeline = next(iter(live.fusion.pipelines))
    with pytest.raises(QueryRejected, match=r"\[hybrid\] query does not support \[pagination_depth\]"):
        live.cluster.call("x", live.client.search, index="docs", body=body, params={"search_pipeline": pipeline})


@pytest.mark.parametrize("stub_version", ["2.11.1"])
def test_server_side_rrf_before_2_19_is_refused_naming_the_version(live: OpenSearchBackend, stub) -> None:
    # neural-search's score-ranker-processor is "Introduced 2.19" (search-pipelines docs).
    with pytest.raises(UnsupportedByCluster, match=r"needs OpenSearch 2\.19 or later; this cluster runs 2\.11"):
        fused(live, "rrf", {"lexical": 1.0, "vector": 1.0})
    assert stub.calls("PUT", "^/_search/pipeline/") == []


@pytest.mark.parametrize("stub_version", ["2.9.0"])
def test_a_cluster_without_the_hybrid_query_is_refused(backend: OpenSearchBackend) -> None:
    with pytest.raises(UnsupportedByCluster, match=r"2\.10 or later; this cluster runs 2\.9"):
        backend.cluster.release()


def test_release_parsing() -> None:
    assert parse_release("2.19.1") == (2, 19) and parse_release("3.1.0-SNAPSHOT") == (3, 1)
    with pytest.raises(ValueError):
        parse_release("seven")


# --- 3. a cluster echoes "composed_of": [] for a template stored without it
def test_template_drift_is_clean_against_what_a_cluster_echoes(backend: OpenSearchBackend, stub) -> None:
    backend.install_templates()
    assert stub.templates["docs-v1"]["composed_of"] == []  # as GET _index_template answers
    assert all(r["action"] == "unchanged" for r in backend.install_templates().values())


# --- 7. scans sort on the chunk_id keyword, never on _id (fielddata, deprecated)
def test_scans_of_our_indexes_sort_on_chunk_id(live: OpenSearchBackend, stub) -> None:
    hashes = live.document_hashes("docs-v1")
    chunks = list(live.iter_chunks("docs-v1"))
    assert set(hashes) and len(chunks) == 3  # page size 3: search_after on chunk_id is exercised
    sorts = {next(iter(c["body"]["sort"][0])) for c in stub.calls("POST", "^/_search$") if "pit" in (c["body"] or {})}
    assert sorts == {"chunk_id"} and stub.deprecations == []


# --- 2. RRFProcessorFactory (neural-search 2.19.0.0–3.0.0.0) reads rank_constant from
# combination.parameters; from 3.1.0.0 from combination, whose parameters take only weights.
def rrf_top_score(live: OpenSearchBackend, rank_constant: int, weights: dict[str, float] | None = None) -> float:
    result = live.run_fused(LexicalLeg("database", 10), VectorLeg(np.ones(DIM, np.float32), 10), USER,
                            method="rrf", weights=weights or {"lexical": 1.0, "vector": 1.0}, rank_constant=rank_constant)
    return result.hits[0].score


@pytest.mark.parametrize("stub_version", ["2.19.1", "3.0.0", "3.1.0"])
def test_the_rrf_rank_constant_reaches_the_cluster_where_that_release_reads_it(live: OpenSearchBackend, stub) -> None:
    # A misplaced rank_constant is ignored (k = 60): the best score would be at most 2/61.
    assert rrf_top_score(live, 1) > 2 / 61
    (pipeline,) = [c["body"] for c in stub.calls("PUT", "^/_search/pipeline/")]
    combination = pipeline["phase_results_processors"][0]["score-ranker-processor"]["combination"]
    where = combination if stub.release >= (3, 1) else combination["parameters"]
    assert where["rank_constant"] == 1


def test_from_3_1_the_rrf_parameters_take_only_weights(live: OpenSearchBackend) -> None:
    body = {"phase_results_processors": [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "parameters": {"rank_constant": 5}}}}]}
    with pytest.raises(QueryRejected, match=r"supported parameters are \[weights\]"):
        live.cluster.call("x", live.client.transport.perform_request, "PUT", "/_search/pipeline/p", body=body)


@pytest.mark.parametrize("stub_version", ["2.19.1"])
def test_weighted_server_side_rrf_before_3_1_is_refused_naming_the_version(live: OpenSearchBackend, stub) -> None:
    with pytest.raises(UnsupportedByCluster, match=r"weighted server-side RRF needs OpenSearch 3\.1 or later; this cluster runs 2\.19"):
        rrf_top_score(live, 60, {"lexical": 3.0, "vector": 1.0})
    assert stub.calls("PUT", "^/_search/pipeline/") == []


def test_from_3_1_rrf_weights_are_sent_scaled_to_sum_to_1(live: OpenSearchBackend, stub) -> None:
    heavy, even = rrf_top_score(live, 60, {"lexical": 3.0, "vector": 1.0}), rrf_top_score(live, 60)
    pipelines = [c["body"]["phase_results_processors"][0]["score-ranker-processor"]["combination"]
                 for c in stub.calls("PUT", "^/_search/pipeline/")]
    assert pipelines[0]["parameters"]["weights"] == [0.75, 0.25] and "parameters" not in pipelines[1]
    assert heavy != even  # the cluster ranked with them


# --- 2. k-NN: method_parameters (KNNQueryBuilder, k-NN 2.16) carries ef_search; the Lucene
# engine ignores index.knn.algo_param.ef_search until k-NN 3.5.
@pytest.mark.parametrize(("stub_version", "sent"), [("2.11.1", False), ("2.19.1", True), ("3.1.0", True)])
def test_the_vector_leg_asks_for_ef_search_where_the_release_parses_it(live: OpenSearchBackend, stub, sent: bool) -> None:
    results = live.run_legs({"vector": VectorLeg(np.ones(DIM, np.float32), 10)}, USER)
    assert results["vector"].hits and results["vector"].failure is None
    (request,) = stub.calls("POST", "_msearch")
    knn = request["body"][1]["query"]["knn"]["embedding"]
    assert knn.get("method_parameters") == ({"ef_search": live.settings.hnsw_ef_search} if sent else None)


# --- 2. faiss takes cosinesimil from k-NN 2.19 (SpaceType/KNNEngine at 2.19.0.0); docs/opensearch.md
@pytest.mark.parametrize(("stub_version", "accepted"), [("2.11.1", False), ("2.19.1", True)])
def test_faiss_with_cosine_is_refused_before_2_19(os_settings, stub, accepted: bool) -> None:
    faiss = OpenSearchBackend(os_settings.replace(opensearch_knn_engine="faiss"))
    info = IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM)
    if accepted:
        faiss.create_index(info)
        assert stub.indexes["docs-v1-000001"].mappings["properties"]["embedding"]["method"]["engine"] == "faiss"
        return
    with pytest.raises(UnsupportedByCluster, match=r"faiss engine with cosinesimil needs OpenSearch 2\.19 or later"):
        faiss.create_index(info)
    assert stub.templates == {} and stub.indexes == {}


@pytest.mark.parametrize("stub_version", ["2.11.1"])
def test_the_stub_refuses_faiss_cosine_before_2_19(backend: OpenSearchBackend) -> None:
    mapping = {"type": "knn_vector", "dimension": DIM,
               "method": {"name": "hnsw", "space_type": "cosinesimil", "engine": "faiss"}}
    with pytest.raises(QueryRejected, match=r"space type \[cosinesimil\] is not supported with \[faiss\] engine"):
        backend.cluster.call("x", backend.client.indices.create, index="raw",
                             body={"settings": {"index": {"knn": True}}, "mappings": {"properties": {"v": mapping}}})


def test_install_templates_twice_through_the_cli_is_unchanged_the_second_time(stub, os_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HYBRID_BACKEND", "opensearch")
    monkeypatch.setenv("HYBRID_OPENSEARCH_HOSTS", stub.url)
    monkeypatch.setenv("HYBRID_DATA_DIR", str(os_settings.data_dir))
    assert main(["index", "install-templates"]) == 0
    first = capsys.readouterr().out
    assert main(["index", "install-templates"]) == 0
    second = capsys.readouterr().out
    assert "created" in first and "unchanged" in second and "created" not in second and "updated" not in second
