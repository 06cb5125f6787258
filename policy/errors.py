"""The policy package's exception tree (pure, no I/O).

::

    PolicyError                     base of everything policy/ raises
      DecodeError (also ValueError) a request could not be decoded into an Action (fail closed);
                                    raised by policy.decode.decode(), caught by the decision engine
                                    and turned into a Deny. ``reason`` is a stable short code.

A policy *denial* is a value (a Decision with reasons), never an exception: exceptions mean
"could not decide".

This file is shared: helpers only append to it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DecodeError", "PolicyError"]


class PolicyError(Exception):
    """Base class of every exception raised by ``policy``."""


class DecodeError(PolicyError, ValueError):
    """A signing request could not be decoded, or was ambiguous (fail closed).

    ``reason`` is a stable short code (e.g. ``"bad_hex"``, ``"unsupported_method"``) fit for a wire
    ``data.reason`` or a metric label; ``detail`` is a human message that may name the field.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# --- decision engine (appended by the envelope/engine helper) ---------------------------------------

__all__ += [
    "DenyReason",
    "EnvelopeError",
    "PriceConfigError",
    "PriceUnavailableError",
    "UnresolvedEnvelopeError",
]


class EnvelopeError(PolicyError, ValueError):
    """A capability envelope failed validation at load or issuance (raised by ``policy.envelope``).

    ``detail`` names the offending field; it never carries key material.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnresolvedEnvelopeError(EnvelopeError):
    """An envelope template with a relative expiry (``"+1h"``) was evaluated before ``resolve(now)``.

    Raised by ``policy.engine.evaluate``; ``decide`` turns it into a Deny(``envelope_unresolved``).
    """


class PriceUnavailableError(PolicyError, LookupError):
    """An amount could not be valued in USD: unknown token, no quote for its symbol, or a stale quote.

    Raised by ``policy.pricing``; the engine reports it as the ``price_unknown`` deny reason.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.reason = "price_unknown"
        self.detail = detail


class PriceConfigError(PolicyError, ValueError):
    """A price table / pricing config failed validation (raised by ``policy.pricing`` builders)."""


class DenyReason(StrEnum):
    """Why a request was denied: stable wire strings, documented in docs/reason-codes.md."""

    SCOPE_DENIED = "scope_denied"
    VALUE_CAP_EXCEEDED = "value_cap_exceeded"
    BUDGET_EXHAUSTED = "budget_exhausted"
    DESTINATION_NOT_ALLOWED = "destination_not_allowed"
    CHAIN_MISMATCH = "chain_mismatch"
    CHAIN_UNBOUND = "chain_unbound"
    CONTEXT_MISMATCH = "context_mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REQUEST_EXPIRED = "request_expired"
    NON_DELEGABLE = "non_delegable"
    PRICE_UNKNOWN = "price_unknown"
    UNDECODABLE = "undecodable"
    UNSUPPORTED_METHOD = "unsupported_method"
    MAX_CALLS_EXCEEDED = "max_calls_exceeded"
    APPROVAL_CAP_EXCEEDED = "approval_cap_exceeded"
    DEADLINE_TOO_LONG = "deadline_too_long"
    DOMAIN_NOT_ALLOWED = "domain_not_allowed"
    SELECTOR_NOT_ALLOWED = "selector_not_allowed"
    ARGUMENT_NOT_ALLOWED = "argument_not_allowed"
    ENVELOPE_UNRESOLVED = "envelope_unresolved"
    # Emitted by the proxy's stores, not by policy.engine; listed here so the wire table has one source.
    REPLAY_DETECTED = "replay_detected"
    SESSION_REVOKED = "session_revoked"
    STORE_UNAVAILABLE = "store_unavailable"


# --- replay store (appended by the replay-store helper) -----------------------------------------------
__all__ += ["StoreUnavailableError"]


class StoreUnavailableError(PolicyError, ConnectionError):
    """A replay store could not answer (database locked or broken, Redis unreachable, timeout).

    Raised by the store adapters in ``proxy.stores`` (they translate sqlite3 / redis exceptions at
    their boundary); defined here so the engine's fail-closed rule can name it: an unavailable
    store denies, it never lets a request through unchecked.
    """


# --- revocation records (appended by the revocation helper) ------------------------------------------
__all__ += ["RecordError"]


class RecordError(PolicyError, ValueError):
    """A revocation, freeze or session-binding record (``policy.revocation``) failed validation.

    Raised by the records' constructors and ``from_dict`` (admin API input, stored JSON); ``detail``
    names the field.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
