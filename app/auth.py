"""Who is calling: JWT verification and development token minting.

Tenant and principals come from the verified token and nothing else; the
request body cannot name or widen them.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Caller:
    """The verified identity a request runs as."""

    subject: str
    tenant: str
    principals: frozenset[str]


class TokenVerifier:
    """Verifies ``Authorization: Bearer`` tokens (HS256 in dev, RS256 in prod)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.jwt_algorithm == "HS256":
            self._key: str | bytes = settings.jwt_secret
        elif settings.jwt_algorithm == "RS256":
            if settings.jwt_public_key_file is None:
                raise ValueError("HYBRID_JWT_PUBLIC_KEY_FILE is required with RS256")
            self._key = Path(settings.jwt_public_key_file).read_bytes()
        else:
            raise ValueError(f"unsupported JWT algorithm {settings.jwt_algorithm!r} (HS256 or RS256)")
        #: token -> (caller, expiry): a caller sends the same token for many requests,
        #: and decoding one costs more than a whole BM25 leg (issue 6 profile).
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
    """A signed HS256 development token for ``tenant`` and ``principals``."""
    if settings.jwt_algorithm != "HS256":
        raise ValueError("tokens can only be minted with the HS256 development secret")
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
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
