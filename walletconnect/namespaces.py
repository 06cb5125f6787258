"""CAIP-2 / CAIP-10 ids and Sign namespaces: validation, conformance, approval building; pure, no I/O.

Behaves like ``@walletconnect/utils`` 2.25 ``validators.ts`` / ``namespaces.ts`` (vectors:
``namespaces.json``), on plain JSON mappings as they come off the wire:

* ``is_valid_chain_id``: non-blank string with exactly one ``:``; ``is_valid_account_id``: exactly
  three ``:``-parts, non-empty address, first two a valid chain id. No charset checks (as the SDK).
* Session namespaces ``{key: {chains?, accounts, methods, events}}``: **chains are derived from
  accounts** for every check (:func:`chains_of`); the ``chains`` array is informational.
* ``*_error`` functions return the SDK's error (:class:`SdkErrorInfo`, same code and message) or
  None; ``validate_*`` raise :class:`NamespaceError` with that code and message.

Deliberate differences: accounts are matched to chains by exact CAIP parsing, not JS substring
``includes`` (so ``eip155:1`` never picks up an ``xeip155:1:…`` account); JS's integer-like-keys-first
object ordering is not reproduced; malformed input never raises TypeError/KeyError — validate first,
other helpers treat malformed members as empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from walletconnect.errors import NamespaceError, SdkErrorInfo, internal_error, sdk_error

__all__ = [
    "ProposalNamespace",
    "SessionNamespace",
    "build_approved_namespaces",
    "chains_of",
    "conforming_error",
    "events_for_chain",
    "is_conforming",
    "is_valid_account_id",
    "is_valid_chain_id",
    "is_valid_namespaces_chain_id",
    "is_valid_namespaces_event",
    "is_valid_namespaces_request",
    "merge_required_and_optional",
    "methods_for_chain",
    "normalize_proposal_namespaces",
    "parse_account_id",
    "parse_chain_id",
    "parse_proposal_namespaces",
    "parse_session_namespaces",
    "proposal_namespaces_error",
    "session_namespaces_error",
    "validate_proposal_namespaces",
    "validate_session_namespaces",
]

# What JS String.prototype.trim removes (Python's str.strip() also strips \x1c-\x1f, JS does not).
_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_CAIP2_NAMESPACE = re.compile(r"[-a-z0-9]{3,8}")
MAX_NAMESPACES = 64
"""Most namespace keys :func:`parse_session_namespaces` / :func:`parse_proposal_namespaces` accept."""


# --- CAIP ids --------------------------------------------------------------------------------


def _is_valid_string(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip(_JS_WS))


def is_valid_chain_id(value: object) -> bool:
    """``isValidChainId``: a non-blank string ``namespace:reference`` (exactly one ``:``)."""
    return _is_valid_string(value) and isinstance(value, str) and value.count(":") == 1


def is_valid_account_id(value: object) -> bool:
    """``isValidAccountId``: ``namespace:reference:address`` with a non-empty address."""
    if not _is_valid_string(value) or not isinstance(value, str):
        return False
    parts = value.split(":")
    return len(parts) == 3 and bool(parts[2]) and is_valid_chain_id(f"{parts[0]}:{parts[1]}")


def parse_chain_id(value: str) -> tuple[str, str]:
    """``"eip155:1"`` -> ``("eip155", "1")``; NamespaceError(5100) if not a valid chain id."""
    if not is_valid_chain_id(value):
        raise NamespaceError(
            5100, sdk_error("UNSUPPORTED_CHAINS", f"invalid chain id {_js_str(value)}").message
        )
    namespace, reference = value.split(":")
    return namespace, reference


def parse_account_id(value: str) -> tuple[str, str, str]:
    """``"eip155:1:0xab"`` -> ``("eip155", "1", "0xab")``; NamespaceError(5103) if invalid."""
    if not is_valid_account_id(value):
        raise NamespaceError(
            5103, sdk_error("UNSUPPORTED_ACCOUNTS", f"invalid account id {_js_str(value)}").message
        )
    namespace, reference, address = value.split(":")
    return namespace, reference, address


def _account_chain(account: object) -> str | None:
    if not is_valid_account_id(account) or not isinstance(account, str):
        return None
    namespace, reference, _ = account.split(":")
    return f"{namespace}:{reference}"


# --- tolerant accessors for unvalidated JSON ---------------------------------------------------


def _js_str(value: object) -> str:
    """How a JS template literal prints a JSON value (for byte-identical SDK messages)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join("" if v is None else _js_str(v) for v in value)
    return "[object Object]"


