"""Session-namespace checks the engines apply (approve, update, request, event); pure, no I/O.

Validation delegates to :mod:`walletconnect.namespaces` (``isValidNamespaces`` +
``isConformingNamespaces`` as the wallet's ``approve()`` / ``update()`` run them, and
``isValidRequiredNamespaces`` for proposals), raising :class:`NamespaceError` with the SDK code:
5100 chains, 5101 methods, 5102 events, 5103 accounts, 5104 namespace key, 9 non-conforming.
Chains of a session are derived from its CAIP-10 accounts for every check (the ``chains`` array
is informational), exactly as the SDK does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from walletconnect import namespaces as wc_ns
from walletconnect.errors import NamespaceError, SdkErrorInfo

__all__ = [
    "chain_of_account",
    "is_chain_id",
    "proposal_error",
    "scope_for_chain",
    "session_chains",
    "validate_session_namespaces",
]


def is_chain_id(value: Any) -> bool:
    """CAIP-2 as the SDK checks it: a non-blank string with exactly one ``:``, both parts set."""
    if not isinstance(value, str) or not value.strip():
        return False
    parts = value.split(":")
    return len(parts) == 2 and all(parts)


def chain_of_account(account: Any) -> str | None:
    """The CAIP-2 chain of a CAIP-10 account (``ns:ref:address``), or None if malformed."""
    if not isinstance(account, str):
        return None
    parts = account.split(":")
    if len(parts) != 3 or not all(parts):
        return None
    return f"{parts[0]}:{parts[1]}"


def session_chains(namespaces: Mapping[str, Any]) -> set[str]:
    """Chains of a session, derived from its accounts."""
    chains: set[str] = set()
    for ns in namespaces.values():
        accounts = ns.get("accounts") if isinstance(ns, Mapping) else None
        for account in accounts if isinstance(accounts, list) else []:
            chain = chain_of_account(account)
            if chain is not None:
                chains.add(chain)
    return chains


def scope_for_chain(namespaces: Mapping[str, Any], chain: str, member: str) -> set[str]:
    """Union of ``methods`` / ``events`` of the namespaces whose accounts include ``chain``."""
    out: set[str] = set()
    for ns in namespaces.values():
        if not isinstance(ns, Mapping):
            continue
        accounts = ns.get("accounts")
        if any(
            chain_of_account(a) == chain for a in (accounts if isinstance(accounts, list) else [])
        ):
            values = ns.get(member)
            out.update(
                v for v in (values if isinstance(values, list) else []) if isinstance(v, str)
            )
    return out


def validate_session_namespaces(
    namespaces: Any, required: Mapping[str, Any] | None = None, method: str = "approve()"
) -> dict[str, Any]:
    """Check approved/updated session namespaces; returns a plain copy or raises NamespaceError.

    ``isValidNamespaces`` (plus the strict CAIP checks of :mod:`walletconnect.namespaces`) and
    ``isConformingNamespaces`` against ``required``, with the SDK's codes and messages.
    """
    wc_ns.validate_session_namespaces(namespaces, method, strict=True)
    assert isinstance(namespaces, Mapping)
    if required:
        error = wc_ns.conforming_error(required, namespaces, method)
        if error is not None:
            raise NamespaceError(error.code, error.message)
    return {
        key: {k: (list(v) if isinstance(v, list) else v) for k, v in value.items()}
        for key, value in namespaces.items()
    }


def proposal_error(required: Any, optional: Any) -> SdkErrorInfo | None:
    """``isValidRequiredNamespaces`` for both proposal members: None or the SDK error."""
    for value, type_ in ((required, "requiredNamespaces"), (optional, "optionalNamespaces")):
        if value is None or (isinstance(value, Mapping) and not value):
            continue
        error = wc_ns.proposal_namespaces_error(value, "connect()", type_)
        if error is not None:
            return error
    return None
