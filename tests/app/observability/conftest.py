"""A three-document real index behind the app, for telemetry tests."""

from __future__ import annotations

import pytest

from app.backends.embedded import EmbeddedBackend
from app.documents import Document
from app.ingest import ingest_documents
from app.settings import Settings
from app.web import create_app

DOCS = [
    Document("kb-1", "Rotate the signing key", "Generate a new signing key, publish it, then retire the old one.", "initech", ("*",)),
    Document("kb-2", "Printer jams on floor three", "Open tray two and remove the crumpled sheet before restarting.", "initech", ("*",)),
    Document("kb-3", "Quarterly budget review", "Finance reviews departmental budgets every quarter.", "initech", ("group:finance",)),
]


@pytest.fixture
def make_client(settings: Settings, encoder):
    """A test client over the real index, with optional setting changes."""
    ingest_documents(iter(DOCS), EmbeddedBackend(settings), encoder, settings)

    def make(**changes):
        return create_app(settings.replace(**changes), encoder=encoder).test_client()

    return make
