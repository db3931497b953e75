"""``hybrid-search serve``: gunicorn with the production configuration."""

from __future__ import annotations

import argparse
import os
import sys

from app.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the HTTP API with gunicorn")
    parser.add_argument("--bind", default="127.0.0.1:8080", help="host:port (default 127.0.0.1:8080)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default from gunicorn.conf.py)")
    parser.add_argument("--dev", action="store_true", help="Flask's single-process development server instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.dev:
        from app.web import create_app

        host, _, port = args.bind.rpartition(":")
        create_app(settings).run(host=host or "127.0.0.1", port=int(port), threaded=True)
        return 0
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:app.gunicorn_conf", "--bind", args.bind]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    argv.append("app.wsgi:app")
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return
