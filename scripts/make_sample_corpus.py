#!/usr/bin/env python3
"""Generate the project's sample corpus and demo queries.

The corpus is a fictional help centre plus internal runbooks, post-mortems and
procedures for three tenants:

* ``acme``    -- Acme Cloud, object storage, desktop/mobile sync and backups;
* ``globex``  -- Globex Commerce, invoicing, card payments and point of sale;
* ``initech`` -- Initech Workforce, time tracking, scheduling and payroll export.

Documents are composed from hand-written building blocks (topic intros,
situation-specific symptoms, causes and steps, per-tenant vocabulary), with a
seeded RNG choosing among paraphrased titles, headings and optional sections.
The output depends only on ``--seed``: two runs produce byte-identical files.

Usage::

    python scripts/make_sample_corpus.py [--seed 7] \\
        [--out sample_data/corpus.jsonl] [--queries-out sample_data/queries.jsonl]

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT / "sample_data" / "corpus.jsonl"
DEFAULT_QUERIES = REPO_ROOT / "sample_data" / "queries.jsonl"
DEFAULT_SEED = 7

#: ACL value that admits every principal of the document's tenant.
PUBLIC = "*"
#: The newest ``updated_at`` in the corpus; older documents are dated before it.
LATEST = datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc)
MIN_WORDS, MAX_WORDS = 80, 900

ALL = ("acme", "globex", "initech")
AG = ("acme", "globex")

#: One corpus line, as written to JSONL.
DocumentRow = dict[str, Any]


# ---------------------------------------------------------------------------
# Markdown helpers
# ---------------------------------------------------------------------------


def bullets(items: Iterable[str]) -> str:
    """A markdown bullet list."""
    return "\n".join(f"- {item}" for item in items)


def numbered(items: Iterable[str]) -> str:
    """A markdown numbered list; items holding blocks are separated by blank lines."""
    lines = [f"{i}. {item}" for i, item in enumerate(items, 1)]
    return ("\n\n" if any("\n" in line for line in lines) else "\n").join(lines)


def sh(*commands: str) -> str:
    """A fenced shell block holding ``commands``."""
    return "```sh\n" + "\n".join(commands) + "\n```"


# ---------------------------------------------------------------------------
# Tenants
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """A customer of the search service, with the words its documents use."""

    code: str
    vocab: Mapping[str, str]
    #: Topic key -> product name recorded in ``metadata.product``.
    products: Mapping[str, str]


_ACME = Tenant(
    code="acme",
    vocab={
        "tenant": "acme",
        "company": "Acme",
        "brand": "Acme Cloud",
        "console": "Acme Console",
        "cli": "acmectl",
        "api_host": "api.acme.example",
        "status_page": "status.acme.example",
        "support_email": "support@acme.example",
        "security_email": "security@acme.example",
        "privacy_email": "privacy@acme.example",
        "admin_role": "Organization Owner",
        "workspace": "organization",
        "security_path": "Settings → Security",
        "billing_path": "Settings → Billing",
        "developer_path": "Settings → Developer → API keys",
        "plan_free": "Starter",
        "plan_mid": "Team",
        "plan_top": "Enterprise",
        "mobile_app": "Acme Drive",
        "key_prefix": "acm_live_",
        "sig_header": "Acme-Signature",
        "data_noun": "files, buckets and backups",
        "record_noun": "object",
        "export_formats": "CSV, JSON Lines and Parquet",
        "rate_limit": "600 requests per minute",
        "idp_examples": "Okta, Microsoft Entra ID, Google Workspace and JumpCloud",
        "region": "eu-west-1",
        "region_b": "us-east-2",
        "chat_channel": "#inc-war-room",
        "oncall_tool": "PagerDuty",
        "monitoring": "Grafana",
        "db_name": "meta-db",
        "db_engine": "PostgreSQL 15 managed by Patroni",
        "db_status_cmd": "patronictl -c /etc/patroni/patroni.yml list meta-db",
        "db_failover_cmd": "patronictl -c /etc/patroni/patroni.yml failover meta-db --candidate meta-db-2",
        "db_lag_cmd": 'psql -h meta-db-primary -c '
        '"SELECT client_addr, state, replay_lag FROM pg_stat_replication;"',
        "queue_name": "object-events",
        "queue_tech": "Kafka",
        "queue_lag_cmd": "kafka-consumer-groups.sh --bootstrap-server kafka-0:9092 "
        "--describe --group search-indexer",
        "edge_service": "edge-gateway",
        "api_service": "objstore-api",
        "worker_service": "search-indexer",
        "cache_name": "the cache-main Redis cluster",
        "cert_domain": "*.acme.example",
        "dns_zone": "acme.example",
        "dns_provider": "Route 53",
        "k8s_ns": "storage-prod",
        "deploy_tool": "Argo CD",
        "retention_days": "30",
        "ciso": "alice",
        "sre_lead": "erin",
        "support_lead": "bob",
        "finance_lead": "dave",
        "hr_lead": "carol",
        "eng_lead": "oscar",
        "ops_team": "sre",
    },
    products={
        "sso": "platform", "account": "platform", "api_keys": "api",
        "rate_limits": "api", "webhooks": "api", "export": "storage",
        "billing": "billing", "pricing": "billing", "mobile": "drive",
        "privacy": "platform", "storage": "storage", "backup": "vault",
        "sync": "drive",
    },
)

_GLOBEX = Tenant(
    code="globex",
    vocab={
        "tenant": "globex",
        "company": "Globex",
        "brand": "Globex Commerce",
        "console": "Globex Dashboard",
        "cli": "gx",
        "api_host": "api.globex.example",
        "status_page": "status.globex.example",
        "support_email": "help@globex.example",
        "security_email": "security@globex.example",
        "privacy_email": "dpo@globex.example",
        "admin_role": "Account Administrator",
        "workspace": "merchant account",
        "security_path": "Settings → Team & security",
        "billing_path": "Settings → Plan & billing",
        "developer_path": "Developers → API keys",
        "plan_free": "Basic",
        "plan_mid": "Growth",
        "plan_top": "Scale",
        "mobile_app": "Globex POS",
        "key_prefix": "gx_sk_live_",
        "sig_header": "Globex-Signature-256",
        "data_noun": "invoices, customers and payments",
        "record_noun": "invoice",
        "export_formats": "CSV, XLSX and JSON",
        "rate_limit": "100 requests per second",
        "idp_examples": "Okta, Microsoft Entra ID, OneLogin and Ping Identity",
        "region": "eu-central-1",
        "region_b": "us-west-2",
        "chat_channel": "#incident-response",
        "oncall_tool": "Opsgenie",
        "monitoring": "Datadog",
        "db_name": "ledger-db",
        "db_engine": "MySQL 8.0 with Orchestrator",
        "db_status_cmd": "orchestrator-client -c topology -i ledger-db-1:3306",
        "db_failover_cmd": "orchestrator-client -c graceful-master-takeover-auto -alias ledger-db",
        "db_lag_cmd": 'mysql -h ledger-db-replica-1 -e "SHOW REPLICA STATUS\\G" '
        '| grep -E "Seconds_Behind_Source|Replica_SQL_Running"',
        "queue_name": "payout-events",
        "queue_tech": "Amazon SQS",
        "queue_lag_cmd": "aws sqs get-queue-attributes --queue-url $PAYOUT_QUEUE_URL "
        "--attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible",
        "edge_service": "checkout-edge",
        "api_service": "ledger-api",
        "worker_service": "payout-worker",
        "cache_name": "the sessions-prod ElastiCache cluster",
        "cert_domain": "pay.globex.example",
        "dns_zone": "globex.example",
        "dns_provider": "Cloudflare",
        "k8s_ns": "ledger-prod",
        "deploy_tool": "Spinnaker",
        "retention_days": "90",
        "ciso": "grace",
        "sre_lead": "ivan",
        "support_lead": "judy",
        "finance_lead": "heidi",
        "hr_lead": "nadia",
        "eng_lead": "victor",
        "ops_team": "sre",
    },
    products={
        "sso": "dashboard", "account": "dashboard", "api_keys": "api",
        "rate_limits": "api", "webhooks": "api", "export": "invoicing",
        "billing": "billing", "pricing": "billing", "mobile": "pos",
        "privacy": "dashboard", "payments": "payments", "invoicing": "invoicing",
        "pos": "pos",
    },
)

_INITECH = Tenant(
    code="initech",
    vocab={
        "tenant": "initech",
        "company": "Initech",
        "brand": "Initech Workforce",
        "console": "Initech Admin Center",
        "cli": "initech",
        "api_host": "api.initech.example",
        "status_page": "status.initech.example",
        "support_email": "support@initech.example",
        "security_email": "security@initech.example",
        "privacy_email": "privacy@initech.example",
        "admin_role": "Company Admin",
        "workspace": "company account",
        "security_path": "Admin Center → Security",
        "billing_path": "Admin Center → Subscription",
        "developer_path": "Admin Center → Integrations → API",
        "plan_free": "Essentials",
        "plan_mid": "Plus",
        "plan_top": "Premier",
        "mobile_app": "Initech Clock",
        "key_prefix": "itk_",
        "sig_header": "X-Initech-Signature",
        "data_noun": "timesheets, schedules and employee records",
        "record_noun": "timesheet",
        "export_formats": "CSV and XLSX",
        "rate_limit": "300 requests per minute",
        "idp_examples": "Google Workspace, Microsoft Entra ID and Okta",
        "region": "ca-central-1",
        "region_b": "us-east-1",
        "chat_channel": "#ops-incidents",
        "oncall_tool": "PagerDuty",
        "monitoring": "New Relic",
        "db_name": "core-db",
        "db_engine": "Amazon Aurora PostgreSQL",
        "db_status_cmd": "aws rds describe-db-clusters --db-cluster-identifier core-db "
        "--query 'DBClusters[0].DBClusterMembers'",
        "db_failover_cmd": "aws rds failover-db-cluster --db-cluster-identifier core-db",
        "db_lag_cmd": 'psql -h core-db-ro -c '
        '"SELECT now() - pg_last_xact_replay_timestamp() AS replica_lag;"',
        "queue_name": "payroll-sync",
        "queue_tech": "RabbitMQ",
        "queue_lag_cmd": "rabbitmqctl list_queues name messages messages_unacknowledged consumers",
        "edge_service": "web-ingress",
        "api_service": "workforce-api",
        "worker_service": "payroll-sync-worker",
        "cache_name": "the sessions Redis instance",
        "cert_domain": "app.initech.example",
        "dns_zone": "initech.example",
        "dns_provider": "Route 53",
        "k8s_ns": "workforce-prod",
        "deploy_tool": "GitHub Actions",
        "retention_days": "60",
        "ciso": "samir",
        "sre_lead": "michael",
        "support_lead": "peter",
        "finance_lead": "bill",
        "hr_lead": "joanna",
        "eng_lead": "milton",
        "ops_team": "ops",
    },
    products={
        "sso": "admin-center", "account": "admin-center", "api_keys": "api",
        "rate_limits": "api", "webhooks": "api", "export": "timesheets",
        "billing": "billing", "pricing": "billing", "mobile": "clock",
        "privacy": "admin-center", "timesheets": "timesheets",
        "scheduling": "scheduling", "payroll": "payroll",
    },
)

TENANTS: tuple[Tenant, ...] = (_ACME, _GLOBEX, _INITECH)


# ---------------------------------------------------------------------------
# Help-centre building blocks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """Blocks shared by every article on one subject."""

    key: str
    category: str
    tags: tuple[str, ...]
    intros: tuple[str, ...]
    background: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    faq: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Situation:
    """One concrete problem or task; becomes one article per tenant."""

    topic: str
    key: str
    titles: tuple[str, ...]
    summary: str
    steps: tuple[str, ...]
    symptoms: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    cause: str = ""
    code: str = ""
    verify: str = ""
    tags: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ALL
    #: A task rather than a problem, even though it explains how things work.
    howto: bool = False

    @property
    def troubleshooting(self) -> bool:
        """Whether the article diagnoses a problem (as opposed to explaining a task)."""
        return bool(self.symptoms or self.errors or self.cause) and not self.howto


TOPICS: dict[str, Topic] = {
    t.key: t
    for t in (
        Topic(
            key="sso",
            category="authentication",
            tags=("sso",),
            intros=(
                "Single sign-on lets your team use the identity provider you already run to get into "
                "{brand}. When the two sides drift out of sync, people are bounced back to the login "
                "page or shown a cryptic error instead of their dashboard.",
                "Most sign-in problems with an identity provider come down to a handful of settings that "
                "must match exactly on both sides: the entity ID, the assertion consumer service (ACS) "
                "URL, the signing certificate and the clock.",
                "If your {workspace} uses SSO, {brand} never sees your employees' passwords. Your identity "
                "provider vouches for each person with a signed message instead, and this guide covers "
                "what to do when that hand-off breaks.",
            ),
            background=(
                "## How SSO sign-in works\n\nWhen someone opens {console} and enters a work email, we look "
                "up the email domain, find your SSO connection and redirect the browser to your identity "
                "provider. After the person authenticates there, the provider posts a signed SAML response "
                "(or, for OpenID Connect, returns an authorization code) back to us. We check the signature, "
                "the audience, the timestamps and the email claim before creating a session. A failure in "
                "any one of those checks stops the login, and the reason is recorded under {security_path} "
                "→ SSO → Recent sign-in attempts.",
                "## Background\n\nSAML and OpenID Connect solve the same problem in different ways. SAML "
                "sends an XML assertion through the user's browser; OIDC exchanges a short-lived code for "
                "an ID token over a back channel. {brand} supports both and tests against {idp_examples}. "
                "Whichever protocol you use, the identity provider is the source of truth for who may sign "
                "in, and {brand} only decides what they can see once they are inside.",
            ),
            before=(
                "You need the {admin_role} role to change SSO settings.",
                "Keep a second browser window signed in as an administrator while you test, so you cannot "
                "lock yourself out.",
                "Make sure you can reach the admin console of your identity provider, or have someone on "
                "hand who can.",
                "Note the exact time of a failed attempt; it makes our logs much easier to search.",
            ),
            faq=(
                ("Can people still use a password once SSO is enforced?",
                 "No. Password sign-in is disabled for every member except the break-glass accounts you "
                 "exempt under {security_path}."),
                ("Do you support SCIM provisioning?",
                 "Yes, on the {plan_top} plan. SCIM keeps accounts and group membership in sync with your "
                 "directory, so leavers lose access as soon as IT deactivates them."),
                ("Which identity providers work with {brand}?",
                 "Any provider that speaks SAML 2.0 or OpenID Connect. We test regularly against "
                 "{idp_examples}."),
            ),
        ),
        Topic(
            key="account",
            category="account",
            tags=("login", "account"),
            intros=(
                "Not being able to get into your account is frustrating, especially when you're in the "
                "middle of something. The good news is that most access problems can be fixed in a few "
                "minutes without waiting for support.",
                "This article is part of our account access series. It applies to people who sign in with "
                "an email address and password; if your {workspace} uses single sign-on, your IT team "
                "manages your credentials instead.",
                "Your {brand} account is personal to you, even when it belongs to a company {workspace}. "
                "Here is how to keep it working and what to do when it doesn't.",
            ),
            background=(
                "## How we protect accounts\n\nEvery sign-in is checked against the password you set, any "
                "second factor you enrolled, and a risk score based on the device and network. Repeated "
                "failures trigger a temporary lock, and sign-ins from a new country send you an email. "
                "Administrators can see all of this in the audit log under {security_path}.",
            ),
            before=(
                "Have access to the mailbox for the email address on your account.",
                "If you enrolled two-factor authentication, keep your phone or security key nearby.",
                "Use an up-to-date browser; we support the last two versions of Chrome, Edge, Firefox and "
                "Safari.",
            ),
            faq=(
                ("Can support reset my password for me?",
                 "No. For your security, our team never sets or sees passwords. We can only send a reset "
                 "link "
                 "to the address already on the account."),
                ("I changed jobs. Can I move my account to my new company?",
                 "Accounts belong to the {workspace} that invited you. Ask your new administrator for an "
                 "invitation and use your new work email."),
            ),
        ),
        Topic(
            key="api_keys",
            category="developers",
            tags=("api", "api-keys"),
            intros=(
                "API keys let your scripts and integrations call the {brand} API without a human signing "
                "in. Treat them like passwords: anyone holding a key can act with its permissions.",
                "Every request to https://{api_host} must carry a credential in the Authorization header. "
                "For server-to-server integrations that credential is usually an API key.",
                "Developers integrating with {brand} use API keys for authentication. Live keys start with "
                "{key_prefix}; test keys contain _test_ and only touch sandbox data.",
            ),
            background=(
                "## Key types and scopes\n\nKeys are created by an {admin_role} under {developer_path}. Each "
                "key has a set of scopes — read, write and admin for each resource type — and can optionally "
                "be restricted to a list of IP ranges. A key is shown exactly once when it is created; we "
                "store only a hash, so we cannot show it to you again later. The Last used column tells you "
                "when and from which IP address each key last made a request.",
            ),
            before=(
                "You need the {admin_role} role, or a custom role with the Manage API keys permission.",
                "Know which systems use the key today; search your secret manager and CI variables.",
                "Install the {cli} command-line tool if you prefer to manage keys from a terminal.",
            ),
            faq=(
                ("Do keys expire?",
                 "Not by default. You can set an expiry date when you create a key, and we recommend 90 days "
                 "for anything used outside your own infrastructure."),
                ("Can I see who created a key?",
                 "Yes. The audit log records the creator, every scope change and the revocation of each "
                 "key."),
            ),
        ),
        Topic(
            key="rate_limits",
            category="developers",
            tags=("api", "rate-limits"),
            intros=(
                "To keep the platform fast for everyone, the {brand} API limits how many requests each "
                "{workspace} can make. Well-behaved clients never notice the limits; busy ones need to "
                "slow down gracefully.",
                "Throttling protects shared infrastructure from runaway scripts. The default allowance is "
                "{rate_limit} per {workspace}, shared by all of its API keys.",
            ),
            background=(
                "## How the limiter works\n\nWe use a token bucket per {workspace}. Each request takes a "
                "token, and tokens refill continuously, so short bursts above the average rate are fine. "
                "Expensive endpoints such as search and bulk export cost more than one token. Every response "
                "carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers so your "
                "client can see how close it is to the ceiling.",
            ),
            faq=(
                ("Are limits per key or per account?",
                 "Per {workspace}. Creating more keys does not raise your allowance."),
                ("Do failed requests count?",
                 "Yes. Requests rejected with 4xx errors still consume tokens, so fix authentication errors "
                 "before they eat into your budget."),
            ),
        ),
        Topic(
            key="webhooks",
            category="integrations",
            tags=("webhooks", "events"),
            intros=(
                "Webhooks push events from {brand} to your own systems as they happen, so you don't have "
                "to poll the API. Each event is an HTTPS POST with a JSON body to a URL you choose.",
                "Event notifications (webhooks) are the fastest way to react to changes in your {data_noun}. "
                "Reliable receivers share a few habits: they verify signatures, answer quickly and tolerate "
                "duplicates.",
                "If you build an integration on top of {brand}, sooner or later you will debug a webhook. "
                "This article covers one of the problems we see most often in support tickets.",
            ),
            background=(
                "## Delivery guarantees\n\nWe deliver each event at least once. If your endpoint does not "
                "answer with a 2xx status within 10 seconds we retry with exponential backoff for up to "
                "three "
                "days — after 1 minute, 5 minutes, 30 minutes, 2 hours and then every 6 hours. Events can "
                "arrive out of order, so use the created timestamp and the resource's version rather than "
                "arrival order. The delivery log under {developer_path} → Webhooks shows every attempt with "
                "its status code and response time.",
            ),
            before=(
                "Your endpoint must be reachable over HTTPS with a certificate from a public authority.",
                "Keep the signing secret for each endpoint in your secret manager, not in source code.",
                "Use the Send test event button to check connectivity before relying on real traffic.",
            ),
            faq=(
                ("Can I receive webhooks on localhost?",
                 "Not directly. Run `{cli} listen --forward-to localhost:8080/hooks` to tunnel events to "
                 "your "
                 "machine while developing."),
                ("Is there a limit on endpoints?",
                 "You can register up to 16 endpoints per {workspace}, each subscribed to any set of event "
                 "types."),
            ),
        ),
        Topic(
            key="export",
            category="data",
            tags=("export", "data"),
            intros=(
                "Your data belongs to you. {brand} lets you download your {data_noun} at any time, in "
                "{export_formats}, from the dashboard, the CLI or the API.",
                "Exports are useful for reporting, audits, migrations and for keeping an independent copy "
                "of your records. This article explains one part of the export feature.",
            ),
            background=(
                "## How exports run\n\nAn export is an asynchronous job. When you request one we snapshot "
                "the "
                "data as of that moment, write it in parallel to compressed files, and email a download link "
                "to the person who asked for it. Links expire after seven days. Jobs are queued per "
                "{workspace}, so a very large export can delay the next one.",
            ),
            faq=(
                ("Is there an extra charge for exports?",
                 "No. Exports are included on every plan, though very large ones are rate limited."),
                ("Can I export only part of my data?",
                 "Yes. Filter by date range, owner or tag before starting the export, or pass --filter to "
                 "`{cli} export create`."),
            ),
        ),
        Topic(
            key="billing",
            category="billing",
            tags=("billing", "invoices"),
            intros=(
                "Everything to do with paying for {brand} lives under {billing_path}. Only members with the "
                "{admin_role} or Billing Manager role can see it.",
                "Our finance team gets a lot of questions about invoices and charges. This article answers "
                "one of the most common ones.",
                "Subscriptions are billed in advance, monthly or yearly, to a card or — on annual {plan_top} "
                "contracts — by bank transfer against an invoice.",
            ),
            background=(
                "## How billing works\n\nYour subscription renews on the same day each month or year. Adding "
                "seats or upgrading mid-cycle creates a prorated charge on the next invoice; removing seats "
                "creates a credit. Invoices are issued in the currency you chose at sign-up and can't be "
                "switched later without creating a new subscription.",
            ),
            faq=(
                ("Which payment methods do you accept?",
                 "Visa, Mastercard and American Express on all plans; SEPA direct debit and bank transfer on "
                 "annual plans."),
                ("Can I get invoices in another currency?",
                 "We bill in USD, EUR or GBP. Contact {support_email} before your renewal date to switch."),
            ),
        ),
        Topic(
            key="pricing",
            category="plans",
            tags=("pricing", "plans"),
            intros=(
                "{brand} comes in three plans — {plan_free}, {plan_mid} and {plan_top} — so small teams and "
                "large companies both pay for what they actually use.",
                "Choosing a plan is mostly about team size, the controls your security team expects, and how "
                "quickly you need help when something goes wrong.",
            ),
            faq=(
                ("Do you offer discounts for non-profits or schools?",
                 "Yes — 30% off {plan_mid} for registered non-profits and accredited educational "
                 "institutions. "
                 "Send proof of status to {support_email}."),
                ("Is there a long-term contract?",
                 "Monthly plans can be cancelled any time. Annual plans are paid up front and give you "
                 "roughly "
                 "two months free."),
            ),
        ),
        Topic(
            key="mobile",
            category="mobile",
            tags=("mobile", "ios", "android"),
            intros=(
                "{mobile_app} is available for iOS 16 and later and Android 10 and later. Most problems on "
                "phones and tablets are fixed by updating the app, but some need a closer look.",
                "The {mobile_app} app keeps a local copy of recent data so it stays usable on patchy "
                "connections. That convenience occasionally causes confusing behaviour, described below.",
                "If {mobile_app} misbehaves on your phone, work through this guide before reinstalling — "
                "reinstalling deletes anything that hasn't synced yet.",
            ),
            background=(
                "## Collecting diagnostics\n\nIn the app, open Settings → About and tap the version number "
                "five times to reveal Send diagnostics. This uploads the last 24 hours of app logs, with "
                "your content removed, and gives you a reference code to quote to support.",
            ),
            faq=(
                ("Which app version am I running?",
                 "Open Settings → About in the app. We support the three most recent releases."),
                ("Does the app work on tablets?",
                 "Yes, on iPad and Android tablets, with a two-column layout in landscape."),
            ),
        ),
        Topic(
            key="privacy",
            category="privacy",
            tags=("privacy", "gdpr"),
            intros=(
                "We process personal data in line with the GDPR, the UK GDPR and the CCPA. This article "
                "explains how you, or your users, can exercise their rights.",
                "Privacy questions usually come from two directions: people who want to know what we hold "
                "about them, and administrators who need to satisfy their own customers' requests.",
            ),
            faq=(
                ("Who is the data controller?",
                 "For data your {workspace} puts into {brand}, you are the controller and we are the "
                 "processor. "
                 "For your own account details, {company} is the controller."),
                ("How do I contact your data protection officer?",
                 "Email {privacy_email}. We reply within five working days."),
            ),
        ),
        Topic(
            key="storage",
            category="storage",
            tags=("storage", "buckets"),
            intros=(
                "{brand} Object Storage keeps your files in buckets that you can reach from the console, "
                "the S3-compatible API or `{cli}`.",
                "Buckets grow quietly until they hit a limit. This guide explains how space is counted and "
                "what to do when uploads start failing.",
                "Object Storage is S3-compatible, so most tools that speak the S3 protocol work unchanged; "
                "the differences that matter are described here.",
            ),
            background=(
                "## How usage is measured\n\nWe sample the size of every bucket once an hour and bill on the "
                "daily average. Usage includes current objects, non-current versions, incomplete multipart "
                "uploads and objects in the recycle bin. Replicated copies in {region_b} count separately.",
            ),
            faq=(
                ("Is there a per-object size limit?",
                 "A single object can be up to 5 TB; anything over 100 MB should use multipart upload."),
                ("Can I change a bucket's region?",
                 "No. Create a bucket in the new region and copy objects with `{cli} storage sync`."),
            ),
        ),
        Topic(
            key="backup",
            category="backup",
            tags=("backup", "restore"),
            intros=(
                "Acme Vault takes automatic snapshots of your buckets and volumes, so you can roll back "
                "mistakes, ransomware damage or a bad deployment.",
                "Backups only matter on the day you need to restore. This article helps you get data back "
                "quickly and understand the limits of what can be recovered.",
            ),
            background=(
                "## Snapshots and tiers\n\nSnapshots are incremental and stored in a different region from "
                "the "
                "source. Recent snapshots stay on the hot tier and restore in minutes; snapshots older than "
                "{retention_days} days move to the archive tier, where a restore first has to be rehydrated.",
            ),
            faq=(
                ("Are backups encrypted?",
                 "Yes, with AES-256 at rest, using per-organization keys held in our KMS."),
                ("Can I download a snapshot?",
                 "Yes. Restore it to a new bucket and download from there, or use `{cli} vault export`."),
            ),
        ),
        Topic(
            key="sync",
            category="sync",
            tags=("sync", "desktop"),
            intros=(
                "The {mobile_app} desktop client mirrors folders between your computer and the cloud. "
                "When it falls behind, the tray icon tells you something is wrong.",
                "Sync problems are almost always local: a file the client cannot read, a full disk or a "
                "network that blocks long-lived connections.",
            ),
            background=(
                "## Where the client keeps its state\n\nThe desktop client stores its database and logs in "
                "~/Library/Application Support/AcmeDrive on macOS and %LOCALAPPDATA%\\AcmeDrive on Windows. "
                "The sync.log file records every upload, download and skipped file.",
            ),
        ),
        Topic(
            key="payments",
            category="payments",
            tags=("payments", "cards"),
            intros=(
                "Globex Payments processes card and wallet payments for your online checkout, invoices and "
                "in-person sales, and pays the proceeds out to your bank account.",
                "When money doesn't move the way you expect, the payment's timeline in {console} usually "
                "explains why. This article covers one common case.",
            ),
            background=(
                "## Life of a payment\n\nA payment is authorised by the card issuer, captured by us, and "
                "settled into your Globex balance. Settled funds are grouped into a payout and sent to your "
                "bank on your payout schedule. Refunds and disputes are deducted from the balance before the "
                "next payout is calculated.",
            ),
            faq=(
                ("Which cards do you support?",
                 "Visa, Mastercard, American Express, Discover and the major wallets, including Apple Pay "
                 "and "
                 "Google Pay."),
                ("What are your processing fees?",
                 "They depend on your plan; {plan_top} merchants get interchange-plus pricing."),
            ),
        ),
        Topic(
            key="invoicing",
            category="invoicing",
            tags=("invoicing",),
            intros=(
                "Globex Invoicing lets you send professional invoices that customers can pay online by card "
                "or bank transfer.",
                "Invoices are legal documents in most countries, so some things can be changed freely and "
                "others only with a credit note. This article explains one part of the workflow.",
            ),
        ),
        Topic(
            key="pos",
            category="point-of-sale",
            tags=("pos", "hardware"),
            intros=(
                "Globex POS turns a tablet and a Globex card reader into a checkout counter. The reader "
                "talks to the tablet over Bluetooth and to us over Wi-Fi or Ethernet.",
                "In-store hardware problems usually come down to power, pairing or the network. Start with "
                "the basics below before ordering a replacement.",
            ),
        ),
        Topic(
            key="timesheets",
            category="time-tracking",
            tags=("timesheets",),
            intros=(
                "Employees record their hours in {brand} by clocking in and out on the {mobile_app} app, a "
                "kiosk, or by filling in a weekly timesheet.",
                "Accurate timesheets are the foundation of correct pay. Managers review them every pay "
                "period before they are locked and exported.",
            ),
        ),
        Topic(
            key="scheduling",
            category="scheduling",
            tags=("scheduling", "shifts"),
            intros=(
                "The scheduler lets managers build rotas, publish them to employees' phones and handle "
                "swaps and cover requests.",
                "Shift planning in {brand} works week by week: draft, publish, then adjust as people swap "
                "or call in sick.",
            ),
        ),
        Topic(
            key="payroll",
            category="payroll",
            tags=("payroll",),
            intros=(
                "{brand} does not run payroll itself. It calculates approved hours, overtime and leave, then "
                "hands them to your payroll provider.",
                "The payroll export is where mistakes become expensive, so it's worth understanding exactly "
                "what it contains.",
            ),
        ),
    )
}


SITUATIONS: tuple[Situation, ...] = (
    # -- Single sign-on -------------------------------------------------------
    Situation(
        topic="sso",
        key="saml-clock-skew",
        titles=(
            "Login failures with SAML: 'Assertion is not yet valid'",
            "SAML sign-in rejected because of clock drift",
            "Why some SSO users get an expired assertion error",
        ),
        summary="People in your {workspace} are redirected to the identity provider, authenticate "
        "successfully, and then land on an error page instead of {console}. The failure is intermittent "
        "and often hits only some people, or only at certain times of day.",
        symptoms=(
            "Sign-in works for a few colleagues but not for others.",
            "Retrying a minute later sometimes succeeds.",
            "The browser stops on the /sso/acs page with a red banner.",
        ),
        errors=(
            "SAML_ASSERTION_NOT_YET_VALID: NotBefore condition is in the future",
            "SAML_ASSERTION_EXPIRED: NotOnOrAfter 2026-02-11T10:04:31Z has passed",
        ),
        cause="Every SAML assertion carries a validity window defined by its NotBefore and NotOnOrAfter "
        "attributes. We allow three minutes of clock skew. If the server that hosts your identity provider "
        "— typically an on-premises ADFS farm — drifts further than that, assertions arrive either "
        "'from the future' or already expired.",
        steps=(
            "Compare the time on your identity provider hosts with a reliable NTP source, for example "
            "`w32tm /query /status` on Windows or `chronyc tracking` on Linux.",
            "Resynchronise the clocks and make sure the time service starts automatically after a reboot.",
            "If several ADFS servers sit behind a load balancer, check every node — a single drifting node "
            "explains failures that come and go.",
            "Ask an affected colleague to sign in again from a private browser window.",
        ),
        verify="Open {security_path} → SSO → Recent sign-in attempts. Successful attempts show a green "
        "tick and the clock offset we measured, which should now be a few seconds at most.",
        tags=("saml", "adfs", "clock-skew"),
    ),
    Situation(
        topic="sso",
        key="saml-certificate-rotation",
        titles=(
            "SSO stopped working after the identity provider certificate was renewed",
            "Updating the SAML signing certificate",
            "Everyone is locked out after an IdP certificate change",
        ),
        summary="All SSO logins started failing at the same moment, right after someone renewed or "
        "rotated the signing certificate in your identity provider.",
        symptoms=(
            "Every user is affected, not just a few.",
            "The failures began at a precise time that matches a change in your IdP.",
            "Administrators with a break-glass password can still get in.",
        ),
        errors=(
            "SAML_SIGNATURE_INVALID: response signature does not match any configured certificate",
            "403 Forbidden: unable to verify the identity provider's signature",
        ),
        cause="We pin the X.509 certificate your identity provider uses to sign SAML responses. When the "
        "IdP starts signing with a new certificate, we reject its responses until the new certificate is "
        "uploaded on our side too. Okta and Entra ID both rotate certificates on a schedule unless you pin "
        "one yourself.",
        steps=(
            "Sign in with a break-glass administrator account that is exempt from SSO enforcement.",
            "In your identity provider, download the new signing certificate in PEM or Base64 format, or "
            "copy the federation metadata URL.",
            "In {console}, go to {security_path} → SSO and choose Edit connection.",
            "Paste the new certificate into Additional signing certificate. Keep the old one in place until "
            "the rotation is complete; we accept either during the overlap.",
            "Save, then press Test connection before telling people to retry.",
            "Once everyone can sign in again, remove the old certificate.",
        ),
        verify="The connection page lists the SHA-256 fingerprint and expiry date of each active "
        "certificate. Check that the new fingerprint matches the one your IdP shows.",
        tags=("saml", "certificate", "okta", "entra-id"),
    ),
    Situation(
        topic="sso",
        key="oidc-redirect-mismatch",
        titles=(
            "OIDC login fails with redirect_uri_mismatch",
            "OpenID Connect: 'The redirect URI is not registered'",
            "Fixing callback URL errors when setting up OpenID Connect",
        ),
        summary="You are setting up an OpenID Connect connection and the identity provider refuses to "
        "send people back to {brand} after they authenticate.",
        symptoms=(
            "The error page belongs to your identity provider, not to {brand}.",
            "It happens to every user, straight after clicking Continue with SSO.",
        ),
        errors=(
            "error=redirect_uri_mismatch",
            "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs "
            "configured for the application.",
        ),
        cause="OIDC providers only return authorization codes to callback URLs they already know, and "
        "they compare them character by character. A trailing slash, http instead of https, or a regional "
        "hostname is enough to cause a mismatch.",
        steps=(
            "In {console}, open {security_path} → SSO and copy the Callback URL exactly as shown; for most "
            "{workspace}s it is https://{api_host}/oauth/callback.",
            "In your identity provider's application settings, add that URL to the allowed redirect URIs, "
            "without a trailing slash.",
            "If you use a custom login domain, register both the custom domain and the default callback.",
            "Check that the client ID and client secret saved in {brand} belong to the application you "
            "just edited.",
            "Retry from a private window so the browser doesn't reuse a cached redirect.",
        ),
        verify="A successful test shows the claims we received — sub, email and name — under Test "
        "connection. If email is missing, add the email scope to the application.",
        tags=("oidc", "oauth", "entra-id"),
    ),
    Situation(
        topic="sso",
        key="user-not-provisioned",
        titles=(
            "'Your account has not been provisioned' after signing in with SSO",
            "New starters can't get into {brand} through single sign-on",
            "Just-in-time provisioning and SCIM: why a user is missing",
        ),
        summary="A colleague authenticates with your identity provider, but {brand} says they don't "
        "have an account, even though teammates in the same group sign in without trouble.",
        symptoms=(
            "Only recently hired people, or people who changed their name, are affected.",
            "The user appears in your directory but not under Members in {console}.",
        ),
        errors=(
            "USER_NOT_PROVISIONED: no member with email dana.lee@example.com in this {workspace}",
            "Access denied — ask your administrator to invite you",
        ),
        cause="Accounts are created in one of three ways: manual invitation, just-in-time (JIT) "
        "provisioning on first SSO login, or SCIM sync from your directory. If JIT is switched off and the "
        "person isn't assigned to the {brand} app in your IdP, or SCIM hasn't synced yet, there is no "
        "account to sign into. An email claim that differs from the invited address produces the same error.",
        steps=(
            "Check that the person is assigned to the {brand} application in your identity provider, "
            "directly or through a group.",
            "If you use SCIM, trigger a manual push from the IdP, wait a minute, then look for the user "
            "under Members.",
            "If you rely on JIT provisioning, confirm it is enabled in {security_path} → SSO → Provisioning.",
            "Compare the NameID or email claim in the assertion with the address on the pending invitation; "
            "aliases such as dana@ versus dana.lee@ are the usual culprit.",
            "As a stopgap, invite the person manually from Members → Invite.",
        ),
        tags=("scim", "provisioning", "jit"),
    ),
    Situation(
        topic="sso",
        key="mfa-redirect-loop",
        titles=(
            "Stuck in a loop between the login page and the two-factor prompt",
            "Redirect loop when signing in with multi-factor authentication",
            "Sign-in keeps asking for my verification code",
        ),
        summary="After you type a one-time code the browser returns to the login page, which asks for "
        "the code again, over and over.",
        symptoms=(
            "The address bar flickers between two URLs.",
            "It happens in one browser but not in another.",
            "Codes from your authenticator app are sometimes rejected as invalid.",
        ),
        errors=("ERR_TOO_MANY_REDIRECTS", "Session cookie missing after MFA challenge"),
        cause="The cookie that records a completed second factor is being blocked. Strict cookie "
        "settings, privacy extensions, or a corporate proxy that strips Set-Cookie headers are the usual "
        "reasons. A phone clock that is a few minutes off also invalidates time-based codes, which looks "
        "similar.",
        steps=(
            "Allow cookies for the {brand} domain in your browser's privacy settings, or add it to your "
            "extension's allow list.",
            "Close every {brand} tab, clear site data for the domain, and sign in again.",
            "Set your phone's date and time to update automatically; authenticator codes depend on it.",
            "If you're behind a corporate proxy, ask IT whether it rewrites cookies, and try another "
            "network.",
            "Try a second browser to confirm the problem is local to the first one.",
        ),
        tags=("mfa", "2fa", "cookies"),
        tenants=AG,
    ),
    Situation(
        topic="sso",
        key="sso-enforcement-lockout",
        titles=(
            "Recovering admin access after enforcing SSO",
            "Locked out after switching on 'Require SSO'",
            "Break-glass accounts and SSO enforcement",
        ),
        summary="You enabled SSO enforcement and now nobody — administrators included — can get in, "
        "because the identity provider connection has a problem.",
        cause="Once SSO is required, password sign-in is disabled for everyone who isn't on the exemption "
        "list. If the connection is misconfigured, enforcement locks out the whole {workspace}.",
        steps=(
            "If you set up a break-glass account, use the Sign in with password link on the login page; it "
            "is honoured only for exempt accounts.",
            "Otherwise email {support_email} from an address that belongs to an {admin_role}. To protect "
            "you, "
            "we confirm the request with a second owner or a signed letter before lifting enforcement.",
            "Once you're back in, fix the connection and press Test connection before enforcing again.",
            "Add at least two break-glass accounts, protected by hardware security keys, to the exemption "
            "list.",
        ),
        verify="Under {security_path} → SSO, the Enforcement card shows who is exempt. Review it every "
        "quarter as administrators come and go.",
        tags=("lockout", "break-glass"),
        tenants=AG,
    ),
    # -- Account access ------------------------------------------------------
    Situation(
        topic="account",
        key="password-reset",
        titles=(
            "Reset a forgotten password",
            "I can't log in — how do I reset my password?",
            "Password reset email never arrives",
        ),
        summary="You've forgotten your password, or the reset email you requested hasn't shown up in "
        "your inbox.",
        symptoms=(
            "The login page says the email or password is incorrect.",
            "You requested a reset link but nothing arrived after ten minutes.",
        ),
        errors=("This reset link has expired or has already been used.",),
        cause="Reset links are valid for 30 minutes and can be used once. Company mail filters "
        "sometimes quarantine them because they contain a sign-in link, and if your {workspace} uses SSO "
        "we don't send resets at all — the password lives with your identity provider.",
        steps=(
            "On the sign-in page choose Forgot password and enter the address you use to log in.",
            "Check spam, junk and any quarantine folder for a message from no-reply@{tenant}.example.",
            "Ask your IT team to allowlist no-reply@{tenant}.example if messages are being held.",
            "Open the newest link only; requesting another reset invalidates the earlier ones.",
            "Choose a password of at least 12 characters that you don't use anywhere else.",
        ),
        tags=("password", "reset"),
    ),
    Situation(
        topic="account",
        key="account-locked",
        titles=(
            "Account locked after too many attempts",
            "Why am I temporarily blocked from signing in?",
            "Unlocking a member who is locked out",
        ),
        summary="After several wrong passwords, sign-in is refused even when you type the right one.",
        errors=("ACCOUNT_LOCKED: too many failed sign-in attempts. Try again in 15 minutes.",),
        cause="Ten failed attempts within 15 minutes lock the account for 15 minutes. This slows down "
        "password-guessing attacks. Password managers filling an old password, or a script using stale "
        "credentials, can trigger the lock without anyone noticing.",
        steps=(
            "Wait 15 minutes; the lock lifts automatically.",
            "If you're unsure of the password, use Forgot password instead of guessing again.",
            "Administrators can unlock a member immediately from Members → the member → Unlock.",
            "Check the audit log for repeated failures from unfamiliar IP addresses; if you see them, "
            "reset the password and turn on two-factor authentication.",
        ),
        tags=("lockout", "security"),
    ),
    Situation(
        topic="account",
        key="lost-2fa-device",
        titles=(
            "Lost the phone with my authenticator app",
            "Recovering access without your two-factor device",
            "How to use two-factor recovery codes",
        ),
        summary="Your phone was lost, replaced or wiped and you can no longer produce the verification "
        "code that {brand} asks for after your password.",
        cause="Two-factor authentication is designed so that a password alone isn't enough. Without the "
        "second factor you need either a recovery code or someone with authority to vouch for you.",
        steps=(
            "On the verification screen choose Use a recovery code and enter one of the ten codes you "
            "saved when you enabled two-factor authentication. Each code works once.",
            "Once inside, go to Profile → Security, remove the lost device and enrol the new one.",
            "Without recovery codes, ask an {admin_role} to reset your second factor from Members.",
            "If you are the only administrator, contact {support_email}. We verify your identity with a "
            "video call and a check of your billing details, which takes one to two business days.",
        ),
        tags=("mfa", "2fa", "recovery"),
        howto=True,
    ),
    Situation(
        topic="account",
        key="change-email",
        titles=(
            "Change the email address on your account",
            "Updating your login email",
            "Moving my account to a new email domain",
        ),
        summary="You want to sign in with a different address — perhaps your company changed its name "
        "or you used a personal address by mistake.",
        steps=(
            "Go to Profile → Account and choose Change email.",
            "Enter the new address and your current password.",
            "Click the confirmation link we send to the new address within 24 hours.",
            "Until you confirm, keep using the old address to sign in.",
            "If your whole company is moving domains, an {admin_role} can verify the new domain under "
            "{security_path} → Domains and update everyone at once.",
        ),
        verify="Your profile shows the new address, and a notice is sent to the old one in case the "
        "change wasn't made by you.",
        tags=("email", "profile"),
        tenants=AG,
    ),
    Situation(
        topic="account",
        key="session-timeout",
        titles=(
            "Why do I keep getting signed out?",
            "Sessions expire too quickly",
            "Logged out unexpectedly in the middle of work",
        ),
        summary="You're asked to sign in again several times a day, sometimes while in the middle of a task.",
        symptoms=(
            "You get signed out after lunch or after a meeting.",
            "Switching between office Wi-Fi and VPN logs you out.",
        ),
        cause="Administrators set an idle timeout — 12 hours by default, and as short as 15 minutes on "
        "{plan_top} — under {security_path} → Sessions. If IP binding is enabled, a change of network "
        "address also ends the session. Clearing cookies on browser exit has the same effect.",
        steps=(
            "Ask your administrator what idle timeout is configured for your {workspace}.",
            "If you move between networks often, ask whether IP binding is really required.",
            "Make sure your browser isn't set to delete cookies when it closes.",
            "Keep a single tab open; we refresh the session while it's active.",
        ),
        tags=("session", "timeout"),
        tenants=AG,
    ),
    # -- API keys ---------------------------------------------------------------
    Situation(
        topic="api_keys",
        key="create-key",
        titles=(
            "Create an API key with the right scopes",
            "Generating credentials for the API",
            "Getting started: your first API token",
        ),
        summary="This guide shows how to create a key for a new integration and give it only the "
        "permissions it needs.",
        steps=(
            "Go to {developer_path} and choose Create key.",
            "Name the key after the system that will use it, for example reporting-etl-prod.",
            "Select the narrowest scopes that work. A reporting job needs read access only.",
            "Optionally restrict the key to your servers' IP ranges and set an expiry date.",
            "Copy the key immediately — it is shown once — and store it in your secret manager.",
            "Test it with `curl -H \"Authorization: Bearer $API_KEY\" https://{api_host}/v1/me`.",
        ),
        verify="The /v1/me response lists the key's name and scopes. The key also appears under "
        "{developer_path} with a Last used time.",
        tags=("scopes", "getting-started"),
    ),
    Situation(
        topic="api_keys",
        key="rotate-key",
        titles=(
            "Rotate an API key without downtime",
            "Replacing API credentials safely",
            "How often should I change my API keys?",
        ),
        summary="Your security policy requires regular credential rotation, or a developer with access "
        "to a key has left. You want to replace the key without breaking the integration.",
        cause="Because each {workspace} can hold several active keys, you can run old and new "
        "credentials side by side and switch over gradually instead of revoking first.",
        steps=(
            "Create a new key with the same scopes as the old one.",
            "Deploy the new key to every system that uses the old one. Update CI variables and secret "
            "manager entries, not just the main application.",
            "Watch the Last used column of the old key. When it hasn't been used for 24 hours, nothing "
            "depends on it any more.",
            "Revoke the old key. Revocation takes effect within 60 seconds worldwide.",
            "Record the rotation date so the next one isn't forgotten; 90 days is a sensible default.",
        ),
        code="{cli} keys create --name reporting-etl-2026q2 --scopes reports:read,exports:read\n"
        "{cli} keys list --show-last-used\n"
        "{cli} keys revoke key_01HV3Z8Q6M",
        tags=("rotation", "security"),
        howto=True,
    ),
    Situation(
        topic="api_keys",
        key="leaked-key",
        titles=(
            "What to do if an API key was exposed",
            "Accidentally committed a secret to GitHub",
            "Revoke a compromised API token",
        ),
        summary="A live key has been pasted into a public repository, a support ticket, a chat channel "
        "or a screenshot. Assume someone else has it.",
        symptoms=(
            "You received an email from us saying a key was found by secret scanning.",
            "The audit log shows requests from IP addresses you don't recognise.",
        ),
        cause="We take part in GitHub secret scanning, so keys starting with {key_prefix} pushed to a "
        "public repository are reported to us within minutes and we notify your administrators. Deleting "
        "the commit does not make the key safe again; it may already have been copied.",
        steps=(
            "Revoke the exposed key immediately under {developer_path}. Do this before anything else.",
            "Create a replacement key and deploy it.",
            "Review the audit log for the revoked key's activity since the exposure, and export it.",
            "Rewrite the repository history or rotate any other secrets that were in the same file.",
            "Tell {security_email} if the audit log shows activity you can't explain.",
        ),
        tags=("security", "leak", "secret-scanning"),
    ),
    Situation(
        topic="api_keys",
        key="unauthorized-401",
        titles=(
            "API returns 401 Unauthorized",
            "'invalid_api_key' errors from the API",
            "Authentication errors when calling the REST API",
        ),
        summary="Every call your integration makes is rejected with HTTP 401, even though the key looks "
        "correct.",
        errors=(
            '{"error": {"code": "invalid_api_key", "message": "The API key provided is not valid."}}',
            '{"error": {"code": "missing_authorization", "message": "No Authorization header was sent."}}',
        ),
        cause="The common reasons are a test key used against live data (or the reverse), a key that was "
        "revoked or has expired, stray whitespace or a newline copied with the key, and an Authorization "
        "header without the Bearer prefix. Some HTTP clients also drop the header on redirects.",
        steps=(
            "Check the key's prefix: live keys start with {key_prefix}.",
            "Make sure the header reads exactly `Authorization: Bearer <key>`.",
            "Strip whitespace when reading the key from environment variables or files.",
            "Look the key up under {developer_path}; revoked and expired keys are greyed out.",
            "Call https://{api_host}/v1/me directly with curl to rule out your client library.",
        ),
        tags=("401", "authentication", "errors"),
    ),
    Situation(
        topic="api_keys",
        key="forbidden-403-scope",
        titles=(
            "403 Forbidden: key lacks the required scope",
            "Permission errors even with a valid API key",
        ),
        summary="Some API calls succeed but others fail with 403, typically writes or calls to a "
        "resource you haven't used before.",
        errors=('{"error": {"code": "insufficient_scope", "required": "write", "granted": ["read"]}}',),
        cause="Scopes are checked per resource and per action. A key with read access to one resource "
        "has no access at all to the others, and IP-restricted keys answer 403 when called from outside "
        "the allowed ranges.",
        steps=(
            "Read the required field in the error body; it names the scope that was missing.",
            "Edit the key under {developer_path} and add that scope. Changes apply within a minute.",
            "If the key is IP-restricted, check the source address your server actually uses; NAT "
            "gateways and proxies change it.",
            "Prefer separate keys for separate jobs rather than one key with every scope.",
        ),
        tags=("403", "scopes", "errors"),
        tenants=AG,
    ),
    # -- Rate limits --------------------------------------------------------------
    Situation(
        topic="rate_limits",
        key="handling-429",
        titles=(
            "Handling 429 Too Many Requests",
            "The API is throttling my requests",
            "Retry-After and exponential backoff",
        ),
        summary="Your integration is receiving HTTP 429 responses, usually during nightly syncs or "
        "backfills.",
        errors=('HTTP/1.1 429 Too Many Requests\nRetry-After: 7\nX-RateLimit-Remaining: 0',),
        cause="You have used up the {workspace}'s allowance of {rate_limit}. Parallel workers sharing one "
        "allowance are the most common reason; each worker thinks it is within the limit but together "
        "they are not.",
        steps=(
            "Honour the Retry-After header: wait that many seconds before trying again.",
            "Without the header, back off exponentially — 1, 2, 4, 8 seconds — and add random jitter so "
            "workers don't retry in lockstep.",
            "Cap concurrency: a shared token bucket or a small worker pool is better than unbounded threads.",
            "Use bulk and list endpoints with the maximum page size instead of fetching items one by one.",
        ),
        code="import random\nimport time\n\n\ndef call_with_backoff(session, url, attempts=6):\n"
        "    for attempt in range(attempts):\n        resp = session.get(url, timeout=30)\n"
        "        if resp.status_code != 429:\n            return resp\n"
        "        wait = float(resp.headers.get(\"Retry-After\", 2 ** attempt))\n"
        "        time.sleep(wait + random.uniform(0, 1))\n    resp.raise_for_status()",
        tags=("429", "backoff", "throttling"),
    ),
    Situation(
        topic="rate_limits",
        key="limits-by-plan",
        titles=(
            "API rate limits by plan",
            "How many requests can I make?",
            "Request quotas explained",
        ),
        summary="This page lists the request allowances that apply on each plan and the endpoints that "
        "cost more than one request.",
        steps=(
            "{plan_free}: one tenth of the standard allowance, for evaluation and small scripts.",
            "{plan_mid}: the standard allowance of {rate_limit}.",
            "{plan_top}: five times the standard allowance, and higher limits on request.",
            "Search, export and report endpoints cost 5 tokens per call on every plan.",
            "Webhook deliveries and calls to /v1/me are free and never throttled.",
        ),
        verify="Your current usage is charted under {developer_path} → Usage, with the hour of peak "
        "traffic highlighted.",
        tags=("quotas", "plans"),
        tenants=AG,
    ),
    Situation(
        topic="rate_limits",
        key="raise-limit",
        titles=(
            "Request a higher rate limit",
            "Increasing API throughput for bulk jobs",
        ),
        summary="You are planning a migration or a large backfill and expect to need more throughput "
        "than your plan allows.",
        steps=(
            "Check whether a bulk endpoint fits; a single bulk call can replace hundreds of small ones.",
            "Estimate the peak requests per second and how long the job will run.",
            "Email {support_email} at least three business days beforehand with the estimate, the endpoints "
            "and the API key name.",
            "We raise the limit temporarily for the window you ask for, and tell you when it reverts.",
        ),
        tags=("quotas", "migration"),
        tenants=AG,
    ),
    # -- Webhooks -------------------------------------------------------------------
    Situation(
        topic="webhooks",
        key="verify-signature",
        titles=(
            "Verify webhook signatures",
            "Checking that webhook events really came from {company}",
            "HMAC signature validation for event notifications",
        ),
        summary="Anyone who learns your endpoint URL can send it fake events. Verifying the signature on "
        "every request proves it came from us and wasn't modified in transit.",
        errors=("signature mismatch: expected v1=5f2b... got v1=9ac0...",),
        cause="Each request carries a {sig_header} header of the form t=<timestamp>,v1=<hex>. The v1 "
        "value is an HMAC-SHA256 of the timestamp, a dot and the raw request body, keyed with the "
        "endpoint's signing secret. Verification fails if you parse and re-serialise the JSON before "
        "hashing, because whitespace and key order change.",
        steps=(
            "Read the raw request body as bytes before any JSON parsing.",
            "Split the {sig_header} header into its t and v1 parts.",
            "Compute the HMAC over the timestamp, a dot and the raw body with your signing secret.",
            "Compare with a constant-time function, and reject timestamps older than five minutes to stop "
            "replay attacks.",
        ),
        code="import hashlib\nimport hmac\nimport time\n\n\n"
        "def verify(raw_body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:\n"
        "    parts = dict(item.split(\"=\", 1) for item in header.split(\",\"))\n"
        "    signed = parts[\"t\"].encode() + b\".\" + raw_body\n"
        "    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()\n"
        "    fresh = abs(time.time() - int(parts[\"t\"])) < tolerance\n"
        "    return fresh and hmac.compare_digest(expected, parts[\"v1\"])",
        tags=("hmac", "signature", "security"),
    ),
    Situation(
        topic="webhooks",
        key="endpoint-disabled",
        titles=(
            "Webhook endpoint was automatically disabled",
            "Why did you stop sending events to my URL?",
            "Re-enabling a failing webhook",
        ),
        summary="Events stopped arriving, and the endpoint shows as Disabled in the dashboard.",
        symptoms=(
            "Administrators received an email titled 'Webhook endpoint disabled'.",
            "The delivery log shows a long run of failed attempts before the endpoint was switched off.",
        ),
        errors=("endpoint disabled after 72h of consecutive delivery failures (last status: 502)",),
        cause="If every delivery to an endpoint fails for three days we disable it, so we don't keep "
        "hammering a dead server. Expired TLS certificates, firewall changes and deployments that moved "
        "the route are the usual triggers.",
        steps=(
            "Open {developer_path} → Webhooks and look at the last few failed attempts and their response "
            "codes.",
            "Fix the underlying problem and confirm with Send test event.",
            "Choose Enable. New events flow immediately.",
            "Replay the events you missed from the delivery log, or with `{cli} events replay`.",
        ),
        tags=("delivery", "disabled"),
    ),
    Situation(
        topic="webhooks",
        key="duplicate-events",
        titles=(
            "Receiving the same webhook event twice",
            "Webhook retries and idempotency",
            "Duplicate notifications in my integration",
        ),
        summary="Your system processed the same event more than once, creating duplicate records or "
        "sending two emails.",
        cause="Delivery is at-least-once. If your endpoint times out or returns an error after it has "
        "already done the work, we deliver the event again. Network failures can also cause a retry after "
        "a response your server did send.",
        steps=(
            "Store the id of every event you process, with a unique constraint.",
            "Before processing, check whether the id was already handled; if so, answer 200 and stop.",
            "Make side effects idempotent where possible, for example upserts keyed on the resource id.",
            "Return 2xx as soon as the event is safely stored, then process it asynchronously.",
        ),
        tags=("idempotency", "retries"),
    ),
    Situation(
        topic="webhooks",
        key="delivery-timeouts",
        titles=(
            "Webhook deliveries time out",
            "Events show 'timed out after 10s' in the delivery log",
        ),
        summary="The delivery log reports timeouts although your server eventually processes the events.",
        errors=("delivery attempt 3 failed: timed out after 10000 ms",),
        cause="We wait 10 seconds for a response. Receivers that call other services, send emails or "
        "write large files before responding often exceed that under load, and each timeout causes a retry "
        "that adds even more load.",
        steps=(
            "Acknowledge first: put the event on a queue and return 200 straight away.",
            "Process the queue with a separate worker.",
            "Check that your load balancer's idle timeout isn't shorter than your handler's running time.",
            "Watch the response-time chart for the endpoint; p95 should be well below one second.",
        ),
        tags=("timeouts", "performance"),
        tenants=AG,
    ),
    Situation(
        topic="webhooks",
        key="replay-events",
        titles=(
            "Replay missed webhook events",
            "Recovering events after an outage on your side",
        ),
        summary="Your receiver was down for a few hours and you need the events it missed.",
        steps=(
            "Find the time range of the outage from your own monitoring.",
            "Open {developer_path} → Webhooks → the endpoint → Delivery log and filter to failed attempts.",
            "Select the events and choose Resend, or use the CLI for large ranges.",
            "Your idempotency handling will skip any events that were processed before the outage.",
        ),
        code="{cli} events replay --endpoint we_01HT9ZQ --since 2026-03-02T04:00:00Z "
        "--until 2026-03-02T09:30:00Z --only-failed",
        tags=("replay", "recovery"),
        tenants=("acme", "globex"),
    ),
    # -- Data export -------------------------------------------------------------------
    Situation(
        topic="export",
        key="export-how-to",
        titles=(
            "Export your data to CSV or JSON",
            "Downloading a copy of your {data_noun}",
            "Bulk data export",
        ),
        summary="You need a complete copy of your {data_noun} for reporting, an audit or a migration.",
        steps=(
            "In {console}, open Settings → Data → Export.",
            "Choose what to include and the format: {export_formats}.",
            "Optionally filter by date range.",
            "Press Start export. We email you a link when the files are ready.",
            "Download within seven days; after that the link expires and the files are deleted.",
        ),
        code="{cli} export create --format csv --since 2025-01-01 --wait\n{cli} export download exp_01HX2R7",
        tags=("csv", "json", "download"),
    ),
    Situation(
        topic="export",
        key="export-stuck",
        titles=(
            "Data export stuck at 'Preparing'",
            "My export never finishes",
            "Large exports take a very long time",
        ),
        summary="You started an export hours ago and the status still says Preparing or Queued.",
        symptoms=(
            "The progress bar hasn't moved for more than an hour.",
            "A second export you started is stuck behind the first one.",
        ),
        cause="Exports run one at a time per {workspace}. A full export of several years of history can "
        "take hours, and everything started after it waits in the queue. Exports that include attachments "
        "are much slower than metadata-only ones.",
        steps=(
            "Check the export list for an older job that is still running, and cancel it if you don't need "
            "it.",
            "Narrow the date range or leave out attachments to make the job smaller.",
            "For regular bulk extraction, switch to scheduled exports or the paginated list API.",
            "If a job has been Running without progress for more than 12 hours, send its ID to "
            "{support_email}.",
        ),
        tags=("performance", "queue"),
    ),
    Situation(
        topic="export",
        key="scheduled-export",
        titles=(
            "Schedule a recurring export to your own bucket",
            "Automating nightly data exports",
            "Send exports to Amazon S3 or Google Cloud Storage",
        ),
        summary="Rather than downloading exports by hand, you want a fresh copy delivered to your data "
        "warehouse's landing bucket every night.",
        steps=(
            "Create a bucket in your cloud account and an IAM role that {company} can assume, limited to "
            "s3:PutObject on that bucket.",
            "In {console}, go to Settings → Data → Scheduled exports and add a destination with the role "
            "ARN.",
            "Pick the datasets, the format and the time of day (UTC).",
            "Run the schedule once manually to confirm that files arrive.",
        ),
        verify="Each run writes a _SUCCESS marker next to the data files. Alert on a missing marker "
        "rather than on file counts.",
        tags=("s3", "automation", "warehouse"),
        tenants=AG,
    ),
    Situation(
        topic="export",
        key="export-encoding",
        titles=(
            "Exported CSV shows garbled characters in Excel",
            "Fixing accents and special characters in exports",
        ),
        summary="Names such as Zoë or Jürgen appear as ZoÃ« or JÃ¼rgen when you open an export.",
        cause="Exports are encoded as UTF-8. Older versions of Excel assume a regional encoding when you "
        "double-click a CSV file and decode the bytes wrongly; the data itself is correct.",
        steps=(
            "In Excel, use Data → From Text/CSV and choose 65001: Unicode (UTF-8) as the file origin.",
            "Alternatively tick Add byte order mark when creating the export, which Excel detects.",
            "In Google Sheets or LibreOffice, simply import the file; both default to UTF-8.",
        ),
        tags=("csv", "excel", "utf-8"),
        tenants=AG,
    ),
    # -- Billing ----------------------------------------------------------------------
    Situation(
        topic="billing",
        key="download-invoice",
        titles=(
            "Download past invoices and receipts",
            "Where can I find my invoice?",
            "Getting a PDF receipt for your accounting team",
        ),
        summary="Your finance team needs copies of invoices for bookkeeping or expense claims.",
        steps=(
            "Go to {billing_path} → Invoices.",
            "Each row shows the date, amount and status. Choose Download PDF for a single invoice.",
            "To download a year's worth, choose Export all and pick the date range.",
            "Paid invoices include a receipt page; unpaid ones include payment instructions.",
        ),
        verify="Invoice numbers are sequential per {workspace}, so gaps mean something is missing.",
        tags=("invoices", "receipts", "pdf"),
    ),
    Situation(
        topic="billing",
        key="card-declined",
        titles=(
            "Payment failed: card declined",
            "Your subscription payment didn't go through",
            "Updating an expired credit card",
        ),
        summary="We emailed you to say a subscription payment failed, or the dashboard shows a banner "
        "asking you to update your payment method.",
        errors=(
            "Your card was declined (insufficient_funds).",
            "Payment failed: card expired",
        ),
        cause="Banks decline charges for many reasons: an expired card, a spending limit, or a fraud "
        "rule that blocks foreign or recurring charges. We retry automatically on days 1, 3 and 7. If "
        "every retry fails, the {workspace} becomes read-only after 14 days and is suspended after 30.",
        steps=(
            "Go to {billing_path} → Payment method and add a new card or update the expiry date.",
            "Choose Retry payment to settle the outstanding invoice straight away.",
            "If the same card keeps failing, ask your bank to allow recurring charges from {company}.",
            "Annual customers can switch to paying by bank transfer; ask {support_email}.",
        ),
        tags=("payment-failed", "dunning", "credit-card"),
    ),
    Situation(
        topic="billing",
        key="vat-tax-id",
        titles=(
            "Add a VAT number or tax ID to invoices",
            "Invoices show the wrong tax",
            "Reverse charge for EU businesses",
        ),
        summary="Your invoices include VAT that your company shouldn't pay, or your accounts team needs "
        "your tax ID printed on them.",
        cause="Without a validated tax ID we must treat you as a consumer and charge local VAT or sales "
        "tax. With a valid EU VAT number outside our home country, the reverse-charge rule applies and "
        "the invoice shows 0% VAT.",
        steps=(
            "Go to {billing_path} → Billing details and enter the tax ID with its country prefix, for "
            "example DE123456789.",
            "We validate EU numbers against VIES; the status changes to Verified within a few minutes.",
            "Future invoices use the new details. We can't reissue past invoices for closed tax periods, "
            "but can issue a credit note for the current month.",
        ),
        tags=("vat", "tax"),
        tenants=AG,
    ),
    Situation(
        topic="billing",
        key="refund-request",
        titles=(
            "Requesting a refund",
            "I was charged twice this month",
            "Refund policy for annual plans",
        ),
        summary="You see a charge you didn't expect, or you'd like your money back after cancelling.",
        cause="Duplicate charges usually turn out to be a pending authorisation plus the real charge; the "
        "authorisation disappears within a few days. Genuine double charges are refunded in full. Annual "
        "plans cancelled within 30 days of purchase or renewal are refunded pro rata.",
        steps=(
            "Compare the charges with the invoices in {billing_path} → Invoices.",
            "If a charge has no matching invoice, wait three business days for the authorisation to drop "
            "off.",
            "To request a refund, email {support_email} with the invoice number and the reason.",
            "Refunds go back to the original payment method and take five to ten business days to appear.",
        ),
        tags=("refund", "charges"),
    ),
    Situation(
        topic="billing",
        key="billing-contact",
        titles=(
            "Send invoices to your finance team",
            "Change who receives billing emails",
        ),
        summary="Invoices go to the person who signed up, but they should go to accounts payable.",
        steps=(
            "Go to {billing_path} → Billing details.",
            "Add one or more addresses under Invoice recipients, such as ap@yourcompany.example.",
            "Add a purchase order number if your finance team needs it on every invoice.",
            "Recipients don't need a {brand} account; they receive PDFs by email.",
        ),
        tags=("invoices", "contacts"),
        tenants=AG,
    ),
    Situation(
        topic="billing",
        key="proration",
        titles=(
            "Why is my invoice higher than expected?",
            "Proration when adding seats or changing plans",
            "Understanding mid-cycle charges",
        ),
        summary="This month's invoice is larger than your usual subscription price and you'd like to "
        "understand the extra lines.",
        cause="When you add seats or upgrade in the middle of a billing period, we charge for the "
        "remaining days straight away, at the new price. Those prorated lines appear on the next invoice "
        "next to the regular renewal charge, so one invoice can contain almost two months of some items.",
        steps=(
            "Open the invoice in {billing_path} and look for lines labelled Prorated.",
            "Each line shows the date range and the number of seats it covers.",
            "Removing seats creates a credit that is applied to the next invoice, not refunded.",
            "To avoid surprises, make seat changes close to your renewal date.",
        ),
        tags=("proration", "seats", "invoices"),
    ),
    # -- Pricing ----------------------------------------------------------------------
    Situation(
        topic="pricing",
        key="compare-plans",
        titles=(
            "Compare the {plan_free}, {plan_mid} and {plan_top} plans",
            "Which plan is right for my team?",
            "Feature comparison across plans",
        ),
        summary="A summary of what each plan includes, to help you choose.",
        steps=(
            "{plan_free} — for individuals and small teams getting started; community support, 30-day "
            "history and standard rate limits.",
            "{plan_mid} — for growing teams; unlimited history, email support within one business day, "
            "roles and audit log.",
            "{plan_top} — for organisations with compliance needs; SSO enforcement, SCIM, data residency, "
            "a 99.95% uptime SLA and a named customer success manager.",
            "Every plan includes the API, webhooks and data export.",
        ),
        tags=("comparison", "features"),
    ),
    Situation(
        topic="pricing",
        key="upgrade-downgrade",
        titles=(
            "Upgrade or downgrade your plan",
            "Switching plans mid-cycle",
            "What happens to my data when I downgrade?",
        ),
        summary="You want to move to a different plan, either for more features or to save money.",
        cause="Upgrades take effect immediately and are prorated. Downgrades take effect at the end of "
        "the current billing period, and features that aren't part of the lower plan are switched off "
        "then. Data is never deleted by a downgrade, but anything above the new plan's limits becomes "
        "read-only.",
        steps=(
            "Go to {billing_path} → Plan and choose Change plan.",
            "Review the summary, which lists the features you'll gain or lose.",
            "Confirm. Upgrades are charged now; downgrades show the date they take effect.",
            "Before downgrading from {plan_top}, disable SSO enforcement and SCIM, which the lower plans "
            "don't support.",
        ),
        tags=("upgrade", "downgrade"),
        howto=True,
    ),
    Situation(
        topic="pricing",
        key="trial-ending",
        titles=(
            "What happens when the free trial ends?",
            "Trial expired — is my data deleted?",
        ),
        summary="Your 14-day trial of {plan_top} is about to end and you're wondering what happens next.",
        steps=(
            "If you add a payment method before the trial ends, the subscription starts automatically on "
            "the plan you chose.",
            "If you don't, the {workspace} moves to read-only mode. You can still sign in and export data.",
            "After 60 days in read-only mode the {workspace} and its data are deleted, and we email a "
            "warning a week beforehand.",
            "Need more time to evaluate? Ask {support_email} for a one-off extension.",
        ),
        tags=("trial",),
    ),
    Situation(
        topic="pricing",
        key="seats",
        titles=(
            "Adding and removing seats",
            "How are users counted for billing?",
            "Guest accounts and seat licences",
        ),
        summary="You're not sure how many seats you're paying for, or why the count changed.",
        cause="A seat is any member who can sign in, including invited people who haven't accepted yet. "
        "Deactivated members and guests with view-only access don't count. SCIM provisioning adds seats "
        "automatically as people join.",
        steps=(
            "See the current count under {billing_path} → Seats.",
            "Remove pending invitations you no longer need.",
            "Deactivate leavers from Members; the seat is freed at once.",
            "Set a seat cap if you want new invitations to fail rather than increase the bill.",
        ),
        tags=("seats", "licences"),
        howto=True,
    ),
    # -- Mobile ------------------------------------------------------------------------
    Situation(
        topic="mobile",
        key="crash-on-launch",
        titles=(
            "{mobile_app} crashes on launch",
            "App closes immediately after opening",
            "Fixing crashes on iOS and Android",
        ),
        summary="The app opens, shows the splash screen for a moment and then closes.",
        symptoms=(
            "It started after an app or operating system update.",
            "Other apps work normally.",
        ),
        cause="A crash at launch usually means the app's local database didn't survive an update, or "
        "the device is running an operating system version that's no longer supported.",
        steps=(
            "Update the app from the App Store or Google Play.",
            "Restart the phone.",
            "On Android, go to Settings → Apps → {mobile_app} → Storage and choose Clear cache (not Clear "
            "data).",
            "If it still crashes, reinstall. Unsynced changes will be lost, so try the steps above first.",
            "Check that your device runs iOS 16 or Android 10 or later.",
        ),
        tags=("crash",),
    ),
    Situation(
        topic="mobile",
        key="push-missing",
        titles=(
            "Not receiving push notifications",
            "Mobile alerts stopped arriving",
            "Notifications are delayed on my phone",
        ),
        summary="You've stopped getting notifications on your phone, although they still appear inside the "
        "app.",
        cause="Notifications can be blocked at three levels: your preferences in {brand}, the operating "
        "system's per-app settings, and battery optimisation that stops the app running in the "
        "background. Signing in on a new phone also moves notifications to that device.",
        steps=(
            "In the app, open Settings → Notifications and check the categories you care about.",
            "In the phone's settings, make sure notifications are allowed for {mobile_app}.",
            "On Android, exclude the app from battery optimisation; some manufacturers are aggressive.",
            "Sign out and back in to register the device again.",
            "Send yourself a test from Settings → Notifications → Send test.",
        ),
        tags=("notifications", "push"),
    ),
    Situation(
        topic="mobile",
        key="offline-sync",
        titles=(
            "Changes made offline aren't syncing",
            "Working without a connection in {mobile_app}",
            "Offline edits conflict with changes from the web",
        ),
        summary="You made changes while offline, and they haven't appeared on the web after reconnecting.",
        symptoms=(
            "A cloud icon with a line through it stays in the top bar.",
            "The pending changes counter in Settings doesn't go down.",
        ),
        cause="The app queues offline changes and uploads them when it detects a connection. Captive "
        "Wi-Fi portals look like a working connection to the phone but block our servers, so the queue "
        "stalls. If someone changed the same item on the web in the meantime, the app keeps both versions "
        "and asks you to choose.",
        steps=(
            "Open a web page in the phone's browser to check whether a captive portal needs a login.",
            "Pull down to refresh in the app to trigger a sync.",
            "Open Settings → Pending changes to see which items are waiting and any conflicts.",
            "Resolve each conflict by keeping your version, the web version or both.",
        ),
        tags=("offline", "sync", "conflicts"),
    ),
    Situation(
        topic="mobile",
        key="mobile-sso-login",
        titles=(
            "Can't sign in on the mobile app with SSO",
            "Mobile app shows a blank page during single sign-on",
        ),
        summary="Sign-in works on a computer, but on the phone the SSO page is blank or loops back to "
        "the app's start screen.",
        cause="The app opens your identity provider in the system browser and expects it to hand control "
        "back through a special link. Conditional access policies that require a managed browser, or a "
        "default browser that doesn't handle app links, break that hand-back.",
        steps=(
            "Make sure the phone's default browser is Safari or Chrome.",
            "If your company uses Intune or another MDM, install the app through the company portal.",
            "Ask IT whether conditional access blocks unmanaged apps; they may need to allow {mobile_app}.",
            "As a workaround, sign in with a magic link sent by email, if your {workspace} allows it.",
        ),
        tags=("sso", "mdm"),
    ),
    Situation(
        topic="mobile",
        key="battery-drain",
        titles=(
            "{mobile_app} is draining my battery",
            "Reducing the app's background data and battery use",
        ),
        summary="Your phone's battery screen shows {mobile_app} as one of the biggest consumers.",
        cause="Background refresh, location access and large uploads over mobile data are the main "
        "costs. A stuck upload that keeps retrying can use a lot of power without making progress.",
        steps=(
            "In the app, set Upload over mobile data to off.",
            "Limit background refresh to Wi-Fi only.",
            "Check Settings → Pending changes for an upload that keeps failing and remove or retry it.",
            "Grant location access only while using the app, unless a feature requires otherwise.",
        ),
        tags=("battery", "performance"),
        tenants=("acme",),
    ),
    # -- Privacy --------------------------------------------------------------------------
    Situation(
        topic="privacy",
        key="erasure-request",
        titles=(
            "Request deletion of your personal data",
            "How do I delete my account and data (GDPR)?",
            "Right to erasure requests",
        ),
        summary="You want {company} to delete the personal data it holds about you.",
        cause="If your account belongs to a company {workspace}, that company controls most of the "
        "data and must approve deleting it. Billing records have to be kept for the period tax law "
        "requires, even after everything else is erased.",
        steps=(
            "Signed-in users can go to Profile → Privacy → Delete my account.",
            "Otherwise email {privacy_email} from the address you want erased.",
            "We confirm your identity and, for company accounts, notify your administrator.",
            "We complete deletion within 30 days and confirm in writing. Backups roll off within a further "
            "{retention_days} days.",
        ),
        tags=("erasure", "deletion", "dsar"),
        howto=True,
    ),
    Situation(
        topic="privacy",
        key="dpa-subprocessors",
        titles=(
            "Sign our data processing agreement (DPA)",
            "List of subprocessors",
            "Data processing terms for enterprise customers",
        ),
        summary="Your legal team needs a signed DPA and the list of third parties that process data on "
        "our behalf.",
        steps=(
            "Download the pre-signed DPA from {billing_path} → Legal, countersign it and keep a copy — no "
            "need to send it back.",
            "The current subprocessor list is on the same page, with each provider's role and location.",
            "Subscribe to subprocessor changes to get 30 days' notice before we add a new one.",
            "For a custom DPA, {plan_top} customers can contact their account manager.",
        ),
        tags=("dpa", "legal", "subprocessors"),
        tenants=AG,
    ),
    Situation(
        topic="privacy",
        key="data-residency",
        titles=(
            "Where is my data stored?",
            "Choosing an EU or US data region",
        ),
        summary="You need to know, or choose, the country where your data is kept.",
        cause="Each {workspace} is pinned to a region when it is created: {region} for Europe or "
        "{region_b} for North America. Backups stay in the same jurisdiction.",
        steps=(
            "Your region is shown under Settings → General → Data region.",
            "Choose the region at sign-up; it can't be changed from the settings page.",
            "To move an existing {workspace}, {plan_top} customers can book a migration with support; "
            "expect a short read-only window.",
        ),
        tags=("residency", "region"),
        tenants=AG,
        howto=True,
    ),
)

TENANT_SITUATIONS: tuple[Situation, ...] = (
    # -- Acme: object storage ------------------------------------------------------------
    Situation(
        topic="storage",
        key="quota-exceeded",
        titles=(
            "Storage quota exceeded",
            "'QuotaExceeded' errors when uploading files",
            "Out of space: what to do when a bucket is full",
        ),
        summary="Uploads to one or more buckets fail, while downloads and listing still work.",
        symptoms=(
            "Uploads from the console stop at 0% with a red error.",
            "S3 clients report HTTP 507 or a QuotaExceeded error code.",
            "Administrators received a '90% of quota' warning a few days earlier.",
        ),
        errors=(
            "HTTP 507 Insufficient Storage",
            "QuotaExceeded: bucket 'media-prod' has reached 100% of its 5 TB quota",
        ),
        cause="Each bucket can have its own quota, and the {workspace} as a whole is capped by the plan. "
        "Usage includes old versions, incomplete multipart uploads and the recycle bin, so a bucket can "
        "be full even when the visible files add up to much less.",
        steps=(
            "Run `{cli} storage usage media-prod --breakdown` to see how much space versions and "
            "incomplete uploads take.",
            "Abort stale multipart uploads with `{cli} storage multipart abort --older-than 7d media-prod`.",
            "Empty the recycle bin, or shorten its retention, under the bucket's Settings tab.",
            "Add a lifecycle rule that expires non-current versions after 30 days.",
            "If you genuinely need more space, raise the bucket quota or upgrade the plan under "
            "{billing_path}.",
        ),
        tags=("quota", "507", "capacity"),
        tenants=("acme",),
    ),
    Situation(
        topic="storage",
        key="versioning-usage",
        titles=(
            "Why is my storage usage higher than my files?",
            "Old versions and deleted objects still use space",
            "Understanding billed storage versus visible storage",
        ),
        summary="The bill shows far more terabytes than the console's file browser adds up to.",
        cause="With versioning on, overwriting or deleting an object keeps the previous version. A "
        "nightly job that rewrites the same files can multiply usage within weeks. Delete markers are "
        "free, but the versions behind them are not.",
        steps=(
            "Open the bucket's Metrics tab and compare Current versions with Non-current versions.",
            "List the largest non-current versions with `{cli} storage ls media-prod --versions --sort "
            "size`.",
            "Add a lifecycle rule that keeps, for example, the last three versions for 30 days.",
            "If the bucket doesn't need versioning, suspend it; existing versions stay until they expire.",
        ),
        tags=("versioning", "usage", "billing"),
        tenants=("acme",),
    ),
    Situation(
        topic="storage",
        key="lifecycle-rules",
        titles=(
            "Automatically delete or archive old objects with lifecycle rules",
            "Setting up expiry policies for buckets",
        ),
        summary="You want logs older than 90 days to move to cheaper storage and be deleted after a year.",
        steps=(
            "Open the bucket, go to Settings → Lifecycle and choose Add rule.",
            "Limit the rule to a prefix such as logs/ or to objects with a tag.",
            "Add a transition to the Archive class after 90 days.",
            "Add an expiration after 365 days, and one for non-current versions.",
            "Save. Rules are evaluated once a day, so changes show up within 24 hours.",
        ),
        code='{cli} storage lifecycle put media-prod --rule '
        '\'prefix=logs/,archive-after=90d,expire-after=365d\'',
        tags=("lifecycle", "archive", "retention"),
        tenants=("acme",),
    ),
    Situation(
        topic="storage",
        key="slow-uploads",
        titles=(
            "Uploads are slow or time out",
            "Speeding up large file uploads with multipart",
        ),
        summary="Large files take far longer to upload than your connection speed would suggest, or "
        "fail part-way through.",
        errors=("RequestTimeout: Your socket connection to the server was not read from or written to "
                "within the timeout period.",),
        cause="Single-request uploads of big files are sensitive to any network hiccup and use only one "
        "connection. Multipart upload splits the file into parts that are sent in parallel and retried "
        "individually.",
        steps=(
            "Use multipart for anything over 100 MB; `{cli} storage cp` does this automatically.",
            "Increase parallelism with --concurrency 16 on fast links.",
            "Upload to the region closest to you, or enable transfer acceleration on the bucket.",
            "Check that a corporate proxy isn't inspecting and buffering the whole upload.",
        ),
        tags=("upload", "multipart", "performance"),
        tenants=("acme",),
    ),
    Situation(
        topic="storage",
        key="presigned-urls",
        titles=(
            "Share files with presigned URLs",
            "Shared link returns 'Request has expired'",
        ),
        summary="You want to give someone temporary access to a private object without creating an account.",
        errors=("AccessDenied: Request has expired",),
        cause="A presigned URL embeds a signature and an expiry time. When it expires, or the key that "
        "signed it is revoked, the link stops working immediately.",
        steps=(
            "Create a link with `{cli} storage presign media-prod/report.pdf --expires 24h`.",
            "The maximum lifetime is seven days.",
            "Links signed by a personal key stop working if that person leaves and their keys are revoked; "
            "use a service key for links that must last.",
            "To revoke a link early, rotate the key that signed it.",
        ),
        tags=("sharing", "presigned-url"),
        tenants=("acme",),
    ),
    Situation(
        topic="storage",
        key="cors-errors",
        titles=(
            "CORS errors when uploading from the browser",
            "'No Access-Control-Allow-Origin header' from storage",
        ),
        summary="Your web application uploads files directly to a bucket, and the browser blocks the "
        "request.",
        errors=("Access to fetch at 'https://media-prod.storage.acme.example/' from origin "
                "'https://app.example.com' has been blocked by CORS policy",),
        cause="Browsers only allow cross-origin requests if the bucket says the page's origin is "
        "allowed. New buckets have no CORS rules.",
        steps=(
            "Open the bucket → Settings → CORS and add a rule for your site's exact origin.",
            "Allow the methods you use (PUT, POST) and the headers your client sends, such as Content-Type.",
            "Expose the ETag header if your uploader needs it for multipart uploads.",
            "Clear the browser cache; preflight responses are cached for up to an hour.",
        ),
        tags=("cors", "browser"),
        tenants=("acme",),
    ),
    # -- Acme: backups --------------------------------------------------------------------
    Situation(
        topic="backup",
        key="restore-deleted",
        titles=(
            "Restore a deleted file or folder",
            "Recover something I deleted by accident",
            "Undelete from the recycle bin",
        ),
        summary="Someone deleted files they still need.",
        cause="Deleted objects go to the bucket's recycle bin for 30 days. After that they can still be "
        "recovered from an Acme Vault snapshot, provided a snapshot was taken while the file existed.",
        steps=(
            "Open the bucket → Recycle bin, find the items and choose Restore.",
            "If they're not there, open Acme Vault → Snapshots and pick one taken before the deletion.",
            "Browse the snapshot, select the files and choose Restore to original location or Restore to "
            "new bucket.",
            "Large restores run in the background; you'll get an email when they finish.",
        ),
        code="{cli} vault snapshots list --bucket design-assets\n"
        "{cli} vault restore snap_01HW4K --path 'campaigns/2026/' --target design-assets-restore",
        tags=("undelete", "recycle-bin"),
        tenants=("acme",),
    ),
    Situation(
        topic="backup",
        key="point-in-time-restore",
        titles=(
            "Point-in-time restore for a bucket",
            "Roll a bucket back to an earlier state",
            "Recovering from ransomware or a bad sync",
        ),
        summary="A script or malware overwrote thousands of files, and you want the whole bucket as it "
        "was at a specific moment.",
        cause="Point-in-time restore replays the bucket's version history up to the timestamp you choose. "
        "It requires versioning to have been on at that time, and works within the versioning retention "
        "window.",
        steps=(
            "Find the last known-good time from your own logs, in UTC.",
            "Always restore to a new bucket first so you can inspect the result.",
            "In Acme Vault, choose Point-in-time restore, pick the bucket and timestamp, and a new target "
            "bucket.",
            "Compare the restored bucket with the damaged one, then swap application configuration to the "
            "restored bucket or copy back the prefixes you need.",
            "If the damage came from compromised credentials, rotate them before restoring.",
        ),
        tags=("pitr", "ransomware", "versioning"),
        tenants=("acme",),
        howto=True,
    ),
    Situation(
        topic="backup",
        key="backup-failed",
        titles=(
            "Backup job failed with 'snapshot timeout'",
            "Nightly backup didn't run",
            "Vault reports a partial snapshot",
        ),
        summary="The Vault dashboard shows a red Failed or amber Partial status for last night's backup.",
        errors=(
            "SnapshotTimeout: snapshot of volume vol-7f3a did not complete within 6h",
            "PartialSnapshot: 12 objects skipped (AccessDenied)",
        ),
        cause="Snapshots time out when a volume changes faster than it can be copied, which happens "
        "during big batch jobs. Partial snapshots usually mean the backup role lost permission to some "
        "prefixes after a bucket policy change.",
        steps=(
            "Open the failed job and read the per-volume or per-prefix errors.",
            "For timeouts, move the backup window away from batch jobs, or split large volumes.",
            "For AccessDenied, check that the bucket policy still grants the Vault service role read access.",
            "Run the job again from the dashboard with Run now.",
        ),
        tags=("failed-backup", "snapshot"),
        tenants=("acme",),
    ),
    Situation(
        topic="backup",
        key="retention",
        titles=(
            "How long are backups kept?",
            "Configure backup retention policies",
            "Legal hold and immutable backups",
        ),
        summary="Your auditors ask how long backups are kept and whether anyone can delete them.",
        steps=(
            "Default retention is daily snapshots for {retention_days} days and monthly snapshots for a "
            "year.",
            "Change this per policy under Acme Vault → Policies.",
            "Enable Immutable mode to stop anyone — including administrators — from deleting snapshots "
            "before they expire.",
            "Place a legal hold on specific snapshots to keep them beyond their retention date.",
        ),
        tags=("retention", "compliance", "legal-hold"),
        tenants=("acme",),
    ),
    Situation(
        topic="backup",
        key="archive-restore-slow",
        titles=(
            "Restores from archive take hours",
            "Why isn't my restore instant?",
        ),
        summary="A restore has been in the Rehydrating state for hours.",
        cause="Snapshots older than {retention_days} days live on the archive tier. They have to be "
        "rehydrated to hot storage before we can copy data out, which takes three to five hours "
        "(standard) or up to 12 hours (bulk).",
        steps=(
            "Choose Expedited rehydration for urgent restores; it costs more but usually completes within "
            "an hour.",
            "Restore only the prefixes you need rather than the whole snapshot.",
            "For disaster-recovery drills, plan for rehydration time in your recovery time objective.",
        ),
        tags=("archive", "rehydration"),
        tenants=("acme",),
    ),
    # -- Acme: desktop sync -----------------------------------------------------------------
    Situation(
        topic="sync",
        key="sync-stuck",
        titles=(
            "Desktop sync stuck on 'Processing changes'",
            "Files aren't syncing between my computers",
            "The sync client shows a spinning icon forever",
        ),
        summary="The tray icon has been spinning for hours, and files saved on one computer don't appear "
        "on another.",
        symptoms=(
            "The Activity tab shows the same file at the top for a long time.",
            "sync.log repeats the same path with 'retrying'.",
        ),
        errors=("ERROR sync.upload: file locked by another process: Q3 forecast.xlsx (retry 14)",),
        cause="The client can't finish a file that another application keeps open or locked, and "
        "everything queued behind it waits. Antivirus scans, Outlook PST files and database files are "
        "typical offenders.",
        steps=(
            "Open the client's Activity tab and note the file at the top.",
            "Close the application using it, or exclude that file type from sync.",
            "Pause and resume sync from the tray menu.",
            "Make sure the disk isn't full; the client needs free space equal to the largest file.",
            "As a last resort, choose Rebuild index from Preferences → Advanced.",
        ),
        tags=("desktop", "stuck"),
        tenants=("acme",),
    ),
    Situation(
        topic="sync",
        key="conflicted-copy",
        titles=(
            "What are 'conflicted copy' files?",
            "Two people edited the same file at once",
        ),
        summary="You've found files named like 'Budget (conflicted copy 2026-03-02 erin).xlsx'.",
        cause="If two devices change the same file before either has synced, we keep both versions "
        "instead of silently overwriting one. The copy is named after the device owner and the date.",
        steps=(
            "Open both files and merge the changes by hand.",
            "Delete the conflicted copy once you've merged it.",
            "For files that many people edit, use the web editor, which supports live co-editing.",
        ),
        tags=("conflicts", "collaboration"),
        tenants=("acme",),
    ),
    Situation(
        topic="sync",
        key="selective-sync",
        titles=(
            "Choose which folders sync to this computer",
            "Free up disk space with online-only files",
        ),
        summary="Your laptop's disk is filling up with shared folders you rarely open.",
        steps=(
            "Open Preferences → Sync → Choose folders and untick the folders you don't need locally.",
            "Or right-click a folder and choose Make online-only; files download when you open them.",
            "Mark folders you need on flights as Always keep on this device.",
        ),
        tags=("disk-space", "online-only"),
        tenants=("acme",),
    ),
    Situation(
        topic="sync",
        key="invalid-file-names",
        titles=(
            "Files skipped because of invalid names",
            "Characters that aren't allowed in synced file names",
        ),
        summary="Some files show a warning icon and never upload.",
        errors=("Skipped: 'report: final?.docx' contains characters not allowed on Windows",),
        cause="Files must be valid on every operating system your team uses. Windows forbids < > : \" / "
        "\\ | ? * and names ending in a space or dot, and paths longer than 260 characters.",
        steps=(
            "Open the client's Skipped files list.",
            "Rename the files to remove the forbidden characters.",
            "Shorten deeply nested folder names if the full path is too long.",
        ),
        tags=("file-names", "windows"),
        tenants=("acme",),
    ),
    # -- Globex: payments ----------------------------------------------------------------
    Situation(
        topic="payments",
        key="decline-codes",
        titles=(
            "Why was my customer's card declined?",
            "Understanding card decline codes",
            "do_not_honor and insufficient_funds explained",
        ),
        summary="A customer tried to pay and the payment was declined. You want to know why and what to "
        "tell them.",
        errors=(
            "card_declined (do_not_honor)",
            "card_declined (insufficient_funds)",
            "card_declined (transaction_not_allowed)",
        ),
        cause="The decision is made by the customer's bank, not by {company}. Issuers share only a short "
        "reason code, and do_not_honor is a deliberately vague catch-all. Our fraud screening can also "
        "block a payment before it reaches the bank; those show the reason blocked_by_risk_rules.",
        steps=(
            "Open the payment in {console} and read the decline code on its timeline.",
            "For insufficient_funds or expired_card, ask the customer to use another card.",
            "For do_not_honor, ask the customer to call their bank; they'll often approve it on the spot.",
            "For blocked_by_risk_rules, review the rule that fired under Payments → Risk rules.",
            "Never retry the same card more than a few times; repeated attempts can get you flagged.",
        ),
        tags=("declines", "issuer", "fraud"),
        tenants=("globex",),
    ),
    Situation(
        topic="payments",
        key="disputes",
        titles=(
            "Responding to a chargeback",
            "A customer disputed a payment",
            "Submitting evidence for a dispute",
        ),
        summary="You received an email that a customer disputed a charge with their bank.",
        cause="When a cardholder disputes a payment, their bank takes the money back straight away, plus "
        "a dispute fee, and gives you a chance to respond. The reason code — fraudulent, "
        "product_not_received, duplicate and so on — determines what evidence helps.",
        steps=(
            "Open Payments → Disputes and find the case. Note the response deadline; it's usually 7 to 21 "
            "days.",
            "Collect evidence: receipts, delivery tracking, customer emails, usage logs or signed terms.",
            "Upload it and write a short, factual summary. Don't send more than the reason code needs.",
            "Submit once — you can't add evidence later.",
            "If the charge really was a mistake, accept the dispute to close it quickly.",
        ),
        tags=("chargeback", "disputes"),
        tenants=("globex",),
        howto=True,
    ),
    Situation(
        topic="payments",
        key="payout-delayed",
        titles=(
            "My payout hasn't arrived",
            "Payout schedule and delays",
            "The bank transfer for my sales is late",
        ),
        summary="The dashboard says a payout was sent, but the money isn't in your bank account yet.",
        symptoms=(
            "The payout shows In transit for more than two business days.",
            "The payout shows Failed with a bank error.",
        ),
        errors=("payout_failed: account_closed", "payout_failed: invalid_account_number"),
        cause="Payouts are sent on your schedule — daily, weekly or monthly — and bank transfers take one "
        "to three business days depending on the country. Public holidays add delays. Failed payouts "
        "return to your balance and are held until the bank details are fixed.",
        steps=(
            "Open Balance → Payouts and check the status and expected arrival date.",
            "For In transit payouts, give your bank the trace reference shown on the payout.",
            "For Failed payouts, update your bank account under Settings → Payouts and we'll retry "
            "automatically.",
            "New accounts have a seven-day hold on their first payout while we complete verification.",
        ),
        tags=("payouts", "bank-transfer"),
        tenants=("globex",),
    ),
    Situation(
        topic="payments",
        key="refund-customer",
        titles=(
            "Refund a customer's payment",
            "Partial refunds and how long they take",
        ),
        summary="You need to return all or part of a payment to a customer.",
        steps=(
            "Open the payment and choose Refund.",
            "Enter the amount for a partial refund, and a reason for your records.",
            "The refund is deducted from your balance. If the balance is too low, we debit your bank "
            "account.",
            "Customers see the money in five to ten business days, depending on their bank.",
            "Processing fees on the original payment aren't returned.",
        ),
        code="{cli} refunds create --payment pay_3MtwBwLkdIwHu7ix --amount 1500 --reason "
        "requested_by_customer",
        tags=("refunds",),
        tenants=("globex",),
    ),
    Situation(
        topic="payments",
        key="three-d-secure",
        titles=(
            "3D Secure authentication failing at checkout",
            "Strong customer authentication (SCA) for European cards",
        ),
        summary="European customers abandon checkout after the bank's verification pop-up, or payments "
        "fail with an authentication error.",
        errors=("authentication_required", "payment_intent_authentication_failure"),
        cause="Under PSD2, most card payments from European customers require strong customer "
        "authentication. If your checkout doesn't handle the authentication step, the issuer declines. "
        "Pop-up blockers and in-app browsers can also hide the challenge.",
        steps=(
            "Use our hosted checkout or the latest client SDK, which handle challenges automatically.",
            "For server-side integrations, handle the requires_action status and send the customer to the "
            "returned URL.",
            "Request exemptions for low-value and recurring payments where allowed.",
            "Test with the 3DS test cards in sandbox mode before going live.",
        ),
        tags=("3ds", "sca", "psd2"),
        tenants=("globex",),
    ),
    Situation(
        topic="payments",
        key="multi-currency",
        titles=(
            "Accepting payments in multiple currencies",
            "Currency conversion fees on payouts",
        ),
        summary="You sell internationally and want customers to pay in their own currency.",
        cause="You can charge in over 100 currencies. Unless you hold a balance in that currency, we "
        "convert to your payout currency at the daily rate plus a 1% fee.",
        steps=(
            "Set prices in each currency, or enable automatic local pricing.",
            "Add additional payout currencies under Settings → Payouts to avoid conversion.",
            "See the conversion rate applied to each payment on its timeline.",
        ),
        tags=("currency", "fx", "international"),
        tenants=("globex",),
        howto=True,
    ),
    # -- Globex: invoicing ------------------------------------------------------------------
    Situation(
        topic="invoicing",
        key="payment-reminders",
        titles=(
            "Send automatic payment reminders",
            "Customers aren't paying invoices on time",
        ),
        summary="Invoices are going overdue and you're chasing customers by hand.",
        steps=(
            "Go to Invoicing → Settings → Reminders.",
            "Add reminders relative to the due date — for example 3 days before, on the day, and 7 days "
            "after.",
            "Edit the email text; include the invoice link so customers can pay in one click.",
            "Optionally add a late fee that is applied automatically after a number of days.",
        ),
        tags=("reminders", "overdue", "collections"),
        tenants=("globex",),
    ),
    Situation(
        topic="invoicing",
        key="invoice-numbering",
        titles=(
            "Customise invoice numbering",
            "Invoice number sequence skipped a number",
        ),
        summary="Your accountant asks why invoice numbers jump, or you want a prefix per year.",
        cause="Numbers are assigned when an invoice is finalised, not when the draft is created. Deleting "
        "a draft doesn't use a number, but voiding a finalised invoice keeps its number, and tax "
        "authorities expect it to stay in the sequence.",
        steps=(
            "Go to Invoicing → Settings → Numbering.",
            "Set a prefix such as INV-2026- and the next number.",
            "Void invoices instead of deleting them so the sequence stays complete.",
        ),
        tags=("numbering", "compliance"),
        tenants=("globex",),
    ),
    Situation(
        topic="invoicing",
        key="recurring-invoices",
        titles=(
            "Set up recurring invoices",
            "Subscription invoices weren't generated this month",
        ),
        summary="You bill some customers the same amount every month and want invoices created "
        "automatically.",
        cause="Recurring invoices are created at 00:00 in your account's time zone on the scheduled day. "
        "If the customer has no email address, or the schedule was paused, nothing is sent.",
        steps=(
            "Open the customer and choose New recurring invoice.",
            "Set the interval, the first date and whether to send automatically or save as draft.",
            "Check the Upcoming tab to see what will be created in the next 30 days.",
            "If an invoice is missing, look for a paused schedule or a customer without an email.",
        ),
        tags=("recurring", "subscriptions"),
        tenants=("globex",),
        howto=True,
    ),
    Situation(
        topic="invoicing",
        key="credit-notes",
        titles=(
            "Issue a credit note",
            "Correcting an invoice that has already been sent",
        ),
        summary="You sent an invoice with a mistake — the wrong amount, tax rate or customer.",
        cause="Finalised invoices can't be edited because they are accounting records. You correct "
        "them by issuing a credit note, and if needed a new invoice.",
        steps=(
            "Open the invoice and choose Issue credit note.",
            "Credit the full amount or specific lines.",
            "Choose whether to refund the customer, credit their balance or reduce the amount due.",
            "Create a corrected invoice if something is still owed.",
        ),
        tags=("credit-note", "corrections"),
        tenants=("globex",),
        howto=True,
    ),
    # -- Globex: point of sale -----------------------------------------------------------------
    Situation(
        topic="pos",
        key="terminal-offline",
        titles=(
            "Card terminal shows 'Offline'",
            "POS reader won't connect to Wi-Fi",
            "Card reader can't reach the payment network",
        ),
        summary="The card reader's screen shows Offline or a red Wi-Fi icon, and you can't take card "
        "payments.",
        errors=("E-301 NETWORK UNAVAILABLE", "E-312 TLS HANDSHAKE FAILED"),
        cause="Readers need outbound access to our payment hosts on port 443. Guest Wi-Fi networks with "
        "a captive portal, 5 GHz-only networks on older readers, and firewalls that inspect TLS are the "
        "usual culprits. E-312 almost always means a proxy is intercepting the connection.",
        steps=(
            "Restart the reader by holding the power button for ten seconds.",
            "On the reader, open Settings → Network and reconnect, choosing a 2.4 GHz network if available.",
            "Ask whoever runs the network to allow outbound HTTPS to *.globex.example without inspection.",
            "Use Ethernet via the dock if Wi-Fi is unreliable.",
            "While offline, enable Offline mode in {mobile_app} to accept payments up to your offline limit.",
        ),
        tags=("terminal", "wifi", "offline"),
        tenants=("globex",),
    ),
    Situation(
        topic="pos",
        key="receipt-printer",
        titles=(
            "Receipt printer not printing",
            "Pairing a Bluetooth receipt printer",
        ),
        summary="Sales go through but no receipt comes out of the printer.",
        steps=(
            "Check the paper roll is inserted with the shiny side facing the print head.",
            "Turn the printer off and on, then open {mobile_app} → Settings → Hardware → Printers.",
            "Remove the printer and pair it again; only one tablet can be connected to a Bluetooth printer.",
            "Print a test page from the app.",
            "For network printers, give them a fixed IP address in your router.",
        ),
        tags=("printer", "bluetooth"),
        tenants=("globex",),
    ),
    Situation(
        topic="pos",
        key="end-of-day",
        titles=(
            "Running the end-of-day report",
            "Till totals don't match the report",
        ),
        summary="At closing time the cash and card totals in the drawer don't match {mobile_app}'s report.",
        cause="Card totals include refunds and voids processed on other devices, and cash totals depend "
        "on every pay-in and pay-out being recorded. Sales made in offline mode appear once the device "
        "reconnects.",
        steps=(
            "Make sure every device has synced before closing the day.",
            "Open Reports → End of day and select the register.",
            "Compare card totals with the payments list filtered to that register.",
            "Record cash pay-ins and pay-outs as they happen, not at closing time.",
        ),
        tags=("reports", "cash"),
        tenants=("globex",),
    ),
    # -- Initech: time, scheduling and payroll ---------------------------------------------------
    Situation(
        topic="timesheets",
        key="timesheet-approval",
        titles=(
            "Approve or reject timesheets",
            "Timesheets stuck in 'Submitted'",
            "Manager approval workflow for hours",
        ),
        summary="Employees have submitted their hours and you need to approve them before payroll, or "
        "some timesheets aren't reaching you at all.",
        cause="Timesheets route to the employee's manager as set on their profile. If the manager field "
        "is empty, or points at someone who has left, submissions sit in Submitted with nobody to approve "
        "them.",
        steps=(
            "Open Timesheets → Approvals to see everything waiting for you.",
            "Review flagged entries first — missed breaks, overtime and edits after the fact are "
            "highlighted.",
            "Approve in bulk, or reject with a comment that the employee will see.",
            "Admins can find orphaned timesheets under Timesheets → All, filtered by status Submitted.",
            "Fix the manager field on the employee's profile so future timesheets route correctly.",
        ),
        tags=("approvals", "managers"),
        tenants=("initech",),
    ),
    Situation(
        topic="timesheets",
        key="overtime-rules",
        titles=(
            "Configure overtime rules",
            "Overtime isn't calculated correctly",
        ),
        summary="Overtime hours on timesheets don't match what your policy or local law requires.",
        cause="Overtime is calculated from the rule set assigned to each employee's work location. "
        "Weekly thresholds, daily thresholds and double-time rules differ by province and state, and "
        "employees transferred between locations keep the old rule set until it's updated.",
        steps=(
            "Go to Settings → Pay rules and open the rule set for the location.",
            "Check the daily and weekly thresholds and the multiplier for each.",
            "Confirm the week start day matches your payroll week.",
            "Reassign the right rule set to employees who moved, then recalculate open timesheets.",
        ),
        tags=("overtime", "pay-rules"),
        tenants=("initech",),
    ),
    Situation(
        topic="timesheets",
        key="missed-punch",
        titles=(
            "Fix a missed clock-out",
            "Employee forgot to clock out",
        ),
        summary="An employee's shift shows as 19 hours because they forgot to clock out.",
        steps=(
            "Open the employee's timesheet and select the shift with the missing punch.",
            "Enter the correct clock-out time and a reason. The change is recorded in the audit trail.",
            "Turn on auto clock-out under Settings → Time clock to end shifts after a maximum length.",
            "Employees can request corrections themselves from the app; managers then approve them.",
        ),
        tags=("punches", "corrections"),
        tenants=("initech",),
    ),
    Situation(
        topic="scheduling",
        key="shift-swaps",
        titles=(
            "Let employees swap shifts",
            "Shift swap requests aren't showing up",
        ),
        summary="Employees want to trade shifts without calling the manager every time.",
        cause="Swaps are only offered to colleagues with the same role and location who wouldn't go into "
        "overtime. If nobody qualifies, the request has nowhere to go.",
        steps=(
            "Enable swaps under Settings → Scheduling → Swaps.",
            "Decide whether swaps need manager approval.",
            "Check that employees have roles assigned; people without a role can't receive swap offers.",
        ),
        tags=("swaps", "shifts"),
        tenants=("initech",),
        howto=True,
    ),
    Situation(
        topic="scheduling",
        key="publish-schedule",
        titles=(
            "Publish next week's schedule",
            "Employees can't see their shifts",
        ),
        summary="You built the schedule, but employees say the app shows nothing for next week.",
        cause="Draft schedules are visible only to managers. Employees see shifts once you publish, and "
        "only for locations they're assigned to.",
        steps=(
            "Open the schedule and choose Publish.",
            "Choose whether to notify employees by push and email.",
            "Check that each employee is assigned to the location of their shifts.",
        ),
        tags=("publishing", "rota"),
        tenants=("initech",),
    ),
    Situation(
        topic="payroll",
        key="payroll-export",
        titles=(
            "Export hours to your payroll provider",
            "Payroll export totals don't match timesheets",
        ),
        summary="You're sending approved hours to payroll, or the export total is different from the "
        "timesheet screen.",
        cause="The export includes approved timesheets only, split by pay code — regular, overtime, "
        "holiday and leave. Timesheets still waiting for approval, or approved after the export, aren't "
        "included. Rounding rules are applied per punch, so totals can differ slightly from raw clock times.",
        steps=(
            "Lock the pay period under Payroll → Periods once all timesheets are approved.",
            "Choose Export and pick your provider's format, such as ADP, Ceridian Dayforce or generic CSV.",
            "Check the summary: employee count, total hours per pay code and any warnings.",
            "If totals differ, look for unapproved timesheets and the rounding rule in Settings → Time "
            "clock.",
        ),
        tags=("export", "adp", "pay-codes"),
        tenants=("initech",),
    ),
    Situation(
        topic="payroll",
        key="pay-periods",
        titles=(
            "Set up pay periods",
            "Changing from bi-weekly to semi-monthly pay",
        ),
        summary="You're setting up {brand} for the first time, or your company is changing its pay "
        "frequency.",
        steps=(
            "Go to Payroll → Periods → Settings.",
            "Choose weekly, bi-weekly, semi-monthly or monthly and the first period's start date.",
            "When changing frequency, close the current period first; the new schedule starts on the next "
            "day.",
            "Tell employees; their timesheet view changes to match the new period.",
        ),
        tags=("pay-periods", "setup"),
        tenants=("initech",),
    ),
    Situation(
        topic="mobile",
        key="geofence-clock-in",
        titles=(
            "'You're outside the work location' when clocking in",
            "Geofence clock-in problems",
        ),
        summary="Employees standing at the workplace are told they're too far away to clock in.",
        errors=("CLOCK_IN_OUTSIDE_GEOFENCE: you are 412 m from Store 14",),
        cause="The app compares the phone's location with a circle around each location. Indoors, GPS "
        "can be off by hundreds of metres, and phones with precise location switched off report only an "
        "approximate position.",
        steps=(
            "Ask the employee to enable precise location for {mobile_app}.",
            "Increase the geofence radius for the location under Settings → Locations, to at least 150 m.",
            "Add the store's Wi-Fi network as an alternative way to prove presence.",
            "Managers can approve clock-ins flagged as outside the geofence.",
        ),
        tags=("geofence", "location", "clock-in"),
        tenants=("initech",),
    ),
)


# ---------------------------------------------------------------------------
# Internal runbooks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Runbook:
    """An on-call runbook for one kind of incident."""

    key: str
    titles: tuple[str, ...]
    alerts: tuple[str, ...]
    summary: str
    impact: str
    triage: tuple[str, ...]
    mitigation: tuple[str, ...]
    verify: str
    escalation: str
    pitfalls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ALL
    #: Principals besides SRE and on-call who may read it.
    readers: tuple[str, ...] = ()


RUNBOOK_PREAMBLES: tuple[str, ...] = (
    "## Before you start\n\nAcknowledge the page in {oncall_tool} and say in {chat_channel} that you are "
    "looking. If customers are affected for more than 15 minutes, declare an incident and tell the support "
    "lead ({support_lead}) so the status page at {status_page} can be updated.",
    "## Ground rules\n\nOne person drives; everyone else advises. Post every command you run, with a "
    "timestamp, in {chat_channel} — the post-mortem depends on it. Don't restart things 'to see if it "
    "helps' without saying so first.",
    "## First five minutes\n\nAcknowledge the alert, open the service dashboard in {monitoring}, and check "
    "{status_page} and the deploy history in {deploy_tool}. Most incidents start within an hour of a "
    "change, so find out what changed before you change anything else.",
)

RUNBOOKS: tuple[Runbook, ...] = (
    Runbook(
        key="db-failover",
        titles=(
            "Runbook: {db_name} primary failover",
            "Database failover procedure for {db_name}",
            "Promoting a replica when the {db_name} primary is down",
        ),
        alerts=(
            "DatabasePrimaryUnreachable", "WriteErrorRateHigh on {api_service}", "ConnectionPoolExhausted",
        ),
        summary="{db_name} runs on {db_engine}, with one primary in {region} and two replicas. This runbook "
        "covers a primary that has stopped accepting writes and has not recovered on its own within five "
        "minutes.",
        impact="All writes fail: customers can read existing data but every create, update and delete "
        "returns 503. Background jobs in {worker_service} pile up behind the database, and {queue_name} "
        "starts to back up within minutes.",
        triage=(
            "Confirm that the primary really is down and this is not a network partition between the "
            "application and the database. Check the cluster state first:\n\n" + sh("{db_status_cmd}"),
            "Check how far each replica is behind. Only promote a replica that has caught up, or you "
            "will lose the writes it hasn't received:\n\n" + sh("{db_lag_cmd}"),
            "Look at the application's view. Connection errors that mention 'read-only' mean the "
            "application is talking to a replica; timeouts mean it can't reach anything:\n\n"
            + sh("kubectl -n {k8s_ns} logs deploy/{api_service} --since=10m | grep -iE "
                 "'database|timeout|read-only' | tail -50"),
            "If automatic failover already happened, there is nothing to promote — skip to verification "
            "and find out why the old primary failed.",
        ),
        mitigation=(
            "Announce in {chat_channel} that you are about to fail over, and pause {deploy_tool} syncs for "
            "the database and {api_service}.",
            "Fence the old primary so it can't accept writes if it comes back: stop its database service or "
            "detach it from the load balancer.",
            "Promote the most up-to-date replica:\n\n" + sh("{db_failover_cmd}"),
            "Restart {api_service} pods so connection pools drop stale connections: "
            "`kubectl -n {k8s_ns} rollout restart deploy/{api_service}`.",
            "Watch write error rates fall in {monitoring}. Expect a burst of retries from {worker_service}.",
            "Rebuild the old primary as a replica once the cause is understood. Never simply restart it as "
            "primary.",
        ),
        verify="Write error rate back to baseline for 15 minutes, replication healthy on the remaining "
        "replica, and {queue_name} draining. Run the synthetic write check from the {monitoring} dashboard.",
        escalation="If promotion fails or both replicas are more than 60 seconds behind, page the database "
        "owner and {sre_lead}. Any decision that accepts data loss needs the incident commander and "
        "{eng_lead} to agree, in writing, in {chat_channel}.",
        pitfalls=(
            "Split brain: two primaries accepting writes is far worse than a few minutes of downtime. "
            "Fence before you promote.",
            "DNS and connection-string caches: some clients keep the old address for the length of the "
            "TTL, so restart them rather than waiting.",
            "Failovers during a large migration can leave a half-applied schema. Check the migrations table.",
        ),
        tags=("database", "failover", "high-availability"),
    ),
    Runbook(
        key="cert-expiry",
        titles=(
            "Runbook: TLS certificate expiring or expired",
            "Renewing the {cert_domain} certificate",
            "Fixing 'certificate has expired' errors at the edge",
        ),
        alerts=("CertificateExpiresIn7Days ({cert_domain})", "CertificateExpired", "TLSHandshakeErrorsHigh"),
        summary="Certificates for {cert_domain} are issued by cert-manager from Let's Encrypt and renewed 30 "
        "days before expiry. This runbook covers the case where renewal has not happened, or an expired "
        "certificate is being served.",
        impact="Browsers show a full-page warning, API clients fail with certificate verification errors, "
        "and webhooks to customers may be rejected if they pin our chain. The mobile app {mobile_app} "
        "fails outright.",
        triage=(
            "Check what is actually being served, from outside the cluster:\n\n"
            + sh("echo | openssl s_client -connect {api_host}:443 -servername {api_host} 2>/dev/null \\",
                 "  | openssl x509 -noout -subject -issuer -dates"),
            "Check cert-manager's view of the certificate and its latest request:\n\n"
            + sh(
                "kubectl -n {k8s_ns} get certificate",
                "kubectl -n {k8s_ns} describe certificaterequest | tail -30",
            ),
            "The most common failure is the DNS-01 challenge: cert-manager lost permission to write TXT "
            "records in {dns_provider}, or the API token was rotated. Look for 'presenting challenge' "
            "errors in the cert-manager logs.",
        ),
        mitigation=(
            "If the challenge is failing, fix the {dns_provider} credentials in the cert-manager secret and "
            "trigger a renewal: `cmctl renew -n {k8s_ns} edge-tls`.",
            "If Let's Encrypt itself is unavailable or rate limiting us, switch the issuer to the backup "
            "ACME "
            "provider (ZeroSSL) by changing the issuerRef and re-applying.",
            "As a last resort, upload the emergency certificate from the vault path secret/tls/emergency, "
            "which is valid for one year and stored for exactly this situation.",
            "Roll {edge_service} so every pod picks up the new secret.",
        ),
        verify="Re-run the openssl check from two networks and confirm the new notAfter date. Confirm "
        "TLSHandshakeErrorsHigh has cleared and spot-check the mobile app.",
        escalation="Page {sre_lead} if no valid certificate can be served within 30 minutes. Security "
        "({ciso}) must approve using the emergency certificate.",
        pitfalls=(
            "A missing intermediate certificate works in Chrome but fails in curl, Java and older Android.",
            "Some enterprise customers pin our certificate chain. Support keeps the list; warn them early.",
        ),
        tags=("tls", "certificates", "cert-manager"),
    ),
    Runbook(
        key="queue-backlog",
        titles=(
            "Runbook: {queue_name} backlog growing",
            "Consumer lag on {queue_name}",
            "Queue backlog: {worker_service} falling behind",
        ),
        alerts=("QueueDepthHigh ({queue_name})", "OldestMessageAgeAbove15m", "ConsumerLagGrowing"),
        summary="{worker_service} consumes {queue_name} on {queue_tech}. A growing backlog means work "
        "arrives faster than it is processed, or processing has stopped.",
        impact="Customers see stale data: changes are accepted but take minutes or hours to appear in "
        "search, reports and webhooks. Nothing is lost as long as messages stay within retention.",
        triage=(
            "Measure the backlog and whether it is still growing:\n\n" + sh("{queue_lag_cmd}"),
            "Check that consumers are running and not crash-looping:\n\n"
            + sh("kubectl -n {k8s_ns} get pods -l app={worker_service}",
                 "kubectl -n {k8s_ns} logs -l app={worker_service} --since=15m | grep -i error | sort | "
                 "uniq -c | sort -rn | head"),
            "A single poison message shows up as the same error repeating with the same message ID; the "
            "consumer retries it forever and nothing behind it moves.",
            "If consumers are healthy but slow, look at their dependencies: database latency, an external "
            "API rate limiting us, or {cache_name} being unavailable.",
        ),
        mitigation=(
            "Poison message: move it to the dead-letter queue with the admin tool and note its ID in "
            "{chat_channel} for later analysis.",
            "Slow consumers: scale out, within the database's connection budget — "
            "`kubectl -n {k8s_ns} scale deploy/{worker_service} --replicas=12`.",
            "Surge of input: if one {workspace} is flooding the queue, enable per-tenant throttling for it "
            "rather than slowing everyone down.",
            "Dependency down: pause the consumers so they stop burning retries, fix the dependency, then "
            "resume.",
        ),
        verify="Backlog shrinking steadily and oldest message age back under five minutes. Estimate the "
        "time to drain and post it in the channel so support can answer customers.",
        escalation="If retention is at risk — the oldest message is more than half way to the retention "
        "limit — page {sre_lead} immediately; losing messages means data loss.",
        pitfalls=(
            "Scaling consumers too far can overload the database and turn a backlog into an outage.",
            "Don't purge the queue to make the alert go away.",
        ),
        tags=("queue", "backlog", "consumer-lag"),
    ),
    Runbook(
        key="disk-full",
        titles=(
            "Runbook: node or volume disk full",
            "DiskSpaceLow alert",
            "Freeing space on a full volume",
        ),
        alerts=("DiskSpaceLow (<10% free)", "DiskWillFillIn4Hours", "KubeletEvictingPods"),
        summary="A node's root disk or a persistent volume is running out of space. Past 100%, databases "
        "stop, logs are lost and the kubelet starts evicting pods.",
        impact="Depends on what lives on the volume: anything from a single evicted pod to {db_name} going "
        "read-only.",
        triage=(
            "Find the full filesystem and what is using it:\n\n"
            + sh("df -h", "sudo du -xh --max-depth=2 /var | sort -h | tail -20"),
            "Check for deleted files still held open by a process; they don't show up in du but still "
            "take space:\n\n" + sh("sudo lsof +L1 | sort -k7 -n | tail"),
            "For Kubernetes volumes, compare the claim size with usage:\n\n"
            + sh("kubectl -n {k8s_ns} get pvc", "kubectl -n {k8s_ns} exec <pod> -- df -h /data"),
            "Common culprits: container logs without rotation, core dumps, the journal, old container "
            "images and database WAL or binlogs kept by a broken replica.",
        ),
        mitigation=(
            "Quick space on nodes: `sudo journalctl --vacuum-size=500M` and `crictl rmi --prune`.",
            "Restart the process that holds deleted files open to release the space.",
            "Expand persistent volumes online by editing the PVC's storage request; our storage class "
            "allows expansion.",
            "If WAL or binlogs are piling up because a replica is broken, fix or remove the replica — "
            "never delete WAL files by hand.",
        ),
        verify="Free space above 25% and the DiskWillFillIn4Hours prediction cleared.",
        escalation="If {db_name}'s volume is above 95% and still growing, page {sre_lead} and the database "
        "owner — this is about to become an outage.",
        pitfalls=(
            "rm -rf on a log directory held open by a process frees nothing until the process restarts.",
        ),
        tags=("disk", "storage", "capacity"),
    ),
    Runbook(
        key="dns-outage",
        titles=(
            "Runbook: DNS resolution failures for {dns_zone}",
            "DNS outage at {dns_provider}",
            "Customers can't resolve our domains",
        ),
        alerts=("SyntheticCheckDNSFailure", "ExternalProbeNXDOMAIN", "TrafficDropAtEdge"),
        summary="Our public zone {dns_zone} is hosted at {dns_provider}. This runbook covers customers being "
        "unable to resolve our hostnames — traffic drops sharply while our own dashboards look healthy.",
        impact="A full outage for affected customers, even though every service is up. Cached answers keep "
        "some customers working until TTLs expire, which makes reports confusing.",
        triage=(
            "Resolve from several public resolvers and trace the delegation:\n\n"
            + sh("dig +short {api_host} @1.1.1.1", "dig +short {api_host} @8.8.8.8", "dig +trace {api_host}"),
            "Check the NS records at the registry match the provider's name servers; an expired domain or "
            "accidental registrar change looks exactly like a provider outage.",
            "Check {dns_provider}'s status page and the zone's change history — a bad record pushed by "
            "Terraform is more likely than a provider outage.",
            "Rule out internal DNS: if only pods fail to resolve, this is CoreDNS, not the public zone.",
        ),
        mitigation=(
            "Bad change: revert the Terraform commit and apply; the zone's TTL is 300 seconds.",
            "Provider outage: our secondary name servers are already listed at the registrar, so partial "
            "resolution should continue. Confirm the secondary zone is up to date.",
            "If the provider is down and the secondary is stale, update the zone on the secondary directly "
            "and record what you changed.",
            "Ask support to post on {status_page}, which is hosted on a separate domain for this reason.",
        ),
        verify="All public resolvers return the right answers, synthetic checks pass from every region and "
        "edge traffic is back to the usual level for the time of day.",
        escalation="Registrar problems need {eng_lead}, who holds the registrar account, and the finance "
        "team if a renewal payment failed.",
        pitfalls=(
            "Lowering TTLs during an outage doesn't help clients that have already cached the old answer.",
        ),
        tags=("dns", "outage"),
        readers=("group:support",),
    ),
    Runbook(
        key="replication-lag",
        titles=(
            "Runbook: replica lag on {db_name}",
            "Read replicas falling behind the primary",
        ),
        alerts=("ReplicaLagAbove30s", "ReplicaNotStreaming"),
        summary="Read traffic for dashboards, search indexing and exports is served by {db_name} replicas. "
        "Lag means those reads return stale data.",
        impact="Users see changes disappear and reappear; exports can miss recent records. If the lagging "
        "replica is the failover candidate, a failover would lose data.",
        triage=(
            "Measure the lag and check the replication threads are running:\n\n" + sh("{db_lag_cmd}"),
            "Long-running queries on the replica can block replay. Look for queries older than a few minutes "
            "from reporting or export jobs.",
            "Check disk and network throughput on the replica; a noisy neighbour or an EBS burst balance at "
            "zero shows up as lag.",
            "Large write bursts on the primary — bulk imports, big migrations — cause lag that recovers on "
            "its own.",
        ),
        mitigation=(
            "Take the lagging replica out of the read pool so users get fresh data from the others.",
            "Cancel long-running reporting queries on the replica.",
            "If a migration or bulk import is the cause, pause it and resume in smaller batches.",
            "If replication has stopped with an error, rebuild the replica from a fresh snapshot rather than "
            "skipping transactions.",
        ),
        verify="Lag under five seconds for 15 minutes and the replica back in the read pool.",
        escalation="Page the database owner if replication has stopped with an error or if lag grows while "
        "the primary is idle.",
        tags=("database", "replication"),
        tenants=AG,
    ),
    Runbook(
        key="oom-kills",
        titles=(
            "Runbook: {api_service} pods OOMKilled",
            "Memory leak and CrashLoopBackOff in {api_service}",
        ),
        alerts=("PodOOMKilled", "ContainerRestartsHigh", "MemoryUsageAbove90Percent"),
        summary="Pods are exceeding their memory limit and being killed, often in a loop.",
        impact="Requests in flight on a killed pod fail; with enough restarts, capacity drops and latency "
        "rises.",
        triage=(
            "Confirm the kills and see when they started:\n\n"
            + sh("kubectl -n {k8s_ns} get pods -l app={api_service}",
                 "kubectl -n {k8s_ns} describe pod <pod> | grep -A5 'Last State'"),
            "Compare memory over the last 24 hours in {monitoring}. A saw-tooth that climbs steadily until "
            "the kill is a leak; a sudden spike is a single huge request or payload.",
            "Check recent deploys. A leak that starts right after a release is almost always that release.",
        ),
        mitigation=(
            "If a release introduced it, roll back (see the rollback runbook).",
            "If one endpoint is causing spikes, add a size limit or temporarily disable it with the feature "
            "flag.",
            "Raise the memory limit by 50% as a stopgap while you investigate, and say so in {chat_channel}.",
            "Capture a heap profile from one pod before it dies, for the developers.",
        ),
        verify="No new OOMKilled events for 30 minutes and memory flat under steady traffic.",
        escalation="Hand the heap profile and timeline to the owning team via their on-call rotation.",
        tags=("kubernetes", "memory", "oom"),
        tenants=("acme",),
    ),
    Runbook(
        key="elevated-5xx",
        titles=(
            "Runbook: elevated 5xx rate at {edge_service}",
            "High error rate on the public API",
            "Customers report 502 and 503 errors",
        ),
        alerts=("EdgeErrorRateAbove2Percent", "SLOBurnRateFast", "UpstreamConnectFailures"),
        summary="{edge_service} terminates TLS and routes requests to {api_service} and other backends. A "
        "raised 5xx rate there is the most common customer-visible symptom of any problem.",
        impact="Failed API calls and page loads. Integrations retry, which can amplify the load.",
        triage=(
            "Split the errors by status code, route and upstream in {monitoring}. 502 and 504 point at the "
            "upstream; 503 often means no healthy upstream at all.",
            "Check upstream health and recent restarts:\n\n"
            + sh("kubectl -n {k8s_ns} get pods -o wide | grep -v Running",
                 "kubectl -n {k8s_ns} get events --sort-by=.lastTimestamp | tail -20"),
            "Look at the deploy history in {deploy_tool} for the last two hours.",
            "If one {workspace} dominates the traffic, check whether it is a retry storm from a broken "
            "integration.",
        ),
        mitigation=(
            "Bad deploy: roll back first, investigate later.",
            "Single tenant flooding: apply a per-tenant rate limit at the edge.",
            "Upstream overloaded: scale it out and enable load shedding for non-critical routes such as "
            "search "
            "suggestions.",
            "Dependency down (database, cache, queue): follow that runbook, and keep the edge serving cached "
            "responses where possible.",
        ),
        verify="Error rate under 0.1% for 15 minutes and the SLO burn alert resolved.",
        escalation="If the error rate stays above 5% for 15 minutes, page {sre_lead} and declare a major "
        "incident; support ({support_lead}) updates {status_page}.",
        tags=("http-5xx", "edge", "slo"),
        tenants=AG,
        readers=("group:support",),
    ),
    Runbook(
        key="deploy-rollback",
        titles=(
            "Runbook: rolling back a bad deploy with {deploy_tool}",
            "How to revert a release in production",
        ),
        alerts=("ErrorRateAfterDeploy", "CanaryAnalysisFailed"),
        summary="A release has made things worse and needs to come out. Rolling back is always acceptable "
        "during an incident; you don't need anyone's permission.",
        impact="Whatever the bad release broke, until the rollback completes — usually five to ten minutes.",
        triage=(
            "Identify the release: compare the alert start time with the deploy history in {deploy_tool}.",
            "Check whether the release included a database migration. Rolling back code is safe only if the "
            "previous version can run against the new schema.",
        ),
        mitigation=(
            "In {deploy_tool}, select the previous healthy revision of the affected application and roll "
            "back.",
            "For Kubernetes deployments outside {deploy_tool}: "
            "`kubectl -n {k8s_ns} rollout undo deploy/{api_service}`.",
            "Freeze further deploys to the service by posting in {chat_channel} and setting the deploy lock.",
            "If a migration blocks rollback, disable the new code path with its feature flag instead.",
        ),
        verify="Error rate back to the pre-deploy baseline and the running image tag matches the previous "
        "release.",
        escalation="Tell the author of the release and their team lead; they own the fix-forward.",
        tags=("deploy", "rollback", "release"),
    ),
    Runbook(
        key="cache-evictions",
        titles=(
            "Runbook: cache evictions and memory pressure",
            "Redis evicting keys — latency climbing",
        ),
        alerts=("CacheEvictionsHigh", "CacheHitRatioBelow80Percent", "RedisMemoryAbove90Percent"),
        summary="Our session and query caches live in {cache_name}. When it fills up, keys are evicted, hit "
        "ratio drops and load shifts to {db_name}.",
        impact="Slower pages, more database load, and in the worst case users being signed out because "
        "session keys were evicted.",
        triage=(
            "Check memory, evictions and the biggest keys:\n\n"
            + sh("redis-cli info memory | grep -E 'used_memory_human|maxmemory_human'",
                 "redis-cli info stats | grep evicted_keys", "redis-cli --bigkeys"),
            "A new feature caching large values without a TTL is the usual cause.",
        ),
        mitigation=(
            "Delete or set TTLs on the offending key pattern, in small batches with SCAN — never KEYS.",
            "Scale the cluster up a node size if the growth is legitimate.",
            "Make sure the eviction policy is volatile-lru so sessions with TTLs go before permanent keys.",
        ),
        verify="Evictions near zero and hit ratio back above 95%.",
        escalation="Page {sre_lead} if sessions are being evicted; customers will be logged out.",
        tags=("redis", "cache"),
        tenants=("acme",),
    ),
    Runbook(
        key="cron-missed",
        titles=(
            "Runbook: scheduled job did not run",
            "Missed CronJob: nightly jobs not running",
        ),
        alerts=("CronJobMissedSchedule", "DeadMansSwitchNightlyJobs"),
        summary="Nightly jobs — exports, payroll calculations, billing runs — are Kubernetes CronJobs in "
        "{k8s_ns}. Each one pings a dead man's switch when it finishes; the alert fires when the ping "
        "doesn't arrive.",
        impact="Depends on the job. A missed payroll calculation or billing run has to be fixed before "
        "business hours in the affected region.",
        triage=(
            "List recent jobs and their status:\n\n"
            + sh(
                "kubectl -n {k8s_ns} get cronjobs",
                "kubectl -n {k8s_ns} get jobs --sort-by=.status.startTime | tail",
            ),
            "A job that never started usually means the CronJob is suspended or hit startingDeadlineSeconds "
            "while the cluster was busy. A job that started and failed has logs.",
        ),
        mitigation=(
            "Start the job by hand: `kubectl -n {k8s_ns} create job --from=cronjob/nightly-export "
            "manual-$(date +%s)`.",
            "If it fails again, read the logs and fix the cause before retrying; most jobs are idempotent, "
            "but billing is not — check with finance ({finance_lead}) before re-running it.",
            "Unsuspend the CronJob if someone forgot to after maintenance.",
        ),
        verify="The dead man's switch has received its ping and the job's output is where downstream "
        "consumers expect it.",
        escalation="Page the owning team if the job can't be completed before 06:00 local time in the "
        "affected region.",
        tags=("cron", "batch"),
        tenants=("acme", "initech"),
    ),
    Runbook(
        key="acquirer-degraded",
        titles=(
            "Runbook: card acquirer degraded",
            "Failing over card traffic to the secondary acquirer",
        ),
        alerts=("AuthorizationSuccessRateDrop", "AcquirerLatencyP99Above3s", "AcquirerTimeouts"),
        summary="Card payments are routed to our primary acquirer, with a secondary on standby. When the "
        "primary degrades, authorisation success drops even though our own services are healthy.",
        impact="Customers' checkouts fail or hang; merchants see spikes in declines with the code "
        "processing_error. Every minute costs merchants sales, so act fast.",
        triage=(
            "Compare authorisation success rates by acquirer, card brand and region in {monitoring}. A drop "
            "limited to one brand or country is usually the scheme or an issuer, not the acquirer.",
            "Check the acquirer's status page and the vendor channel.",
            "Look at error codes from the acquirer in {worker_service} and {api_service} logs; timeouts and "
            "5xx point at the acquirer, hard declines do not.",
        ),
        mitigation=(
            "Shift traffic to the secondary acquirer gradually: 10%, 50%, then 100%, watching success rates.",
            "Use the routing flag `gx admin routing set --acquirer secondary --percent 50`.",
            "Tell support ({support_lead}) so they can answer merchants, and update {status_page}.",
            "Shift traffic back only after the primary has been healthy for 30 minutes.",
        ),
        verify="Authorisation success rate back within 1% of the weekly baseline for every major card brand.",
        escalation="Page {sre_lead} and the payments partner manager. Finance ({finance_lead}) must be told "
        "if traffic stays on the secondary for more than four hours, because its fees are higher.",
        tags=("payments", "acquirer", "failover"),
        tenants=("globex",),
        readers=("group:payments",),
    ),
)


# ---------------------------------------------------------------------------
# Post-mortems
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostMortem:
    """A blameless incident review, written once for one tenant."""

    tenant: str
    key: str
    title: str
    date: str
    severity: str
    duration: str
    summary: str
    impact: str
    timeline: tuple[tuple[str, str], ...]
    root_cause: str
    contributing: tuple[str, ...]
    went_well: tuple[str, ...]
    went_wrong: tuple[str, ...]
    actions: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    readers: tuple[str, ...] = ("group:sre", "group:engineering")


POSTMORTEMS: tuple[PostMortem, ...] = (
    PostMortem(
        tenant="acme",
        key="meta-db-failover-maintenance",
        title="Post-mortem: writes failed for 47 minutes after meta-db lost its leader",
        date="2025-11-18",
        severity="SEV1",
        duration="47 minutes",
        summary="During planned node maintenance in {region}, the etcd cluster that Patroni uses for "
        "leader election lost quorum. Patroni demoted the {db_name} primary as designed and, with no "
        "quorum, could not elect a new one. All writes to object storage metadata failed until etcd was "
        "restored.",
        impact="Uploads, deletes and permission changes failed for every {workspace} in {region} for 47 "
        "minutes; roughly 1.9 million API calls returned 503. Reads and downloads continued from replicas. "
        "No data was lost.",
        timeline=(
            ("09:02", "Maintenance starts draining three Kubernetes nodes in the storage pool."),
            ("09:11", "Two of three etcd members are evicted; quorum is lost. Patroni demotes the primary."),
            ("09:12", "WriteErrorRateHigh pages the on-call engineer, {sre_lead}."),
            ("09:19", "Incident declared in {chat_channel}. The team suspects the database itself."),
            ("09:31", "Someone notices the etcd pods in Pending; the link to the maintenance is made."),
            ("09:44", "Maintenance paused, etcd members rescheduled, quorum restored."),
            ("09:49", "Patroni elects meta-db-2 as leader; write errors fall to zero by 09:59."),
        ),
        root_cause="The etcd members had no PodDisruptionBudget and were scheduled on the same node pool "
        "as the workloads being drained. Draining three nodes at once removed two of the three members.",
        contributing=(
            "The maintenance checklist didn't mention etcd.",
            "The database runbook starts from the assumption that the primary host has failed, which sent "
            "the responders in the wrong direction for 12 minutes.",
        ),
        went_well=(
            "Reads kept working, so most customers saw degraded rather than failed service.",
            "Support posted on {status_page} within nine minutes of the page.",
        ),
        went_wrong=(
            "Nobody on the incident call knew that Patroni depends on etcd for leadership.",
            "The maintenance continued for 30 minutes after the incident was declared.",
        ),
        actions=(
            ("{sre_lead}",
             "Add a PodDisruptionBudget (maxUnavailable: 1) to etcd and spread members across zones."),
            ("{eng_lead}", "Add an etcd quorum check to the database failover runbook's triage section."),
            ("{sre_lead}", "Require maintenance to pause automatically when a SEV1 is declared."),
        ),
        tags=("database", "etcd", "patroni", "maintenance"),
    ),
    PostMortem(
        tenant="acme",
        key="expired-wildcard-certificate",
        title="Post-mortem: expired *.acme.example certificate broke the API and mobile app",
        date="2026-01-09",
        severity="SEV1",
        duration="2 hours 13 minutes",
        summary="The wildcard certificate for {cert_domain} expired at 00:00 UTC. cert-manager had been "
        "failing to renew it for 29 days because its IAM role lost permission to write DNS records in "
        "{dns_provider}. The expiry warnings went to a channel nobody reads any more.",
        impact="All HTTPS traffic to the API, console and {mobile_app} failed certificate validation. "
        "Customers' integrations stopped; the mobile app showed 'cannot connect'. Webhooks were queued "
        "and delivered after recovery.",
        timeline=(
            ("00:00", "Certificate expires."),
            ("00:04", "TLSHandshakeErrorsHigh fires, but routes to the retired #alerts-legacy channel."),
            ("00:58", "A customer in Australia emails {support_email}; the night support agent escalates."),
            ("01:06", "On-call paged manually; incident declared."),
            ("01:21", "Cause identified: DNS-01 challenge failing with AccessDenied since 11 December."),
            ("01:47", "IAM policy fixed; renewal retried but hits a Let's Encrypt rate limit."),
            ("02:09", "Emergency certificate from the vault installed with approval from {ciso}."),
            ("02:13", "Traffic recovers; a Let's Encrypt certificate is issued the next morning."),
        ),
        root_cause="An IAM clean-up in December removed route53:ChangeResourceRecordSets from the "
        "cert-manager role because the permission looked unused — it's used only once every 60 days.",
        contributing=(
            "CertificateExpiresIn7Days was routed to a chat channel, not to paging.",
            "Repeated renewal attempts during the incident exhausted our Let's Encrypt quota.",
        ),
        went_well=(
            "The emergency certificate existed and worked exactly as the runbook described.",
        ),
        went_wrong=(
            "It took 58 minutes and a customer email to notice a total outage.",
            "The IAM clean-up wasn't reviewed by the team that owns cert-manager.",
        ),
        actions=(
            ("{sre_lead}",
             "Page on CertificateExpiresIn14Days; audit all alert routes for retired channels."),
            ("{ciso}", "Require owner review for IAM permission removals."),
            ("{eng_lead}", "Add a second ACME issuer so a rate limit on one provider isn't fatal."),
        ),
        tags=("tls", "certificates", "alerting", "iam"),
        readers=("group:sre", "group:engineering", "group:support"),
    ),
    PostMortem(
        tenant="acme",
        key="indexer-poison-message",
        title="Post-mortem: search results six hours out of date (indexer consumer lag)",
        date="2026-02-21",
        severity="SEV2",
        duration="6 hours 20 minutes",
        summary="A single object-event message with 41 MB of custom metadata crashed every "
        "{worker_service} pod that tried to process it. The consumers restarted, re-read the same message "
        "and crashed again, so nothing behind it in {queue_name} was indexed.",
        impact="Search in the console and API didn't show objects uploaded or renamed during the incident. "
        "Uploads themselves worked. 212 support tickets were opened.",
        timeline=(
            ("03:40", "The oversized message is produced by a customer's bulk tagging script."),
            ("03:41", "{worker_service} pods start crash-looping with out-of-memory errors."),
            ("04:10", "ConsumerLagGrowing fires at low urgency; nobody is paged overnight."),
            ("08:15", "Support reports missing search results; on-call starts investigating."),
            ("09:02", "Poison message found by matching the crash logs to a partition offset."),
            ("09:10", "Offset skipped and message copied to the dead-letter topic."),
            ("10:00", "Backlog drained; search fully up to date."),
        ),
        root_cause="The API accepted custom metadata far above the documented 2 KB limit because the "
        "check ran only in the console, and the indexer had no per-message size guard.",
        contributing=(
            "Consumer lag alerts were low urgency at night.",
            "The indexer processed partitions strictly in order with no dead-letter handling.",
        ),
        went_well=("The runbook's poison-message section led straight to the fix once someone looked.",),
        went_wrong=("Customers noticed before we did.",),
        actions=(
            ("{eng_lead}", "Enforce the metadata size limit in {api_service}."),
            ("{sre_lead}", "Make lag over 30 minutes page at any time of day."),
            ("{eng_lead}", "Send messages that fail three times to a dead-letter topic automatically."),
        ),
        tags=("kafka", "queue", "search", "poison-message"),
    ),
    PostMortem(
        tenant="globex",
        key="eu-payouts-delayed",
        title="Post-mortem: EU merchant payouts delayed by nine hours",
        date="2025-12-02",
        severity="SEV2",
        duration="9 hours",
        summary="The partner bank's SEPA API slowed from 300 ms to 40 seconds per call. {worker_service} "
        "messages took longer than the {queue_tech} visibility timeout, became visible again, and were "
        "picked up by other workers. Idempotency keys prevented double payouts, but the workers spent "
        "most of their time on duplicates and the queue stalled.",
        impact="About 4,300 merchants in the EU received their daily payout nine hours late. No money was "
        "lost or duplicated.",
        timeline=(
            ("05:30", "Bank API latency starts rising."),
            ("06:05", "QueueDepthHigh ({queue_name}) pages on-call ({sre_lead})."),
            ("06:40", "Workers scaled from 8 to 24; throughput gets worse."),
            ("07:55", "Duplicate processing spotted in logs: the same payout ID handled by three workers."),
            ("08:20", "Visibility timeout raised from 60 s to 15 minutes; workers scaled back to 8."),
            ("11:10", "Bank latency recovers."),
            ("14:30", "Backlog cleared; support sends a notice to affected merchants."),
        ),
        root_cause="The visibility timeout was shorter than the worst-case processing time, and the worker "
        "didn't extend it while waiting on the bank.",
        contributing=(
            "Scaling out added more duplicate work instead of more throughput.",
            "The bank's degradation wasn't visible on any dashboard.",
        ),
        went_well=(
            "Idempotency keys held: zero double payouts.",
            "Support had a macro for payout delays and answered merchants quickly.",
        ),
        went_wrong=("The team spent 90 minutes scaling the wrong thing.",),
        actions=(
            ("{eng_lead}", "Extend message visibility with a heartbeat while a bank call is in flight."),
            ("{sre_lead}", "Dashboard and alert on partner bank latency."),
            ("{finance_lead}", "Agree a latency SLA with the partner bank."),
        ),
        tags=("payouts", "sqs", "partner-bank"),
        readers=("group:sre", "group:engineering", "group:finance"),
    ),
    PostMortem(
        tenant="globex",
        key="checkout-dns-record-deleted",
        title="Post-mortem: checkout unavailable after a DNS record was deleted",
        date="2026-01-27",
        severity="SEV1",
        duration="38 minutes",
        summary="A Terraform change meant to tidy up staging records also removed the CNAME for "
        "{cert_domain} in {dns_provider}. Hosted checkout pages stopped resolving once resolvers' caches "
        "expired.",
        impact="Hosted checkout and payment links failed for every merchant for 38 minutes; authorisation "
        "volume fell 71%. Merchants using direct API integrations were not affected.",
        timeline=(
            ("14:02", "Terraform apply merges and runs automatically."),
            ("14:07", "SyntheticCheckDNSFailure fires from three regions."),
            ("14:09", "TrafficDropAtEdge fires; incident declared."),
            ("14:18", "Change history in {dns_provider} shows the deleted record."),
            ("14:25", "Revert merged; the pipeline is queued behind another apply."),
            ("14:40", "Record restored manually in the {dns_provider} console."),
        ),
        root_cause="The staging and production records shared a Terraform module, and the plan's deletion "
        "of the production CNAME was buried among 140 expected changes.",
        contributing=(
            "Terraform applies ran without a human approving the plan.",
            "The DNS runbook assumed a provider outage rather than our own change.",
        ),
        went_well=("Detection took five minutes.",),
        went_wrong=("The automated revert was slower than a manual fix.",),
        actions=(
            ("{sre_lead}", "Require plan approval for any change that deletes DNS records."),
            ("{eng_lead}", "Split production DNS into its own Terraform state."),
        ),
        tags=("dns", "terraform", "checkout"),
        readers=("group:sre", "group:engineering", "group:support"),
    ),
    PostMortem(
        tenant="globex",
        key="ledger-db-binlog-disk",
        title="Post-mortem: ledger-db failover delayed by a full replica disk",
        date="2026-03-05",
        severity="SEV2",
        duration="1 hour 5 minutes",
        summary="The {db_name} primary's host failed. Orchestrator tried to promote ledger-db-replica-1, "
        "whose disk was 100% full of relay logs after a stalled SQL thread, so promotion failed and the "
        "second replica was promoted manually.",
        impact="Invoice creation, refunds and dashboard edits failed for 65 minutes. Card authorisations "
        "continued because they are written to a separate store first.",
        timeline=(
            ("19:12", "Primary host fails with a hardware fault."),
            ("19:13", "Automatic promotion of replica-1 fails."),
            ("19:15", "On-call paged; follows the database failover runbook."),
            ("19:48", "Replica-1 found at 100% disk; the runbook didn't mention disk checks."),
            ("20:09", "Replica-2 promoted manually; writes recover by 20:17."),
        ),
        root_cause="Replica-1's SQL thread had stopped two days earlier on a duplicate-key error. Relay "
        "logs kept arriving and filled the disk. ReplicaNotStreaming was firing but was silenced during "
        "an earlier maintenance window and never unsilenced.",
        contributing=("Silences in {monitoring} have no expiry by default.",),
        went_well=("Authorisations were isolated from the ledger database by design.",),
        went_wrong=("A broken replica went unnoticed for two days.",),
        actions=(
            ("{sre_lead}", "Give every silence an expiry of at most 24 hours."),
            ("{sre_lead}", "Add disk and replication checks to the failover runbook."),
        ),
        tags=("database", "mysql", "replication", "disk"),
    ),
    PostMortem(
        tenant="initech",
        key="ontario-overtime-export",
        title="Post-mortem: payroll export omitted overtime for Ontario locations",
        date="2025-10-14",
        severity="SEV2",
        duration="3 days (detected after payroll ran)",
        summary="A migration of pay rule sets assigned Ontario locations a rule set with no weekly overtime "
        "threshold. The payroll export then classified all hours as regular time.",
        impact="1,140 employees at 23 customer companies were underpaid overtime for one pay period. "
        "Customers had to run correction payrolls.",
        timeline=(
            ("Oct 10", "Rule set migration deployed."),
            ("Oct 13", "Payroll exports run for bi-weekly customers."),
            ("Oct 14 09:20", "A customer reports missing overtime to {support_email}."),
            ("Oct 14 11:05", "Cause confirmed; incident declared, exports paused for Ontario."),
            ("Oct 14 16:40", "Rule sets corrected and affected timesheets recalculated."),
            ("Oct 15", "Support contacts every affected customer with corrected exports."),
        ),
        root_cause="The migration mapped rule sets by province code, and a typo mapped ON to a template "
        "intended for a customer-specific exemption.",
        contributing=(
            "The migration's dry-run report listed changes per rule set, not per location.",
            "No automated check compared overtime totals before and after the migration.",
        ),
        went_well=("Support's proactive outreach was appreciated by customers.",),
        went_wrong=("We learned about the problem from a customer, after pay day.",),
        actions=(
            ("{eng_lead}", "Compare pay-code totals before and after any rule change, per location."),
            ("{support_lead}", "Create a customer communication template for payroll-impacting incidents."),
        ),
        tags=("payroll", "overtime", "migration"),
        readers=("group:ops", "group:engineering", "group:support"),
    ),
    PostMortem(
        tenant="initech",
        key="monday-clock-in-failover",
        title="Post-mortem: clock-ins failed during Monday morning peak after an Aurora failover",
        date="2026-02-02",
        severity="SEV1",
        duration="45 minutes",
        summary="Aurora failed over {db_name} at 07:58 Eastern for routine patching that had been "
        "mis-scheduled into peak hours. {api_service} kept connecting to the old writer because the JVM "
        "cached its DNS answer indefinitely.",
        impact="Employees at about 600 companies couldn't clock in or out from {mobile_app} or kiosks "
        "between 07:58 and 08:43 Eastern. Managers had to fix punches by hand.",
        timeline=(
            ("07:58", "Aurora failover completes in 31 seconds."),
            ("07:59", "Write errors begin: 'cannot execute INSERT in a read-only transaction'."),
            ("08:03", "On-call ({sre_lead}) paged."),
            ("08:21", "Cause identified as stale DNS in the JVM."),
            ("08:30", "{api_service} restarted in waves."),
            ("08:43", "Error rate back to normal."),
        ),
        root_cause="networkaddress.cache.ttl was unset in the container's java.security, so the JVM cached "
        "the cluster endpoint forever, and the maintenance window was set in UTC instead of local time.",
        contributing=("Nobody had tested a failover since moving to Aurora.",),
        went_well=("The app's offline queue saved most punches, which synced after recovery.",),
        went_wrong=("The failover runbook didn't mention restarting the application.",),
        actions=(
            ("{eng_lead}", "Set networkaddress.cache.ttl=30 in every JVM image."),
            ("{sre_lead}",
             "Move maintenance windows to Saturday 02:00 local time and run a quarterly failover drill."),
        ),
        tags=("database", "aurora", "dns", "clock-in"),
        readers=("group:ops", "group:engineering"),
    ),
)


# ---------------------------------------------------------------------------
# Internal handbooks, policies and procedures
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Procedure:
    """An internal handbook page; ``readers`` may use vocabulary placeholders."""

    key: str
    titles: tuple[str, ...]
    readers: tuple[str, ...]
    category: str
    product: str
    doc_type: str
    intro: str
    sections: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    tenants: tuple[str, ...] = ALL
    #: Where on the wiki it lives: handbook, policies, support or finance.
    area: str = "handbook"


PROCEDURES: tuple[Procedure, ...] = (
    Procedure(
        key="oncall-handbook",
        titles=(
            "On-call handbook", "Being on call: expectations and escalation", "On-call guide for engineers",
        ),
        readers=("group:{ops_team}", "group:oncall", "group:engineering"),
        category="operations",
        product="platform",
        doc_type="handbook",
        intro="This handbook explains how on-call works at {company}: who is on call, what a page means, "
        "how quickly you must respond and how to hand over. Read it before your first shift and again "
        "whenever it changes; the owner is {sre_lead}.",
        sections=(
            ("Rotation",
             "Primary and secondary on-call rotate weekly, Monday 10:00 to Monday 10:00 local time, and "
             "are scheduled in {oncall_tool}. New engineers shadow two shifts before joining. Swaps are "
             "fine — arrange them yourself and update {oncall_tool}; an unrecorded swap means the wrong "
             "person gets paged."),
            ("Before your shift",
             bullets((
                 "Check that {oncall_tool} can reach you: send yourself a test page by phone call and by "
                 "push.",
                 "Make sure your laptop, VPN and production access work from home.",
                 "Read the handover notes and open incidents in {chat_channel}.",
                 "Skim the runbooks for the services you are least familiar with.",
             ))),
            ("Severities and response times",
             bullets((
                 "SEV1 — customer-facing outage or data at risk. Acknowledge within 5 minutes, declare an "
                 "incident, page secondary.",
                 "SEV2 — significant degradation or a single large customer affected. Acknowledge within "
                 "15 minutes.",
                 "SEV3 — no current customer impact. Handle in business hours.",
             ))),
            ("During an incident",
             "Assign an incident commander, who coordinates and does not type commands. Keep a running log "
             "in {chat_channel}. Support ({support_lead}) owns customer communication and {status_page}; "
             "give them an update at least every 30 minutes, even if the update is 'no change'."),
            ("Handover",
             "At the end of the week, write a short handover: pages received, anything still open, "
             "anything noisy that should be tuned. Noisy alerts are bugs — open a ticket for each one."),
            ("Time off and compensation",
             "Every night you are paged after 22:00 earns a late start the next day, no questions asked. "
             "Weekend shifts earn a day off in lieu. Nobody should be on call more than one week in four."),
        ),
        tags=("on-call", "incidents", "paging"),
    ),
    Procedure(
        key="release-process",
        titles=("Release process", "How we ship to production", "Release train and change freeze policy"),
        readers=("group:engineering", "group:{ops_team}"),
        category="engineering",
        product="platform",
        doc_type="process",
        intro="Every change reaches production through the same pipeline in {deploy_tool}. This page "
        "explains the release train, canaries, migrations and freezes. Questions go to {eng_lead}.",
        sections=(
            ("Release train",
             "Services deploy continuously from the main branch after review and green CI. The mobile app "
             "{mobile_app} ships on a two-week train: the branch is cut on Monday of week two and submitted "
             "to the stores on Thursday."),
            ("Canary and rollout",
             numbered((
                 "The new version goes to the canary deployment, which takes 5% of traffic.",
                 "Automated canary analysis compares error rate and p99 latency with the baseline for 20 "
                 "minutes.",
                 "If the analysis passes, rollout continues in steps of 25%, 50% and 100%.",
                 "If it fails, {deploy_tool} rolls back automatically and posts in {chat_channel}.",
             ))),
            ("Database migrations",
             "Use expand-and-contract. Add columns and tables in one release, start writing to them in the "
             "next, and remove old ones only after a full release cycle. A migration must never make the "
             "previous application version fail — otherwise rollback becomes impossible."),
            ("Change freezes",
             "No non-emergency changes from 15 December to 2 January, during the last two business days of "
             "each month (finance close), or during a declared SEV1. Emergency changes need approval from "
             "the incident commander or {eng_lead}."),
            ("Hotfixes",
             "A hotfix is a normal pull request with the hotfix label; it skips the queue but not review or "
             "canary analysis."),
            ("Release notes",
             "Customer-visible changes need a line in the changelog, written for customers, before the "
             "feature flag is turned on."),
        ),
        tags=("release", "deploy", "canary", "change-freeze"),
        tenants=AG,
    ),
    Procedure(
        key="security-incident-response",
        titles=(
            "Security incident response plan",
            "What to do when you suspect a security breach",
            "Security incident handling procedure",
        ),
        readers=("group:security", "user:{ciso}"),
        category="security",
        product="platform",
        doc_type="policy",
        intro="This plan covers suspected compromises of {company} systems, customer data or employee "
        "accounts. The plan owner is {ciso}. When in doubt, treat it as an incident — a false alarm costs "
        "an hour, a missed breach costs far more.",
        sections=(
            ("What counts as a security incident",
             bullets((
                 "Credentials, API keys or tokens exposed outside their intended systems.",
                 "Unexpected access to customer data, by anyone, including employees.",
                 "Malware on a company laptop or server.",
                 "A phishing email that someone clicked or entered credentials into.",
                 "A report from a researcher through {security_email} or the bug bounty.",
             ))),
            ("Reporting",
             "Anyone can start the process: page the security on-call in {oncall_tool} with the "
             "'security' service, or email {security_email}. Do not discuss suspected incidents in public "
             "channels; the security team opens a private channel per case."),
            ("Containment",
             numbered((
                 "Revoke or rotate exposed credentials first.",
                 "Isolate affected hosts: remove them from load balancers and restrict their security "
                 "groups, "
                 "but do not power them off — memory is evidence.",
                 "Suspend compromised accounts and end their sessions.",
                 "Block malicious IPs at the edge if the attack is ongoing.",
             ))),
            ("Evidence",
             "Take disk snapshots and export logs before changing anything else on affected systems. Record "
             "who did what and when in the case channel; it may be needed by auditors or law enforcement."),
            ("Notification",
             "If personal data may have been affected, legal must be involved within 24 hours. Under the "
             "GDPR we have 72 hours from becoming aware to notify the supervisory authority, and customers "
             "who are controllers must be told without undue delay. Only {ciso} or the general counsel "
             "approve external statements."),
            ("After the incident",
             "Every security incident gets a post-mortem within ten working days, with actions tracked to "
             "completion in the security backlog."),
        ),
        tags=("security", "incident-response", "breach"),
        area="policies",
    ),
    Procedure(
        key="gdpr-erasure-procedure",
        titles=(
            "Handling GDPR data deletion requests",
            "Procedure: right-to-erasure and data subject requests",
            "Processing customer privacy requests (DSARs)",
        ),
        readers=("group:support", "group:privacy", "group:legal"),
        category="privacy",
        product="platform",
        doc_type="procedure",
        intro="Requests to access, correct or delete personal data arrive through {privacy_email}, the "
        "in-product form and sometimes ordinary support tickets. The legal deadline is one month from "
        "receipt, so start the clock on the day it arrives, not the day we notice it.",
        sections=(
            ("Intake",
             numbered((
                 "Tag the ticket privacy-request and assign it to the privacy queue.",
                 "Log it in the DSAR register with the date received and the deadline.",
                 "Send the acknowledgement template within two working days.",
             ))),
            ("Identity and scope",
             "Verify the requester controls the email address on the account; never ask for ID documents "
             "unless the account is high-risk. Then work out who the controller is. If the person is a "
             "member of a customer's {workspace}, that customer is the controller: forward the request to "
             "the customer's administrators and tell the requester we have done so. We act on our own "
             "initiative only for data we control, such as the person's own account and marketing records."),
            ("Execution",
             "Run the erasure job for the subject. It deletes the profile, pseudonymises audit-log entries "
             "and removes the person from marketing tools:\n\n"
             + sh("{cli} admin privacy erase --subject-email person@example.com --ticket PRIV-1234 --dry-run",
                  "{cli} admin privacy erase --subject-email person@example.com --ticket PRIV-1234")),
            ("What we keep",
             "Invoices and payment records are kept for the period tax law requires. Backups are not edited; "
             "they expire within {retention_days} days and restored backups are re-scrubbed against the "
             "erasure log."),
            ("Closing",
             "Send the completion template, attach the job output to the ticket and close the register "
             "entry. "
             "Complex requests can be extended by two further months, but only with legal's approval and a "
             "letter to the requester before the first month ends."),
        ),
        tags=("gdpr", "erasure", "dsar", "privacy"),
        area="support",
    ),
    Procedure(
        key="support-escalation",
        titles=("Support escalation policy", "When and how to escalate a ticket to engineering"),
        readers=("group:support",),
        category="support",
        product="platform",
        doc_type="policy",
        intro="Most tickets are solved by the first agent. This page covers the rest: when to escalate, to "
        "whom, and what to include so engineering can act without coming back with questions.",
        sections=(
            ("Tiers",
             bullets((
                 "Tier 1 — frontline agents; how-to questions, account access, billing.",
                 "Tier 2 — product specialists; reproducible bugs, integrations, data questions.",
                 "Tier 3 — engineering, through the owning team's on-call queue.",
             ))),
            ("Escalate immediately when",
             bullets((
                 "Several customers report the same failure within an hour — page on-call, it may be an "
                 "incident.",
                 "Data loss or data exposure is suspected — also notify security.",
                 "A {plan_top} customer is completely blocked.",
             ))),
            ("What to include",
             "The {workspace} ID, request IDs (req_...), timestamps with time zone, exact error text, steps "
             "to reproduce and what the customer already tried. Screenshots are welcome but never enough on "
             "their own."),
            ("Response targets",
             "First response: {plan_top} 1 hour, {plan_mid} 8 business hours, {plan_free} 2 business days. "
             "The support lead ({support_lead}) reviews breached targets every Monday."),
        ),
        tags=("escalation", "sla", "tickets"),
        tenants=AG,
        area="support",
    ),
    Procedure(
        key="refund-approval",
        titles=("Refund and credit approval limits", "Who can approve a refund?"),
        readers=("group:finance", "group:support"),
        category="finance",
        product="billing",
        doc_type="policy",
        intro="Refunds and service credits are a normal part of keeping customers happy, but they must be "
        "consistent and recorded properly. This policy is owned by {finance_lead}.",
        sections=(
            ("Approval limits",
             bullets((
                 "Support agents: up to 500 USD (or equivalent) per customer per quarter.",
                 "Support lead ({support_lead}): up to 2,000 USD.",
                 "Finance ({finance_lead}): anything above 2,000 USD, and every refund on an annual "
                 "contract.",
             ))),
            ("Service credits for outages",
             "SLA credits are calculated from the monthly uptime report, never estimated by hand. The "
             "customer "
             "must request them within 30 days of the incident; we apply them to the next invoice."),
            ("How to record it",
             "Issue the refund from the billing system, not the payment processor, so the invoice and ledger "
             "stay consistent. Use reason codes: duplicate, service_issue, goodwill or cancellation."),
            ("Red flags",
             "Refunds to a different card than the original, requests from someone who isn't a billing "
             "contact, or urgent pressure to skip the process. Stop and ask finance."),
        ),
        tags=("refunds", "approvals", "credits"),
        tenants=AG,
        area="finance",
    ),
    Procedure(
        key="month-end-close",
        titles=("Month-end close checklist", "Finance close: revenue, dunning and reconciliation"),
        readers=("group:finance",),
        category="finance",
        product="billing",
        doc_type="procedure",
        intro="The books close on the fifth business day of each month. This checklist is run by the "
        "finance team; {finance_lead} signs off.",
        sections=(
            ("Days 1–2",
             numbered((
                 "Export the invoice register and the payment processor's settlement report.",
                 "Reconcile settlements to bank deposits; investigate differences above 50 USD.",
                 "Review failed payments still in dunning and decide write-offs for anything over 60 days.",
             ))),
            ("Days 3–4",
             numbered((
                 "Post deferred revenue for annual contracts.",
                 "Book FX gains and losses on non-USD balances.",
                 "Accrue cloud infrastructure costs from the provider's billing export.",
             ))),
            ("Day 5",
             "Prepare the management pack — MRR, churn, net revenue retention and cash — and send it to the "
             "leadership team."),
            ("Controls",
             "Engineering must not deploy billing changes during the last two business days of the month or "
             "the first two of the next, as stated in the release policy."),
        ),
        tags=("month-end", "reconciliation", "revenue"),
        tenants=AG,
        area="finance",
    ),
    Procedure(
        key="leaked-internal-credentials",
        titles=("Rotating leaked internal credentials", "Procedure: a production secret was exposed"),
        readers=("group:security", "group:{ops_team}"),
        category="security",
        product="platform",
        doc_type="procedure",
        intro="Use this when a production secret — a cloud access key, database password, signing key or "
        "third-party token — has been exposed in a log, ticket, repository or chat message.",
        sections=(
            ("Order of work",
             numbered((
                 "Tell security ({ciso}) and open a private case channel.",
                 "Rotate the secret in the secret manager and deploy consumers; prefer dual-credential "
                 "rotation so nothing breaks.",
                 "Revoke the old value.",
                 "Search audit logs (CloudTrail, database logs, provider dashboards) for use of the old "
                 "value "
                 "since the exposure.",
                 "Delete the exposed copy where you can, and ask chat admins to purge messages.",
             ))),
            ("Special cases",
             bullets((
                 "Webhook signing keys: coordinate with support; customers must update their verification "
                 "secret.",
                 "Database passwords: rotate the replica credentials separately and check replication "
                 "afterwards.",
                 "Cloud root credentials: treat as SEV1 and involve {eng_lead}.",
             ))),
        ),
        tags=("secrets", "rotation", "security"),
        tenants=("acme",),
        area="policies",
    ),
    Procedure(
        key="access-review",
        titles=("Quarterly production access review", "SOC 2 access review procedure"),
        readers=("group:security",),
        category="security",
        product="platform",
        doc_type="procedure",
        intro="Every quarter we confirm that each person with production access still needs it. The "
        "review is evidence for our SOC 2 audit, so it must be complete and signed.",
        sections=(
            ("Steps",
             numbered((
                 "Export the members of every production group from the identity provider and cloud "
                 "accounts.",
                 "Send each manager the list of their reports' access with a one-week deadline.",
                 "Remove access that managers don't confirm.",
                 "Compare against the HR leavers list; any leaver with access is a security incident.",
                 "Store the exports, confirmations and removals in the audit evidence folder.",
             ))),
            ("Sign-off", "{ciso} signs the review. Exceptions need a ticket with an end date."),
        ),
        tags=("access-review", "soc2", "compliance"),
        tenants=("acme",),
        area="policies",
    ),
    Procedure(
        key="pci-card-data",
        titles=("Handling cardholder data (PCI DSS)", "What to do if card numbers appear in logs"),
        readers=("group:compliance", "group:security"),
        category="compliance",
        product="payments",
        doc_type="policy",
        intro="Globex is a PCI DSS Level 1 service provider. Full card numbers (PANs) may only exist inside "
        "the card data environment. This policy applies to every employee and contractor.",
        sections=(
            ("Rules",
             bullets((
                 "Never log, print, email or paste a full card number. Use the last four digits or the "
                 "token.",
                 "Never ask a merchant or cardholder to send card details by email or chat.",
                 "Test only with the published test card numbers.",
             ))),
            ("If you find a card number",
             numbered((
                 "Don't copy it anywhere else, including into the report.",
                 "Report the location — service, log index, ticket number — to {security_email}.",
                 "Security purges it and opens a compliance case; the logging code gets fixed and scanned.",
             ))),
            ("Scope changes",
             "Any new system that could receive card data must be reviewed by compliance before launch."),
        ),
        tags=("pci-dss", "card-data", "compliance"),
        tenants=("globex",),
        area="policies",
    ),
    Procedure(
        key="leave-policy",
        titles=("Leave policy: vacation, sick and parental leave", "Time off at {company}"),
        readers=("group:employees",),
        category="people",
        product="internal",
        doc_type="policy",
        intro="This policy applies to all employees. Where local law is more generous, local law wins. "
        "Questions go to the people team ({hr_lead}).",
        sections=(
            ("Vacation",
             "Full-time employees get 25 days a year plus public holidays, accrued monthly. Up to five days "
             "carry over to the next year. Book time off in the HR system at least two weeks ahead for "
             "anything longer than three days."),
            ("Sick leave",
             "Tell your manager as early as you can. No doctor's note is needed for absences of up to five "
             "working days. Sick days are not deducted from vacation."),
            ("Parental leave",
             "Birthing parents get 20 weeks at full pay; non-birthing parents get 12 weeks at full pay, to "
             "be taken within the first year. Adoptive parents get the same. Let {hr_lead} know at least "
             "eight weeks before you plan to start."),
            ("On-call and leave",
             "Remove yourself from on-call rotations for the whole of any leave, and arrange swaps before "
             "you go."),
        ),
        tags=("leave", "parental-leave", "vacation", "hr"),
        tenants=("acme", "initech"),
        area="policies",
    ),
    Procedure(
        key="incident-communications",
        titles=(
            "Customer communication during incidents",
            "Status page updates and incident templates",
        ),
        readers=("group:support", "group:{ops_team}"),
        category="support",
        product="platform",
        doc_type="procedure",
        intro="Clear, timely updates reduce ticket volume and keep customers' trust. Support owns the "
        "status page at {status_page}; engineers provide the facts.",
        sections=(
            ("Cadence",
             "Post the first update within 15 minutes of a SEV1 being declared and update every 30 minutes "
             "until resolved, even if nothing has changed. For SEV2, update every hour."),
            ("Templates",
             bullets((
                 "Investigating: 'We're investigating reports of errors when [action]. We'll update within "
                 "30 minutes.'",
                 "Identified: 'We've identified the cause and are working on a fix. [Workaround if any].'",
                 "Monitoring: 'A fix has been applied and we're monitoring the results.'",
                 "Resolved: 'This incident has been resolved. [Short plain-language summary].'",
             ))),
            ("What not to say",
             "Don't name vendors or individuals, don't guess at causes and don't promise times you can't "
             "keep."),
        ),
        tags=("status-page", "communication", "incidents"),
        area="support",
    ),
    # -- Support macros: short, support-only ------------------------------------
    Procedure(
        key="macro-quota-increase",
        titles=("Support macro: customer asks for a storage quota increase",),
        readers=("group:support",),
        category="support",
        product="storage",
        doc_type="macro",
        intro="Use this when a customer on any plan asks for more storage than their bucket or plan quota "
        "allows.",
        sections=(
            ("Before replying",
             "Check the usage breakdown with `{cli} admin storage usage --org <org-id> --breakdown`. More "
             "than "
             "half of quota tickets are solved by cleaning up non-current versions or incomplete uploads."),
            ("Reply",
             "Hi, thanks for getting in touch. Your buckets currently use [X] of [Y]. [If versions are "
             "large:] "
             "About [Z] of that is older versions of files — a lifecycle rule would free it automatically, "
             "and I've linked the guide below. If you still need more space, your administrator can raise "
             "the quota or move to a larger plan under Settings → Billing."),
        ),
        tags=("macro", "quota"),
        tenants=("acme",),
        area="support",
    ),
    Procedure(
        key="macro-payout-delay",
        titles=("Support macro: merchant asks where their payout is",),
        readers=("group:support",),
        category="support",
        product="payments",
        doc_type="macro",
        intro="Use this for 'my payout is late' tickets once you've checked there is no ongoing incident "
        "on {status_page}.",
        sections=(
            ("Check first",
             "Open the payout in the admin tool. Note its status, arrival date and trace reference. Failed "
             "payouts need new bank details; In transit payouts need the trace reference."),
            ("Reply",
             "Hi, thanks for reaching out. Your payout of [amount] was sent on [date] and is expected to "
             "arrive by [date]. Your bank can use the trace reference [ref] to locate it. If it hasn't "
             "arrived by the end of [date], reply here and we'll investigate with our banking partner."),
        ),
        tags=("macro", "payouts"),
        tenants=("globex",),
        area="support",
    ),
    Procedure(
        key="macro-locked-timesheet",
        titles=("Support macro: timesheet locked after payroll export",),
        readers=("group:support",),
        category="support",
        product="timesheets",
        doc_type="macro",
        intro="Employees or managers sometimes need to change hours after the pay period was locked and "
        "exported.",
        sections=(
            ("Reply",
             "Hi, once a pay period is locked and exported, its timesheets can't be edited, so payroll and "
             "{brand} always agree. Your administrator can record the correction as an adjustment in the "
             "current pay period instead; it will be included in the next export with a note linking it to "
             "the original shift. Let me know if you'd like the steps."),
            ("Internal note",
             "Never unlock a pay period on the customer's behalf. If the administrator insists the export "
             "itself was wrong, escalate to tier 2 with the pay period dates and the export ID."),
        ),
        tags=("macro", "timesheets", "payroll"),
        tenants=("initech",),
        area="support",
    ),
    # -- Confidential, named readers only ---------------------------------------
    Procedure(
        key="board-security-report",
        titles=("Board security report: Q1 2026 draft",),
        readers=("user:{ciso}",),
        category="security",
        product="internal",
        doc_type="report",
        intro="Draft of the quarterly security report to the board. Not for circulation until approved.",
        sections=(
            ("Headlines",
             bullets((
                 "Two SEV1 incidents this quarter, one of them security-relevant (expired certificate caused "
                 "by an IAM change).",
                 "Phishing simulation click rate down from 9% to 4%.",
                 "SOC 2 Type II audit fieldwork starts in May.",
             ))),
            ("Risks",
             "Third-party access by support tooling vendors remains the top risk. Proposal: move to "
             "just-in-time access with approval for all vendor accounts by Q3."),
            ("Asks",
             "Budget for a second security engineer and for an external penetration test of Acme Vault."),
        ),
        tags=("board", "confidential"),
        tenants=("acme",),
        area="policies",
    ),
    Procedure(
        key="compensation-review",
        titles=("Compensation review calendar and salary bands 2026",),
        readers=("user:{hr_lead}", "user:{finance_lead}"),
        category="people",
        product="internal",
        doc_type="report",
        intro="Confidential. Planning document for the 2026 compensation review.",
        sections=(
            ("Calendar",
             numbered((
                 "1 April: market data refreshed and bands updated.",
                 "15 April: managers submit recommendations.",
                 "30 April: calibration sessions per department.",
                 "1 June: new salaries effective.",
             ))),
            ("Budget",
             "Overall merit budget of 4.5% of payroll, with an additional 1% reserved for equity adjustments "
             "identified by the pay-gap analysis."),
            ("Principles",
             bullets((
                 "Bands are set at the 60th percentile of the market for each level and location.",
                 "Nobody is paid below the minimum of their band after the review.",
                 "Promotions are handled in the same cycle but budgeted separately.",
                 "Managers see only their own department's data until calibration is complete.",
             ))),
        ),
        tags=("compensation", "confidential", "hr"),
        tenants=("globex",),
        area="policies",
    ),
    Procedure(
        key="investigation-template",
        titles=("Workplace investigation notes template",),
        readers=("user:{hr_lead}",),
        category="people",
        product="internal",
        doc_type="template",
        intro="Template for documenting workplace investigations. Keep completed copies in the restricted "
        "HR drive only.",
        sections=(
            ("Case details",
             "Case number, date opened, investigator, parties involved, nature of complaint."),
            ("Interviews",
             "For each interview record the date, who was present, the questions asked and the answers "
             "given, "
             "in the interviewee's own words where possible. Offer the interviewee a copy to confirm."),
            ("Findings",
             "State the facts you found, the evidence for each, and whether the policy was breached on the "
             "balance of probabilities."),
            ("Retention",
             "Keep the file for seven years after the case closes, then destroy it. Never store notes in "
             "personal drives, email drafts or chat."),
        ),
        tags=("hr", "investigation", "confidential"),
        tenants=("initech",),
        area="policies",
    ),
)


# ---------------------------------------------------------------------------
# Demo queries
# ---------------------------------------------------------------------------

_ACME_SUPPORT = ("user:bob", "group:support", "group:employees")
_ACME_SRE = ("user:erin", "group:sre", "group:oncall", "group:engineering", "group:employees")
_ACME_SECURITY = ("user:alice", "group:security", "group:employees")
_ACME_FINANCE = ("user:dave", "group:finance", "group:employees")
_ACME_CUSTOMER = ("user:zoe",)
_GLOBEX_SUPPORT = ("user:judy", "group:support", "group:payments")
_GLOBEX_SRE = ("user:ivan", "group:sre", "group:oncall", "group:engineering")
_GLOBEX_FINANCE = ("user:heidi", "group:finance")
_GLOBEX_COMPLIANCE = ("user:grace", "group:security", "group:compliance")
_GLOBEX_CUSTOMER = ("user:omar",)
_INITECH_SUPPORT = ("user:peter", "group:support", "group:employees")
_INITECH_OPS = ("user:michael", "group:ops", "group:oncall", "group:engineering", "group:employees")
_INITECH_HR = ("user:joanna", "group:employees")
_INITECH_CUSTOMER = ("user:rita",)

#: (tenant, principals, text); ids are assigned in order.
QUERIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("acme", _ACME_CUSTOMER, "can't sign in with okta"),
    ("acme", _ACME_CUSTOMER, "how do I rotate an API key"),
    ("acme", _ACME_CUSTOMER, "bucket full uploads failing 507"),
    ("acme", _ACME_CUSTOMER, "I deleted a folder by mistake, can I get it back?"),
    ("acme", _ACME_CUSTOMER, "why is my storage bill bigger than my files"),
    ("acme", _ACME_CUSTOMER, "webhook signature verification python"),
    ("acme", _ACME_CUSTOMER, "429 too many requests"),
    ("acme", _ACME_CUSTOMER, "desktop client not syncing"),
    ("acme", _ACME_CUSTOMER, "conflicted copy"),
    ("acme", _ACME_CUSTOMER, "download invoice pdf"),
    ("acme", _ACME_CUSTOMER, "what happens when my trial runs out"),
    ("acme", _ACME_CUSTOMER, "lost my phone and can't get the 2fa code"),
    ("acme", _ACME_CUSTOMER, "cors error uploading from browser"),
    ("acme", _ACME_SUPPORT, "customer wants more storage space"),
    ("acme", _ACME_SUPPORT, "how do we process a GDPR deletion request"),
    ("acme", _ACME_SUPPORT, "who can approve a refund over 1000 dollars"),
    ("acme", _ACME_SUPPORT, "status page update template"),
    ("acme", _ACME_SRE, "database failover patroni"),
    ("acme", _ACME_SRE, "certificate expired on the API"),
    ("acme", _ACME_SRE, "kafka consumer lag indexer"),
    ("acme", _ACME_SRE, "node disk almost full what to delete"),
    ("acme", _ACME_SRE, "redis evicting sessions"),
    ("acme", _ACME_SRE, "what went wrong with the etcd maintenance incident"),
    ("acme", _ACME_SRE, "how do I roll back a deploy in argo"),
    ("acme", _ACME_SECURITY, "aws access key pasted in slack"),
    ("acme", _ACME_SECURITY, "quarterly access review soc 2"),
    ("acme", _ACME_SECURITY, "board report security risks"),
    ("acme", _ACME_FINANCE, "month end reconciliation checklist"),
    ("acme", ("user:carol", "group:employees"), "parental leave weeks"),
    ("globex", _GLOBEX_CUSTOMER, "customer card declined do_not_honor"),
    ("globex", _GLOBEX_CUSTOMER, "payout not received"),
    ("globex", _GLOBEX_CUSTOMER, "how to respond to a chargeback"),
    ("globex", _GLOBEX_CUSTOMER, "card reader says offline"),
    ("globex", _GLOBEX_CUSTOMER, "fix a mistake on an invoice I already sent"),
    ("globex", _GLOBEX_CUSTOMER, "3ds authentication failing europe"),
    ("globex", _GLOBEX_CUSTOMER, "automatic reminders for unpaid invoices"),
    ("globex", _GLOBEX_CUSTOMER, "redirect_uri_mismatch azure"),
    ("globex", _GLOBEX_CUSTOMER, "receipt printer bluetooth"),
    ("globex", _GLOBEX_CUSTOMER, "export invoices to excel accents broken"),
    ("globex", _GLOBEX_CUSTOMER, "add VAT number"),
    ("globex", _GLOBEX_CUSTOMER, "same webhook event delivered twice"),
    ("globex", _GLOBEX_SUPPORT, "merchant asking where their money is"),
    ("globex", _GLOBEX_SUPPORT, "escalate ticket to engineering"),
    ("globex", _GLOBEX_SUPPORT, "acquirer down switch to secondary"),
    ("globex", _GLOBEX_SRE, "sqs queue backlog payouts"),
    ("globex", _GLOBEX_SRE, "mysql replica lag orchestrator"),
    ("globex", _GLOBEX_SRE, "checkout down dns record deleted"),
    ("globex", _GLOBEX_SRE, "release canary analysis failed"),
    ("globex", _GLOBEX_COMPLIANCE, "card number found in logs"),
    ("globex", _GLOBEX_FINANCE, "salary bands 2026"),
    ("globex", ("user:nadia", "group:employees"), "compensation review timeline"),
    ("initech", _INITECH_CUSTOMER, "employee forgot to clock out"),
    ("initech", _INITECH_CUSTOMER, "overtime not calculated"),
    ("initech", _INITECH_CUSTOMER, "how do I send hours to ADP"),
    ("initech", _INITECH_CUSTOMER, "staff can't clock in says outside location"),
    ("initech", _INITECH_CUSTOMER, "timesheets waiting for approval"),
    ("initech", _INITECH_CUSTOMER, "employees don't see next week's shifts"),
    ("initech", _INITECH_CUSTOMER, "single sign-on google workspace error"),
    ("initech", _INITECH_SUPPORT, "timesheet locked after export"),
    ("initech", _INITECH_OPS, "aurora failover clock-ins failing"),
    ("initech", _INITECH_OPS, "nightly job didn't run"),
    ("initech", _INITECH_OPS, "rabbitmq payroll-sync queue growing"),
    ("initech", _INITECH_HR, "how much sick leave do I get"),
    ("initech", _INITECH_HR, "investigation interview notes"),
)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")

SYMPTOM_HEADINGS = ("## Symptoms", "## What you might see", "## How to recognise the problem")
CAUSE_HEADINGS = ("## Cause", "## Why this happens", "## What's going on")
ABOUT_HEADINGS = ("## How it works", "## Good to know", "## What to know first")
FIX_HEADINGS = ("## Steps", "## How to fix it", "## Resolution", "## What to do")
HOWTO_HEADINGS = ("## Steps", "## How to do it", "## Step by step")
VERIFY_HEADINGS = ("## Verify the fix", "## Check that it worked", "## Confirming the fix")
CHECK_HEADINGS = ("## Check your work", "## Confirming the result", "## Tip")
BEFORE_HEADINGS = ("## Before you begin", "## Prerequisites", "## What you'll need")
FAQ_HEADINGS = ("## Frequently asked questions", "## Common questions", "## FAQ")
RELATED_HEADINGS = ("## Related articles", "## See also", "## Read next")
ERROR_LEADS = (
    "You may see one of these messages:",
    "Typical error messages include:",
    "The error usually looks like this:",
)
CODE_LEADS = ("For example:", "Here is an example:", "The same thing in code:")
CONTACTS = (
    "## Still stuck?\n\nIf none of this helps, contact {support_email} with the time of the failure, your "
    "{workspace} ID and a screenshot of the error. Check {status_page} first — if there is an ongoing "
    "incident, the fix may be on our side.",
    "## Getting more help\n\nOur support team answers within one business day on {plan_mid} and within an "
    "hour on {plan_top}. Include the request ID from the error (it starts with req_) so we can find the "
    "exact call in our logs.",
    "## Contact support\n\nOpen a ticket from {console} → Help, or email {support_email}. {plan_top} "
    "customers can also reach their named customer success manager directly.",
    "If you're still having trouble, reply to any message from our team or write to {support_email}; "
    "we're happy to take a look.",
)
BLAMELESS_NOTES = (
    "This review is blameless: it describes what happened and what we will change, not who is at fault.",
    "We write post-mortems to learn, not to assign blame. People acted reasonably on the information "
    "they had at the time.",
    "Blameless review. Questions and corrections to {sre_lead}.",
)


def fill(text: str, vocab: Mapping[str, str]) -> str:
    """Replace ``{name}`` placeholders with tenant vocabulary; unknown names raise ``KeyError``."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in vocab:
            raise KeyError(f"unknown placeholder {{{name}}} in {text[:60]!r}")
        return vocab[name]

    return _PLACEHOLDER.sub(substitute, text)


