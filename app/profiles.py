"""Fusion configuration: defaults, named profiles, per-request overrides.

A profile (``profiles/<name>.json``) fixes how a query is fused and reranked;
relevance engineers write them with ``hybrid-search tune``. A request may name
a profile and still override single fields.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from app.files import write_atomically
from app.fusion import METHODS, NORMALIZATIONS
from app.search_request import SearchRequest
from app.settings import Settings

#: What a profile may be called (its file is ``<name>.json``); the API validates with it too.
PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ProfileError(ValueError):
    """A profile is missing or malformed."""


@dataclass(frozen=True)
class FusionConfig:
    """Everything that decides how the legs' lists become one ranking.

    Its defaults are the settings' documented defaults; :func:`default_config`
    gives the ones the environment set.
    """

    method: str = Settings.fusion_method
    normalization: str = Settings.linear_normalization
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"lexical": Settings.weight_lexical, "vector": Settings.weight_vector}
    )
    rank_constant: int = Settings.rrf_rank_constant
    depth: int = Settings.default_depth
    rerank_enabled: bool = Settings.rerank_enabled
    rerank_depth: int = Settings.rerank_depth

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ProfileError(f"fusion method must be one of {METHODS}, not {self.method!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ProfileError(f"normalization must be one of {NORMALIZATIONS}, not {self.normalization!r}")
        if any(w < 0 for w in self.weights.values()):
            raise ProfileError("weights must be non-negative")
        if self.rank_constant < 1 or self.depth < 1 or self.rerank_depth < 1:
            raise ProfileError("rank_constant, depth and rerank_depth must be positive")

    def describe(self) -> dict[str, Any]:
        """The JSON shape echoed in responses and written in profiles."""
        return {
            "method": self.method,
            "normalization": self.normalization,
            "weights": dict(self.weights),
            "rank_constant": self.rank_constant,
            "depth": self.depth,
            "rerank": {"enabled": self.rerank_enabled, "depth": self.rerank_depth},
        }


@dataclass(frozen=True)
class Profile:
    name: str
    version: int
    fusion: FusionConfig
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, **self.fusion.describe(), "provenance": dict(self.provenance)}


def default_config(settings: Settings) -> FusionConfig:
    """The configuration used when neither a profile nor a request says."""
    return FusionConfig(
        method=settings.fusion_method,
        normalization=settings.linear_normalization,
        weights={"lexical": settings.weight_lexical, "vector": settings.weight_vector},
        rank_constant=settings.rrf_rank_constant,
        depth=settings.default_depth,
        rerank_enabled=settings.rerank_enabled,
        rerank_depth=settings.rerank_depth,
    )


def profile_from_json(record: Mapping[str, Any], base: FusionConfig) -> Profile:
    """Read a profile record; fields it leaves out come from ``base``."""
    try:
        rerank = record.get("rerank", {})
        fusion = FusionConfig(
            method=record.get("method", base.method),
            normalization=record.get("normalization", base.normalization),
            weights={k: float(v) for k, v in record.get("weights", base.weights).items()},
            rank_constant=int(record.get("rank_constant", base.rank_constant)),
            depth=int(record.get("depth", base.depth)),
            rerank_enabled=bool(rerank.get("enabled", base.rerank_enabled)),
            rerank_depth=int(rerank.get("depth", base.rerank_depth)),
        )
        return Profile(
            name=str(record["name"]),
            version=int(record.get("version", 1)),
            fusion=fusion,
            provenance=record.get("provenance", {}),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"malformed profile: {exc!r}") from None


#: (settings, path) -> (the file's (mtime, size, inode), its profile): a search
#: names a profile on every request, and the file changes rarely.
_LOADED: dict[tuple[Settings, str], tuple[tuple[int, int, int], Profile]] = {}
_LOADED_LOCK = threading.Lock()


def load_profile(settings: Settings, name: str) -> Profile:
    """``profiles/<name>.json`` from the configured directory; read again only when the file changes."""
    if not PROFILE_NAME.match(name):
        raise ProfileError(f"invalid profile name {name!r}")
    path = Path(settings.profiles_dir) / f"{name}.json"
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ProfileError(f"unknown profile {name!r} (no {path.name} in the profiles directory)") from None
    stamp, key = (status.st_mtime_ns, status.st_size, status.st_ino), (settings, str(path))
    cached = _LOADED.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"unknown profile {name!r} (no {path.name} in the profiles directory)") from None
    except ValueError as exc:
        raise ProfileError(f"profile {name!r} is not valid JSON: {exc}") from None
    profile = profile_from_json({**record, "name": name}, default_config(settings))
    with _LOADED_LOCK:
        _LOADED[key] = (stamp, profile)
    return profile


def list_profiles(settings: Settings) -> list[Profile]:
    """Every readable profile in the configured directory, by name."""
    directory = Path(settings.profiles_dir)
    if not directory.is_dir():
        return []
    return [load_profile(settings, p.stem) for p in sorted(directory.glob("*.json")) if PROFILE_NAME.match(p.stem)]


def resolve(settings: Settings, request: SearchRequest | None = None) -> tuple[str | None, FusionConfig]:
    """The profile a request runs with (by name) and its effective config;
    without a request, the service's default."""
    name = (request.profile if request else None) or settings.default_profile or None
    config = load_profile(settings, name).fusion if name else default_config(settings)
    if request is None:
        return name, config
    weights = {**config.weights, **request.weights}
    return name, replace(config, weights=weights, **request.config_changes())



def save_profile(path: Path, fusion: FusionConfig, provenance: Mapping[str, Any]) -> Profile:
    """Write a profile file; replacing one bumps its version so responses show the change."""
    path = Path(path)
    if path.suffix != ".json" or not PROFILE_NAME.match(path.stem):
        raise ProfileError(f"a profile file is <name>.json with a name of [A-Za-z0-9_-], not {path.name!r}")
    version = 1
    if path.is_file():
        try:
            version = int(json.loads(path.read_text(encoding="utf-8")).get("version", 0)) + 1
        except (ValueError, AttributeError):
            version = 1
    profile = Profile(name=path.stem, version=version, fusion=fusion, provenance=dict(provenance))
    path.parent.mkdir(parents=True, exist_ok=True)
    record = profile.to_json()
    del record["name"]  # the file name is the name
    write_atomically(path, json.dumps(record, indent=2) + "\n")
    return profile
