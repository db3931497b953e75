"""Error bodies name settings, never the server's directories."""

from __future__ import annotations

from pathlib import Path

from app.api.redaction import path_names, redact
from app.settings import Settings


def test_configured_directories_become_their_setting_names(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", profiles_dir=tmp_path / "profiles")
    names = path_names(settings)
    message = f"cannot open {tmp_path}/data/indexes/docs-v1/info.json or {tmp_path}/profiles/x.json"
    assert redact(message, names) == (
        "cannot open $HYBRID_DATA_DIR/indexes/docs-v1/info.json or $HYBRID_PROFILES_DIR/x.json"
    )
    details = {"reason": [f"{tmp_path}/data is full"], "count": 3}
    assert redact(details, names) == {"reason": ["$HYBRID_DATA_DIR is full"], "count": 3}


def test_a_nested_directory_is_named_by_its_own_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, profiles_dir=tmp_path / "profiles")
    assert redact(f"{tmp_path}/profiles/a.json", path_names(settings)) == "$HYBRID_PROFILES_DIR/a.json"


def test_unknown_profile_error_carries_no_server_path(client, token_for, indexed_settings) -> None:
    response = client.post("/v1/search", json={"query": "invoice", "profile": "missing"}, headers=token_for("acme", "user:bob"))
    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert "missing" in message and str(indexed_settings.profiles_dir) not in message and "/" not in message
