"""Index lifecycle over any :class:`~app.backends.base.SearchBackend`.

``create``, ``migrate``, ``rollback``, ``status``, ``import_index`` and
``install_templates`` use only the backend protocol (plus a few optional
OpenSearch extras, detected by name), so the runbook reads the same for the
embedded backend and a cluster.

A migration builds a *new* index beside the live one, fills it, verifies it
(document and chunk counts against what was read, then a sample of title
queries run against both indexes), and only then moves the alias in one atomic
call. Anything that fails before the switch leaves the alias where it was and
says which step failed; the old index is never touched, so ``rollback`` can
always return to it.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from app.backends.base import (
    AccessFilter,
    Chunk,
    IndexInfo,
    LexicalLeg,
    SearchBackend,
    VectorLeg,
    chunk_key,
    index_name,
    index_version,
)
from app.backends.capabilities import IndexScanning, ServerSideReindex, TemplateInstalling
from app.documents import Document, LineError, parse_line
from app.embedding import Encoder
from app.ingest import IngestReport, ingest_documents
from app.settings import Settings
from app.sources import read_source

#: Chunks copied (and, on a model change, re-embedded) per write.
COPY_BATCH_CHUNKS = 256


class LifecycleError(RuntimeError):
    """A lifecycle step failed; the message names the step and where the alias is."""


# ------------------------------------------------------------------------ reports
@dataclass
class Verification:
    """What the new index was checked against before the switch."""

    documents: int = 0
    chunks: int = 0
    expected_documents: int = 0
    #: ``None`` when the chunk count cannot be known in advance (re-chunking).
    expected_chunks: int | None = None
    probes: int = 0
    found_new: int = 0
    #: ``None`` when there is no old index to compare with.
    found_old: int | None = None
    #: Probes the vector leg answered (any hit); a broken vector store answers none.
    vector_answered: int = 0
    skipped: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        chunks = f"{self.chunks} chunks" + (
            f" (expected {self.expected_chunks})" if self.expected_chunks is not None else ""
        )
        probes = (
            f"probes skipped: {self.skipped}"
            if self.skipped
            else f"{self.found_new}/{self.probes} title probes found"
            + (f" (old index {self.found_old}/{self.probes})" if self.found_old is not None else "")
            + f", vector leg answered {self.vector_answered}/{self.probes}"
        )
        return f"{self.documents} documents (expected {self.expected_documents}), {chunks}; {probes}"


@dataclass
class MigrationReport:
    """One migration or import: what was built, how, and whether the alias moved."""

    index: str
    previous: str | None
    method: str
    seconds: float = 0.0
    verification: Verification = field(default_factory=Verification)
    ingest: IngestReport | None = None
    switched: bool = False

    def summary(self) -> str:
        moved = f"alias now on {self.index}" if self.switched else "alias NOT switched"
        kept = f"; {self.previous} kept for rollback" if self.switched and self.previous else ""
        return f"{self.index} filled by {self.method} in {self.seconds:.1f} s: {self.verification.summary()}; {moved}{kept}"


# ----------------------------------------------------------------------- field maps
FIELD_TARGETS = ("id", "title", "body", "tenant", "acl", "url", "updated_at")
REQUIRED_TARGETS = ("title", "tenant", "acl")
_LITERAL = re.compile(r"""^(['"])(.*)\1$""")


@dataclass(frozen=True)
class FieldMap:
    """Our document field → the old index's field (dotted path) or a quoted literal.

    ``title=headline,body=content,tenant='acme',acl=groups,metadata.lang=language``;
    ``id`` defaults to the old document's ``_id``.
    """

    fields: Mapping[str, str]
    literals: Mapping[str, str]

    @classmethod
    def parse(cls, text: str) -> "FieldMap":
        fields: dict[str, str] = {"id": "_id"}
        literals: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            target, sep, source = (s.strip() for s in part.partition("="))
            if not sep or not target or not source:
                raise ValueError(f"field map entry {part!r} is not TARGET=SOURCE")
            if target not in FIELD_TARGETS and not (target.startswith("metadata.") and len(target) > 9):
                raise ValueError(
                    f"field map target {target!r} is unknown (use {', '.join(FIELD_TARGETS)} or metadata.KEY)"
                )
            literal = _LITERAL.match(source)
            if literal:
                fields.pop(target, None)
                literals[target] = literal.group(2)
            else:
                literals.pop(target, None)
                fields[target] = source
        missing = [t for t in REQUIRED_TARGETS if t not in fields and t not in literals]
        if missing:
            raise ValueError(f"field map lacks {', '.join(missing)} (e.g. --field-map title=...,body=...,tenant=...,acl=...)")
        return cls(fields=fields, literals=literals)

    def source_fields(self) -> list[str]:
        """Top-level ``_source`` fields to fetch from the old index."""
        return sorted({path.split(".")[0] for path in self.fields.values() if path != "_id"})

    def document(self, hit: Mapping[str, Any], source: str, line: int) -> Document | LineError:
        """One old-index hit → a validated document (or the reason it is not one)."""
        record: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        values = {t: _lookup(hit, path) for t, path in self.fields.items()} | dict(self.literals)
        for target, value in values.items():
            if value is None:
                continue
            if target.startswith("metadata."):
                metadata[target[len("metadata."):]] = _strings(value)
            elif target == "acl":
                record["acl"] = _strings(value)
            elif target in ("id", "tenant"):
                record[target] = str(value) if isinstance(value, (int, float)) else value
            elif target in ("title", "body") and isinstance(value, list):
                record[target] = "\n".join(map(str, value))
            else:
                record[target] = value
        if metadata:
            record["metadata"] = metadata
        # Through the same validation as a JSONL line, so both report alike.
        return parse_line(json.dumps(record, ensure_ascii=False), source, line)


def _lookup(hit: Mapping[str, Any], path: str) -> Any:
    if path == "_id":
        return hit.get("_id")
    value: Any = hit
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> Any:
    """Scalars and lists of scalars as strings; anything else is left for validation to reject."""
    if isinstance(value, (str, int, float, bool)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return [str(v) for v in value]
    return value


# ------------------------------------------------------------------------ lifecycle
class Lifecycle:
    """The index commands over one backend; ``encoder`` is loaded only when needed."""

    def __init__(
        self,
        backend: SearchBackend,
        settings: Settings,
        encoder: Encoder | Callable[[], Encoder],
        *,
        log: Callable[[str], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.alias = backend.alias
        self._encoder = encoder
        self._log = log or (lambda message: None)
        self._rng = random.Random(seed)

    @property
    def encoder(self) -> Encoder:
        if callable(self._encoder) and not hasattr(self._encoder, "embed_passages"):
            self._encoder = self._encoder()
        return self._encoder  # type: ignore[return-value]

    # ------------------------------------------------------------ templates
    def install_templates(self) -> dict[str, Any]:
        """OpenSearch: install the repository's templates, report drift. Embedded: report what it uses."""
        if isinstance(self.backend, TemplateInstalling):
            return self.backend.install_templates()
        return self.backend.template_versions()

    # --------------------------------------------------------------- create
    def create(self, version: int) -> str:
        """An empty index from template ``version``; the alias moves only if it pointed nowhere."""
        name = self._create(version)
        if self.backend.alias_target() is None:
            self.backend.switch_alias(name)
        return name

    def _create(self, version: int) -> str:
        """Create the next index of ``version`` (a new generation if one exists) and return its name."""
        if version < 1:
            raise LifecycleError(f"version must be 1 or more, not {version}")
        before = {i.name for i in self.backend.list_indexes()}
        same = [n for n in before if index_version(self.alias, n) == version]
        requested = index_name(self.alias, version)
        if same:
            # A rebuild of an existing version goes beside it as the next generation.
            requested = f"{requested}-{max(map(self._generation, same)) + 1:06d}"
        info = IndexInfo(
            name=requested,
            template_version=version,
            model_version=self.encoder.model_version,
            dimension=self.encoder.dimension,
        )
        self.backend.create_index(info)
        # OpenSearch names the physical index itself (docs-v2 → docs-v2-000001).
        created = [
            i.name
            for i in self.backend.list_indexes()
            if i.name not in before and index_version(self.alias, i.name) == version
        ]
        if len(created) != 1:
            raise LifecycleError(f"created {requested!r} but cannot find it among the indexes ({created})")
        self._log(f"created {created[0]} (template v{version}, model {info.model_version}, {info.dimension}-d)")
        return created[0]

    def _generation(self, name: str) -> int:
        suffix = name[len(index_name(self.alias, index_version(self.alias, name))):]
        return int(suffix[1:]) if suffix else 0

    def _order(self, name: str) -> tuple[int, int]:
        return index_version(self.alias, name), self._generation(name)

    # -------------------------------------------------------------- migrate
    def migrate(self, to_version: int, source: str | None = None, *, keep_failed: bool = False) -> MigrationReport:
        """Build version ``to_version`` beside the live index, verify it, switch the alias."""
        previous = self.backend.alias_target()
        infos = {i.name: i for i in self.backend.list_indexes()}
        live = infos.get(previous) if previous else None
        if source is None and live is None:
            raise LifecycleError(
                f"alias {self.alias!r} points at no index to copy from; give --source PATH_OR_S3 to ingest one"
            )

        def fill(report: MigrationReport) -> None:
            report.verification, report.method, report.ingest = self._fill(report.index, source, live)
            if live is not None and report.method == "ingest":
                self._check_shrink(report.verification, live)
            self._probe(report.index, previous, report.verification)

        return self._build_and_switch(to_version, "migration to", fill, keep_failed=keep_failed)

    def _build_and_switch(
        self, version: int, what: str, fill: Callable[[MigrationReport], None], *, keep_failed: bool
    ) -> MigrationReport:
        """Create the next index of ``version``, fill and verify it, then switch; on failure the alias stays."""
        started = time.perf_counter()
        previous = self.backend.alias_target()
        name = self._create(version)
        report = MigrationReport(index=name, previous=previous, method="")
        try:
            fill(report)
            if not report.verification.ok:
                raise LifecycleError("verification failed: " + "; ".join(report.verification.problems))
            # Read-only from here until it goes live: merge what the bulk writes left.
            self._log(f"force-merging {name}")
            self.backend.force_merge(name)
        except Exception as exc:
            self._abandon(name, keep_failed)
            where = f"still points at {previous}" if previous else "still points at no index"
            kept = f"; {name} kept for inspection" if keep_failed else f"; dropped the unfinished {name}"
            raise LifecycleError(f"{what} {name} failed ({exc}); alias {self.alias!r} {where}{kept}") from exc
        self.backend.switch_alias(name)
        report.switched = True
        report.seconds = time.perf_counter() - started
        return report

    def _fill(
        self, name: str, source: str | None, live: IndexInfo | None
    ) -> tuple[Verification, str, IngestReport | None]:
        if source is not None:
            verification, ingest = self._ingest(name, read_source(source, self.settings), f"source {source}")
            return verification, "ingest", ingest
        assert live is not None
        same_model = (live.model_version, live.dimension) == (self.encoder.model_version, self.encoder.dimension)
        if same_model and isinstance(self.backend, ServerSideReindex):
            self._log(f"server-side _reindex {live.name} → {name}")
            self.backend.reindex(live.name, name)
            return self._counted(name, live.documents, live.chunks), "reindex", None
        method = "copy" if same_model else f"re-embed ({live.model_version} → {self.encoder.model_version})"
        self._log(f"{method}: {live.name} → {name}")
        documents, chunks = self._copy(live.name, name, reembed=not same_model)
        return self._counted(name, documents, chunks), method, None

    def _copy(self, source: str, dest: str, *, reembed: bool) -> tuple[int, int]:
        """Copy every chunk (re-embedding it on a model change); returns documents and chunks read."""
        pending: dict[str, list[Chunk]] = {}
        pending_chunks = 0
        done: set[str] = set()
        chunks_read = 0

        def flush(keep: str | None) -> None:
            # The newest document may continue in the next chunk, so it waits.
            nonlocal pending, pending_chunks
            ready = {d: c for d, c in pending.items() if d != keep}
            if not ready:
                return
            if reembed:
                ready = self._reembed(ready)
            self.backend.replace_documents(dest, ready)
            done.update(ready)
            pending = {d: c for d, c in pending.items() if d == keep}
            pending_chunks = sum(map(len, pending.values()))

        for chunk in self.backend.iter_chunks(source):
            chunks_read += 1
            key = chunk.doc_key
            if key in done:
                # replace_documents would drop the chunks already written.
                raise LifecycleError(
                    f"chunks of document {key!r} are not contiguous in {source}; migrate with --source"
                )
            # Indexes from before tenant-scoped ids named chunks by document id alone.
            pending.setdefault(key, []).append(replace(chunk, chunk_id=chunk_key(chunk.tenant, chunk.doc_id, chunk.position)))
            pending_chunks += 1
            if pending_chunks >= COPY_BATCH_CHUNKS:
                flush(keep=key)
        flush(keep=None)
        return len(done), chunks_read

    def _reembed(self, chunks_by_doc: Mapping[str, list[Chunk]]) -> dict[str, list[Chunk]]:
        flat = [c for chunks in chunks_by_doc.values() for c in chunks]
        vectors = self.encoder.embed_passages([c.passage() for c in flat], batch_size=self.settings.embed_batch_size)
        out: dict[str, list[Chunk]] = {d: [] for d in chunks_by_doc}
        for chunk, vector in zip(flat, vectors):
            out[chunk.doc_key].append(replace(chunk, vector=vector))
        return out

    def _ingest(
        self, name: str, records: Iterable[Document | LineError], what: str
    ) -> tuple[Verification, IngestReport]:
        """Ingest into ``name``; the expected count is the distinct valid ids read."""
        ids: set[str] = set()

        def counted() -> Iterator[Document | LineError]:
            for record in records:
                if isinstance(record, Document):
                    ids.add(record.key)
                yield record

        ingest = ingest_documents(counted(), self.backend, self.encoder, self.settings, index=name)
        self._log(ingest.summary())
        verification = self._counted(name, len(ids), None)
        if ingest.failed > self.settings.lifecycle_max_errors:
            shown = "; ".join(str(e) for e in ingest.errors[:3])
            verification.problems.append(
                f"{ingest.failed} invalid record(s) in {what} (tolerated: {self.settings.lifecycle_max_errors}): {shown}"
            )
        return verification, ingest

    def _counted(self, name: str, documents: int, chunks: int | None) -> Verification:
        info = self._info(name)
        verification = Verification(
            documents=info.documents, chunks=info.chunks, expected_documents=documents, expected_chunks=chunks
        )
        if info.documents != documents:
            verification.problems.append(f"{name} holds {info.documents} documents, expected {documents}")
        if chunks is not None and info.chunks != chunks:
            verification.problems.append(f"{name} holds {info.chunks} chunks, expected {chunks}")
        if documents == 0:
            verification.problems.append(f"{name} is empty")
        return verification

    def _check_shrink(self, verification: Verification, live: IndexInfo) -> None:
        floor = math.ceil(live.documents * (1 - self.settings.lifecycle_max_shrink))
        if verification.documents < floor:
            verification.problems.append(
                f"the new index would hold {verification.documents} documents against {live.documents} live "
                f"(more than {self.settings.lifecycle_max_shrink:.0%} fewer; a truncated source?"
                f" raise HYBRID_LIFECYCLE_MAX_SHRINK if intended)"
            )

    def _info(self, name: str) -> IndexInfo:
        for info in self.backend.list_indexes():
            if info.name == name:
                return info
        raise LifecycleError(f"index {name!r} disappeared")

    # --------------------------------------------------------------- probes
    def _probe(self, name: str, previous: str | None, verification: Verification) -> None:
        """Search a sample of document titles in the new (and old) index, before the switch."""
        if not verification.ok:
            return  # counts already failed; probing would only add noise
        depth = self.settings.lifecycle_probe_depth
        sample = self._sample_first_chunks(name, self.settings.lifecycle_probe_queries)
        verification.found_old = 0 if previous else None
        misses_without_reference = []
        for chunk in sample:
            query = chunk.title.strip() or " ".join(chunk.text.split()[:12])
            access = AccessFilter(tenant=chunk.tenant, principals=frozenset(chunk.acl))
            vector = self.encoder.embed_query(query)
            legs = {"lexical": LexicalLeg(text=query, k=depth), "vector": VectorLeg(vector=vector, k=depth)}
            new = self.backend.run_legs(legs, access, index=name)
            found_new = chunk.doc_id in {hit.doc_id for hit in new["lexical"].hits}
            verification.probes += 1
            verification.found_new += found_new
            verification.vector_answered += bool(new["vector"].hits)
            if not new["vector"].hits:
                verification.problems.append(f"the vector leg of {name} found nothing for {query!r}")
            if previous:
                old = self.backend.run_legs({"lexical": legs["lexical"]}, access, index=previous)
                found_old = chunk.doc_id in {hit.doc_id for hit in old["lexical"].hits}
                verification.found_old += found_old  # type: ignore[operator]
                if found_old and not found_new:
                    verification.problems.append(
                        f"{previous} finds {chunk.doc_id!r} for {query!r} in its top {depth}, {name} does not"
                    )
            elif not found_new:
                misses_without_reference.append(chunk.doc_id)
        # Without an old index to compare with, a few misses are titles too common to rank.
        if len(misses_without_reference) > verification.probes // 10:
            verification.problems.append(
                f"{name} misses {len(misses_without_reference)} of {verification.probes} documents searched by title "
                f"(e.g. {misses_without_reference[:3]})"
            )

    def _sample_first_chunks(self, index: str, size: int) -> list[Chunk]:
        """A uniform sample of documents (their first chunks) by reservoir over one scan."""
        sample: list[Chunk] = []
        seen = 0
        for chunk in self.backend.iter_chunks(index):
            if chunk.position != 0:
                continue
            seen += 1
            if len(sample) < size:
                sample.append(replace(chunk, vector=None))
            else:
                slot = self._rng.randrange(seen)
                if slot < size:
                    sample[slot] = replace(chunk, vector=None)
        return sample

    def _abandon(self, name: str, keep: bool) -> None:
        if keep:
            return
        try:
            self.backend.drop_index(name)
        except Exception as exc:  # noqa: BLE001 - the original failure matters more
            self._log(f"warning: could not drop the unfinished {name}: {exc}")

    # ------------------------------------------------------------- rollback
    def rollback(self, to: str | None = None, *, force: bool = False) -> tuple[str, str]:
        """Point the alias back at the newest index older than the live one (or ``to``)."""
        live = self.backend.alias_target()
        if live is None:
            raise LifecycleError(f"alias {self.alias!r} points at no index; nothing to roll back")
        infos = {i.name: i for i in self.backend.list_indexes()}
        if to is not None:
            target = self._resolve(to, infos)
        else:
            older = sorted((n for n in infos if self._order(n) < self._order(live)), key=self._order)
            if not older:
                raise LifecycleError(f"no index older than {live} is left to roll back to")
            target = older[-1]
        if target == live:
            raise LifecycleError(f"the alias already points at {live}")
        model = self.encoder.model_version
        if infos[target].model_version != model and not force:
            raise LifecycleError(
                f"{target} holds embeddings of {infos[target].model_version!r} but the configured model is "
                f"{model!r}; deploy that model first (HYBRID_MODEL_DIR) or pass --force"
            )
        self.backend.switch_alias(target)
        return live, target

    def _resolve(self, wanted: str, infos: Mapping[str, IndexInfo]) -> str:
        """An index name, or a bare version number meaning its newest generation."""
        if wanted in infos:
            return wanted
        candidates = [n for n in infos if wanted.isdigit() and index_version(self.alias, n) == int(wanted)]
        candidates += [n for n in infos if n.startswith(f"{wanted}-") and wanted not in infos]
        if not candidates:
            raise LifecycleError(f"no index {wanted!r} (have: {', '.join(sorted(infos, key=self._order)) or 'none'})")
        return max(candidates, key=self._order)

    # --------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        """Live index, counts per index, template and model versions."""
        live = self.backend.alias_target()
        indexes = [
            {
                "name": i.name,
                "version": index_version(self.alias, i.name),
                "live": i.name == live,
                "template_version": i.template_version,
                "model_version": i.model_version,
                "dimension": i.dimension,
                "documents": i.documents,
                "chunks": i.chunks,
                "created_at": i.created_at,
            }
            for i in sorted(self.backend.list_indexes(), key=lambda i: self._order(i.name))
        ]
        templates = self.backend.template_versions()
        try:
            model: dict[str, Any] = {
                "configured": self.encoder.model_version,
                "dimension": self.encoder.dimension,
            }
        except Exception as exc:  # noqa: BLE001 - status must work without the model
            model = {"configured": None, "error": str(exc)}
        live_model = next((i["model_version"] for i in indexes if i["live"]), None)
        model["matches_live"] = live_model is not None and live_model == model.get("configured")
        return {
            "backend": self.settings.backend,
            "alias": self.alias,
            "live": live,
            "indexes": indexes,
            "templates": templates,
            "model": model,
        }

    # --------------------------------------------------------------- import
    def import_index(
        self,
        from_index: str,
        field_map: FieldMap | str,
        *,
        version: int | None = None,
        keep_failed: bool = False,
    ) -> MigrationReport:
        """Read an existing (keyword) index, chunk + embed it into a new version, verify, switch."""
        if not isinstance(self.backend, IndexScanning):
            raise LifecycleError(f"the {self.settings.backend} backend cannot scan other indexes")
        scan = self.backend.scan_index
        mapping = FieldMap.parse(field_map) if isinstance(field_map, str) else field_map
        # The current template by default; if that version exists, a new generation of it.
        version = self.settings.template_version if version is None else version
        fields = mapping.source_fields()

        def records() -> Iterator[Document | LineError]:
            for line, hit in enumerate(scan(from_index, fields), start=1):
                yield mapping.document(hit, f"{from_index}[{hit.get('_id')}]", line)

        def fill(report: MigrationReport) -> None:
            report.method = f"import from {from_index}"
            report.verification, report.ingest = self._ingest(report.index, records(), f"index {from_index}")
            # The old index speaks another schema, so only the new one is probed.
            self._probe(report.index, None, report.verification)

        return self._build_and_switch(version, f"import of {from_index} into", fill, keep_failed=keep_failed)


def format_status(status: Mapping[str, Any]) -> str:
    """``status()`` as a human-readable table."""
    lines = [f"backend {status['backend']}, alias {status['alias']} → {status['live'] or '(none)'}"]
    model = status["model"]
    configured = model.get("configured") or f"unavailable ({model.get('error')})"
    mismatch = "" if model.get("matches_live") or not status["live"] else "  ← differs from the live index!"
    lines.append(f"configured model: {configured}{mismatch}")
    lines.append(f"{'':2}{'index':<20} {'tmpl':>4} {'model':<28} {'dim':>4} {'documents':>9} {'chunks':>8}  created")
    for i in status["indexes"]:
        mark = "* " if i["live"] else "  "
        lines.append(
            f"{mark}{i['name']:<20} {i['template_version']:>4} {i['model_version']:<28} {i['dimension']:>4} "
            f"{i['documents']:>9} {i['chunks']:>8}  {i['created_at']}"
        )
    if not status["indexes"]:
        lines.append("  (no indexes)")
    lines.append("templates:")
    for name, template in sorted(status["templates"].items()):
        details = ", ".join(f"{k} {v}" for k, v in template.items())
        lines.append(f"  {name}: {details}")
    return "\n".join(lines)
