"""Tests for app.fusion: hand-computed cases, properties, and parity with ranx."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.fusion import NORMALIZATIONS, FusedHit, LegContribution, fuse, interpolate, linear, normalize, rrf

NORMS = ["min_max", "z_score", "l2"]


def ids(hits: list[FusedHit]) -> list[str]:
    return [h.doc_id for h in hits]


def by_id(hits: list[FusedHit]) -> dict[str, FusedHit]:
    return {h.doc_id: h for h in hits}


# --- hand-computed cases --------------------------------------------------------

RRF_RUNS = {
    "lexical": [("d1", 12.0), ("d2", 9.5), ("d3", 3.0)],
    "vector": [("d3", 0.91), ("d1", 0.80), ("d4", 0.42)],
}


def test_rrf_k60_by_hand():
    hits = rrf(RRF_RUNS, rank_constant=60)
    # d1: lexical rank 1, vector rank 2 -> 1/61 + 1/62 = 0.016393 + 0.016129 = 0.032522
    # d3: lexical rank 3, vector rank 1 -> 1/63 + 1/61 = 0.015873 + 0.016393 = 0.032266
    # d2: lexical rank 2 only           -> 1/62                           = 0.016129
    # d4: vector rank 3 only            -> 1/63                           = 0.015873
    assert ids(hits) == ["d1", "d3", "d2", "d4"]
    expected = {"d1": 1 / 61 + 1 / 62, "d3": 1 / 63 + 1 / 61, "d2": 1 / 62, "d4": 1 / 63}
    for h in hits:
        assert h.score == pytest.approx(expected[h.doc_id], rel=1e-12)
    d1 = by_id(hits)["d1"]
    assert dict(d1.legs) == {
        "lexical": LegContribution(raw_score=12.0, normalized_score=None, rank=1),
        "vector": LegContribution(raw_score=0.80, normalized_score=None, rank=2),
    }


def test_rrf_weights_by_hand():
    hits = rrf(RRF_RUNS, weights={"lexical": 0.7, "vector": 0.3})
    # d1: 0.7/61 + 0.3/62 = 0.011475 + 0.004839 = 0.016314
    # d2: 0.7/62          = 0.011290
    # d3: 0.7/63 + 0.3/61 = 0.011111 + 0.004918 = 0.016029
    # d4: 0.3/63          = 0.004762
    assert ids(hits) == ["d1", "d3", "d2", "d4"]
    assert by_id(hits)["d3"].score == pytest.approx(0.7 / 63 + 0.3 / 61, rel=1e-12)
    assert by_id(hits)["d4"].score == pytest.approx(0.3 / 63, rel=1e-12)


LINEAR_RUNS = {
    "lexical": [("d1", 10.0), ("d2", 6.0), ("d3", 2.0)],
    "vector": [("d3", 0.9), ("d1", 0.5), ("d4", 0.1)],
}
W = {"lexical": 0.7, "vector": 0.3}


def test_linear_min_max_by_hand():
    hits = linear(LINEAR_RUNS, weights=W, normalization="min_max")
    # lexical: (s - 2) / 8     -> d1 1.0, d2 0.5, d3 0.0
    # vector:  (s - 0.1) / 0.8 -> d3 1.0, d1 0.5, d4 0.0
    # d1 = 0.7*1.0 + 0.3*0.5 = 0.85;  d2 = 0.7*0.5 = 0.35
    # d3 = 0.7*0.0 + 0.3*1.0 = 0.30;  d4 = 0.3*0.0 = 0.0
    assert ids(hits) == ["d1", "d2", "d3", "d4"]
    expected = {"d1": 0.85, "d2": 0.35, "d3": 0.30, "d4": 0.0}
    for h in hits:
        assert h.score == pytest.approx(expected[h.doc_id], abs=1e-12)
    assert by_id(hits)["d1"].legs["vector"] == LegContribution(0.5, pytest.approx(0.5), 2)


def test_linear_z_score_by_hand():
    hits = linear(LINEAR_RUNS, weights=W, normalization="z_score")
    # lexical: mean 6, population var (16 + 0 + 16)/3 = 32/3, std = sqrt(32/3)
    #   z = ±4/sqrt(32/3) = ±sqrt(1.5) = ±1.224745 -> d1 +r, d2 0, d3 -r  (r = sqrt(1.5))
    # vector: mean 0.5, deviations ±0.4, std = 0.4*sqrt(2/3) -> d3 +r, d1 0, d4 -r
    # d1 = 0.7r = 0.857321;  d2 = 0
    # d3 = -0.7r + 0.3r = -0.4r = -0.489898;  d4 = -0.3r = -0.367423
    # (d2, absent from vector, gets 0 = the vector leg's mean there and so
    #  outranks d4, which the vector leg did return.)
    r = math.sqrt(1.5)
    assert ids(hits) == ["d1", "d2", "d4", "d3"]
    expected = {"d1": 0.7 * r, "d2": 0.0, "d4": -0.3 * r, "d3": -0.4 * r}
    for h in hits:
        assert h.score == pytest.approx(expected[h.doc_id], abs=1e-12)


def test_linear_l2_by_hand():
    runs = {"lexical": [("d1", 4.0), ("d2", 3.0)], "vector": [("d3", 12.0), ("d1", 5.0)]}
    hits = linear(runs, weights=W, normalization="l2")
    # lexical: norm sqrt(16 + 9) = 5   -> d1 0.8, d2 0.6
    # vector:  norm sqrt(144 + 25) = 13 -> d3 12/13, d1 5/13
    # d1 = 0.7*0.8 + 0.3*5/13 = 0.56 + 0.115385 = 0.675385
    # d2 = 0.7*0.6 = 0.42;  d3 = 0.3*12/13 = 0.276923
    assert ids(hits) == ["d1", "d2", "d3"]
    expected = {"d1": 0.56 + 1.5 / 13, "d2": 0.42, "d3": 3.6 / 13}
    for h in hits:
        assert h.score == pytest.approx(expected[h.doc_id], abs=1e-12)


# --- edge cases -------------------------------------------------------------------


def test_normalize_one_hit():
    assert normalize([7.5], "min_max") == [1.0]  # lone hit is fully relevant
    assert normalize([7.5], "z_score") == [0.0]
    assert normalize([7.5], "l2") == [1.0]
    assert normalize([-2.0], "l2") == [-1.0]
    assert normalize([0.0], "l2") == [0.0]


def test_normalize_all_equal():
    assert normalize([3.0, 3.0, 3.0], "min_max") == [1.0, 1.0, 1.0]
    assert normalize([0.1, 0.1, 0.1], "z_score") == [0.0, 0.0, 0.0]
    assert normalize([2.0, 2.0, 2.0, 2.0], "l2") == [0.5, 0.5, 0.5, 0.5]
    assert normalize([0.0, 0.0], "l2") == [0.0, 0.0]


def test_normalize_empty_and_errors():
    for m in NORMS:
        assert normalize([], m) == []
    with pytest.raises(ValueError, match="unknown normalization 'minmax'"):
        normalize([1.0], "minmax")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        normalize([1.0, float("nan")], "min_max")


def test_normalize_extreme_magnitudes():
    big = 1.7e308
    assert normalize([big, -big], "min_max") == [1.0, 0.0]
    z = normalize([big, -big], "z_score")
    assert z == pytest.approx([1.0, -1.0])
    assert normalize([big, big], "l2") == pytest.approx([math.sqrt(0.5)] * 2)
    assert normalize([1e-320, 0.0], "l2") == [1.0, 0.0]


@pytest.mark.parametrize("norm", NORMS)
def test_linear_one_hit_leg(norm):
    hits = linear({"lexical": [("a", 3.2)], "vector": [("b", 0.9), ("c", 0.1)]}, weights=W, normalization=norm)
    lone = {"min_max": 0.7 * 1.0, "z_score": 0.0, "l2": 0.7 * 1.0}[norm]
    assert by_id(hits)["a"].score == pytest.approx(lone)


@pytest.mark.parametrize("method", ["rrf", "linear"])
def test_one_leg_empty_equals_that_leg_alone(method):
    full = {"lexical": LINEAR_RUNS["lexical"], "vector": []}
    alone = {"lexical": LINEAR_RUNS["lexical"]}
    assert fuse(full, method=method, weights=W) == fuse(alone, method=method, weights=W)
    assert ids(fuse(full, method=method, weights=W)) == ["d1", "d2", "d3"]


@pytest.mark.parametrize("method", ["rrf", "linear"])
def test_both_legs_empty(method):
    assert fuse({"lexical": [], "vector": []}, method=method) == []
    assert fuse({}, method=method) == []


def test_doc_in_only_one_leg_lists_only_that_leg():
    for hits in (rrf(LINEAR_RUNS), linear(LINEAR_RUNS, weights=W)):
        assert set(by_id(hits)["d2"].legs) == {"lexical"}
        assert set(by_id(hits)["d4"].legs) == {"vector"}
        assert set(by_id(hits)["d1"].legs) == {"lexical", "vector"}


def test_rrf_ties_broken_by_doc_id():
    # "z" and "a" swap ranks across the first two legs and share rank 2 in the
    # third: exactly equal terms in different order. Output must put "a" first.
    runs = {
        "x": [("z", 1.0), ("a", 0.9)],
        "y": [("a", 5.0), ("z", 4.0)],
        "w": [("m", 1.0), ("z", 0.5)],
        "v": [("m", 1.0), ("a", 0.5)],
    }
    hits = rrf(runs)
    assert hits[0].score == hits[1].score
    assert ids(hits)[:2] == ["a", "z"]


def test_linear_ties_broken_by_doc_id():
    runs = {"x": [("b", 2.0), ("a", 2.0), ("c", 1.0)]}
    assert ids(linear(runs, weights=None)) == ["a", "b", "c"]


def test_weights_missing_leg_is_zero_and_unknown_leg_ignored():
    for method in ("rrf", "linear"):
        hits = fuse(LINEAR_RUNS, method=method, weights={"lexical": 1.0, "bogus": 5.0})
        assert by_id(hits)["d4"].score == 0.0  # vector-only doc: vector weight 0
        assert "d4" in ids(hits)  # ... but still returned
    # No weights at all: every leg 1.0.
    assert by_id(rrf(LINEAR_RUNS))["d4"].score == pytest.approx(1 / 63)


def test_errors():
    with pytest.raises(ValueError, match="weight for leg 'vector'"):
        rrf(LINEAR_RUNS, weights={"lexical": 1.0, "vector": -0.1})
    with pytest.raises(ValueError, match="weight"):
        linear(LINEAR_RUNS, weights={"lexical": float("nan")})
    with pytest.raises(ValueError, match="unknown fusion method 'wsum'"):
        fuse(LINEAR_RUNS, method="wsum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown normalization"):
        fuse(LINEAR_RUNS, method="linear", normalization="zmuv")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown normalization"):
        fuse(LINEAR_RUNS, method="rrf", normalization="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rank_constant"):
        rrf(LINEAR_RUNS, rank_constant=-1)
    with pytest.raises(ValueError, match="more than once"):
        rrf({"x": [("a", 1.0), ("a", 0.5)]})


def test_fused_hit_is_immutable_and_hashable():
    hit = rrf(RRF_RUNS)[0]
    with pytest.raises(TypeError):
        hit.legs["new"] = LegContribution(0.0, None, 1)  # type: ignore[index]
    assert hash(hit) == hash(rrf(RRF_RUNS)[0])


# --- hypothesis strategies -------------------------------------------------------

DOC_IDS = [f"d{i}" for i in range(12)]
LEG_NAMES = ["a", "b", "c"]
# Scores on a 1/8 grid: exactly representable, so distinct raw scores stay
# distinct after normalisation and orders are checkable exactly.
grid_scores = st.integers(-8000, 8000).map(lambda i: i / 8)


@st.composite
def leg(draw, min_size=0, scores=grid_scores, unique_scores=False):
    docs = draw(st.lists(st.sampled_from(DOC_IDS), min_size=min_size, unique=True))
    values = draw(
        st.lists(scores, min_size=len(docs), max_size=len(docs), unique=unique_scores)
    )
    values.sort(reverse=True)
    return list(zip(docs, values))


@st.composite
def runs_strategy(draw, min_size=0, unique_scores=False, names=None):
    names = names or draw(st.lists(st.sampled_from(LEG_NAMES), min_size=1, unique=True))
    return {n: draw(leg(min_size=min_size, unique_scores=unique_scores)) for n in names}


weights_strategy = st.none() | st.dictionaries(
    st.sampled_from(LEG_NAMES + ["zzz"]), st.floats(0, 10, allow_nan=False)
)


def raw_order(hits: list[tuple[str, float]]) -> list[str]:
    """A leg's order by raw score, ties by doc id."""
    return [d for d, _ in sorted(hits, key=lambda p: (-p[1], p[0]))]


