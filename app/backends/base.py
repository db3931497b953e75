"""The interface every search backend implements, and the values it trades in.

A backend stores chunks in versioned indexes (``<alias>-vN``) behind one read
alias, and answers the two retrieval legs with the caller's access filter
applied *inside* each leg, before top-k.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple, Protocol, Sequence

import numpy as np

from app.filters import Clause, admits

#: ACL value that admits every principal of the document's tenant.
PUBLIC = "*"
#: Separates the tenant from the document id in a document key. Tenant names
#: cannot hold it (``app.documents.TENANT_PATTERN``), so a key splits at its first one.
KEY_SEPARATOR = "/"


def doc_key(tenant: str, doc_id: str) -> str:
    """The key of a document: its id is unique only within its tenant."""
    return f"{tenant}{KEY_SEPARATOR}{doc_id}"


def split_doc_key(key: str) -> tuple[str, str]:
    """Inverse of :func:`doc_key`: ``(tenant, doc_id)``."""
    tenant, separator, doc_id = key.partition(KEY_SEPARATOR)
    if not separator or not tenant or not doc_id:
        raise ValueError(f"{key!r} is not a document key (tenant{KEY_SEPARATOR}id)")
    return tenant, doc_id


def chunk_key(tenant: str, doc_id: str, position: int) -> str:
    """The id of a document's ``position``-th chunk, unique across tenants."""
    return f"{doc_key(tenant, doc_id)}#{position}"


@dataclass(frozen=True)
class Chunk:
    """One passage of a document, as stored in an index."""

    chunk_id: str
    doc_id: str
    position: int
    title: str
    text: str
    tenant: str
    acl: tuple[str, ...]
    metadata: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    url: str | None = None
    updated_at: str | None = None
    #: Hash of the parent document's content; unchanged documents are skipped.
    content_hash: str = ""
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The whole document's body, on its first chunk only (position 0), for
    #: document-level BM25; chunks overlap, so it cannot be rebuilt from them.
    document_body: str | None = field(default=None, compare=False, repr=False)

    @property
    def doc_key(self) -> str:
        """The key of the chunk's document (:func:`doc_key`)."""
        return doc_key(self.tenant, self.doc_id)

    def passage(self) -> str:
        """Title and text as one passage, as the encoders read it."""
        if not self.title or self.text.startswith(self.title):
            return self.text
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class AccessFilter:
    """Who is asking and what they narrowed to; applied inside every leg.

    ``tenant`` and ``principals`` come from the verified token only. A chunk is
    visible when its tenant matches and its ACL holds ``*`` or any principal.
    ``metadata`` maps a key to allowed values (any of them matches);
    ``narrowing`` is any further :mod:`app.filters` clause.
    """

    tenant: str
    principals: frozenset[str]
    metadata: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The caller's further narrowing (ranges, exclusions, ...); it only removes chunks.
    narrowing: Clause | None = None

    def admits(self, chunk: Chunk) -> bool:
        """The reference semantics; backends must agree with it."""
        if chunk.tenant != self.tenant:
            return False
        if PUBLIC not in chunk.acl and not self.principals.intersection(chunk.acl):
            return False
        for key, allowed in self.metadata.items():
            if not set(allowed).intersection(chunk.metadata.get(key, ())):
                return False
        return admits(self.narrowing, chunk)


@dataclass(frozen=True)
class LexicalLeg:
    """BM25 over title (boosted) and body.

    ``k`` chunks are asked for. ``max_documents``, when set, tells the backend
    the caller keeps only each document's best chunk and the first that many
    documents; a backend may return just those (fewer hits, same outcome).
    """

    text: str
    k: int
    max_documents: int | None = None


@dataclass(frozen=True)
class VectorLeg:
    """k-NN over chunk embeddings; scores are ``(1 + cos) / 2``. ``k`` and
    ``max_documents`` as for :class:`LexicalLeg`."""

    vector: np.ndarray
    k: int
    max_documents: int | None = None


Leg = LexicalLeg | VectorLeg


class LegHit(NamedTuple):
    """One chunk a leg found (a named tuple: hundreds are built per search)."""

    chunk_id: str
    doc_id: str
    score: float


@dataclass(frozen=True)
class LegResult:
    """Hits of one leg, best first, and how long the backend spent on it."""

    name: str
    hits: list[LegHit]
    took_ms: float
    #: Why the leg has no answer (the engine failed it), or ``None``.
    failure: str | None = None
    #: The engine answered from some shards only, or stopped at its timeout.
    partial: bool = False


@dataclass(frozen=True)
class IndexInfo:
    """What an index was built with; stored with the index."""

    name: str
    template_version: int
    model_version: str
    dimension: int
    chunks: int = 0
    documents: int = 0
    created_at: str = ""


