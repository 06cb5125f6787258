"""``wcproxy policy check``: dry-run one signing request against an envelope (reads files; the logic is policy/).

::

    wcproxy policy check --envelope E.json --request R.json [--chain eip155:N] [--account 0x..]
                         [--origin URL] [--now UNIX] [--config F]

``R.json`` is the ``request`` object of a ``wc_sessionRequest``: ``{"method": ..., "params": ...}`` (a
whole ``wc_sessionRequest`` params object ``{"request": {...}, "chainId": "eip155:N"}`` is accepted too,
its ``chainId`` then being the default chain). ``--chain`` defaults to that, else the envelope's chain;
``--account`` defaults to the request's sender (``from`` of a transaction, the address parameter of a
signature). ``--config`` supplies prices, native symbols and the token list (default
``config/example.toml``). A relative envelope expiry (``"+1h"``) is resolved with ``--now`` as the
approval time. Usage starts empty (no budget spent, no calls made).

Prints one JSON line ``{"decision": "allow"|"deny", "reasons": [...], "action": {...}}`` on stdout (exactly
these keys: the format is a contract) and one human line per reason on stderr. Exit status: 0 allow, 1 deny, 2 bad input (a message on stderr names it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policy.pricing import Pricer
    from proxy.config import Settings

__all__ = ["DEFAULT_CONFIG", "BadInputError", "register", "request_sender", "run"]

DEFAULT_CONFIG = Path("config/example.toml")
_MAX_REQUEST_BYTES = 1 << 20
_MAX_TOKEN_LIST_BYTES = 8 << 20
_CHAIN_RE = re.compile(r"^(?:eip155:)?([1-9][0-9]{0,18})$")
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class BadInputError(Exception):
    """Bad input to the command (exit 2); the message names what is wrong."""


def register(subparsers: Any) -> None:
    """Add ``policy`` with its ``check`` subcommand."""
    parser = subparsers.add_parser(
        "policy", help="policy tools", description="Policy tools for envelope authors."
    )
    sub = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    sub.required = True
    check = sub.add_parser(
        "check",
        help="dry-run a signing request against an envelope",
        description=(
            "Decode a signing request and judge it against a capability envelope. Prints one JSON "
            "line; exit 0 allow, 1 deny, 2 bad input."
        ),
    )
    check.add_argument("--envelope", type=Path, required=True, metavar="E.json")
    check.add_argument(
        "--request",
        type=Path,
        required=True,
        metavar="R.json",
        help='{"method": ..., "params": ...}',
    )
    check.add_argument("--chain", metavar="eip155:N", help="default: the envelope's chain")
    check.add_argument("--account", metavar="0x..", help="default: the request's sender")
    check.add_argument("--origin", metavar="URL", help="the dApp origin (SIWE domain checks)")
    check.add_argument("--now", metavar="UNIX", help="Unix seconds (default: now)")
    check.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, metavar="F", help="default: %(default)s"
    )
    check.set_defaults(func=run)


def _read_json(path: Path, what: str, limit: int) -> Any:
    try:
        with path.open("rb") as handle:
            blob = handle.read(limit + 1)
    except OSError as exc:
        raise BadInputError(f"{what} {path}: cannot read: {exc.strerror}") from None
    if len(blob) > limit:
        raise BadInputError(f"{what} {path}: larger than {limit} bytes")
    try:
        return json.loads(blob)
    except (ValueError, RecursionError):
        raise BadInputError(f"{what} {path}: not valid JSON") from None


def _address(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and _ADDRESS_RE.match(value) else None


def request_sender(method: str, params: Any) -> str | None:
    """The account a request signs as, from its params (None when it names none)."""
    first = params[0] if isinstance(params, list) and params else None
    if method in ("eth_sendTransaction", "eth_signTransaction", "wallet_sendCalls"):
        return _address(first.get("from")) if isinstance(first, dict) else None
    if method == "personal_sign":
        return _address(params[1]) if isinstance(params, list) and len(params) > 1 else None
    if method == "eth_sign" or method.startswith("eth_signTypedData"):
        return _address(first)
    return None


def _chain(text: str, what: str) -> int:
    match = _CHAIN_RE.match(text)
    if not match:
        raise BadInputError(f'{what} {text!r}: expected "eip155:<chain id>"')
    return int(match.group(1))


def _pricer(settings: Settings) -> Pricer:
    from policy.errors import PolicyError
    from policy.pricing import Pricer
    from policy.tokens import TokenList

    tokens = None
    if settings.pricing.token_list is not None:
        doc = _read_json(settings.pricing.token_list, "token list", _MAX_TOKEN_LIST_BYTES)
        try:
            tokens = TokenList.from_token_list(doc)
        except (PolicyError, ValueError) as exc:
            raise BadInputError(f"token list {settings.pricing.token_list}: {exc}") from None
    pricing = settings.pricing
    quotes: dict[str, Any] = {
        symbol: (
            {"usd": str(price), "asOf": pricing.as_of} if pricing.as_of is not None else str(price)
        )
        for symbol, price in pricing.prices.items()
    }
    config: dict[str, Any] = {"quotes": quotes}
    if pricing.max_age_s is not None:
        config["maxAgeSeconds"] = pricing.max_age_s
    if settings.chains:
        config["nativeSymbols"] = {
            str(cid): chain.native_symbol for cid, chain in settings.chains.items()
        }
    try:
        return Pricer.from_config(config, tokens=tokens)
    except (PolicyError, ValueError) as exc:
        raise BadInputError(f"config {settings.config_file}: pricing: {exc}") from None


def _evaluate(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from policy.budget import EnvelopeUsage
    from policy.engine import decide
    from policy.envelope import load_envelope
    from policy.errors import EnvelopeError
    from policy.request import SigningRequest
    from proxy.config import load_settings
    from proxy.errors import ConfigError

    try:
        now = int(args.now) if args.now is not None else int(time.time())
    except ValueError:
        raise BadInputError(f"--now {args.now!r}: expected Unix seconds") from None
    if now < 0:
        raise BadInputError("--now must not be negative")
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise BadInputError(f"--config: {exc}") from None
    prices = _pricer(settings)
    try:
        envelope = load_envelope(_read_json(args.envelope, "envelope", _MAX_REQUEST_BYTES))
        if not envelope.is_resolved:
            envelope = envelope.resolve(now)
    except EnvelopeError as exc:
        raise BadInputError(f"envelope {args.envelope}: {exc}") from None
    raw = _read_json(args.request, "request", _MAX_REQUEST_BYTES)
    default_chain = envelope.chain_id
    if isinstance(raw, dict) and isinstance(raw.get("request"), dict):
        if isinstance(raw.get("chainId"), str):
            default_chain = _chain(raw["chainId"], f"request {args.request}: chainId")
        raw = raw["request"]
    if not isinstance(raw, dict):
        raise BadInputError(f"request {args.request}: expected a JSON object")
    method = raw.get("method")
    if not isinstance(method, str) or not method:
        raise BadInputError(f'request {args.request}: missing "method" (a string)')
    if "params" not in raw:
        raise BadInputError(f'request {args.request}: missing "params"')
    unknown = set(raw) - {"method", "params", "expiryTimestamp"}
    if unknown:
        raise BadInputError(f"request {args.request}: unexpected keys {sorted(unknown)}")
    chain_id = _chain(args.chain, "--chain") if args.chain is not None else default_chain
    if args.account is not None:
        account = _address(args.account)
        if account is None:
            raise BadInputError(f"--account {args.account!r}: expected a 0x address")
    else:
        account = request_sender(method, raw["params"])
    expiry = raw.get("expiryTimestamp")
    request = SigningRequest(
        method=method,
        params=raw["params"],
        chain_id=chain_id,
        account=account,
        origin=args.origin,
        request_id=1,
        expires_at=expiry if isinstance(expiry, int) and not isinstance(expiry, bool) else None,
    )
    decision = decide(request, envelope, EnvelopeUsage(), now, prices=prices)
    detail = decision.as_dict()
    return {
        "decision": "allow" if decision.allowed else "deny",
        "reasons": detail["reasons"],
        "action": detail["action"] if detail["action"] is not None else {"method": method},
    }, detail["messages"]


def run(args: argparse.Namespace) -> int:
    """Print the decision as one JSON line; 0 allow, 1 deny, 2 bad input."""
    try:
        result, messages = _evaluate(args)
    except BadInputError as exc:
        print(f"wcproxy policy check: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, sort_keys=False, separators=(",", ":")))
    for reason, message in zip(result["reasons"], messages, strict=False):
        print(f"{reason}: {message}", file=sys.stderr)
    return 0 if result["decision"] == "allow" else 1
