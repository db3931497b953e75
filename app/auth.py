"""Who is calling: JWT verification and development token minting.

Tenant and principals come from the verified token and nothing else; the
request body cannot name or widen them.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import jwt

from app.errors import Unauthorized
from app.settings import Settings

_PRINCIPAL_MAX = 256
#: RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32
#: File under ``data_dir`` holding the development secret (``serve --dev``, ``token``).
DEV_SECRET_FILE = "dev-jwt-secret"
#: The secret earlier releases shipped as a default: published, so never a key.
_PUBLISHED_SECRETS = frozenset({"dev-secret-change-me-please-32-bytes!"})


class InsecureIdentityConfig(ValueError):
    """No usable key to verify callers with; the service must not start."""


def hs256_secret(settings: Settings, *, dev: bool) -> str:
    """The HS256 key: the configured secret, else (``dev`` only) the development one.

    Raises :class:`InsecureIdentityConfig` when neither is allowed or the
    configured secret is too short or a published one.
    """
    secret = settings.jwt_secret
    if secret:
        if secret in _PUBLISHED_SECRETS:
            raise InsecureIdentityConfig("HYBRID_JWT_SECRET is the published development default; set a private one")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise InsecureIdentityConfig(f"HYBRID_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return secret
    if dev:
        return _development_secret(Path(settings.data_dir) / DEV_SECRET_FILE)
    raise InsecureIdentityConfig(
        "no JWT key configured: set HYBRID_JWT_SECRET (at least 32 bytes), or HYBRID_JWT_ALGORITHM=RS256 "
        "with HYBRID_JWT_PUBLIC_KEY_FILE, or run `hybrid-search serve --dev` (127.0.0.1 only)"
    )


def _development_secret(path: Path) -> str:
    """Read the development secret, creating it (0600) once; concurrent creators agree."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)  # fails if another process created it first: theirs wins
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def verification_key(settings: Settings) -> str | bytes:
    """The key tokens are verified with; :class:`InsecureIdentityConfig` if there is none."""
    if settings.jwt_algorithm == "HS256":
        return hs256_secret(settings, dev=settings.dev_mode)
    if settings.jwt_algorithm == "RS256":
        if settings.jwt_public_key_file is None:
            raise InsecureIdentityConfig("HYBRID_JWT_PUBLIC_KEY_FILE is required with RS256")
        return Path(settings.jwt_public_key_file).read_bytes()
    raise InsecureIdentityConfig(f"unsupported JWT algorithm {settings.jwt_algorithm!r} (HS256 or RS256)")


@dataclass(frozen=True)
class Caller:
    """The verified identity a request runs as."""

    subject: str
    tenant: str
    principals: frozenset[str]


class TokenVerifier:
    """Verifies ``Authorization: Bearer`` tokens (HS256 shared secret or RS256 public key)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key = verification_key(settings)
        #: token -> (caller, expiry): a caller sends the same token for many requests,
        #: and decoding one costs more than a whole BM25 leg (docs/performance.md).
        self._verified: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, authorization: str | None) -> Caller:
        """The caller named by an ``Authorization`` header, or :class:`Unauthorized`."""
        if not authorization:
            raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization header must be 'Bearer <token>'")
        with self._lock:
            known = self._verified.get(token)
            if known is not None and time.time() < known[1]:
                self._verified.move_to_end(token)
                return known[0]
        caller, expires = self._decode(token)
        if self.settings.jwt_cache_size > 0:
            with self._lock:
                self._verified[token] = (caller, expires)
                while len(self._verified) > self.settings.jwt_cache_size:
                    self._verified.popitem(last=False)
        return caller

    def _decode(self, token: str) -> tuple[Caller, float]:
        """Verify signature and claims; the caller and when the token stops being valid."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self.settings.jwt_algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_s,
                options={"require": ["exp", "sub", "tenant", "principals"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        tenant, principals = claims["tenant"], claims["principals"]
        if not isinstance(tenant, str) or not tenant:
            raise Unauthorized("invalid token: claim 'tenant' must be a non-empty string")
        if not isinstance(principals, list) or not all(
            isinstance(p, str) and 0 < len(p) <= _PRINCIPAL_MAX and p != "*" for p in principals
        ):
            raise Unauthorized("invalid token: claim 'principals' must be a list of principal names")
        caller = Caller(subject=str(claims["sub"]), tenant=tenant, principals=frozenset(principals))
        return caller, float(claims["exp"]) + self.settings.jwt_leeway_s


def mint_token(
    settings: Settings, *, subject: str, tenant: str, principals: Sequence[str], ttl_s: int = 3600
) -> str:
    """A signed HS256 token for ``tenant`` and ``principals``.

    Signed with the configured secret, or without one with the development
    secret that a ``serve --dev`` server verifies with.
    """
    if settings.jwt_algorithm != "HS256":
        raise ValueError("tokens can only be minted with an HS256 secret (RS256 tokens come from your issuer)")
    now = int(time.time())
    claims = {
        "sub": subject,
        "tenant": tenant,
        "principals": list(principals),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, hs256_secret(settings, dev=True), algorithm="HS256")
