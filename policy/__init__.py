"""Capability envelopes, request decoding, decisions, replay and revocation semantics (pure: no I/O, no implicit clock)."""
