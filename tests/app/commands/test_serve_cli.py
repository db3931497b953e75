"""``hybrid-search serve``: no start without a private key; development mode stays on loopback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.cli import CommandError, main
from app.commands.serve import refuse_public_bind
from app.settings import Settings


@pytest.fixture
def serve(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys):
    """Run ``serve`` in-process up to the point it would exec gunicorn; (code, err, exec argv or None)."""
    monkeypatch.setenv("HYBRID_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("HYBRID_JWT_SECRET", raising=False)
    # serve --dev sets HYBRID_DEV_MODE for gunicorn; setenv first so monkeypatch
    # removes it again afterwards (a delenv of an absent name records nothing).
    monkeypatch.setenv("HYBRID_DEV_MODE", "0")
    monkeypatch.delenv("HYBRID_DEV_MODE")
    execs: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: execs.append(argv))

    def run(*argv: str) -> tuple[int, str, list[str] | None]:
        code = main(["serve", *argv])
        return code, capsys.readouterr().err, (execs[-1] if execs else None)

    return run


def test_serve_refuses_to_start_without_a_key_in_one_line(serve) -> None:
    code, err, execed = serve("--bind", "0.0.0.0:8080")
    assert code != 0 and execed is None
    assert err.count("\n") == 1 and err.startswith("hybrid-search serve: error: no JWT key configured")
    assert "HYBRID_JWT_SECRET" in err


def test_serve_refuses_the_published_default_secret(serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_JWT_SECRET", "dev-secret-change-me-please-32-bytes!")
    code, err, execed = serve()
    assert code != 0 and execed is None and "published development default" in err


def test_serve_starts_gunicorn_with_a_configured_secret(serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_JWT_SECRET", "p" * 40)
    code, _, execed = serve("--bind", "0.0.0.0:8080")
    assert code == 0 and execed is not None and "gunicorn" in execed and "0.0.0.0:8080" in execed
    assert "HYBRID_DEV_MODE" not in os.environ


def test_serve_refuses_a_shape_without_workers_in_one_line(serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_JWT_SECRET", "p" * 40)
    code, err, execed = serve("--workers", "0")
    assert code != 0 and execed is None and err.count("\n") == 1 and "at least one worker" in err
    monkeypatch.setenv("HYBRID_GUNICORN_THREADS", "-1")
    code, err, execed = serve()
    assert code != 0 and execed is None and "HYBRID_GUNICORN_THREADS must be 0" in err
    monkeypatch.setenv("HYBRID_GUNICORN_THREADS", "0")
    code, _, execed = serve("--workers", "3")
    assert code == 0 and execed[execed.index("--workers") + 1] == "3"


def test_dev_mode_serves_loopback_only(serve) -> None:
    code, err, execed = serve("--dev", "--bind", "0.0.0.0:8080")
    assert code != 0 and execed is None and "loopback only" in err
    code, _, execed = serve("--dev", "--bind", "127.0.0.1:8080")
    assert code == 0 and execed is not None
    assert os.environ["HYBRID_DEV_MODE"] == "1"  # what the gunicorn master reads


@pytest.mark.parametrize("bind", ["127.0.0.1:8080", "localhost:80", "[::1]:8080", "::1", "127.3.4.5:1", "unix:/tmp/s"])
def test_loopback_binds_are_allowed(bind: str) -> None:
    refuse_public_bind([bind])


@pytest.mark.parametrize("bind", ["0.0.0.0:8080", ":8080", "[::]:8080", "10.0.0.5:8080", "search.example.com:443"])
def test_public_binds_are_refused(bind: str) -> None:
    with pytest.raises(CommandError, match="loopback only"):
        refuse_public_bind(["127.0.0.1:1", bind])


def on_starting(binds: list[str], **env: str) -> subprocess.CompletedProcess:
    """gunicorn's ``on_starting`` hook in a fresh process: importing the config
    prepares the metrics and cache directories, which must not leak into this one."""
    script = (
        "import sys, types, app.gunicorn_conf as conf\n"
        "conf.on_starting(types.SimpleNamespace(cfg=types.SimpleNamespace(bind=sys.argv[1:])))\n"
    )
    return subprocess.run([sys.executable, "-c", script, *binds], capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)


def test_gunicorn_refuses_a_public_bind_in_dev_mode_however_it_was_started(tmp_path) -> None:
    dev = {"HYBRID_DEV_MODE": "1", "HYBRID_METRICS_DIR": str(tmp_path / "metrics")}
    refused = on_starting(["127.0.0.1:8080", "0.0.0.0:8080"], **dev)
    assert refused.returncode != 0 and "RuntimeError: development mode serves loopback only" in refused.stderr
    assert on_starting(["127.0.0.1:8080", "unix:/tmp/hybrid.sock"], **dev).returncode == 0
    production = on_starting(["0.0.0.0:8080"], HYBRID_METRICS_DIR=str(tmp_path / "metrics"))
    assert production.returncode == 0, production.stderr  # production binds where it is told
