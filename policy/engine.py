"""The decision engine: judge a decoded action against a capability envelope (pure, no I/O, no clock).

:func:`evaluate` runs every check and collects every reason that applies (a denial lists them all, not
just the first); never-delegable actions are denied whatever the envelope says. :func:`decide` is
decode + evaluate and the one place that turns "could not decide" (a DecodeError, an unresolved
envelope template, a pricing failure) into a Deny: it fails closed. Checks, all independent:

* time: envelope ``expiresAt`` / ``notBefore``, the request's own expiry;
* usage: ``maxCalls``;
* never-delegable (``policy.never_delegable``);
* scope: every delegable class of the action (outer and inner calls) in ``capabilities``;
* chain: the request chain and every chain id in the payload equal the envelope's bound chain;
  a payload that should carry a chain id and does not is ``chain_unbound``;
* context: payload chain ids vs the request chain, payload accounts vs the session account, SIWE
  domain vs the dApp origin's host[:port];
* destinations: every address the action reaches (call targets, recipients, spenders, the EIP-712
  verifyingContract) in ``allowedDestinations`` (the session account itself is always allowed);
  ``typedDataDomains``; per-destination rules on (target, selector, decoded function, arguments, amount);
* deadlines: every deadline / expiry in the payload <= envelope expiry and <= now + ``maxDeadlineSeconds``;
* value: USD exposure <= ``maxValueUsd``, each approval <= ``maxApprovalUsd``, window spend + exposure
  <= ``budgetUsd``; an exposure that cannot be priced is ``price_unknown``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlsplit

from policy.actions import NON_DELEGABLE_CLASSES, Action, ActionClass
from policy.budget import EnvelopeUsage, effective_spent
from policy.decision import Decision
from policy.decode import decode
from policy.decode.limits import DecodeLimits
from policy.envelope import CapabilityEnvelope, normalize_arg
from policy.errors import DecodeError, DenyReason, PriceUnavailableError, UnresolvedEnvelopeError
from policy.never_delegable import never_delegable_findings
from policy.pricing import Pricer, Valuation, usd
from policy.request import SigningRequest
from policy.tokens import TokenLookup

__all__ = ["decide", "evaluate", "origin_authority", "siwe_domain_matches"]

_Findings = dict[DenyReason, list[str]]
_DEFAULT_PORTS = {"https": 443, "http": 80, "wss": 443, "ws": 80}


def _add(found: _Findings, reason: DenyReason, message: str) -> None:
    found.setdefault(reason, []).append(message)


def _envelope_checks(
    envelope: CapabilityEnvelope,
    state: EnvelopeUsage,
    now: int,
    request: SigningRequest,
    found: _Findings,
) -> int:
    """Checks that need no decoded action (also run by ``decide`` when decoding failed).

    Returns the envelope's absolute expiry (raises UnresolvedEnvelopeError for a template).
    """
    expires = envelope.expires_at_s
    not_before = envelope.not_before_s
    if now >= expires:
        _add(found, DenyReason.EXPIRED, f"envelope expired at {expires} (now {now})")
    if not_before is not None and now < not_before:
        _add(found, DenyReason.NOT_YET_VALID, f"envelope valid from {not_before} (now {now})")
    if request.expires_at is not None and now > request.expires_at:
        _add(found, DenyReason.REQUEST_EXPIRED, f"request expired at {request.expires_at}")
    if envelope.max_calls is not None and state.calls >= envelope.max_calls:
        _add(
            found,
            DenyReason.MAX_CALLS_EXCEEDED,
            f"{state.calls} of {envelope.max_calls} allowed calls used",
        )
    if request.chain_id != envelope.chain_id:
        _add(
            found,
            DenyReason.CHAIN_MISMATCH,
            f"request chain {request.chain_id} is not the envelope chain {envelope.chain_id}",
        )
    return expires


@lru_cache(maxsize=1024)
def _origin_parts(origin: str) -> tuple[str, str, int | None] | None:
    text = origin.strip()
    if not text or len(text) > 2048:
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def origin_authority(origin: str) -> tuple[str, int | None] | None:
    """(lowercase host, port) of a dApp origin URL or bare host[:port]; default ports made explicit."""
    parts = _origin_parts(origin)
    return None if parts is None else (parts[1], parts[2])


def siwe_domain_matches(domain: str, origin: str | None) -> bool:
    """EIP-4361: the SIWE ``domain`` (host[:port]) must be the origin's host[:port]."""
    if origin is None or not domain or "/" in domain or "@" in domain:
        return False
    seen = _origin_parts(origin)
    if seen is None:
        return False
    scheme, host, port = seen
    try:
        parts = urlsplit("//" + domain.strip())
        domain_port = parts.port
    except ValueError:
        return False
    if not parts.hostname:
        return False
    # A domain without a port means the default port of the origin's scheme.
    if domain_port is None:
        domain_port = _DEFAULT_PORTS.get(scheme)
    return (parts.hostname.lower(), domain_port) == (host, port)


