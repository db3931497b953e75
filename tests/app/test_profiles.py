"""Fusion profiles: loading, the per-request cache, resolution."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.profiles import FusionConfig, ProfileError, default_config, load_profile, save_profile
from app.settings import Settings


def write(path: Path, weight: float) -> None:
    path.write_text(json.dumps({"version": 1, "method": "linear", "weights": {"lexical": weight, "vector": 1 - weight}}))


def test_a_profile_is_read_once_and_again_when_its_file_changes(tmp_path: Path) -> None:
    settings = Settings(profiles_dir=tmp_path)
    path = tmp_path / "p.json"
    write(path, 0.3)
    first = load_profile(settings, "p")
    assert first.fusion.weights["lexical"] == 0.3
    assert load_profile(settings, "p") is first  # unchanged file: not read again
    write(path, 0.7)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_profile(settings, "p").fusion.weights["lexical"] == 0.7
    saved = save_profile(path, load_profile(settings, "p").fusion, {"why": "test"})
    assert load_profile(settings, "p").version == saved.version  # an atomic rewrite is a new file
    path.unlink()
    with pytest.raises(ProfileError, match="unknown profile"):
        load_profile(settings, "p")


def test_profiles_of_other_settings_are_kept_apart(tmp_path: Path) -> None:
    write(tmp_path / "p.json", 0.3)
    a, b = Settings(profiles_dir=tmp_path, default_depth=100), Settings(profiles_dir=tmp_path, default_depth=200)
    assert load_profile(a, "p").fusion.depth == 100 and load_profile(b, "p").fusion.depth == 200


def test_a_bare_fusion_config_is_the_settings_default() -> None:
    # One owner for each default: a config built in code (tools, tests) fuses
    # as the service does when nothing is set.
    assert FusionConfig() == default_config(Settings())
    assert FusionConfig().depth == Settings().default_depth
