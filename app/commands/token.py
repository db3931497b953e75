"""``hybrid-search token``: mint a development JWT."""

from __future__ import annotations

import argparse

from app.auth import mint_token
from app.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="mint a development JWT (HS256) for a tenant and principals")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--principal", "-p", action="append", default=[], dest="principals",
                        help="user:NAME or group:NAME; repeat for several")
    parser.add_argument("--subject", default=None, help="token subject (default: the first user principal)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    subject = args.subject or next((p for p in args.principals if p.startswith("user:")), "dev")
    print(mint_token(settings, subject=subject, tenant=args.tenant, principals=args.principals, ttl_s=args.ttl))
    return 0
