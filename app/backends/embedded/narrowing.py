"""Narrowing clauses (:mod:`app.filters`) as boolean masks over a snapshot's chunk positions."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from app.filters import DOC_ID, METADATA_PREFIX, AllOf, AnyOf, Clause, Exists, Not, Range, Terms, in_range


def clause_mask(
    clause: Clause,
    doc_ids: np.ndarray,
    updated_at: np.ndarray,
    metadata: Mapping[tuple[str, str], np.ndarray],
) -> np.ndarray:
    """Positions that pass ``clause``, with :func:`app.filters.admits`'s semantics.

    ``doc_ids`` and ``updated_at`` hold each position's value (``""``: none);
    ``metadata`` maps ``(key, value)`` to the positions holding it.
    """
    n = len(doc_ids)
    if isinstance(clause, Not):
        return ~clause_mask(clause.clause, doc_ids, updated_at, metadata)
    if isinstance(clause, (AllOf, AnyOf)):
        masks = [clause_mask(c, doc_ids, updated_at, metadata) for c in clause.clauses]
        if isinstance(clause, AllOf):
            return np.logical_and.reduce(masks) if masks else np.ones(n, dtype=bool)
        return np.logical_or.reduce(masks) if masks else np.zeros(n, dtype=bool)
    if not clause.field.startswith(METADATA_PREFIX):
        column = doc_ids if clause.field == DOC_ID else updated_at
        present = column != ""
        if isinstance(clause, Exists):
            return present
        if isinstance(clause, Terms):
            return np.isin(column, list(clause.values)) & present
        return present & np.frompyfunc(lambda value: in_range(value, clause), 1, 1)(column).astype(bool)
    key = clause.field[len(METADATA_PREFIX):]
    mask = np.zeros(n, dtype=bool)
    for (field, value), postings in metadata.items():
        if field == key and (
            isinstance(clause, Exists)
            or (isinstance(clause, Terms) and value in clause.values)
            or (isinstance(clause, Range) and in_range(value, clause))
        ):
            mask[postings] = True
    return mask
