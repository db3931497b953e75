"""``hybrid-search``: the one console script, with a subcommand per task.

Each subcommand lives in ``app/commands/<name>.py`` with ``register(subparsers)``;
a command returns its exit code. Failures print one readable line and exit
non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from app.settings import Settings

#: Subcommand modules, in help order.
COMMAND_MODULES = ("serve", "ingest", "token", "export_models", "index", "evaluate", "shadow", "judgments")


class CommandError(Exception):
    """A command failed in a way the user can fix; printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybrid-search", description="Hybrid (BM25 + vector) search service.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.commands.{name}":
                continue  # not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        return int(args.handler(args, settings) or 0)
    except KeyboardInterrupt:
        print("hybrid-search: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one readable line, never a traceback
        print(f"hybrid-search {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
