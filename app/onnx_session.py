"""Exported ONNX model directories: their shared file names, and the one way
this service opens an onnxruntime session (CPU, sized threads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Beside the ONNX files of every exported model: what it is and how it was made.
CARD_FILE = "model_card.json"
TOKENIZER_FILE = "tokenizer.json"


def cpu_session(path: Path, threads: int) -> Any:
    """An ``InferenceSession`` for ``path`` on the CPU with ``threads`` intra-op threads.

    The thread count is the caller's: a server runs one worker per core, and
    onnxruntime's default (one thread per core per session) oversubscribes them.
    """
    import onnxruntime as ort

    if threads < 1:
        raise ValueError(f"threads must be ≥ 1, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; graph-fusion notices are noise in service logs
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
