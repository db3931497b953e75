"""The token verifier: who a token names, and how long a verified token is remembered."""

from __future__ import annotations

import time

import jwt
import pytest

from app.auth import (
    DEV_SECRET_FILE,
    MIN_SECRET_BYTES,
    Caller,
    InsecureIdentityConfig,
    TokenVerifier,
    hs256_secret,
    mint_token,
)
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


# --- no built-in secret (issue 19, defect 5) ---------------------------------------


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        ("", "no JWT key configured"),
        ("dev-secret-change-me-please-32-bytes!", "published development default"),
        ("short-but-not-empty", "at least 32 bytes"),
    ],
)
def test_the_verifier_refuses_to_exist_without_a_private_key(settings: Settings, secret: str, complaint: str) -> None:
    with pytest.raises(InsecureIdentityConfig, match=complaint):
        TokenVerifier(settings.replace(jwt_secret=secret))


def test_a_token_signed_with_the_former_default_secret_is_refused(settings: Settings) -> None:
    claims = {"sub": "eve", "tenant": "acme", "principals": ["group:board"], "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "exp": int(time.time()) + 600}
    forged = jwt.encode(claims, "dev-secret-change-me-please-32-bytes!", algorithm="HS256")
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        TokenVerifier(settings).verify(bearer(forged))


def test_development_mode_verifies_what_the_token_command_mints_and_keeps_the_secret_private(
    settings: Settings,
) -> None:
    dev = settings.replace(jwt_secret="", dev_mode=True)
    token = mint_token(dev, subject="dev", tenant="acme", principals=["user:ann"])
    assert TokenVerifier(dev).verify(bearer(token)).tenant == "acme"
    secret_file = dev.data_dir / DEV_SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(secret_file.read_text().strip()) >= MIN_SECRET_BYTES
    # The development secret is never a production key: without dev mode nothing verifies with it.
    with pytest.raises(InsecureIdentityConfig):
        TokenVerifier(dev.replace(dev_mode=False))


def test_concurrent_first_uses_of_the_development_secret_agree(settings: Settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    dev = settings.replace(jwt_secret="", dev_mode=True)
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: hs256_secret(dev, dev=True), range(32)))
    assert len(secrets) == 1
    assert [p.name for p in dev.data_dir.iterdir()] == [DEV_SECRET_FILE]