def _payload_chains(action: Action) -> frozenset[int] | set[int]:
    chains = action.chain_ids
    extra = {c.chain_id for c in action.calls if c.chain_id not in chains}
    extra.update(t.chain_id for t in action.token_amounts if t.chain_id not in chains)
    extra.update(a.chain_id for a in action.approvals if a.chain_id not in chains)
    return chains | extra if extra else chains


def _chain_and_context(
    action: Action, envelope: CapabilityEnvelope, request: SigningRequest, found: _Findings
) -> None:
    bound = envelope.chain_id
    chains = _payload_chains(action)
    if len(chains) == 1 and bound in chains and request.chain_id == bound:
        chains = frozenset()  # the common case: everything on the bound chain
    for chain in sorted(chains):
        if chain != bound:
            _add(
                found,
                DenyReason.CHAIN_MISMATCH,
                f"payload chain {chain} is not the envelope chain {bound}",
            )
        if chain != request.chain_id:
            _add(
                found,
                DenyReason.CONTEXT_MISMATCH,
                f"payload chain {chain} differs from the request chain {request.chain_id}",
            )
    if action.chain_unbound:
        _add(
            found, DenyReason.CHAIN_UNBOUND, "payload carries no chain id (replayable cross-chain)"
        )
    if request.account is not None and action.accounts:
        account = request.account.lower()
        for other in sorted(a for a in action.accounts if a.lower() != account):
            _add(
                found,
                DenyReason.CONTEXT_MISMATCH,
                f"payload account {other} is not the session account {account}",
            )
    if ActionClass.SIWE_LOGIN in action.classes or action.action_class is ActionClass.SIWE_LOGIN:
        domain = action.domain or ""
        if not siwe_domain_matches(domain, request.origin):
            _add(
                found,
                DenyReason.CONTEXT_MISMATCH,
                f"SIWE domain {domain[:255]!r} does not match the dApp origin {(request.origin or '')[:255]!r}",
            )


def _reached(action: Action) -> set[str]:
    reached = {d.lower() for d in action.destinations}
    reached.update(c.target.lower() for c in action.calls if c.target is not None)
    reached.update(a.spender.lower() for a in action.approvals)
    if action.typed_data is not None:
        contract = action.typed_data[0].lower()
        if contract.startswith("0x") and len(contract) == 42:
            reached.add(contract)
    return reached


