"""The ingest progress line: documents, passages/s, the time left; rewritten on a terminal."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from app.ingest import IngestReport
from app.progress import LOG_INTERVAL_S, IngestProgress, format_duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_gives_the_rate_of_passages_and_the_time_left() -> None:
    clock = Clock()
    progress = IngestProgress("docs.jsonl", total=1000, stream=io.StringIO(), clock=clock)
    line = progress.line(IngestReport(read=250, chunks=600), elapsed_s=30.0)
    assert line == "docs.jsonl: 250/1000 documents, 600 passages at 20.0 passages/s, 1m30s left"


def test_without_a_total_there_is_no_time_left() -> None:
    line = IngestProgress("-", total=None, stream=io.StringIO()).line(IngestReport(read=7, chunks=9), elapsed_s=3.0)
    assert line == "-: 7 documents, 9 passages at 3.0 passages/s"


def test_a_log_gets_a_line_per_interval_a_terminal_one_line_rewritten() -> None:
    clock, log = Clock(), io.StringIO()
    progress = IngestProgress("x", total=10, stream=log, clock=clock)
    for step in range(1, 5):
        clock.now += LOG_INTERVAL_S / 2
        progress(IngestReport(read=step, chunks=step))
    progress.close()
    assert log.getvalue().count("\n") == 2 and "\r" not in log.getvalue()

    clock, terminal = Clock(), Terminal()
    with IngestProgress("x", total=10, stream=terminal, clock=clock) as progress:
        for step in range(1, 4):
            clock.now += 2.0
            progress(IngestReport(read=step, chunks=step))
    assert terminal.getvalue().count("\r") == 3 and terminal.getvalue().endswith("\n")
    assert terminal.getvalue().count("\n") == 1


@given(st.floats(min_value=0, max_value=10 * 24 * 3600))
def test_durations_read_as_their_largest_units(seconds: float) -> None:
    text = format_duration(seconds)
    rounded = round(seconds)
    if rounded < 60:
        assert text == f"{rounded}s"
    elif rounded < 3600:
        minutes, rest = text.removesuffix("s").split("m")
        assert int(minutes) * 60 + int(rest) == rounded
    else:
        hours, rest = text.removesuffix("m").split("h")
        assert int(hours) * 3600 + int(rest) * 60 == rounded - rounded % 60
