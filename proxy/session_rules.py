"""Map a session proposal to a rule, an envelope and the namespaces to approve (pure).

The approved namespaces never exceed what the rule and its envelope allow: only ``eip155`` chains
that the rule lists *and* the envelope is bound to, only requested methods the rule lists, only the
``accountsChanged``/``chainChanged`` events, and the signer's accounts on those chains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from policy.envelope import CapabilityEnvelope
from proxy.config import SessionRule
from walletconnect.errors import SdkErrorInfo, sdk_error
from walletconnect.namespaces import normalize_proposal_namespaces

__all__ = ["SUPPORTED_EVENTS", "ProposalFacts", "SessionPlan", "plan_session", "proposal_facts"]

SUPPORTED_EVENTS = ("accountsChanged", "chainChanged")


@dataclass(frozen=True, slots=True)
class ProposalFacts:
    """What the rules look at: origin, name, required/optional chains and methods, events."""

    origin: str
    name: str
    required_chains: frozenset[str]
    optional_chains: frozenset[str]
    required_methods: frozenset[str]
    requested_methods: frozenset[str]
    requested_events: frozenset[str]


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """What to do with a proposal: approve / queue with a rule and namespaces, or reject with an SDK error."""

    action: Literal["approve", "queue", "reject"]
    rule: str | None
    namespaces: dict[str, Any] | None = None
    envelope: CapabilityEnvelope | None = None
    rejection: SdkErrorInfo | None = None
    why: str = ""


def _ns_members(namespaces: Mapping[str, Any]) -> tuple[set[str], set[str], set[str]]:
    chains: set[str] = set()
    methods: set[str] = set()
    events: set[str] = set()
    for ns in normalize_proposal_namespaces(namespaces).values():
        chains.update(ns.get("chains", []))
        methods.update(ns.get("methods", []))
        events.update(ns.get("events", []))
    return chains, methods, events


def proposal_facts(
    *,
    metadata: Mapping[str, Any],
    verified_origin: str | None,
    required: Mapping[str, Any],
    optional: Mapping[str, Any],
) -> ProposalFacts:
    """Collect the facts a rule matches on; the verified origin wins over the self-declared URL."""
    req_chains, req_methods, req_events = _ns_members(required)
    opt_chains, opt_methods, opt_events = _ns_members(optional)
    url = metadata.get("url")
    name = metadata.get("name")
    return ProposalFacts(
        origin=verified_origin or (url if isinstance(url, str) else ""),
        name=name if isinstance(name, str) else "",
        required_chains=frozenset(req_chains),
        optional_chains=frozenset(opt_chains),
        required_methods=frozenset(req_methods),
        requested_methods=frozenset(req_methods | opt_methods),
        requested_events=frozenset(req_events | opt_events),
    )


def _approved_namespaces(
    facts: ProposalFacts,
    rule: SessionRule,
    envelope: CapabilityEnvelope,
    accounts: Sequence[str],
) -> tuple[dict[str, Any] | None, SdkErrorInfo | None, str]:
    bound = f"eip155:{envelope.chain_id}"
    allowed_chains = {c for c in rule.match.chains if c == bound}
    missing = facts.required_chains - allowed_chains
    if missing:
        return (
            None,
            sdk_error("UNSUPPORTED_CHAINS", ", ".join(sorted(missing))),
            "required chain not allowed",
        )
    chains = sorted((facts.required_chains | facts.optional_chains) & allowed_chains)
    if not chains:
        return (
            None,
            sdk_error("UNSUPPORTED_CHAINS", f"only {bound} is offered"),
            "no allowed chain requested",
        )
    rule_methods = set(rule.match.methods)
    denied_methods = facts.required_methods - rule_methods
    if denied_methods:
        return (
            None,
            sdk_error("UNSUPPORTED_METHODS", ", ".join(sorted(denied_methods))),
            "required method not allowed",
        )
    methods = sorted(facts.requested_methods & rule_methods)
    if not methods:
        return (
            None,
            sdk_error("UNSUPPORTED_METHODS", "none of the requested methods"),
            "no allowed method",
        )
    events = sorted(facts.requested_events & set(SUPPORTED_EVENTS))
    namespace = {
        "chains": chains,
        "accounts": [f"{chain}:{account}" for chain in chains for account in accounts],
        "methods": methods,
        "events": events,
    }
    return {"eip155": namespace}, None, ""


def plan_session(
    facts: ProposalFacts,
    rules: Iterable[tuple[SessionRule, CapabilityEnvelope | None]],
    *,
    unmatched: Literal["reject", "queue"],
    accounts: Sequence[str],
    now: int,
) -> SessionPlan:
    """Pick the first rule that matches ``facts`` and plan the session (envelopes resolved at ``now``).

    A proposal no rule matches is rejected (USER_REJECTED) or queued for an operator without a rule,
    as ``unmatched`` says. Only ``eip155`` is offered: a proposal requiring another namespace is
    rejected with UNSUPPORTED_NAMESPACE_KEY.
    """
    foreign = {c.split(":", 1)[0] for c in facts.required_chains} - {"eip155"}
    if foreign:
        return SessionPlan(
            "reject",
            None,
            rejection=sdk_error("UNSUPPORTED_NAMESPACE_KEY", ", ".join(sorted(foreign))),
            why="unsupported namespace",
        )
    for rule, template in rules:
        if not rule.match.matches(
            origin=facts.origin,
            name=facts.name,
            required_chains=facts.required_chains,
            required_methods=facts.required_methods,
        ):
            continue
        if rule.action == "reject" or template is None:
            return SessionPlan(
                "reject", rule.name, rejection=sdk_error("USER_REJECTED"), why="rule rejects"
            )
        envelope = template.resolve(now)
        namespaces, rejection, why = _approved_namespaces(facts, rule, envelope, accounts)
        if namespaces is None:
            return SessionPlan("reject", rule.name, rejection=rejection, why=why)
        return SessionPlan(rule.action, rule.name, namespaces=namespaces, envelope=envelope)
    if unmatched == "queue":
        return SessionPlan("queue", None, why="no rule matched")
    return SessionPlan(
        "reject",
        None,
        rejection=sdk_error("USER_REJECTED", "no session rule matches"),
        why="no rule matched",
    )
