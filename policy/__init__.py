"""Capability envelopes, request decoding, decisions, replay and revocation semantics (pure: no I/O, no implicit clock).

The decision API is re-exported here. Modules with heavy imports (the envelope model, pricing and
the engine, which pulls in the decoder) load lazily on first attribute access, so importing a light
submodule such as ``policy.errors`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from policy.budget import EnvelopeUsage
from policy.decision import Decision
from policy.errors import DecodeError, DenyReason, EnvelopeError, PolicyError

if TYPE_CHECKING:
    from policy.engine import decide, evaluate
    from policy.envelope import CapabilityEnvelope, load_envelope, parse_envelope
    from policy.pricing import Pricer, PriceTable

__all__ = [
    "CapabilityEnvelope",
    "Decision",
    "DecodeError",
    "DenyReason",
    "EnvelopeError",
    "EnvelopeUsage",
    "PolicyError",
    "PriceTable",
    "Pricer",
    "decide",
    "evaluate",
    "load_envelope",
    "parse_envelope",
]

_LAZY = {
    "CapabilityEnvelope": "policy.envelope",
    "load_envelope": "policy.envelope",
    "parse_envelope": "policy.envelope",
    "PriceTable": "policy.pricing",
    "Pricer": "policy.pricing",
    "decide": "policy.engine",
    "evaluate": "policy.engine",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'policy' has no attribute {name!r}")
    return getattr(import_module(module), name)