def _member(ns: object, name: str) -> object:
    return ns.get(name) if isinstance(ns, Mapping) else None


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def _items(namespaces: object) -> list[tuple[str, object]]:
    if not isinstance(namespaces, Mapping):
        return []
    return [(k, v) for k, v in namespaces.items() if isinstance(k, str)]


def _merge(*lists: Iterable[str] | None) -> list[str]:
    """``mergeArrays``: concatenation, first occurrence kept."""
    out: dict[str, None] = {}
    for lst in lists:
        for item in lst or ():
            out.setdefault(item, None)
    return list(out)


def _is_valid_object(value: object) -> bool:
    return isinstance(value, Mapping) and len(value) > 0


# --- session-namespace queries ---------------------------------------------------------------


def chains_of(namespaces: Mapping[str, Any]) -> list[str]:
    """``getNamespacesChains``: unique chains derived from every namespace's accounts, in order."""
    chains: list[str] = []
    for _, ns in _items(namespaces):
        for account in _strs(_member(ns, "accounts")):
            chain = _account_chain(account)
            if chain is not None:
                chains.append(chain)
    return _merge(chains)


def _for_chain(namespaces: Mapping[str, Any], chain: str, member: str) -> list[str]:
    out: list[str] = []
    for _, ns in _items(namespaces):
        own = {_account_chain(a) for a in _strs(_member(ns, "accounts"))}
        if chain in own:
            out.extend(_strs(_member(ns, member)))
    return _merge(out)


def methods_for_chain(namespaces: Mapping[str, Any], chain: str) -> list[str]:
    """``getNamespacesMethodsForChainId``: methods of the namespaces whose accounts include ``chain``."""
    return _for_chain(namespaces, chain, "methods")


def events_for_chain(namespaces: Mapping[str, Any], chain: str) -> list[str]:
    """``getNamespacesEventsForChainId``: events of the namespaces whose accounts include ``chain``."""
    return _for_chain(namespaces, chain, "events")


def is_valid_namespaces_chain_id(namespaces: Mapping[str, Any], chain: object) -> bool:
    """``isValidNamespacesChainId``: a valid chain id that some approved account is on."""
    return is_valid_chain_id(chain) and chain in chains_of(namespaces)


def is_valid_namespaces_request(namespaces: Mapping[str, Any], chain: str, method: object) -> bool:
    """``isValidNamespacesRequest``: ``method`` is approved for ``chain`` (wc_sessionRequest check)."""
    return _is_valid_string(method) and method in methods_for_chain(namespaces, chain)


def is_valid_namespaces_event(namespaces: Mapping[str, Any], chain: str, event: object) -> bool:
    """``isValidNamespacesEvent``: ``event`` is approved for ``chain`` (wc_sessionEvent check)."""
    return _is_valid_string(event) and event in events_for_chain(namespaces, chain)


# --- validation (isValidNamespaces / isValidRequiredNamespaces) -----------------------------


def _methods_or_events_ok(value: object) -> bool:
    return isinstance(value, list) and all(_is_valid_string(v) for v in value)


def _actions_error(namespaces: Mapping[str, Any], method: str) -> SdkErrorInfo | None:
    context = f"{method}, namespace"
    for _, ns in _items(namespaces):
        if not _methods_or_events_ok(_member(ns, "methods")):
            return sdk_error(
                "UNSUPPORTED_METHODS",
                f"{context}, methods should be an array of strings or empty array for no methods",
            )
        if not _methods_or_events_ok(_member(ns, "events")):
            return sdk_error(
                "UNSUPPORTED_EVENTS",
                f"{context}, events should be an array of strings or empty array for no events",
            )
    return None