def _destinations(
    action: Action, envelope: CapabilityEnvelope, request: SigningRequest, found: _Findings
) -> None:
    reached = _reached(action)
    if request.account is not None:
        reached.discard(request.account.lower())
    for dest in sorted(reached - envelope.allowed_destinations):
        _add(found, DenyReason.DESTINATION_NOT_ALLOWED, f"{dest} is not an allowed destination")
    if action.typed_data is not None and envelope.typed_data_domains is not None:
        contract, primary = action.typed_data[0].lower(), action.typed_data[1]
        if not any(
            d.verifying_contract == contract and d.primary_type == primary
            for d in envelope.typed_data_domains
        ):
            _add(
                found,
                DenyReason.DOMAIN_NOT_ALLOWED,
                f"typed data {primary[:64]} at {contract[:42]} is not an allowed domain",
            )
    rules = envelope.destination_rules
    if not rules:
        return
    for i, call in enumerate(action.calls):
        if call.target is None:
            continue
        rule = rules.get(call.target.lower())
        if rule is None:
            continue
        name = call.function or call.selector or "<no calldata>"
        if not rule.allows_function(call.selector, call.function):
            _add(
                found,
                DenyReason.SELECTOR_NOT_ALLOWED,
                f"call {i}: {name[:128]} is not allowed at {call.target}",
            )
        if rule.args:
            args = dict(call.args)
            for arg, allowed in sorted(rule.args.items()):
                value = args.get(arg)
                if value is None or normalize_arg(value) not in allowed:
                    shown = "missing" if value is None else repr(value[:80])
                    _add(
                        found,
                        DenyReason.ARGUMENT_NOT_ALLOWED,
                        f"call {i} to {call.target}: argument {arg} {shown} is not allowed",
                    )
    for t in action.token_amounts:
        rule = rules.get(t.token.lower())
        if rule is not None and rule.max_amount is not None and t.amount > rule.max_amount:
            _add(
                found,
                DenyReason.ARGUMENT_NOT_ALLOWED,
                f"amount {t.amount} of {t.token} exceeds the rule's maxAmount {rule.max_amount}",
            )
    for a in action.approvals:
        rule = rules.get(a.token.lower())
        if (
            rule is not None
            and rule.max_amount is not None
            and (a.amount is None or a.amount > rule.max_amount)
        ):
            _add(
                found,
                DenyReason.ARGUMENT_NOT_ALLOWED,
                f"approval of {a.token} exceeds the rule's maxAmount {rule.max_amount}",
            )


def _deadlines(
    action: Action, envelope: CapabilityEnvelope, expires: int, now: int, found: _Findings
) -> None:
    if not action.deadlines and action.expires_at is None and not action.approvals:
        return
    limit = None if envelope.max_deadline_seconds is None else now + envelope.max_deadline_seconds
    moments = list(action.deadlines)
    moments.extend(a.expires_at for a in action.approvals if a.expires_at is not None)
    if action.expires_at is not None:
        moments.append(action.expires_at)
    if action.expires_at is not None and action.expires_at <= now:
        # e.g. a SIWE message whose Expiration Time has passed: a stale, captured login
        _add(found, DenyReason.EXPIRED, f"the payload's own expiry {action.expires_at} has passed")
    for moment in sorted(set(moments)):
        if moment > expires:
            _add(
                found,
                DenyReason.DEADLINE_TOO_LONG,
                f"deadline {moment} is after the envelope expiry {expires}",
            )
        if limit is not None and moment > limit:
            _add(
                found,
                DenyReason.DEADLINE_TOO_LONG,
                f"deadline {moment} is more than {envelope.max_deadline_seconds}s ahead",
            )


def _value(
    valuation: Valuation,
    envelope: CapabilityEnvelope,
    state: EnvelopeUsage,
    now: int,
    found: _Findings,
) -> None:
    total = valuation.total_usd
    if total > envelope.max_value_usd:
        _add(
            found,
            DenyReason.VALUE_CAP_EXCEEDED,
            f"exposure {usd(total)} exceeds the per-request cap {usd(envelope.max_value_usd)}",
        )
    cap = envelope.max_approval_usd
    if cap is not None:
        for amount in valuation.approvals_usd:
            if amount is not None and amount > cap:
                _add(
                    found,
                    DenyReason.APPROVAL_CAP_EXCEEDED,
                    f"approval worth {usd(amount)} exceeds the approval cap {usd(cap)}",
                )
    if envelope.budget_usd is not None and total > 0:
        spent = effective_spent(state, envelope.period_seconds, now)
        if spent + total > envelope.budget_usd:
            window = (
                f" per {envelope.period_seconds}s" if envelope.period_seconds is not None else ""
            )
            _add(
                found,
                DenyReason.BUDGET_EXHAUSTED,
                f"{usd(spent)} spent + {usd(total)} exceeds the budget "
                f"{usd(envelope.budget_usd)}{window}",
            )


