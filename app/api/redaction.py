"""Keep server paths out of error bodies: a client learns which setting, not the disk layout."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from app.settings import ENV_PREFIX, PROJECT_ROOT, Settings


def path_names(settings: Settings) -> list[tuple[str, str]]:
    """(absolute path, its public name) for every configured directory, longest path first."""
    names: dict[str, str] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, Path):
            public = f"${ENV_PREFIX}{field.name.upper()}"
            names[str(value)] = public
            names[str(value.resolve())] = public
    names.setdefault(str(PROJECT_ROOT), "<install>")
    return sorted(names.items(), key=lambda item: len(item[0]), reverse=True)


def redact(value: Any, names: list[tuple[str, str]]) -> Any:
    """``value`` (a message, or details of strings, lists and dicts) with server paths named."""
    if isinstance(value, str):
        for path, public in names:
            if path in value:
                value = value.replace(path, public)
        return value
    if isinstance(value, list):
        return [redact(item, names) for item in value]
    if isinstance(value, dict):
        return {key: redact(item, names) for key, item in value.items()}
    return value
