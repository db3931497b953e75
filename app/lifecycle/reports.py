"""What a lifecycle step reports: its failure, the checks a new index passed, the migration."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.ingest import IngestReport


class LifecycleError(RuntimeError):
    """A lifecycle step failed; the message names the step and where the alias is."""


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