def _accounts_error(namespaces: Mapping[str, Any], method: str) -> SdkErrorInfo | None:
    context = f"{method} namespace"
    for _, ns in _items(namespaces):
        accounts = _member(ns, "accounts")
        if not isinstance(accounts, list):
            return sdk_error(
                "UNSUPPORTED_ACCOUNTS",
                f'{context}, accounts should be an array of strings conforming to "namespace:chainId:address" format',
            )
        for account in accounts:
            if not is_valid_account_id(account):
                return sdk_error(
                    "UNSUPPORTED_ACCOUNTS",
                    f'{context}, account {_js_str(account)} should be a string and conform to "namespace:chainId:address" format',
                )
    return None


def _strict_error(namespaces: Mapping[str, Any], method: str) -> SdkErrorInfo | None:
    """Beyond the SDK: CAIP-2 keys, accounts in their key's namespace, well-formed ``chains``."""
    for key, ns in _items(namespaces):
        key_ns = key.split(":")[0]
        if not _CAIP2_NAMESPACE.fullmatch(key_ns) or (":" in key and not is_valid_chain_id(key)):
            return sdk_error("UNSUPPORTED_NAMESPACE_KEY", f"{method} namespace key {key}")
        for account in _strs(_member(ns, "accounts")):
            if account.split(":")[0] != key_ns or (":" in key and _account_chain(account) != key):
                return sdk_error(
                    "UNSUPPORTED_ACCOUNTS", f"{method} namespace {key}, account {account}"
                )
        chains = _member(ns, "chains")
        if chains is not None and not (
            isinstance(chains, list) and all(is_valid_chain_id(c) for c in chains)
        ):
            return sdk_error("UNSUPPORTED_CHAINS", f"{method} namespace {key}, chains")
    return None


def session_namespaces_error(
    namespaces: object, method: str = "approve()", *, strict: bool = False
) -> SdkErrorInfo | None:
    """``isValidNamespaces(namespaces, method)``: None, or the SDK error (accounts errors win).

    ``strict`` adds checks the SDK lacks: namespace keys are CAIP-2 namespaces (or inline chain ids)
    else 5104, accounts belong to their key's namespace (5103), ``chains`` are valid ids (5100).
    """
    if not _is_valid_object(namespaces) or not isinstance(namespaces, Mapping):
        return internal_error(
            "MISSING_OR_INVALID", f"{method}, namespaces should be an object with data"
        )
    if len(namespaces) > MAX_NAMESPACES:
        return sdk_error("UNSUPPORTED_NAMESPACE_KEY", f"{method}, too many namespaces")
    error = _actions_error(namespaces, method)
    error = _accounts_error(namespaces, method) or error
    if error is None and strict:
        error = _strict_error(namespaces, method)
    return error


def validate_session_namespaces(
    namespaces: object, method: str = "approve()", *, strict: bool = False
) -> None:
    """Raise :class:`NamespaceError` (SDK code and message) unless :func:`session_namespaces_error` is None."""
    error = session_namespaces_error(namespaces, method, strict=strict)
    if error is not None:
        raise NamespaceError(error.code, error.message)


def _chains_of_proposal(key: str, ns: object) -> object:
    """``getChainsFromNamespace``: ``[key]`` for an inline chain key, else ``ns.chains``."""
    return [key] if ":" in key else _member(ns, "chains")


