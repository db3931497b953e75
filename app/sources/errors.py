"""The error every source raises when it cannot be read at all."""


class SourceError(ValueError):
    """A source cannot be read at all (missing path, bad URI)."""