# --- properties -------------------------------------------------------------------


@given(runs_strategy(), st.data())
def test_rrf_monotonic_in_rank(runs, data):
    leg_name = data.draw(st.sampled_from(sorted(runs)))
    hits = runs[leg_name]
    assume(len(hits) >= 2)
    old_pos = data.draw(st.integers(1, len(hits) - 1))
    new_pos = data.draw(st.integers(0, old_pos - 1))
    doc = hits[old_pos][0]
    moved = list(hits)
    moved.insert(new_pos, moved.pop(old_pos))
    weights = data.draw(weights_strategy)
    before = by_id(rrf(runs, weights=weights))[doc].score
    after = by_id(rrf({**runs, leg_name: moved}, weights=weights))[doc].score
    assert after >= before


@given(runs_strategy(names=["a", "b"]), st.sampled_from(NORMS))
def test_linear_weight_zero_leg_keeps_other_legs_order(runs, norm):
    hits = linear(runs, weights={"a": 1.0, "b": 0.0}, normalization=norm)
    in_a = {d for d, _ in runs["a"]}
    assert [d for d in ids(hits) if d in in_a] == raw_order(runs["a"])


@given(leg(), st.integers(0, 100))
def test_rrf_single_leg_reproduces_its_order(hits, k):
    assert ids(rrf({"only": hits}, rank_constant=k)) == [d for d, _ in hits]


