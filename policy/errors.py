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
