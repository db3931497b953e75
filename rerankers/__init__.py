"""ONNX cross-encoder reranking: export, runtime, budgeted stage, training.

The query path only sees :func:`rerankers.stage.load_rerank_stage`; the other
modules are tools that build the model it serves.
"""
