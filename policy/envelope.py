"""Capability envelopes: the pydantic model of what a delegated session may do (pure, no I/O).

The seed JSON form is accepted verbatim::

    {"sessionKey": "...", "capabilities": ["erc20.transfer"], "maxValueUsd": 100,
     "allowedDestinations": ["0x..."], "chainId": 1, "expiresAt": "+1h"}

plus the optional extensions ``notBefore``, ``budgetUsd`` / ``periodSeconds`` (rolling budget),
``maxCalls``, ``destinationRules`` (per-destination function and argument rules), ``typedDataDomains``
(allowed EIP-712 verifyingContract + primaryType), ``maxApprovalUsd``, ``maxDeadlineSeconds`` and
``labels``. Unknown fields are an error. Addresses are stored lowercase (a mixed-case address must carry a
valid EIP-55 checksum); ``chainId`` is an int or a CAIP-2 ``"eip155:<n>"`` string.

Time: ``expiresAt`` / ``notBefore`` are a Unix int, an ISO-8601 string with an explicit offset, or a
relative duration ``"+<n>s|m|h|d"`` (a *template*). A template must be turned into an absolute envelope
with :meth:`CapabilityEnvelope.resolve` (at session approval, with the approval time as ``now``); the
engine refuses to evaluate an unresolved envelope (:class:`~policy.errors.UnresolvedEnvelopeError`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Annotated, Any

from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import is_checksum_address
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from policy import jsonsafe
from policy.actions import ActionClass
from policy.errors import EnvelopeError, UnresolvedEnvelopeError

__all__ = [
    "MAX_ENVELOPE_BYTES",
    "MAX_NESTING",
    "MAX_RELATIVE_S",
    "CapabilityEnvelope",
    "DestinationRule",
    "TypedDataDomain",
    "load_envelope",
    "normalize_address",
    "normalize_arg",
    "parse_envelope",
]

#: Size limit of a serialized envelope accepted by :func:`parse_envelope`.
MAX_ENVELOPE_BYTES = 64 * 1024
#: Deepest JSON nesting accepted by :func:`parse_envelope` (an envelope needs 4).
MAX_NESTING = 16
#: Longest relative expiry a template may ask for (366 days).
MAX_RELATIVE_S = 366 * 86_400
_MAX_UNIX = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_USD = Decimal("1e15")

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_RELATIVE_RE = re.compile(r"^\+([0-9]{1,9})([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_SIGNATURE_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*\([A-Za-z0-9_,()\[\]]*\)$")
_IDENT_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,127}$")
_CAIP2_RE = re.compile(r"^eip155:([0-9]{1,20})$")


def normalize_address(value: object) -> str:
    """Return ``value`` as a lowercase 0x address; mixed case must be a valid EIP-55 checksum."""
    if not isinstance(value, str) or not _ADDRESS_RE.match(value):
        raise ValueError("expected a 0x-prefixed 20-byte hex address")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise ValueError("mixed-case address with an invalid EIP-55 checksum")
    return value.lower()


def _chain_id(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("chainId must be an int or 'eip155:<n>'")
    if isinstance(value, str):
        m = _CAIP2_RE.match(value)
        if not m:
            raise ValueError("chainId string must be CAIP-2 'eip155:<n>'")
        value = int(m.group(1))
    if not isinstance(value, int) or not 0 < value < 2**64:
        raise ValueError("chainId must be a positive int below 2**64")
    return value


def _usd(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a USD amount")
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, int | str | Decimal):
        raise ValueError("expected a USD amount (number or decimal string)")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError("not a decimal number") from None
    if not amount.is_finite() or amount < 0 or amount > _MAX_USD:
        raise ValueError("USD amount must be finite, >= 0 and <= 1e15")
    return amount


def _time(value: object) -> int | str:
    """An absolute Unix time (int), or a normalized relative template ``"+<seconds>s"``."""
    if isinstance(value, bool):
        raise ValueError("expected a Unix time, an ISO-8601 time or '+<n>s|m|h|d'")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        rel = _RELATIVE_RE.match(value)
        if rel:
            span = int(rel.group(1)) * _UNIT_S[rel.group(2)]
            if not 0 < span <= MAX_RELATIVE_S:
                raise ValueError(f"relative time must be between 1s and {MAX_RELATIVE_S}s")
            return f"+{span}s"
        if len(value) > 64:
            raise ValueError("time string too long")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected a Unix time, an ISO-8601 time or '+<n>s|m|h|d'") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("ISO-8601 time must carry a UTC offset (e.g. 'Z')")
        seconds = int(moment.timestamp())
    else:
        raise ValueError("expected a Unix time, an ISO-8601 time or '+<n>s|m|h|d'")
    if not 0 <= seconds <= _MAX_UNIX:
        raise ValueError("Unix time out of range")
    return seconds


def _base_units(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a non-negative integer amount")
    if isinstance(value, str) and value.isdigit() and len(value) <= 78:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value < 2**256:
        raise ValueError("expected a non-negative integer amount below 2**256")
    return value


def _signature(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a function signature such as 'transfer(address,uint256)'")
    sig = value.replace(" ", "")
    if len(sig) > 512 or not _SIGNATURE_RE.match(sig):
        raise ValueError(
            "expected a canonical function signature such as 'transfer(address,uint256)'"
        )
    return sig


def _arg_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or len(value) > 256:
        raise ValueError("argument values must be strings or integers (<= 256 chars)")
    return normalize_arg(value)


def normalize_arg(value: str) -> str:
    """Canonical string form used to compare a decoded argument with a rule value."""
    v = value.strip()
    return v.lower() if v[:2] in ("0x", "0X") else v


def _ident(value: object) -> str:
    if not isinstance(value, str) or not _IDENT_RE.match(value):
        raise ValueError("expected an identifier")
    return value


Address = Annotated[str, BeforeValidator(normalize_address)]
ChainId = Annotated[int, BeforeValidator(_chain_id)]
Usd = Annotated[Decimal, BeforeValidator(_usd)]
Moment = Annotated[int | str, BeforeValidator(_time)]
BaseUnits = Annotated[int, BeforeValidator(_base_units)]
Signature = Annotated[str, BeforeValidator(_signature)]
ArgValue = Annotated[str, BeforeValidator(_arg_value)]
Ident = Annotated[str, BeforeValidator(_ident)]

_MODEL_CONFIG = ConfigDict(
    frozen=True,
    extra="forbid",
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
)


class DestinationRule(BaseModel):
    """What calls to one destination may do (keyed by the destination in ``destinationRules``).

    ``selectors``: canonical function signatures allowed at this target (None = any); a call matches
    only if the decoder decoded it as that exact function (its selector *and* its signature).
    ``args``: decoded argument name -> allowed values (addresses case-insensitive, ints in decimal); a
    call lacking a named argument does not match. ``maxAmount``: cap, in the token's base units, on each
    amount of this token the action moves or approves. A rule only restricts: it never makes its
    key an allowed destination (a rule may cap a token that is not itself a destination, e.g. USDC
    pulled by an allowed router), so narrowing an envelope never has to drop a rule.
    """

    model_config = _MODEL_CONFIG

    selectors: tuple[Signature, ...] | None = Field(default=None, max_length=64)
    args: dict[Ident, frozenset[ArgValue]] = Field(default_factory=dict, max_length=16)
    max_amount: BaseUnits | None = None

    @cached_property
    def selector_ids(self) -> frozenset[tuple[str, str]]:
        """The allowed (``0x`` selector, signature) pairs."""
        return frozenset(
            ("0x" + function_signature_to_4byte_selector(sig).hex(), sig)
            for sig in self.selectors or ()
        )

    @model_validator(mode="after")
    def _bounded(self) -> DestinationRule:
        if any(len(v) > 256 for v in self.args.values()):
            raise ValueError("at most 256 allowed values per argument")
        return self

    def allows_function(self, selector: str | None, function: str | None) -> bool:
        """True when (selector, decoded signature) is allowed by ``selectors``."""
        if self.selectors is None:
            return True
        if selector is None or function is None:
            return False
        return (selector.lower(), function.replace(" ", "")) in self.selector_ids

    @field_serializer("max_amount")
    def _ser_amount(self, value: int | None) -> str | None:
        return None if value is None else str(value)

    @field_serializer("args")
    def _ser_args(self, args: dict[str, frozenset[str]]) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in sorted(args.items())}


class TypedDataDomain(BaseModel):
    """One allowed EIP-712 signing context: the domain's verifyingContract and the primaryType."""

    model_config = _MODEL_CONFIG

    verifying_contract: Address
    primary_type: Ident