@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1))
def test_min_max_in_unit_interval(scores):
    out = normalize(scores, "min_max")
    assert len(out) == len(scores)
    assert all(0.0 <= x <= 1.0 for x in out)
    assert max(out) == 1.0


@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=2))
def test_z_score_mean_zero_std_one(scores):
    out = normalize(scores, "z_score")
    assert abs(math.fsum(out) / len(out)) <= 1e-9
    if max(scores) != min(scores):
        std = math.sqrt(math.fsum(x * x for x in out) / len(out))
        assert std == pytest.approx(1.0, rel=1e-9)


@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1))
def test_l2_unit_norm(scores):
    out = normalize(scores, "l2")
    if any(scores):
        assert math.hypot(*out) == pytest.approx(1.0, rel=1e-12)
    else:
        assert out == [0.0] * len(scores)


@given(runs_strategy(), weights_strategy, st.sampled_from(["rrf", "linear"]), st.sampled_from(NORMS))
def test_output_is_union_sorted_and_deterministic(runs, weights, method, norm):
    hits = fuse(runs, method=method, weights=weights, normalization=norm)
    union = {d for leg_hits in runs.values() for d, _ in leg_hits}
    assert sorted(ids(hits)) == sorted(union)  # each doc exactly once
    keys = [(-h.score, h.doc_id) for h in hits]
    assert keys == sorted(keys)  # score non-increasing, ties by id
    for h in hits:
        assert set(h.legs) == {leg_name for leg_name, lh in runs.items() if h.doc_id in dict(lh)}
    # Leg order in the input must not matter.
    reversed_runs = dict(reversed(list(runs.items())))
    again = fuse(reversed_runs, method=method, weights=weights, normalization=norm)
    assert [(h.doc_id, h.score) for h in again] == [(h.doc_id, h.score) for h in hits]