def code_block(code: str) -> str:
    """A fenced block, tagged python or sh by its first line."""
    language = "python" if code.startswith(("import ", "from ", "def ")) else "sh"
    return f"```{language}\n{code}\n```"


def plain_block(lines: Iterable[str]) -> str:
    """An untagged fenced block, used for error messages."""
    return "```\n" + "\n".join(lines) + "\n```"


def word_count(text: str) -> int:
    """Whitespace-separated tokens, the measure used for the length limits."""
    return len(text.split())


def slugify(text: str, limit: int = 60) -> str:
    """A lowercase, hyphenated URL slug."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def random_updated_at(rng: random.Random, max_days: int = 540) -> str:
    """A plausible edit time within ``max_days`` before ``LATEST``, during working hours."""
    moment = LATEST - timedelta(
        days=rng.randint(0, max_days), hours=rng.randint(0, 8), minutes=rng.choice((0, 15, 30, 45))
    )
    return timestamp(moment)


def unique(items: Iterable[str]) -> list[str]:
    """``items`` without duplicates, first occurrence wins."""
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def doc_rng(seed: int, *parts: str) -> random.Random:
    """An RNG for one document, stable under additions elsewhere in the corpus."""
    return random.Random(":".join((str(seed), *parts)))


def render_article(
    sit: Situation, topic: Topic, profile: str, related: Sequence[str], rng: random.Random
) -> str:
    """Compose a help article body for one ``profile`` (short, medium or long); not yet filled."""
    troubleshooting = sit.troubleshooting
    long, short = profile == "long", profile == "short"
    parts: list[str] = []
    if long or (not short and rng.random() < 0.6):
        parts.append(rng.choice(topic.intros))
    parts.append(sit.summary)
    if long and topic.background:
        parts.append(rng.choice(topic.background))
    if long and topic.before:
        picked = rng.sample(topic.before, k=min(3, len(topic.before)))
        parts += [rng.choice(BEFORE_HEADINGS), bullets(picked)]
    if not short:
        if sit.symptoms:
            parts += [rng.choice(SYMPTOM_HEADINGS), bullets(sit.symptoms)]
        if sit.errors:
            parts += [rng.choice(ERROR_LEADS), plain_block(sit.errors)]
        if sit.cause:
            parts += [rng.choice(CAUSE_HEADINGS if troubleshooting else ABOUT_HEADINGS), sit.cause]
    elif sit.cause:
        parts.append(sit.cause)
    parts += [rng.choice(FIX_HEADINGS if troubleshooting else HOWTO_HEADINGS), numbered(sit.steps)]
    if sit.code and not short:
        parts += [rng.choice(CODE_LEADS), code_block(sit.code)]
    if sit.verify and not short:
        parts += [rng.choice(VERIFY_HEADINGS if troubleshooting else CHECK_HEADINGS), sit.verify]
    if long and topic.faq:
        parts.append(rng.choice(FAQ_HEADINGS))
        for question, answer in rng.sample(topic.faq, k=min(2, len(topic.faq))):
            parts.append(f"**{question}** {answer}")
    if related and not short:
        parts += [rng.choice(RELATED_HEADINGS), bullets(related)]
    if long or rng.random() < 0.7:
        parts.append(rng.choice(CONTACTS))
    return "\n\n".join(parts)


def render_runbook(rb: Runbook, rng: random.Random, *, compact: bool = False) -> str:
    """Compose a runbook body; ``compact`` drops the optional sections."""
    parts = [rb.summary, "## Alerts", bullets(f"`{alert}`" for alert in rb.alerts), "## Impact", rb.impact]
    if not compact:
        parts.append(rng.choice(RUNBOOK_PREAMBLES))
    parts += ["## Triage", *rb.triage, "## Mitigation", numbered(rb.mitigation)]
    parts += ["## Verify recovery", rb.verify, "## Escalation", rb.escalation]
    if rb.pitfalls and not compact:
        parts += ["## Known pitfalls", bullets(rb.pitfalls)]
    return "\n\n".join(parts)


def render_postmortem(pm: PostMortem, rng: random.Random) -> str:
    """Compose a post-mortem body."""
    header = (
        f"Incident date: {pm.date}. Severity: {pm.severity}. Duration: {pm.duration}. "
        + rng.choice(BLAMELESS_NOTES)
    )
    parts = [
        header,
        "## Summary", pm.summary,
        "## Customer impact", pm.impact,
        "## Timeline (UTC)", bullets(f"{when} — {what}" for when, what in pm.timeline),
        "## Root cause", pm.root_cause,
        "## Contributing factors", bullets(pm.contributing),
        "## What went well", bullets(pm.went_well),
        "## What went wrong", bullets(pm.went_wrong),
        "## Action items", bullets(f"{action} (owner: {owner})" for owner, action in pm.actions),
    ]
    return "\n\n".join(parts)


def render_procedure(proc: Procedure) -> str:
    """Compose a handbook page body."""
    parts = [proc.intro]
    for heading, text in proc.sections:
        parts += [f"## {heading}", text]
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------
# Corpus assembly
# ---------------------------------------------------------------------------


def _document(
    doc_id: str, title: str, body: str, tenant: Tenant, acl: Sequence[str], url: str,
    updated_at: str, metadata: Mapping[str, str | Sequence[str]],
) -> DocumentRow:
    """One corpus line, with placeholders filled and length checked."""
    vocab = tenant.vocab
    body = fill(body, vocab)
    words = word_count(body)
    if not MIN_WORDS <= words <= MAX_WORDS:
        raise ValueError(f"{doc_id}: body has {words} words, outside {MIN_WORDS}-{MAX_WORDS}")
    meta: dict[str, str | list[str]] = {}
    for key, value in metadata.items():
        meta[key] = fill(value, vocab) if isinstance(value, str) else [fill(v, vocab) for v in value]
    return {
        "id": doc_id,
        "title": fill(title, vocab),
        "body": body,
        "tenant": tenant.code,
        "acl": [fill(principal, vocab) for principal in acl],
        "url": url,
        "updated_at": updated_at,
        "metadata": meta,
    }


def _articles(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Public help-centre articles for one tenant."""
    situations = [s for s in (*SITUATIONS, *TENANT_SITUATIONS) if tenant.code in s.tenants]
    rngs = {s.key: doc_rng(seed, tenant.code, "kb", s.key) for s in situations}
    titles = {s.key: rngs[s.key].choice(s.titles) for s in situations}
    docs = []
    for number, sit in enumerate(situations, 1):
        rng, topic = rngs[sit.key], TOPICS[sit.topic]
        siblings = [titles[s.key] for s in situations if s.topic == sit.topic and s.key != sit.key]
        related = rng.sample(siblings, k=min(len(siblings), rng.choice((2, 3))))
        profile = rng.choices(("short", "medium", "long"), weights=(2, 4, 4))[0]
        body = render_article(sit, topic, profile, related, rng)
        # Fall back to a neighbouring profile if the composition lands outside the limits.
        words = word_count(fill(body, tenant.vocab))
        if words < MIN_WORDS or words > MAX_WORDS:
            profile = "long" if words < MIN_WORDS else "medium"
            body = render_article(sit, topic, profile, related, doc_rng(seed, tenant.code, "kb2", sit.key))
        title = fill(titles[sit.key], tenant.vocab)
        docs.append(_document(
            doc_id=f"{tenant.code}-kb-{number:04d}",
            title=title,
            body=body,
            tenant=tenant,
            acl=(PUBLIC,),
            url=f"https://help.{tenant.code}.example/articles/{number:04d}-{slugify(title)}",
            updated_at=random_updated_at(rng),
            metadata={
                "category": topic.category,
                "product": tenant.products[sit.topic],
                "audience": "public",
                "doc_type": "troubleshooting" if sit.troubleshooting else "how-to",
                "tags": unique((*topic.tags, *sit.tags)),
            },
        ))
    return docs


