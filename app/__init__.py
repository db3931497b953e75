"""Hybrid retrieval service: BM25 + k-NN legs, fusion, reranking, over HTTP."""
