"""Top frames of a py-spy raw profile."""

from __future__ import annotations

from loadtests.profile import top_frames

RAW = "\n".join([
    "process 1:\"gunicorn\";thread (0x7F01);run (a.py:1);search (app/search_service.py:120);ranked (app/backends/embedded.py:9) 6",
    "process 1:\"gunicorn\";thread (0x7F01);run (a.py:1);search (app/search_service.py:121);rrf (app/fusion.py:150) 3",
    "process 2:\"gunicorn\";thread (0x7F02);run (a.py:1);search (app/search_service.py:120) 1",
    # Waiting, not computing: an idle pool thread and a poller.
    "process 2:\"gunicorn\";thread (0x7F03);Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:83) 50",
    "process 2:\"gunicorn\";thread (0x7F04);run (a.py:1);EpollSelector.select (selectors.py:468) 40",
    "not a stack line",
])


def test_self_and_inclusive_counts_leave_out_waiting_threads() -> None:
    total, own, inclusive = top_frames(RAW)
    assert total == 10
    assert own == [("ranked (app/backends/embedded.py)", 6), ("rrf (app/fusion.py)", 3), ("search (app/search_service.py)", 1)]
    # Line numbers are dropped, so one function counts once per stack.
    assert dict(inclusive)["search (app/search_service.py)"] == 10
    assert dict(inclusive)["run (a.py)"] == 10