def proposal_namespaces_error(
    namespaces: object, method: str = "connect()", type_: str = "optionalNamespaces"
) -> SdkErrorInfo | None:
    """``isValidRequiredNamespaces(namespaces, method, type)``: None or the SDK error (chains win)."""
    if not _is_valid_object(namespaces) or not isinstance(namespaces, Mapping):
        return internal_error(
            "MISSING_OR_INVALID", f"{method}, {type_} should be an object with data"
        )
    if len(namespaces) > MAX_NAMESPACES:
        return sdk_error("UNSUPPORTED_NAMESPACE_KEY", f"{method} {type_}, too many namespaces")
    error = _actions_error(namespaces, method)
    context = f"{method} {type_}"
    for key, ns in _items(namespaces):
        chains = _chains_of_proposal(key, ns)
        if isinstance(chains, list) and chains:
            for chain in chains:
                if not is_valid_chain_id(chain):
                    return sdk_error(
                        "UNSUPPORTED_CHAINS",
                        f'{context}, chain {_js_str(chain)} should be a string and conform to "namespace:chainId" format',
                    )
        elif not is_valid_chain_id(key):
            return sdk_error(
                "UNSUPPORTED_CHAINS",
                f'{context}, chains must be defined as "namespace:chainId" e.g. "eip155:1": {{...}} in the namespace key OR as an array of CAIP-2 chainIds e.g. eip155: {{ chains: ["eip155:1", "eip155:5"] }}',
            )
    return error


def validate_proposal_namespaces(
    namespaces: object, type_: str = "optionalNamespaces", method: str = "connect()"
) -> None:
    """Validate a proposal's required/optional namespaces as ``connect()`` does; empty or absent is fine."""
    if namespaces is None or (isinstance(namespaces, Mapping) and not namespaces):
        return
    error = proposal_namespaces_error(namespaces, method, type_)
    if error is not None:
        raise NamespaceError(error.code, error.message)


# --- normalisation, merging, conformance ---------------------------------------------------


