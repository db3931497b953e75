"""``hybrid-search ingest``: index JSONL documents (files, folders, s3://)."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext

from app.components import Components
from app.ingest import delete_documents, ingest_documents
from app.progress import IngestProgress
from app.settings import Settings
from app.sources import count_documents, read_source

MAX_ERRORS_SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ingest", help="index JSONL documents; idempotent")
    parser.add_argument("sources", nargs="*", help="JSONL files, folders of *.jsonl, '-' for stdin, or s3://bucket/prefix/")
    parser.add_argument(
        "--delete", action="append", default=[], metavar="ID", help="remove a document of --tenant by id (repeatable)"
    )
    parser.add_argument("--tenant", default=None, help="the tenant whose documents --delete removes (required with it)")
    parser.add_argument("--index", default=None, help="write into this index instead of the alias target")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.sources and not args.delete:
        raise ValueError("give at least one source or --delete ID")
    if args.delete and not args.tenant:
        raise ValueError("--delete needs --tenant: document ids are unique only within a tenant")
    parts = Components(settings)
    status = 0
    if args.delete:
        removed = delete_documents(parts.backend, args.tenant, args.delete)
        print(f"deleted {removed} of {len(args.delete)} document(s)")
        if removed < len(args.delete):
            status = 1
    for source in args.sources:
        with nullcontext() if args.quiet else IngestProgress(source, count_documents(source)) as progress:
            report = ingest_documents(
                read_source(source, settings), parts.backend, parts.batch_encoder, settings, index=args.index, progress=progress
            )
        for error in report.errors[:MAX_ERRORS_SHOWN]:
            print(error, file=sys.stderr)
        if len(report.errors) > MAX_ERRORS_SHOWN:
            print(f"... and {len(report.errors) - MAX_ERRORS_SHOWN} more invalid lines", file=sys.stderr)
        if report.repaired:
            print(f"{source}: repaired {', '.join(report.repaired)} after an interrupted write", file=sys.stderr)
        if not args.quiet or not report.ok:
            print(f"{source}: {report.summary()}")
        if not report.ok:
            status = 1
    return status
