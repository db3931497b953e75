"""Fusion of the ranked lists returned by the retrieval legs.

Plain functions over *runs* (in the style of ``ranx``): a run maps a leg name
(``"lexical"``, ``"vector"``, ...) to that leg's hits, best first, as
``(doc_id, raw_score)`` pairs with each doc at most once. Two methods:

* :func:`rrf` — Reciprocal Rank Fusion; uses ranks only, so the legs' score
  scales never need to agree.
* :func:`linear` — normalise each leg's scores, then take a weighted sum.

Weights, for both methods: ``weights=None`` gives every leg 1.0; otherwise a
leg missing from ``weights`` gets 0.0 (it still contributes its documents, at
score 0 from that leg) and names in ``weights`` that are not legs are ignored.

Output is sorted by fused score descending, ties by ``doc_id`` ascending, so
the same input always yields the same order and paging is stable.
"""

from __future__ import annotations

import heapq
import math
from operator import itemgetter
from types import MappingProxyType
from typing import Literal, Mapping, NamedTuple, Sequence, get_args

Normalization = Literal["min_max", "z_score", "l2"]
FusionMethod = Literal["rrf", "linear"]

#: A run: leg name -> [(doc_id, raw_score), ...], best first.
Runs = Mapping[str, Sequence[tuple[str, float]]]

#: The retrieval legs fusion combines, in the order the service runs them.
LEGS: tuple[str, ...] = ("lexical", "vector")

NORMALIZATIONS: tuple[str, ...] = get_args(Normalization)
METHODS: tuple[str, ...] = get_args(FusionMethod)
#: RRF's ``k`` from Cormack et al. (2009), the value engines default to.
DEFAULT_RANK_CONSTANT = 60
DEFAULT_NORMALIZATION: Normalization = "min_max"


class LegContribution(NamedTuple):
    """What one leg said about one document (a named tuple: hundreds are built per search)."""

    raw_score: float
    #: The leg-normalised score (before weighting); ``None`` for RRF.
    normalized_score: float | None
    #: 1-based rank within the leg.
    rank: int


class FusedHit(NamedTuple):
    """One document of the fused list (a named tuple: a hundred or more per search)."""

    doc_id: str
    score: float
    #: Only the legs where the document appeared (read-only view).
    legs: Mapping[str, LegContribution]

    def __hash__(self) -> int:
        # The legs mapping is unhashable; equal hits still have equal doc_id and
        # score, so hashing stays consistent with ==.
        return hash((self.doc_id, self.score))


# --- normalisation ------------------------------------------------------------


def normalize(scores: Sequence[float], method: Normalization) -> list[float]:
    """Normalise one leg's scores; the output is aligned with ``scores``.

    * ``min_max``: ``(s - min) / (max - min)``. When ``max == min`` (a lone hit
      or all-equal scores) every score becomes 1.0 — OpenSearch's min-max
      normaliser does the same (``SINGLE_RESULT_SCORE = 1.0``): a leg's only
      hit is a full-strength match, not a zero. (OpenSearch also lifts the
      minimum from 0 to 0.001; we keep the textbook 0.)
    * ``z_score``: ``(s - mean) / std`` with the population std; all-equal
      scores give 0.0.
    * ``l2``: ``s / sqrt(sum(s**2))``; all zeros give 0.0.

    Raises ``ValueError`` for an unknown method or a non-finite score.
    """
    _check_normalization(method)
    values = list(map(float, scores))
    if not values:
        return []
    if not all(map(math.isfinite, values)):
        # NaN would make min/max and the final sort meaningless.
        raise ValueError("scores must be finite numbers")
    if method == "min_max":
        return _min_max(values)
    if method == "z_score":
        return _z_score(values)
    return _l2(values)


