"""Session-namespace checks the engines apply (approve, update, request, event); pure, no I/O.

Mirrors ``@walletconnect/utils`` 2.25 ``isValidNamespaces`` + ``isConformingNamespaces`` as the
wallet's ``approve()`` / ``update()`` run them, raising :class:`NamespaceError` with the SDK code:
5100 chains, 5101 methods, 5102 events, 5103 accounts, 5104 namespace key, 9 non-conforming.
Chains of a session are derived from its CAIP-10 accounts for every check (the ``chains`` array
is informational), exactly as the SDK does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from walletconnect.errors import NamespaceError, internal_error, sdk_error

__all__ = [
    "chain_of_account",
    "is_chain_id",
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


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _required_chains(key: str, ns: Mapping[str, Any]) -> list[str]:
    chains = ns.get("chains")
    if isinstance(chains, list):
        return [c for c in chains if isinstance(c, str)]
    return [key] if ":" in key else []


def validate_session_namespaces(
    namespaces: Any, required: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check approved/updated session namespaces; returns a plain copy or raises NamespaceError."""
    if not isinstance(namespaces, Mapping) or not namespaces:
        err = internal_error("MISSING_OR_INVALID", "namespaces")
        raise NamespaceError(err.code, err.message)
    out: dict[str, Any] = {}
    for key, ns in namespaces.items():
        if not isinstance(key, str) or not key or not isinstance(ns, Mapping):
            e = sdk_error("UNSUPPORTED_NAMESPACE_KEY", str(key))
            raise NamespaceError(e.code, e.message)
        accounts = ns.get("accounts")
        if not isinstance(accounts, list) or any(chain_of_account(a) is None for a in accounts):
            e = sdk_error("UNSUPPORTED_ACCOUNTS", f"namespace {key}")
            raise NamespaceError(e.code, e.message)
        chains = ns.get("chains")
        if chains is not None and (
            not isinstance(chains, list) or not all(map(is_chain_id, chains))
        ):
            e = sdk_error("UNSUPPORTED_CHAINS", f"namespace {key}")
            raise NamespaceError(e.code, e.message)
        if ":" in key and not is_chain_id(key):
            e = sdk_error("UNSUPPORTED_NAMESPACE_KEY", key)
            raise NamespaceError(e.code, e.message)
        if any(chain_of_account(a).split(":")[0] != key.split(":")[0] for a in accounts):  # type: ignore[union-attr]
            e = sdk_error("UNSUPPORTED_ACCOUNTS", f"namespace {key}")
            raise NamespaceError(e.code, e.message)
        if not _strings(ns.get("methods", [])):
            e = sdk_error("UNSUPPORTED_METHODS", f"namespace {key}")
            raise NamespaceError(e.code, e.message)
        if not _strings(ns.get("events", [])):
            e = sdk_error("UNSUPPORTED_EVENTS", f"namespace {key}")
            raise NamespaceError(e.code, e.message)
        out[key] = {k: (list(v) if isinstance(v, list) else v) for k, v in ns.items()}
    for key, req in (required or {}).items():
        _conforms(out, key, req)
    return out


def _conforms(approved: Mapping[str, Any], key: str, req: Any) -> None:
    def fail(what: str) -> None:
        e = internal_error("NON_CONFORMING_NAMESPACES", what)
        raise NamespaceError(e.code, e.message)

    if not isinstance(req, Mapping):
        return
    ns_key = key.split(":")[0]
    if ns_key not in approved and key not in approved:
        fail(f"approve() namespaces keys don't satisfy requiredNamespaces: missing {key}")
    chains = session_chains({k: v for k, v in approved.items() if k.split(":")[0] == ns_key})
    for chain in _required_chains(key, req):
        if chain not in chains:
            fail(f"approve() namespaces chains don't satisfy required namespaces: {chain}")
        for member in ("methods", "events"):
            have = scope_for_chain(approved, chain, member)
            need = req.get(member, [])
            if isinstance(need, list) and not set(need) <= have:
                fail(f"approve() namespaces {member} don't satisfy required namespaces: {chain}")
