"""Exported ONNX model directories: their shared file names, and the one way
this service opens an onnxruntime session (CPU, sized threads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Beside the ONNX files of every exported model: what it is and how it was made.
CARD_FILE = "model_card.json"
TOKENIZER_FILE = "tokenizer.json"
#: onnxruntime's session config key for busy-waiting intra-op threads.
ALLOW_SPINNING = "session.intra_op.allow_spinning"


def cpu_session(path: Path, threads: int, *, spinning: bool = True) -> Any:
    """An ``InferenceSession`` for ``path`` on the CPU with ``threads`` intra-op threads.

    The thread count is the caller's: a server runs one worker per core, and
    onnxruntime's default (one thread per core per session) oversubscribes them.
    Without ``spinning`` the intra-op threads sleep between operators instead of
    busy-waiting, so a session that shares its cores with other workers takes
    no CPU it does not compute with.
    """
    import onnxruntime as ort

    if threads < 1:
        raise ValueError(f"threads must be ≥ 1, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:
        options.add_session_config_entry(ALLOW_SPINNING, "0")
    options.log_severity_level = 3  # errors only; graph-fusion notices are noise in service logs
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