def _runbooks(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Internal on-call runbooks for one tenant."""
    docs = []
    runbooks = [rb for rb in RUNBOOKS if tenant.code in rb.tenants]
    for number, rb in enumerate(runbooks, 1):
        rng = doc_rng(seed, tenant.code, "rb", rb.key)
        title = rng.choice(rb.titles)
        body = render_runbook(rb, rng)
        if word_count(fill(body, tenant.vocab)) > MAX_WORDS:
            body = render_runbook(rb, rng, compact=True)
        docs.append(_document(
            doc_id=f"{tenant.code}-rb-{number:04d}",
            title=title,
            body=body,
            tenant=tenant,
            acl=("group:{ops_team}", "group:oncall", *rb.readers),
            url=f"https://wiki.{tenant.code}.example/runbooks/{rb.key}",
            updated_at=random_updated_at(rng, max_days=300),
            metadata={
                "category": "incident-runbook",
                "product": "payments" if rb.key == "acquirer-degraded" else "platform",
                "audience": "internal",
                "doc_type": "runbook",
                "team": "{ops_team}",
                "tags": unique(("runbook", *rb.tags)),
            },
        ))
    return docs


def _postmortems(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Incident reviews for one tenant."""
    docs = []
    reviews = [pm for pm in POSTMORTEMS if pm.tenant == tenant.code]
    for number, pm in enumerate(reviews, 1):
        rng = doc_rng(seed, tenant.code, "pm", pm.key)
        incident = datetime.strptime(pm.date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        written = incident + timedelta(days=rng.randint(2, 12), hours=rng.randint(9, 17))
        docs.append(_document(
            doc_id=f"{tenant.code}-pm-{number:04d}",
            title=pm.title,
            body=render_postmortem(pm, rng),
            tenant=tenant,
            acl=pm.readers,
            url=f"https://wiki.{tenant.code}.example/postmortems/{pm.date}-{pm.key}",
            updated_at=timestamp(min(written, LATEST)),
            metadata={
                "category": "postmortem",
                "product": "platform",
                "audience": "internal",
                "doc_type": "postmortem",
                "severity": pm.severity,
                "incident_date": pm.date,
                "tags": unique(("postmortem", *pm.tags)),
            },
        ))
    return docs


def _procedures(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Internal handbook pages, policies and support macros for one tenant."""
    docs = []
    pages = [p for p in PROCEDURES if tenant.code in p.tenants]
    for number, proc in enumerate(pages, 1):
        rng = doc_rng(seed, tenant.code, "int", proc.key)
        docs.append(_document(
            doc_id=f"{tenant.code}-int-{number:04d}",
            title=rng.choice(proc.titles),
            body=render_procedure(proc),
            tenant=tenant,
            acl=proc.readers,
            url=f"https://wiki.{tenant.code}.example/{proc.area}/{proc.key}",
            updated_at=random_updated_at(rng, max_days=400),
            metadata={
                "category": proc.category,
                "product": proc.product,
                "audience": "internal",
                "doc_type": proc.doc_type,
                "tags": list(proc.tags),
            },
        ))
    return docs


def build_corpus(seed: int = DEFAULT_SEED) -> list[DocumentRow]:
    """Every document of every tenant, in a stable order."""
    builders: tuple[Callable[[Tenant, int], list[DocumentRow]], ...] = (
        _articles, _runbooks, _postmortems, _procedures,
    )
    docs = [doc for tenant in TENANTS for build in builders for doc in build(tenant, seed)]
    ids = [doc["id"] for doc in docs]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate document ids")
    return docs


def build_queries() -> list[dict[str, Any]]:
    """The demo queries, with sequential ids."""
    tenants = {t.code for t in TENANTS}
    queries = []
    for number, (tenant, principals, text) in enumerate(QUERIES, 1):
        if tenant not in tenants:
            raise ValueError(f"query {text!r} names unknown tenant {tenant!r}")
        queries.append(
            {"id": f"q{number:03d}", "text": text, "tenant": tenant, "principals": list(principals)}
        )
    return queries


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write one JSON object per line (UTF-8, ``\\n`` endings); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate the sample corpus and demo queries.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="RNG seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_CORPUS, help="corpus JSONL path")
    parser.add_argument("--queries-out", type=Path, default=DEFAULT_QUERIES, help="queries JSONL path")
    args = parser.parse_args(argv)

    docs = build_corpus(args.seed)
    write_jsonl(args.out, docs)
    write_jsonl(args.queries_out, build_queries())
    words = [word_count(doc["body"]) for doc in docs]
    tenants = unique(doc["tenant"] for doc in docs)
    print(
        f"wrote {len(docs)} documents for {len(tenants)} tenants ({', '.join(tenants)}), "
        f"{min(words)}-{max(words)} words each, to {args.out}; {len(QUERIES)} queries to {args.queries_out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
