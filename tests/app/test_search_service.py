"""The query path: its pure helpers, and SearchService on a small real index with a fake encoder."""

from __future__ import annotations

import pytest
from fake_encoder import FakeEncoder
from hypothesis import given
from hypothesis import strategies as st
from identity import TEST_JWT_SECRET

from app.auth import Caller
from app.backends.base import AccessFilter, LegResult, LexicalLeg
from app.backends.capabilities import ServerSideFusion
from app.backends.embedded import EmbeddedBackend
from app.documents import Document
from app.errors import InvalidRequest
from app.ingest import ingest_documents
from app.rerank import NoReranker, RerankOutcome
from app.search_request import SearchRequest
from app.search_hits import snippet
from app.search_service import SearchService
from app.settings import Settings


def _whole_passage_snippet(text: str, limit: int) -> str:
    """The definition: collapse all whitespace, then cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,.;:") + " …"


_spacing = st.sampled_from([" ", "  ", "\n", "\t \n", " " * 40])
_passages = st.lists(st.tuples(st.text("abc,.", min_size=1, max_size=12), _spacing), max_size=40).map(
    lambda parts: "".join(word + space for word, space in parts)
)


@given(text=_passages | st.text(max_size=200), limit=st.integers(1, 60))
def test_snippet_equals_collapsing_the_whole_passage(text: str, limit: int) -> None:
    assert snippet(text, limit) == _whole_passage_snippet(text, limit)


def test_snippet_looks_past_a_prefix_of_mostly_whitespace() -> None:
    text = "intro" + " " * 100 + "the rest of the passage, which is long enough to be cut"
    assert snippet(text, 30) == _whole_passage_snippet(text, 30) == "intro the rest of the …"


def test_snippet_of_a_long_passage_is_cut_at_a_word() -> None:
    text = "word " * 200
    shown = snippet(text, 23)
    assert shown == "word word word word …"


# ------------------------------------------------ the query path, on a fake encoder
ENCODER = FakeEncoder()
CALLER = Caller("tester", "acme", frozenset({"team"}))
TOPICS = ["volcano lava eruption", "bread dough yeast", "orbit satellite rocket", "violin bow strings"]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Settings, EmbeddedBackend]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("service"), jwt_secret=TEST_JWT_SECRET)
    backend = EmbeddedBackend(settings)
    docs = [Document(f"d{i}", f"note {i} on {topic.split()[0]}", f"{topic} {topic} part {i}", "acme",
                     ("team",) if i % 2 else ("*",)) for i, topic in enumerate(TOPICS * 3)]
    docs.append(Document("secret", "volcano secret", "volcano lava for others only", "acme", ("board",)))
    docs.append(Document("other", "volcano elsewhere", "volcano lava in another tenant", "globex", ("*",)))
    ingest_documents(iter(docs), backend, ENCODER, settings)
    return settings, backend


def search(service: SearchService, **request) -> dict:
    return service.search(SearchRequest(**{"query": "volcano lava", "size": 5, **request}), CALLER)


def test_both_legs_fuse_and_the_caller_sees_only_what_it_may(indexed) -> None:
    settings, backend = indexed
    answer = search(SearchService(settings, backend, ENCODER), explain=True)
    ids = [hit["id"] for hit in answer["hits"]]
    assert ids and ids[0] in {"d0", "d4", "d8"} and not {"secret", "other"} & set(ids)
    assert answer["degraded"] == [] and set(answer["timings_ms"]) >= {"embed", "retrieve", "fuse", "fetch"}


def test_one_leg_only_needs_no_embedding(indexed) -> None:
    settings, backend = indexed
    answer = search(SearchService(settings, backend, ENCODER), legs=("lexical",))
    assert answer["hits"] and "embed" not in answer["timings_ms"]


def test_paging_past_the_depth_is_refused(indexed) -> None:
    settings, backend = indexed
    with pytest.raises(InvalidRequest, match="must not exceed depth"):
        search(SearchService(settings, backend, ENCODER), depth=10, offset=8)


class Failing:
    model_version = "broken:1"
    unavailable_reason = None

    def rerank(self, query, passages, budget_ms):
        raise RuntimeError("the model crashed")


class Reverse:
    model_version = "reverse:1"
    unavailable_reason = None

    def rerank(self, query, passages, budget_ms):
        return RerankOutcome([float(i) for i in range(len(passages))][:2], degraded=True, reason="budget")


@pytest.mark.parametrize("stage", [NoReranker("not installed"), Failing()])
def test_a_missing_or_failing_reranker_degrades_the_answer_not_the_search(indexed, stage) -> None:
    settings, backend = indexed
    plain = search(SearchService(settings, backend, ENCODER))
    answer = search(SearchService(settings, backend, ENCODER, stage), rerank_enabled=True)
    assert answer["degraded"] == ["rerank"]
    assert [h["id"] for h in answer["hits"]] == [h["id"] for h in plain["hits"]]


def test_a_reranker_over_budget_reorders_what_it_scored_and_says_so(indexed) -> None:
    settings, backend = indexed
    plain = search(SearchService(settings, backend, ENCODER))
    answer = search(SearchService(settings.replace(rerank_interpolation=0.0), backend, ENCODER, Reverse()),
                    rerank_enabled=True)
    assert answer["degraded"] == ["rerank"]
    first, second = [h["id"] for h in plain["hits"][:2]]
    assert [h["id"] for h in answer["hits"][:2]] == [second, first]  # the model's order over the two it scored


class ServerFusing(EmbeddedBackend):
    """An embedded backend that also declares server-side fusion (as OpenSearch does)."""

    def run_fused(self, lexical, vector, access, *, method, weights, normalization="min_max", rank_constant=60,
                  size=None) -> LegResult:
        result = self.run_legs({"lexical": lexical}, access)["lexical"]
        return LegResult(name="hybrid", hits=list(reversed(result.hits)), took_ms=result.took_ms)


def test_server_side_fusion_keeps_the_engines_order(indexed) -> None:
    settings, _ = indexed
    backend = ServerFusing(settings)
    assert isinstance(backend, ServerSideFusion)
    server = search(SearchService(settings.replace(opensearch_fusion_mode="server"), backend, ENCODER), depth=20)
    access = AccessFilter(CALLER.tenant, CALLER.principals)
    lexical = backend.run_legs({"lexical": LexicalLeg("volcano lava", 100)}, access)["lexical"]
    assert [h["id"] for h in server["hits"]] == [h.doc_id for h in reversed(lexical.hits)][:5]
    assert server["degraded"] == []
