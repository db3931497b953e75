"""Top frames of a py-spy profile (``py-spy record --format raw``).

Collapsed stacks are ``root;…;leaf count`` lines. *Self* counts the samples a
function was the leaf of (where the CPU was), *inclusive* the samples it was
anywhere on the stack (what it cost, callees included), each once per stack.

py-spy samples without ``--gil`` so that time in native code that releases the
GIL (tantivy's search, hnswlib's walk, onnxruntime) is seen; with
``--nonblocking`` it also records some threads that are only waiting, so stacks
whose leaf is a known wait are dropped (``_WAITING``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

#: py-spy's synthetic roots (process and thread labels) are not code.
_SYNTHETIC = re.compile(r"^(process \d+|thread \(0x[0-9A-Fa-f]+\))")
#: Leaf frames that block rather than compute: an idle pool thread, a poller, a lock.
_WAITING = re.compile(r"^(_worker|Condition\.wait|Event\.wait|EpollSelector\.select|Thread\.join|Future\.result) \(")


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = [f for f in stack.split(";") if f and not _SYNTHETIC.match(f)]
            stacks.append((frames, int(count)))
    return stacks


def _short(frame: str) -> str:
    """``search (app/search_service.py:120)`` → ``search (app/search_service.py)``; site-packages trimmed."""
    frame = re.sub(r":\d+\)$", ")", frame)
    return re.sub(r"\(.*?site-packages/", "(", frame)


def top_frames(text: str, n: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """``(total samples, top self, top inclusive)``."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in parse_collapsed(text):
        if not frames or _WAITING.match(frames[-1]):
            continue
        total += count
        short = [_short(f) for f in frames]
        own[short[-1]] += count
        for frame in set(short):
            inclusive[frame] += count
    return total, own.most_common(n), inclusive.most_common(n)


def render(path: Path, n: int = 15) -> str:
    total, own, inclusive = top_frames(Path(path).read_text(encoding="utf-8", errors="replace"), n)
    if not total:
        return f"{path}: no samples"
    lines = [f"py-spy profile {path} — {total} samples (threads on a CPU, in Python or in native code such as tantivy and hnswlib; all workers)", "", "top self:"]
    lines += [f"  {100 * c / total:5.1f}%  {frame}" for frame, c in own]
    lines += ["", "top inclusive:"]
    lines += [f"  {100 * c / total:5.1f}%  {frame}" for frame, c in inclusive]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(render(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 15))
