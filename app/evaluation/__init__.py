"""The relevance workbench: judgments, metrics, cached legs, tuning, comparison, reports."""
