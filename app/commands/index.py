"""``hybrid-search index ...``: templates, versions, migrations, rollback, status, import.

The same commands run on both backends (see ``docs/runbook.md``); the work is in
:mod:`app.lifecycle`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Mapping

from app.components import Components
from app.lifecycle import Lifecycle, MigrationReport
from app.progress import IngestProgress
from app.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index", help="index versions: templates, create, migrate, rollback, status, import, force-merge"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    templates = actions.add_parser("install-templates", help="install the index templates (idempotent); report drift")
    templates.set_defaults(handler=run_install_templates)

    create = actions.add_parser("create", help="create an empty index from template version N")
    create.add_argument("--version", type=int, required=True, metavar="N")
    create.set_defaults(handler=run_create)

    migrate = actions.add_parser(
        "migrate", help="build version N beside the live index, verify it, then switch the alias atomically"
    )
    migrate.add_argument("--to", type=int, required=True, metavar="N", dest="version")
    migrate.add_argument(
        "--source", default=None, metavar="PATH_OR_S3",
        help="re-ingest from JSONL files/folder/s3:// (default: copy the live index, re-embedding on a model change)",
    )
    migrate.add_argument("--keep-failed", action="store_true", help="keep the new index when verification fails")
    migrate.set_defaults(handler=run_migrate)

    rollback = actions.add_parser("rollback", help="point the alias back at the previous index still present")
    rollback.add_argument("--to", default=None, metavar="INDEX_OR_N", help="a specific index (default: the previous)")
    rollback.add_argument("--force", action="store_true", help="even if its embedding model differs from the configured one")
    rollback.set_defaults(handler=run_rollback)

    status = actions.add_parser("status", help="live index, counts per index, template and model versions")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=run_status)

    merge = actions.add_parser(
        "force-merge", help="merge an index into one segment (migrate and import do this before the switch)"
    )
    merge.add_argument("--index", default=None, metavar="NAME", help="default: the index the alias points at")
    merge.set_defaults(handler=run_force_merge)

    imp = actions.add_parser("import", help="chunk + embed an existing keyword index into a new version, then switch")
    imp.add_argument("--from-index", required=True, metavar="OLD")
    imp.add_argument(
        "--field-map", required=True, metavar="MAP",
        help="title=F,body=F,tenant=F,acl=F[,id=F,url=F,updated_at=F,metadata.KEY=F]; 'quoted' = a literal",
    )
    imp.add_argument("--version", type=int, default=None, metavar="N", help="default: HYBRID_TEMPLATE_VERSION (a new generation if it exists)")
    imp.add_argument("--keep-failed", action="store_true", help="keep the new index when verification fails")
    imp.set_defaults(handler=run_import)


def lifecycle(settings: Settings, parts: Components | None = None) -> Lifecycle:
    """The lifecycle over the configured backend; the model loads only if a step needs it."""
    parts = parts or Components(settings)
    # Progress on stdout, so stderr holds nothing but the one-line error of a failure.
    return Lifecycle(
        parts.backend, settings, lambda: parts.batch_encoder, log=lambda line: print(line, flush=True), progress=IngestProgress
    )


def run_install_templates(args: argparse.Namespace, settings: Settings) -> int:
    report = lifecycle(settings).install_templates()
    for name, entry in sorted(report.items()):
        print(f"{name}: {_describe_template(entry)}")
    return 0


def _describe_template(entry: dict[str, Any]) -> str:
    drift = entry.get("drift")
    if drift:
        paths = ", ".join(sorted(drift)[:5]) + (f" (+{len(drift) - 5} more)" if len(drift) > 5 else "")
        return f"{entry.get('action')} (drift was: {paths})"
    return ", ".join(f"{k} {v}" for k, v in entry.items() if k != "drift")


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    tool = lifecycle(settings)
    name = tool.create(args.version)
    live = tool.backend.alias_target()
    where = "the alias points at it" if live == name else f"the alias stays on {live}"
    print(f"created {name}; {where}")
    return 0


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    report = lifecycle(settings).migrate(args.version, args.source, keep_failed=args.keep_failed)
    return _print_report(report)


def run_rollback(args: argparse.Namespace, settings: Settings) -> int:
    before, after = lifecycle(settings).rollback(args.to, force=args.force)
    print(f"alias {settings.index_alias}: {before} → {after} ({before} kept)")
    return 0


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    status = lifecycle(settings).status()
    print(json.dumps(status, indent=2, sort_keys=True, default=str) if args.json else format_status(status))
    return 0


def run_force_merge(args: argparse.Namespace, settings: Settings) -> int:
    tool = lifecycle(settings)
    index = args.index or tool.backend.live_index().name
    tool.backend.force_merge(index)
    print(f"force-merged {index}")
    return 0


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    report = lifecycle(settings).import_index(
        args.from_index, args.field_map, version=args.version, keep_failed=args.keep_failed
    )
    return _print_report(report)


def _print_report(report: MigrationReport) -> int:
    if report.ingest is not None:
        for error in report.ingest.errors[:20]:
            print(error, file=sys.stderr)
    print(report.summary())
    return 0 if report.switched else 1


def format_status(status: Mapping[str, Any]) -> str:
    """``status()`` as a human-readable table."""
    lines = [f"backend {status['backend']}, alias {status['alias']} → {status['live'] or '(none)'}"]
    model = status["model"]
    configured = model.get("configured") or f"unavailable ({model.get('error')})"
    mismatch = "" if model.get("matches_live") or not status["live"] else "  ← differs from the live index!"
    lines.append(f"configured model: {configured}{mismatch}")
    lines.append(f"{'':2}{'index':<20} {'tmpl':>4} {'model':<28} {'dim':>4} {'documents':>9} {'chunks':>8}  created")
    for i in status["indexes"]:
        mark = "* " if i["live"] else "  "
        lines.append(
            f"{mark}{i['name']:<20} {i['template_version']:>4} {i['model_version']:<28} {i['dimension']:>4} "
            f"{i['documents']:>9} {i['chunks']:>8}  {i['created_at']}"
        )
    if not status["indexes"]:
        lines.append("  (no indexes)")
    lines.append("templates:")
    for name, template in sorted(status["templates"].items()):
        details = ", ".join(f"{k} {v}" for k, v in template.items())
        lines.append(f"  {name}: {details}")
    return "\n".join(lines)
