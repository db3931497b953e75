"""Index lifecycle over any :class:`~app.backends.base.SearchBackend`.

``create``, ``migrate``, ``rollback``, ``status``, ``import_index`` and
``install_templates`` use only the backend protocol (plus the capabilities a
backend declares, :mod:`app.backends.capabilities`), so the runbook reads the
same for the embedded backend and a cluster.

A migration builds a *new* index beside the live one, fills it, verifies it
(document and chunk counts against what was read, then a sample of title
queries run against both indexes), and only then moves the alias in one atomic
call. Anything that fails before the switch leaves the alias where it was and
says which step failed; the old index is never touched, so ``rollback`` can
always return to it.
"""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping

from app.backends.base import (
    Chunk,
    IndexInfo,
    SearchBackend,
    WriteInProgress,
    index_name,
    index_order,
    index_version,
)
from app.backends.capabilities import (
    IndexScanning,
    ServerSideReindex,
    TemplateInstalling,
)
from app.documents import Document, LineError
from app.embedding import Encoder
from app.ingest import IngestReport, embed_chunks, ingest_documents
from app.lifecycle.copy import copy_index
from app.lifecycle.field_map import FieldMap
from app.lifecycle.reports import LifecycleError, MigrationReport, Verification
from app.lifecycle.verification import check_shrink, counted, probe
from app.progress import IngestProgress
from app.settings import Settings
from app.sources import count_documents, read_source


class Lifecycle:
    """The index commands over one backend; ``encoder`` is loaded only when needed."""

    def __init__(
        self,
        backend: SearchBackend,
        settings: Settings,
        encoder: Encoder | Callable[[], Encoder],
        *,
        log: Callable[[str], None] | None = None,
        progress: Callable[[str, int | None], IngestProgress] | None = None,
        seed: int | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.alias = backend.alias
        self._encoder = encoder
        self._log = log or (lambda message: None)
        #: A progress line for each re-ingest: what it reads (``source ...``) and how many documents, if known.
        self._progress = progress
        self._rng = random.Random(seed)

    @property
    def encoder(self) -> Encoder:
        if callable(self._encoder):  # a factory: encoders are not callable
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
        # A rebuild of an existing version goes beside it as the next generation.
        generation = max(index_order(self.alias, n)[1] for n in same) + 1 if same else 0
        requested = index_name(self.alias, version, generation)
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
                check_shrink(report.verification, live, self.settings.lifecycle_max_shrink)
            probe(self.backend, self.encoder, self.settings, report.index, previous, report.verification, self._rng)

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
            # A job the engine may still run writes into the new index: dropping it would fight that job.
            if not isinstance(exc, WriteInProgress):
                self._abandon(name, keep_failed)
            where = f"still points at {previous}" if previous else "still points at no index"
            if isinstance(exc, WriteInProgress):
                kept = f"; {name} kept, since a task may still write it (delete it once that task ends)"
            else:
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
            # Counting reads the source once more: only a progress line needs it.
            total = count_documents(source) if self._progress is not None else None
            verification, ingest = self._ingest(name, read_source(source, self.settings), f"source {source}", total)
            return verification, "ingest", ingest
        assert live is not None
        same_model = (live.model_version, live.dimension) == (self.encoder.model_version, self.encoder.dimension)
        if same_model and isinstance(self.backend, ServerSideReindex):
            self._log(f"server-side _reindex {live.name} → {name}")
            self.backend.reindex(live.name, name)
            return counted(self.backend, name, live.documents, live.chunks), "reindex", None
        method = "copy" if same_model else f"re-embed ({live.model_version} → {self.encoder.model_version})"
        self._log(f"{method}: {live.name} → {name}")
        reembed = None if same_model else self._reembed
        documents, chunks = copy_index(self.backend, live.name, name, reembed)
        return counted(self.backend, name, documents, chunks), method, None

    def _reembed(self, chunks_by_doc: Mapping[str, list[Chunk]]) -> dict[str, list[Chunk]]:
        return embed_chunks(self.encoder, chunks_by_doc, self.settings.embed_batch_size)

    def _ingest(
        self, name: str, records: Iterable[Document | LineError], what: str, total: int | None = None
    ) -> tuple[Verification, IngestReport]:
        """Ingest into ``name``; the expected count is the distinct valid ids read."""
        ids: set[str] = set()

        def noting_ids() -> Iterator[Document | LineError]:
            for record in records:
                if isinstance(record, Document):
                    ids.add(record.key)
                yield record

        with nullcontext() if self._progress is None else self._progress(what, total) as progress:
            ingest = ingest_documents(noting_ids(), self.backend, self.encoder, self.settings, index=name, progress=progress)
        self._log(ingest.summary())
        verification = counted(self.backend, name, len(ids), None)
        if ingest.failed > self.settings.lifecycle_max_errors:
            shown = "; ".join(str(e) for e in ingest.errors[:3])
            verification.problems.append(
                f"{ingest.failed} invalid record(s) in {what} (tolerated: {self.settings.lifecycle_max_errors}): {shown}"
            )
        return verification, ingest

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
            order = partial(index_order, self.alias)
            older = sorted((n for n in infos if order(n) < order(live)), key=order)
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
            raise LifecycleError(f"no index {wanted!r} (have: {', '.join(sorted(infos, key=partial(index_order, self.alias))) or 'none'})")
        return max(candidates, key=partial(index_order, self.alias))

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
            for i in sorted(self.backend.list_indexes(), key=lambda i: index_order(self.alias, i.name))
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
            probe(self.backend, self.encoder, self.settings, report.index, None, report.verification, self._rng)

        return self._build_and_switch(version, f"import of {from_index} into", fill, keep_failed=keep_failed)