# --- agreement with ranx ----------------------------------------------------------
#
# ranx conventions (checked in ranx 0.3.21 source), and how the random runs
# below are restricted so they coincide with ours:
#   * rrf: score = sum 1/(k + rank), ``params={"k": ...}``, ranks 1-based — same
#     formula, but no per-run weights, so only unweighted RRF is compared.
#     ranx derives ranks by sorting each run by score with an unstable sort,
#     so tied raw scores get arbitrary ranks; we use list position. -> Runs
#     have distinct scores, listed best first.
#   * ranx.fuse normalises before *any* method (default norm="min-max"), RRF
#     included; we pass norm=None for RRF.
#   * min-max: ranx divides by max(max - min, 1e-9), so a constant or
#     single-hit run normalises to 0.0 where we give 1.0 (see the test after
#     the properties). -> Every leg has >= 2 distinct scores.
#   * zmuv: ranx divides by max(std, 1e-9); all-equal runs give 0 in exact
#     arithmetic but np.mean rounding can leave a residue that the 1e-9 floor
#     blows up. -> Distinct scores again. Population std in both.
#   * wsum: a doc missing from a run counts 0.0 after normalisation — same as
#     ours. Weights are a list aligned with the runs.
#   * ranx.fuse needs >= 2 runs, all non-empty (Run.from_dict fails on an
#     empty one). Its final tie order is unstable, so orders are compared up
#     to float ties.

ranx = pytest.importorskip("ranx")

distinct_runs = runs_strategy(min_size=2, unique_scores=True, names=["a", "b", "c"])


def to_ranx(runs) -> list:
    return [ranx.Run({"q": {d: s for d, s in hits}}, name=n) for n, hits in runs.items()]