def _min_max(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        return [1.0] * len(values)
    span = hi - lo
    if math.isinf(span):
        # Finite inputs of opposite sign near the float limit: halve everything
        # (exact for normal floats) so the difference is representable.
        lo, span = lo / 2, hi / 2 - lo / 2
        return [(v / 2 - lo) / span for v in values]
    # Rounding is monotone, so v <= hi implies the ratio is <= 1.0 exactly.
    return [(v - lo) / span for v in values]


def _z_score(values: list[float]) -> list[float]:
    if max(values) == min(values):
        return [0.0] * len(values)
    # z-scores are scale-invariant; dividing by max|v| first keeps the squares
    # away from overflow/underflow.
    scale = max(abs(v) for v in values)
    scaled = [v / scale for v in values]
    n = len(scaled)
    # The mean is carried as hi + lo: when the spread is only a few ulps of the
    # mean, a single rounded mean would swamp the deviations (e.g. [1, 1+u, 1+u]
    # would come out as [-sqrt(3), 0, 0] instead of mean-zero). v - hi is exact
    # for v near hi, so the residual fsum recovers what hi lost.
    mean_hi = math.fsum(scaled) / n
    residuals = [v - mean_hi for v in scaled]
    mean_lo = math.fsum(residuals) / n
    deviations = [r - mean_lo for r in residuals]
    std = math.hypot(*deviations) / math.sqrt(n)
    if std == 0.0:  # distinct inputs that collapsed after scaling
        return [0.0] * len(values)
    return [d / std for d in deviations]


def _l2(values: list[float]) -> list[float]:
    scale = max(abs(v) for v in values)
    if scale == 0.0:
        return [0.0] * len(values)
    # hypot avoids overflow in sum(v**2); pre-scaling by max|v| also keeps
    # subnormal inputs at full precision so the result has unit norm.
    scaled = [v / scale for v in values]
    norm = math.hypot(*scaled)
    return [v / norm for v in scaled]


# --- fusion -------------------------------------------------------------------


def rrf(
    runs: Runs,
    *,
    rank_constant: int = DEFAULT_RANK_CONSTANT,
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> list[FusedHit]:
    """Reciprocal Rank Fusion: ``score(d) = sum_leg w_leg / (rank_constant + rank_leg(d))``.

    Ranks are 1-based positions in each leg's list; a document absent from a
    leg gets nothing from it. Raw scores are carried through for explanation
    only. ``limit``: only the first ``limit`` hits of the fused list.
    """
    if isinstance(rank_constant, bool) or not isinstance(rank_constant, int) or rank_constant < 0:
        raise ValueError(f"rank_constant must be an integer >= 0, got {rank_constant!r}")
    leg_weights = _resolve_weights(runs, weights)
    positions = _positions(runs)
    terms = [
        (positions[leg], [leg_weights[leg] / (rank_constant + rank) for rank in range(1, len(hits) + 1)])
        for leg, hits in runs.items()
    ]
    return _ranked(runs, positions, _summed(terms), None, limit)


def linear(
    runs: Runs,
    *,
    weights: Mapping[str, float] | None,
    normalization: Normalization = DEFAULT_NORMALIZATION,
    limit: int | None = None,
) -> list[FusedHit]:
    """Weighted sum of per-leg normalised scores: ``score(d) = sum_leg w_leg * norm_leg(d)``.

    Each leg is normalised on its own (see :func:`normalize`). A document
    absent from a leg contributes 0 from it — the same treatment as ranx's
    ``wsum``. (OpenSearch's normalization processor has varied across
    versions: some fill a missing sub-query score with 0.0 like this, others
    mark it -1 and skip it, dropping its weight from the mean; a parity test
    against a server must pin the version.) Note what 0 means per method: the leg's
    minimum under ``min_max`` (absent ranks with the leg's worst hit), the
    leg's *mean* under ``z_score`` (absent beats below-average hits), and "no
    signal" under ``l2``. OpenSearch's ``arithmetic_mean`` also divides by the
    sum of weights; for a fixed set of weights that is a constant factor, so
    the order is the same and we leave scores undivided. ``limit``: only the
    first ``limit`` hits of the fused list.
    """
    _check_normalization(normalization)
    leg_weights = _resolve_weights(runs, weights)
    positions = _positions(runs)
    normalized = {leg: normalize(list(map(itemgetter(1), hits)), normalization) for leg, hits in runs.items()}
    terms = [(positions[leg], [leg_weights[leg] * norm for norm in normalized[leg]]) for leg in runs]
    return _ranked(runs, positions, _summed(terms), normalized, limit)


def fuse(
    runs: Runs,
    *,
    method: FusionMethod,
    weights: Mapping[str, float] | None = None,
    normalization: Normalization = DEFAULT_NORMALIZATION,
    rank_constant: int = DEFAULT_RANK_CONSTANT,
    limit: int | None = None,
) -> list[FusedHit]:
    """Dispatch to :func:`rrf` or :func:`linear`; the other method's options are ignored."""
    # Validate both options up front so a typo surfaces whichever method runs.
    _check_normalization(normalization)
    if method == "rrf":
        return rrf(runs, rank_constant=rank_constant, weights=weights, limit=limit)
    if method == "linear":
        return linear(runs, weights=weights, normalization=normalization, limit=limit)
    raise ValueError(f"unknown fusion method {method!r}; expected one of {', '.join(METHODS)}")


# --- helpers ------------------------------------------------------------------


def _check_normalization(method: str) -> None:
    if method not in NORMALIZATIONS:
        raise ValueError(
            f"unknown normalization {method!r}; expected one of {', '.join(NORMALIZATIONS)}"
        )


def _resolve_weights(runs: Runs, weights: Mapping[str, float] | None) -> dict[str, float]:
    """Weight per leg of ``runs``: all 1.0 without ``weights``, else missing legs 0.0."""
    if weights is None:
        return {leg: 1.0 for leg in runs}
    for leg, w in weights.items():
        # Checked for every entry, used or not: a bad weight is a caller bug.
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weight for leg {leg!r} must be a finite number >= 0, got {w!r}")
    return {leg: float(weights.get(leg, 0.0)) for leg in runs}


def _positions(runs: Runs) -> dict[str, dict[str, int]]:
    """Per leg, each document's 0-based position; refuses a document listed twice."""
    positions = {}
    for leg, hits in runs.items():
        where = {doc_id: i for i, (doc_id, _) in enumerate(hits)}
        if len(where) != len(hits):
            # A repeated doc would be counted twice and get two ranks; refuse
            # rather than silently pick one.
            seen: set[str] = set()
            for doc_id, _ in hits:
                if doc_id in seen:
                    raise ValueError(f"leg {leg!r} lists document {doc_id!r} more than once")
                seen.add(doc_id)
        positions[leg] = where
    return positions


def _summed(terms: Sequence[tuple[Mapping[str, int], Sequence[float]]]) -> dict[str, float]:
    """Each document's fused score: the sum of its terms over the legs.

    ``terms`` holds, per leg, its documents (in leg order, as the keys of its
    positions) and their terms. The sum is correctly rounded (``fsum``), hence
    independent of leg order: two documents with the same per-leg terms in any
    order tie exactly, and the tie goes to doc_id rather than to float noise.
    With two legs, plain addition is that sum already: IEEE addition of two
    floats is correctly rounded and commutative.
    """
    if len(terms) <= 2:
        scores = dict(zip(*terms[0])) if terms else {}
        for doc_ids, values in terms[1:]:
            get = scores.get
            for doc_id, value in zip(doc_ids, values):
                prior = get(doc_id)
                scores[doc_id] = value if prior is None else prior + value
        return scores
    parts: dict[str, list[float]] = {}
    for doc_ids, values in terms:
        for doc_id, value in zip(doc_ids, values):
            parts.setdefault(doc_id, []).append(value)
    return {doc_id: p[0] if len(p) == 1 else math.fsum(p) for doc_id, p in parts.items()}


def _ranked(
    runs: Runs,
    positions: Mapping[str, Mapping[str, int]],
    scores: dict[str, float],
    normalized: Mapping[str, Sequence[float]] | None,
    limit: int | None,
) -> list[FusedHit]:
    """The fused list (or its first ``limit``), each hit with what its legs said."""
    # Best score first, ties by doc_id. A page needs only the head: selecting it
    # costs less than sorting every candidate, and only its hits are built. Plain
    # tuples compare in C; a key function would be called per item.
    keyed = [(-score, doc_id) for doc_id, score in scores.items()]
    kept = sorted(keyed) if limit is None else heapq.nsmallest(limit, keyed)
    hits = []
    for _, doc_id in kept:
        legs = {}
        for leg, where in positions.items():
            i = where.get(doc_id)
            if i is not None:
                legs[leg] = LegContribution(runs[leg][i][1], normalized[leg][i] if normalized else None, i + 1)
        hits.append(FusedHit(doc_id, scores[doc_id], MappingProxyType(legs)))
    return hits


def interpolate(rerank_scores: Sequence[float], fused_scores: Sequence[float], fused_weight: float) -> list[float]:
    """``(1 - w) · minmax(rerank) + w · minmax(fused)`` over one reranked head.

    Both are min-max normalised within the head first: cross-encoder logits and
    fused scores live on unrelated scales, so a raw weighted sum would let
    whichever is larger decide alone. ``w = 0`` orders by the reranker only.
    """
    if not 0.0 <= fused_weight <= 1.0:
        raise ValueError(f"fused_weight must be in [0, 1], got {fused_weight}")
    if fused_weight == 0.0:
        return [float(s) for s in rerank_scores]
    rerank, fused = normalize(rerank_scores, "min_max"), normalize(fused_scores, "min_max")
    return [(1.0 - fused_weight) * r + fused_weight * f for r, f in zip(rerank, fused)]
