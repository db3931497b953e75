"""The cross-encoder study: training, held-out folds, pair mining, export.

Tools that build the model :mod:`app.rerank` serves; serving never imports
this package (``tests/test_structure.py`` checks).
"""
