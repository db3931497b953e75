"""``GET /workbench``: the side-by-side page for relevance engineers (off unless ``HYBRID_WORKBENCH``).

Static HTML, CSS and JavaScript from ``app/api/workbench/`` (no build step, no
CDN: it works offline). The page holds no data and no identity: it calls
``/v1/search`` with the token pasted into it, so it never sees more than that
token may. The content security policy keeps it to this origin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, send_from_directory

from app.api.routes import components
from app.errors import NotFound

workbench = Blueprint("workbench", __name__)

PAGE_DIR = Path(__file__).with_name("workbench")
ASSETS = ("workbench.js", "workbench.css")
POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _enabled() -> None:
    if not components().settings.workbench:
        raise NotFound("the workbench is off (set HYBRID_WORKBENCH=true to serve it)")


def _served(name: str) -> Any:
    response = send_from_directory(PAGE_DIR, name, max_age=0)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@workbench.get("/workbench")
def page() -> Any:
    _enabled()
    return _served("index.html")


@workbench.get("/workbench/<name>")
def asset(name: str) -> Any:
    _enabled()
    if name not in ASSETS:
        raise NotFound(f"no workbench file {name!r}")
    return _served(name)
