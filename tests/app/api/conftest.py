"""A tiny real corpus, ingested into a real embedded index, behind the app."""

from __future__ import annotations

import pytest

from app.backends.embedded import EmbeddedBackend
from app.documents import Document
from app.ingest import ingest_documents
from app.settings import Settings
from app.web import create_app

TINY_CORPUS = [
    Document("acme-1", "Reset your password", "Open Settings, choose Security and click Reset password. A reset link is emailed.", "acme", ("*",),
             url="https://help.acme.example/1", metadata={"category": ("account",)}, updated_at="2024-03-01T00:00:00Z"),
    Document("acme-2", "SAML single sign-on login failures", "If users cannot sign in through SAML, check the IdP certificate and the clock skew.", "acme", ("*",),
             metadata={"category": ("sso",)}, updated_at="2025-01-15T00:00:00Z"),
    Document("acme-3", "Database failover runbook", "Promote the replica with the failover script when the primary database is down.", "acme", ("group:sre",),
             metadata={"category": ("runbook",), "audience": ("internal",)}),
    Document("acme-4", "Invoice and billing questions", "Invoices are issued monthly. Update the card on file under Billing.", "acme", ("*",),
             metadata={"category": ("billing",)}),
    Document("acme-5", "Payroll export procedure", "Finance exports payroll on the last business day of each month.", "acme", ("group:finance", "user:alice"),
             metadata={"category": ("runbook",), "audience": ("internal",)}),
    Document("acme-6", "Rotate an API key", "Create a new API key, deploy it, then revoke the old key to rotate credentials.", "acme", ("*",),
             metadata={"category": ("api",)}),
    Document("globex-1", "Reset your password at Globex", "Globex staff reset passwords from the employee portal.", "globex", ("*",),
             metadata={"category": ("account",)}),
    Document("globex-2", "Globex database failover", "Globex SRE promotes the standby database during an outage.", "globex", ("group:sre",),
             metadata={"category": ("runbook",)}),
]


@pytest.fixture
def tiny_docs() -> dict[str, Document]:
    return {doc.id: doc for doc in TINY_CORPUS}


@pytest.fixture
def indexed_settings(settings: Settings, encoder) -> Settings:
    backend = EmbeddedBackend(settings)
    report = ingest_documents(iter(TINY_CORPUS), backend, encoder, settings)
    assert report.ok and report.indexed == len(TINY_CORPUS)
    return settings


@pytest.fixture
def client(indexed_settings: Settings, encoder):
    app = create_app(indexed_settings, encoder=encoder)
    return app.test_client()