class CapabilityEnvelope(BaseModel):
    """What one delegated session may sign; the seed JSON form plus extensions (see module docstring).

    ``maxValueUsd`` caps the USD exposure of each request; ``budgetUsd`` caps the total over a rolling
    ``periodSeconds`` window (over the envelope's life when ``periodSeconds`` is absent); ``maxCalls``
    caps the number of allowed requests. Non-delegable actions are denied whatever ``capabilities`` lists.
    """

    model_config = _MODEL_CONFIG

    session_key: str = Field(min_length=1, max_length=256)
    capabilities: frozenset[ActionClass] = Field(max_length=64)
    max_value_usd: Usd
    allowed_destinations: frozenset[Address] = Field(max_length=1024)
    chain_id: ChainId
    expires_at: Moment
    not_before: Moment | None = None
    budget_usd: Usd | None = None
    period_seconds: int | None = Field(default=None, gt=0, le=MAX_RELATIVE_S)
    max_calls: int | None = Field(default=None, ge=0, le=10**9)
    destination_rules: dict[Address, DestinationRule] = Field(default_factory=dict, max_length=256)
    typed_data_domains: tuple[TypedDataDomain, ...] | None = Field(default=None, max_length=256)
    max_approval_usd: Usd | None = None
    max_deadline_seconds: int | None = Field(default=None, gt=0, le=MAX_RELATIVE_S)
    labels: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = (
        Field(default_factory=dict, max_length=32)
    )

    @model_validator(mode="after")
    def _consistent(self) -> CapabilityEnvelope:
        if self.period_seconds is not None and self.budget_usd is None:
            raise ValueError("periodSeconds needs budgetUsd")
        if (
            isinstance(self.expires_at, int)
            and isinstance(self.not_before, int)
            and self.not_before >= self.expires_at
        ):
            raise ValueError("notBefore must be earlier than expiresAt")
        return self

    @field_serializer("capabilities", "allowed_destinations")
    def _ser_set(self, value: frozenset[str]) -> list[str]:
        return sorted(str(v) for v in value)

    @field_serializer("destination_rules")
    def _ser_rules(self, rules: dict[str, DestinationRule]) -> dict[str, Any]:
        return {k: rules[k].model_dump(mode="json", exclude_none=True) for k in sorted(rules)}

    @property
    def limits_usage(self) -> bool:
        """Whether decisions depend on what the envelope has used (``budgetUsd`` or ``maxCalls``);
        when not, a caller need not read usage before deciding."""
        return self.budget_usd is not None or self.max_calls is not None

    # -- time -------------------------------------------------------------------------------------

    @property
    def is_resolved(self) -> bool:
        """False for a template whose ``expiresAt`` or ``notBefore`` is still relative."""
        return isinstance(self.expires_at, int) and not isinstance(self.not_before, str)

    @property
    def expires_at_s(self) -> int:
        """Absolute expiry (Unix seconds); raises UnresolvedEnvelopeError for a template."""
        if not isinstance(self.expires_at, int):
            raise UnresolvedEnvelopeError(
                f"expiresAt is relative ({self.expires_at}); resolve(now) the template first"
            )
        return self.expires_at

    @property
    def not_before_s(self) -> int | None:
        """Absolute notBefore (Unix seconds) or None; raises UnresolvedEnvelopeError for a template."""
        if isinstance(self.not_before, str):
            raise UnresolvedEnvelopeError(
                f"notBefore is relative ({self.not_before}); resolve(now) the template first"
            )
        return self.not_before

    def resolve(self, now: int) -> CapabilityEnvelope:
        """Return the envelope with relative times turned absolute from ``now`` (Unix seconds).

        An already absolute envelope is returned unchanged (same object).
        """
        if self.is_resolved:
            return self
        data = self.model_dump(mode="json", exclude_none=True)
        for key in ("expiresAt", "notBefore"):
            value = data.get(key)
            if isinstance(value, str):
                data[key] = now + int(value[1:-1])
        return load_envelope(data)

    # -- identity ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The envelope in its JSON form (camelCase keys, sorted sets, USD amounts as strings)."""
        return self.model_dump(mode="json", exclude_none=True)

    def canonical_json(self) -> str:
        """Canonical serialization: sorted keys, no whitespace, defaults omitted where None."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @cached_property
    def envelope_id(self) -> str:
        """``sha256:<hex>`` of :meth:`canonical_json`: the envelope's identity in the audit log."""
        digest = hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()
        return f"sha256:{digest}"


def _format_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors(include_url=False, include_input=False)[:10]:
        loc = ".".join(str(p) for p in e["loc"]) or "<envelope>"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def load_envelope(data: Mapping[str, Any]) -> CapabilityEnvelope:
    """Validate a decoded JSON object as an envelope; raises EnvelopeError (never echoes values)."""
    if not isinstance(data, Mapping):
        raise EnvelopeError("an envelope must be a JSON object")
    try:
        return CapabilityEnvelope.model_validate(dict(data))
    except ValidationError as err:
        raise EnvelopeError(f"invalid envelope: {_format_errors(err)}") from None


def parse_envelope(text: str | bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> CapabilityEnvelope:
    """Parse envelope JSON text (at most ``max_bytes``); raises EnvelopeError."""
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise EnvelopeError(f"envelope larger than {max_bytes} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise EnvelopeError("envelope is not valid UTF-8") from None
    try:
        data = jsonsafe.loads(text, max_depth=MAX_NESTING)
    except jsonsafe.JsonTooDeepError:
        raise EnvelopeError(f"envelope JSON nested deeper than {MAX_NESTING}") from None
    except (ValueError, RecursionError):
        raise EnvelopeError("envelope is not valid JSON") from None
    return load_envelope(data)
