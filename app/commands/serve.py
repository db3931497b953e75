"""``hybrid-search serve``: gunicorn with the production configuration."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Iterable

from app.auth import verification_key
from app.cli import CommandError
from app.settings import ENV_PREFIX, Settings

#: Host names that only this machine can reach.
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the HTTP API with gunicorn")
    parser.add_argument("--bind", default="127.0.0.1:8080", help="host:port (default 127.0.0.1:8080)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default from gunicorn.conf.py)")
    parser.add_argument("--dev", action="store_true",
                        help="development identity: a generated JWT secret that `hybrid-search token` signs with; "
                             "loopback binds only")
    parser.add_argument("--flask", action="store_true",
                        help="Flask's single-process development server instead of gunicorn (implies --dev)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    dev = args.dev or args.flask
    if dev:
        refuse_public_bind([args.bind])
        settings = settings.replace(dev_mode=True)
        os.environ[f"{ENV_PREFIX}DEV_MODE"] = "1"  # the gunicorn master reads its own settings
    # Checked here too so a missing key is one line, not a traceback from the preloaded app.
    verification_key(settings)
    check_serving_shape(settings, args.workers)
    if args.flask:
        from app.web import create_app

        host, _, port = args.bind.rpartition(":")
        create_app(settings).run(host=host or "127.0.0.1", port=int(port), threaded=True)
        return 0
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:app.gunicorn_conf", "--bind", args.bind]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    argv.append("app.wsgi:app")
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return


def check_serving_shape(settings: Settings, workers: int | None) -> None:
    """Refuse a worker count below one or a negative thread count (gunicorn would idle or fail late)."""
    workers = settings.gunicorn_workers if workers is None else workers
    if workers < 1:
        raise CommandError(f"gunicorn needs at least one worker (--workers / {ENV_PREFIX}GUNICORN_WORKERS is {workers})")
    if settings.gunicorn_threads < 0:
        raise CommandError(
            f"{ENV_PREFIX}GUNICORN_THREADS must be 0 (the backend's default) or more, not {settings.gunicorn_threads}"
        )


def refuse_public_bind(binds: Iterable[str]) -> None:
    """Raise :class:`CommandError` unless every address is loopback or a unix socket.

    Development mode's secret is generated and kept beside the data, not chosen
    and guarded by an operator, so it must never answer another machine.
    """
    for bind in binds:
        if bind.startswith(("unix:", "fd://")):
            continue
        if bind.startswith("["):  # [v6]:port
            host = bind[1:].partition("]")[0]
        elif bind.count(":") == 1:  # host:port
            host = bind.partition(":")[0]
        else:  # a bare host or v6 address
            host = bind
        if host.lower() in _LOOPBACK_NAMES:
            continue
        try:
            if ipaddress.ip_address(host).is_loopback:
                continue
        except ValueError:
            pass
        raise CommandError(f"development mode serves loopback only; refusing to bind {bind!r} (use 127.0.0.1)")
