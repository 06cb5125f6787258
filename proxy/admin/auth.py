"""Bearer-token checks for the admin API (pure): constant-time compare, two scopes (admin, emergency)."""

from __future__ import annotations

import hmac
import secrets
from enum import StrEnum

__all__ = ["Scope", "bearer_token", "generate_token", "token_matches"]


class Scope(StrEnum):
    """What a token may do: ``admin`` for everyday operations, ``emergency`` for the stop switch."""

    ADMIN = "admin"
    EMERGENCY = "emergency"


def generate_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def bearer_token(authorization: str | None) -> str | None:
    """Extract the token from an ``Authorization: Bearer <token>`` header value, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an unset expected token never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