def assert_matches_ranx(ours: list[FusedHit], theirs) -> None:
    their = {d: float(s) for d, s in theirs.to_dict()["q"].items()}
    assert set(their) == set(ids(ours))
    for h in ours:
        assert h.score == pytest.approx(their[h.doc_id], rel=1e-9, abs=1e-12)
    # Our order must be non-increasing in ranx's scores too (up to float ties).
    their_in_our_order = [their[d] for d in ids(ours)]
    assert all(x >= y - 1e-9 for x, y in zip(their_in_our_order, their_in_our_order[1:]))


# ranx's own numba code warns about a uint64 -> int64 cast; not ours to fix.
@pytest.mark.filterwarnings("ignore:unsafe cast:Warning")
@settings(max_examples=40, deadline=None)
@given(distinct_runs, st.integers(1, 100))
def test_rrf_matches_ranx(runs, k):
    theirs = ranx.fuse(runs=to_ranx(runs), norm=None, method="rrf", params={"k": k})
    assert_matches_ranx(rrf(runs, rank_constant=k), theirs)


@settings(max_examples=40, deadline=None)
@given(
    distinct_runs,
    st.lists(st.floats(0, 1, allow_nan=False), min_size=3, max_size=3),
    st.sampled_from([("min_max", "min-max"), ("z_score", "zmuv")]),
)
def test_linear_matches_ranx_wsum(runs, w, norms):
    ours_norm, ranx_norm = norms
    weights = dict(zip(["a", "b", "c"], w))
    theirs = ranx.fuse(runs=to_ranx(runs), norm=ranx_norm, method="wsum", params={"weights": w})
    assert_matches_ranx(linear(runs, weights=weights, normalization=ours_norm), theirs)


def test_ranx_min_max_constant_leg_convention_differs():
    # Documented difference: ranx maps a single-hit (or constant) run to 0.0,
    # we (like OpenSearch) map it to 1.0. Everything else agrees.
    runs = {"a": [("x", 5.0)], "b": [("x", 0.9), ("y", 0.1)]}
    theirs = ranx.fuse(runs=to_ranx(runs), norm="min-max", method="wsum", params={"weights": [1.0, 1.0]})
    ours = by_id(linear(runs, weights=None))
    assert theirs["q"]["x"] == pytest.approx(0.0 + 1.0)
    assert ours["x"].score == pytest.approx(1.0 + 1.0)
    assert theirs["q"]["y"] == pytest.approx(ours["y"].score)


# --- rerank interpolation ----------------------------------------------------------


@given(pairs=st.lists(st.tuples(st.floats(-50, 50), st.floats(0, 1)), min_size=1, max_size=30), weight=st.floats(0, 1))
def test_interpolation_is_a_convex_mix_of_normalised_scores(pairs, weight) -> None:
    rerank, fused = [r for r, _ in pairs], [f for _, f in pairs]
    mixed = interpolate(rerank, fused, weight)
    assert len(mixed) == len(pairs)
    if weight == 0:
        assert mixed == rerank
        return
    for value, r, f in zip(mixed, normalize(rerank, "min_max"), normalize(fused, "min_max")):
        assert min(r, f) - 1e-12 <= value <= max(r, f) + 1e-12


def test_interpolation_ends_follow_one_score_and_scales_do_not_matter() -> None:
    rerank, fused = [4.0, -2.0, 9.0], [0.030, 0.032, 0.016]  # logits vs RRF scores
    assert sorted(range(3), key=lambda i: -interpolate(rerank, fused, 0.0)[i]) == [2, 0, 1]
    assert sorted(range(3), key=lambda i: -interpolate(rerank, fused, 1.0)[i]) == [1, 0, 2]
    assert interpolate(rerank, fused, 0.5) == interpolate([x * 1000 for x in rerank], fused, 0.5)
    with pytest.raises(ValueError, match="fused_weight"):
        interpolate(rerank, fused, 1.5)


@settings(max_examples=200, deadline=None)
@given(runs=st.dictionaries(st.sampled_from(LEG_NAMES), leg(), min_size=1, max_size=3),
       limit=st.integers(0, 14), method=st.sampled_from(["rrf", "linear"]), norm=st.sampled_from(NORMALIZATIONS))
def test_a_limited_fusion_is_the_head_of_the_full_one(runs, limit, method, norm):
    full = fuse(runs, method=method, normalization=norm)
    head = fuse(runs, method=method, normalization=norm, limit=limit)
    assert head == full[:limit]
    assert [dict(h.legs) for h in head] == [dict(h.legs) for h in full[:limit]]