def evaluate(
    action: Action,
    envelope: CapabilityEnvelope,
    state: EnvelopeUsage,
    now: int,
    *,
    request: SigningRequest,
    prices: Pricer,
) -> Decision:
    """Judge ``action`` (decoded from ``request``) against ``envelope`` at Unix time ``now``.

    Returns an allow, or a deny listing every reason that applies. Raises
    :class:`~policy.errors.UnresolvedEnvelopeError` for an envelope template (relative ``expiresAt``):
    resolve it at session approval; :func:`decide` turns that into a deny.
    """
    found: _Findings = {}
    expires = _envelope_checks(envelope, state, now, request, found)
    for why in never_delegable_findings(action):
        _add(found, DenyReason.NON_DELEGABLE, why)
    missing = action.classes - envelope.capabilities
    if action.action_class not in envelope.capabilities:
        missing |= {action.action_class}
    if missing:
        for cls in sorted(missing - NON_DELEGABLE_CLASSES):
            _add(
                found, DenyReason.SCOPE_DENIED, f"{cls.value} is not in the envelope's capabilities"
            )
    _chain_and_context(action, envelope, request, found)
    _destinations(action, envelope, request, found)
    _deadlines(action, envelope, expires, now, found)
    usd_value: Decimal | None = None
    try:
        valuation = prices.value(action, now)
    except PriceUnavailableError as err:
        _add(found, DenyReason.PRICE_UNKNOWN, err.detail)
    else:
        usd_value = valuation.total_usd
        _value(valuation, envelope, state, now, found)
    if found:
        return Decision.deny(
            found, usd_value=usd_value, action=action, envelope_id=envelope.envelope_id
        )
    return Decision.allow(usd_value=usd_value, action=action, envelope_id=envelope.envelope_id)


def _undecided(
    reason: DenyReason,
    detail: str,
    envelope: CapabilityEnvelope,
    state: EnvelopeUsage,
    now: int,
    request: SigningRequest,
) -> Decision:
    """A deny for a request that could not be decided, plus every action-independent reason."""
    found: _Findings = {reason: [detail[:500]]}
    if reason is not DenyReason.ENVELOPE_UNRESOLVED:
        _envelope_checks(envelope, state, now, request, found)
    return Decision.deny(found, envelope_id=envelope.envelope_id)


def decide(
    request: SigningRequest,
    envelope: CapabilityEnvelope,
    state: EnvelopeUsage,
    now: int,
    *,
    prices: Pricer,
    tokens: TokenLookup | None = None,
    limits: DecodeLimits | None = None,
) -> Decision:
    """Decode ``request`` and evaluate it: the one place that fails closed.

    A :class:`~policy.errors.DecodeError` becomes ``unsupported_method`` (reason ``unsupported_method``)
    or ``undecodable`` (any other reason; the message names it); an unresolved envelope template
    becomes ``envelope_unresolved``; a pricing failure that escapes ``evaluate`` becomes
    ``price_unknown``. The time, usage and request-chain checks still run, so every reason shows.
    ``tokens`` (default: ``prices.tokens``) lets the decoder tell ERC-20 from ERC-721.
    """
    lookup = tokens if tokens is not None else prices.tokens
    try:
        if limits is None:
            action = decode(request, tokens=lookup)
        else:
            action = decode(request, tokens=lookup, limits=limits)
    except DecodeError as err:
        reason = (
            DenyReason.UNSUPPORTED_METHOD
            if err.reason == DenyReason.UNSUPPORTED_METHOD.value
            else DenyReason.UNDECODABLE
        )
        detail = f"{err.reason}: {err.detail}" if err.detail else err.reason
        try:
            return _undecided(reason, detail, envelope, state, now, request)
        except UnresolvedEnvelopeError as unresolved:
            return Decision.deny(
                {reason: [detail[:500]], DenyReason.ENVELOPE_UNRESOLVED: [unresolved.detail]},
                envelope_id=envelope.envelope_id,
            )
    try:
        return evaluate(action, envelope, state, now, request=request, prices=prices)
    except UnresolvedEnvelopeError as err:
        return Decision.deny(
            {DenyReason.ENVELOPE_UNRESOLVED: [err.detail]},
            action=action,
            envelope_id=envelope.envelope_id,
        )
    except PriceUnavailableError as err:
        return _undecided(DenyReason.PRICE_UNKNOWN, err.detail, envelope, state, now, request)