class BackendError(RuntimeError):
    """The backend cannot answer (down, missing index); maps to HTTP 503.

    ``transient`` errors (unreachable, overloaded, timed out) are worth a retry
    shortly, so their 503 carries ``Retry-After``; a damaged or missing index is not.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class IndexNotFound(BackendError):
    """The named index or alias does not exist."""


class WriteInProgress(BackendError):
    """A job in the engine may still be writing ``index`` (its outcome is unknown).

    Whoever started it must leave ``index`` alone: dropping it, or starting the
    job again, would fight the running one. ``task_id`` names the job when known.
    """

    def __init__(self, message: str, *, index: str, task_id: str | None = None) -> None:
        super().__init__(message, transient=True)
        self.index, self.task_id = index, task_id


class QueryRejected(ValueError):
    """The engine rejected the query as malformed; maps to HTTP 400."""


class SearchBackend(Protocol):
    """Storage and retrieval for one alias of versioned indexes."""

    alias: str

    # --- reading --------------------------------------------------------------
    def run_legs(
        self, legs: Mapping[str, Leg], access: AccessFilter, index: str | None = None
    ) -> dict[str, LegResult]:
        """Run the named legs against the alias (or ``index``, to verify it before a switch)."""

    def fetch_chunks(self, chunk_ids: Sequence[str], *, text: bool = True) -> dict[str, Chunk]:
        """Stored chunks by id (from the alias), for titles and snippets; with
        ``text=False`` only what access checks and facets read (title, text,
        url and content hash left empty), which is far less to move for
        hundreds of candidates."""

    def live_index(self) -> IndexInfo:
        """The index the alias points at; raises :class:`IndexNotFound`."""

    # --- writing --------------------------------------------------------------
    def create_index(self, info: IndexInfo) -> None:
        """Create an empty index ``info.name`` (fails if it exists)."""

    def document_hashes(self, index: str) -> dict[str, str]:
        """``doc_key -> content_hash`` of every document in ``index`` (:func:`doc_key`)."""

    def replace_documents(self, index: str, chunks_by_doc: Mapping[str, Sequence[Chunk]]) -> None:
        """Replace all chunks of each given document, keyed by :func:`doc_key` (atomically per call)."""

    def delete_documents(self, index: str, doc_keys: Iterable[str]) -> int:
        """Remove documents (by :func:`doc_key`) and their chunks; returns how many existed."""

    def repair(self, index: str) -> list[str]:
        """Bring what is derived from the stored chunks up to them after an
        interrupted write; returns what was repaired (empty when nothing was)."""

    def iter_chunks(self, index: str) -> Iterable[Chunk]:
        """Every stored chunk of ``index`` (vectors included), for migrations."""

    def force_merge(self, index: str) -> None:
        """Merge ``index`` into one segment for the fastest reads, once it is built.

        Each segment is searched on its own, and bulk writes leave many; an index
        about to go live (a new version before its alias switch) is merged once.
        """

    # --- versions and alias -----------------------------------------------------
    def list_indexes(self) -> list[IndexInfo]:
        """Every ``<alias>-vN`` index with its counts."""

    def alias_target(self) -> str | None:
        """The index the alias points at, or ``None``."""

    def switch_alias(self, index: str) -> None:
        """Point the alias at ``index`` in one atomic step."""

    def drop_index(self, index: str) -> None:
        """Delete ``index`` (never the live one)."""

    def template_versions(self) -> dict[str, dict[str, Any]]:
        """The index templates this backend builds indexes from, by name, with what
        each declares (version, model, analysis) and whether it is current."""


#: Digits of a physical index's generation suffix (``docs-v1-000002``).
GENERATION_DIGITS = 6


def index_name(alias: str, version: int, generation: int = 0) -> str:
    """``docs`` + 3 → ``docs-v3``; with a generation, OpenSearch's physical ``docs-v3-000002``."""
    short = f"{alias}-v{version}"
    return f"{short}-{generation:0{GENERATION_DIGITS}d}" if generation else short


def index_order(alias: str, name: str) -> tuple[int, int]:
    """``(version, generation)`` of an index name, generation 0 for the short
    form; the inverse of :func:`index_name`, and the order indexes sort in.

    Raises ``ValueError`` for a name that is not a version of ``alias``.
    """
    prefix = f"{alias}-v"
    version, _, generation = name[len(prefix):].partition("-")
    if (
        not name.startswith(prefix)
        or not version.isdigit()
        or (generation and not (generation.isdigit() and len(generation) == GENERATION_DIGITS))
        or name.endswith("-")
    ):
        raise ValueError(f"{name!r} is not a version of alias {alias!r} (expected {alias}-vN[-NNNNNN])")
    return int(version), int(generation or 0)


def index_version(alias: str, name: str) -> int:
    """The template version in an index name; raises ``ValueError`` for other names."""
    return index_order(alias, name)[0]


def is_generation(alias: str, name: str) -> bool:
    """Whether ``name`` is a physical ``<alias>-vN-NNNNNN`` index (not the short form, not another name)."""
    try:
        return index_order(alias, name)[1] > 0
    except ValueError:
        return False


def by_document(chunks: Iterable[Chunk]) -> dict[str, list[Chunk]]:
    """Chunks grouped by :attr:`Chunk.doc_key`, in order: the shape ``replace_documents`` takes."""
    grouped: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        grouped.setdefault(chunk.doc_key, []).append(chunk)
    return grouped


def document_body(chunks: Sequence[Chunk]) -> str:
    """A document's whole body: its first chunk's, or — for chunks written without
    one (copies of older indexes) — its chunks' text joined, in position order."""
    first = chunks[0]
    return first.document_body if first.document_body is not None else "\n\n".join(c.text for c in chunks)
