"""The token verifier: who a token names, and how long a verified token is remembered."""

from __future__ import annotations

import time

import pytest

from app.auth import Caller, TokenVerifier, mint_token
from app.errors import Unauthorized
from app.settings import Settings


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_verified_token_names_its_tenant_and_principals(settings: Settings) -> None:
    token = mint_token(settings, subject="bob", tenant="acme", principals=["user:bob", "group:sre"])
    assert TokenVerifier(settings).verify(bearer(token)) == Caller("bob", "acme", frozenset({"user:bob", "group:sre"}))


def test_a_remembered_token_is_refused_once_it_expires(settings: Settings) -> None:
    verifier = TokenVerifier(settings.replace(jwt_leeway_s=0))
    token = mint_token(settings, subject="bob", tenant="acme", principals=[], ttl_s=1)
    assert verifier.verify(bearer(token)).tenant == "acme"
    time.sleep(1.2)  # JWT expiry has one-second resolution
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(bearer(token))


def test_a_token_with_another_signature_is_not_taken_from_memory(settings: Settings) -> None:
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="bob", tenant="acme", principals=[])
    verifier.verify(bearer(token))
    header, payload, signature = token.split(".")
    tampered = ".".join((header, payload, signature[::-1]))
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(bearer(tampered))


def test_memory_is_bounded_and_zero_turns_it_off(settings: Settings) -> None:
    tokens = [mint_token(settings, subject=f"u{i}", tenant="acme", principals=[]) for i in range(5)]
    bounded = TokenVerifier(settings.replace(jwt_cache_size=2))
    for token in tokens:
        bounded.verify(bearer(token))
    assert list(bounded._verified) == tokens[-2:]
    off = TokenVerifier(settings.replace(jwt_cache_size=0))
    off.verify(bearer(tokens[0]))
    assert not off._verified
