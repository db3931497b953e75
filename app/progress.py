"""The progress line of an ingest: documents, passages/s and the time left."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from app.ingest import IngestReport

#: Seconds between progress lines: often on a terminal (one line, rewritten), rarely in a log.
TERMINAL_INTERVAL_S = 1.0
LOG_INTERVAL_S = 10.0


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class IngestProgress:
    """A callable for ``ingest_documents(progress=...)`` that writes where the run is.

    On a terminal one line is rewritten in place; in a log a line is written
    every ``LOG_INTERVAL_S``. The time left needs ``total`` (documents in the
    source), which a stream or a bucket prefix does not tell in advance.
    """

    def __init__(
        self, label: str, total: int | None, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty()
        self.interval_s = TERMINAL_INTERVAL_S if self.terminal else LOG_INTERVAL_S
        self.clock = clock
        self.started = clock()
        self.last_written: float | None = None

    def __call__(self, report: IngestReport) -> None:
        now = self.clock()
        if self.last_written is not None and now - self.last_written < self.interval_s:
            return
        self.last_written = now
        line = self.line(report, now - self.started)
        self.stream.write(f"\r{line}\x1b[K" if self.terminal else f"{line}\n")
        self.stream.flush()

    def line(self, report: IngestReport, elapsed_s: float) -> str:
        """``docs.jsonl: 1200/5000 documents, 1530 passages at 48.2 passages/s, 2m05s left``."""
        read = f"{report.read}/{self.total}" if self.total else f"{report.read}"
        rate = report.chunks / elapsed_s if elapsed_s > 0 else 0.0
        text = f"{self.label}: {read} documents, {report.chunks} passages at {rate:.1f} passages/s"
        if self.total and report.read:
            left = max(self.total - report.read, 0) * elapsed_s / report.read
            text += f", {format_duration(left)} left"
        return text

    def close(self) -> None:
        """End the rewritten line, so what follows starts on its own."""
        if self.terminal and self.last_written is not None:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> IngestProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