def normalize_proposal_namespaces(namespaces: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """``normalizeNamespaces``: fold inline chain keys (``"eip155:10"``) into their namespace.

    For each key in order: chains/methods/events = this entry's values first, then what was
    already collected for that namespace (deduplicated).
    """
    out: dict[str, dict[str, list[str]]] = {}
    for key, ns in _items(namespaces):
        chains = [key] if ":" in key else _strs(_member(ns, "chains"))
        name = key.split(":")[0] if ":" in key else key
        prev = out.get(name, {})
        out[name] = {
            "chains": _merge(chains, prev.get("chains")),
            "methods": _merge(_strs(_member(ns, "methods")), prev.get("methods")),
            "events": _merge(_strs(_member(ns, "events")), prev.get("events")),
        }
    return out


def merge_required_and_optional(
    required: Mapping[str, Any], optional: Mapping[str, Any]
) -> dict[str, dict[str, list[str]]]:
    """``mergeRequiredAndOptionalNamespaces``: normalised required then optional, per namespace."""
    req, opt = normalize_proposal_namespaces(required), normalize_proposal_namespaces(optional)
    out: dict[str, dict[str, list[str]]] = {}
    for name in [*req, *opt]:
        r, o = req.get(name, {}), opt.get(name, {})
        out[name] = {
            "chains": _merge(r.get("chains"), o.get("chains")),
            "methods": _merge(r.get("methods"), o.get("methods")),
            "events": _merge(r.get("events"), o.get("events")),
        }
    return out


def _parse_required(required: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    parsed: dict[str, dict[str, list[str]]] = {}
    for key, ns in _items(required):
        entry = {"methods": _strs(_member(ns, "methods")), "events": _strs(_member(ns, "events"))}
        if ":" in key:
            parsed[key] = entry
        else:
            for chain in _strs(_member(ns, "chains")):
                parsed[chain] = entry
    return parsed


def _parse_approved(namespaces: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    parsed: dict[str, dict[str, list[str]]] = {}
    for key, ns in _items(namespaces):
        entry = {"methods": _strs(_member(ns, "methods")), "events": _strs(_member(ns, "events"))}
        if ":" in key:
            parsed[key] = entry
        else:
            for chain in _merge(
                c for c in map(_account_chain, _strs(_member(ns, "accounts"))) if c is not None
            ):
                parsed[chain] = entry
    return parsed


def _subset(a: list[str], b: list[str]) -> bool:
    """The SDK's ``hasOverlap(a, b)``, which really means every element of ``a`` is in ``b``."""
    return all(x in b for x in a)


def conforming_error(
    required: Mapping[str, Any], namespaces: Mapping[str, Any], context: str = "approve()"
) -> SdkErrorInfo | None:
    """``isConformingNamespaces``: None if ``namespaces`` satisfy ``required``, else error 9.

    Every required namespace key present, every required chain approved (via accounts), inline
    approved keys backed by accounts on that chain, required methods/events approved per chain.
    """
    parsed_required = _parse_required(required)
    parsed_approved = _parse_approved(namespaces)
    required_chains, approved_chains = list(parsed_required), list(parsed_approved)
    req_keys = [k for k, _ in _items(required)]
    ns_keys = [k for k, _ in _items(namespaces)]
    unique_required = _merge(k.split(":")[0] for k in req_keys)
    unique_approved = _merge(k.split(":")[0] for k in ns_keys)
    missing = [k for k in unique_required if k not in unique_approved]

    error: SdkErrorInfo | None = None
    if missing:
        error = internal_error(
            "NON_CONFORMING_NAMESPACES",
            f"{context} namespaces keys don't satisfy requiredNamespaces.\n"
            f"      Required: {','.join(missing)}\n"
            f"      Received: {','.join(ns_keys)}",
        )
    if not _subset(required_chains, approved_chains):
        error = internal_error(
            "NON_CONFORMING_NAMESPACES",
            f"{context} namespaces chains don't satisfy required namespaces.\n"
            f"      Required: {','.join(required_chains)}\n"
            f"      Approved: {','.join(approved_chains)}",
        )
    for key, ns in _items(namespaces):
        if error is not None:
            break
        if ":" not in key:
            continue
        chains = [c for c in map(_account_chain, _strs(_member(ns, "accounts"))) if c is not None]
        if key not in chains:
            error = internal_error(
                "NON_CONFORMING_NAMESPACES",
                f"{context} namespaces accounts don't satisfy namespace accounts for {key}\n"
                f"        Required: {key}\n"
                f"        Approved: {','.join(chains)}",
            )
    for chain in required_chains:
        if error is not None:
            break
        need, have = parsed_required[chain], parsed_approved.get(chain, {})
        if not _subset(need["methods"], have.get("methods", [])):
            error = internal_error(
                "NON_CONFORMING_NAMESPACES",
                f"{context} namespaces methods don't satisfy namespace methods for {chain}",
            )
        elif not _subset(need["events"], have.get("events", [])):
            error = internal_error(
                "NON_CONFORMING_NAMESPACES",
                f"{context} namespaces events don't satisfy namespace events for {chain}",
            )
    return error


def is_conforming(required: Mapping[str, Any], approved: Mapping[str, Any]) -> bool:
    """Whether ``approved`` session namespaces satisfy ``required`` (:func:`conforming_error` is None)."""
    return conforming_error(required, approved) is None


# --- buildApprovedNamespaces ------------------------------------------------------------------


def _accounts_on(accounts: list[str], chains: list[str]) -> list[str]:
    return [a for chain in chains for a in accounts if _account_chain(a) == chain]


def build_approved_namespaces(
    proposal_required: Mapping[str, Any],
    proposal_optional: Mapping[str, Any] | None,
    supported: Mapping[str, Any],
) -> dict[str, dict[str, list[str]]]:
    """``buildApprovedNamespaces``: intersect a proposal with what the wallet supports.

    ``supported`` = ``{namespace: {chains, methods, events, accounts}}``. Raises NamespaceError if a
    supported chain has no account (5103) or the required namespaces cannot be met (9). Result
    key order per namespace: chains, methods, events, accounts (as the SDK).
    """
    optional = proposal_optional or {}
    wallet: dict[str, dict[str, list[str]]] = {}
    for name, ns in _items(supported):
        chains, accounts = _strs(_member(ns, "chains")), _strs(_member(ns, "accounts"))
        for chain in chains:
            if not any(_account_chain(a) == chain for a in accounts):
                raise NamespaceError(
                    5103, f"No accounts provided for chain {chain} in namespace {name}"
                )
        wallet[name] = {
            "chains": chains,
            "methods": _strs(_member(ns, "methods")),
            "events": _strs(_member(ns, "events")),
            "accounts": accounts,
        }
    error = conforming_error(proposal_required, wallet, "approve()")
    if error is not None:
        raise NamespaceError(error.code, error.message)
    if not proposal_required and not optional:
        return wallet

    approved: dict[str, dict[str, list[str]]] = {}
    for name, want in normalize_proposal_namespaces(proposal_required).items():
        have = wallet.get(name)
        if have is None:  # unreachable after conformance; keep hostile input from raising KeyError
            continue
        chains = [c for c in have["chains"] if c in want["chains"]]
        approved[name] = {
            "chains": chains,
            "methods": [m for m in have["methods"] if m in want["methods"]],
            "events": [e for e in have["events"] if e in want["events"]],
            "accounts": _accounts_on(have["accounts"], chains),
        }
    for name, want in normalize_proposal_namespaces(optional).items():
        have = wallet.get(name)
        if have is None:
            continue
        chains = [c for c in want["chains"] if c in have["chains"]]
        prev = approved.get(name, {})
        approved[name] = {
            "chains": _merge(prev.get("chains"), chains),
            "methods": _merge(
                prev.get("methods"), [m for m in have["methods"] if m in want["methods"]]
            ),
            "events": _merge(
                prev.get("events"), [e for e in have["events"] if e in want["events"]]
            ),
            "accounts": _merge(prev.get("accounts"), _accounts_on(have["accounts"], chains)),
        }
    return {k: v for k, v in approved.items() if v["accounts"] and v["chains"]}


# --- typed models ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposalNamespace:
    """A normalised proposal namespace (inline chain keys already folded in)."""

    chains: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    events: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        """Wire form ``{chains, methods, events}``."""
        return {
            "chains": list(self.chains),
            "methods": list(self.methods),
            "events": list(self.events),
        }


@dataclass(frozen=True, slots=True)
class SessionNamespace:
    """An approved session namespace; ``chains`` (if sent) is informational, see :attr:`derived_chains`."""

    accounts: tuple[str, ...]
    methods: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    chains: tuple[str, ...] | None = None

    @property
    def derived_chains(self) -> tuple[str, ...]:
        """The chains of this namespace's accounts (what every SDK check uses)."""
        return tuple(_merge(c for c in map(_account_chain, self.accounts) if c is not None))

    def to_dict(self) -> dict[str, list[str]]:
        """Wire form in the SDK's settle order: ``chains?, accounts, methods, events``."""
        out: dict[str, list[str]] = {} if self.chains is None else {"chains": list(self.chains)}
        out.update(
            accounts=list(self.accounts), methods=list(self.methods), events=list(self.events)
        )
        return out


def parse_session_namespaces(
    namespaces: object, method: str = "approve()", *, strict: bool = False
) -> dict[str, SessionNamespace]:
    """Validate (:func:`validate_session_namespaces`) and convert to :class:`SessionNamespace` models."""
    validate_session_namespaces(namespaces, method, strict=strict)
    out: dict[str, SessionNamespace] = {}
    for key, ns in _items(namespaces):
        chains = _member(ns, "chains")
        out[key] = SessionNamespace(
            accounts=tuple(_strs(_member(ns, "accounts"))),
            methods=tuple(_strs(_member(ns, "methods"))),
            events=tuple(_strs(_member(ns, "events"))),
            chains=tuple(_strs(chains)) if isinstance(chains, list) else None,
        )
    return out


def parse_proposal_namespaces(
    namespaces: object, type_: str = "optionalNamespaces"
) -> dict[str, ProposalNamespace]:
    """Validate (:func:`validate_proposal_namespaces`) and normalise to :class:`ProposalNamespace` models."""
    validate_proposal_namespaces(namespaces, type_)
    if not isinstance(namespaces, Mapping):
        return {}
    return {
        name: ProposalNamespace(tuple(v["chains"]), tuple(v["methods"]), tuple(v["events"]))
        for name, v in normalize_proposal_namespaces(namespaces).items()
    }
