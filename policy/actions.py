"""The decoded vocabulary: what a signing request would do, as plain frozen data (pure).

A decoder turns a :class:`policy.request.SigningRequest` into one :class:`Action`; the decision engine
judges the action against a capability envelope; the replay layer derives its uniqueness keys from it.
Addresses are lowercase ``0x`` hex everywhere; amounts are integers in the token's base unit (wei for
native value); timestamps are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "NON_DELEGABLE_CLASSES",
    "Action",
    "ActionClass",
    "Approval",
    "Call",
    "NonceKind",
    "ProtocolNonce",
    "TokenAmount",
]


class ActionClass(StrEnum):
    """The small, stable vocabulary of what an action does (envelope ``capabilities`` use these strings)."""

    NATIVE_TRANSFER = "native.transfer"
    ERC20_TRANSFER = "erc20.transfer"
    ERC20_APPROVE = "erc20.approve"
    NFT_TRANSFER = "nft.transfer"
    NFT_APPROVE = "nft.approve"
    NFT_APPROVE_ALL = "nft.approve_all"
    SWAP_EXECUTE = "swap.execute"
    CONTRACT_CALL = "contract.call"
    CONTRACT_DEPLOY = "contract.deploy"
    MESSAGE_SIGN = "message.sign"
    SIWE_LOGIN = "siwe.login"
    TYPED_DATA_SIGN = "typed_data.sign"
    PERMIT_SIGN = "permit.sign"
    ORDER_SIGN = "order.sign"
    RAW_SIGN = "raw.sign"
    CHAIN_SWITCH = "chain.switch"
    CHAIN_ADD = "chain.add"
    AUTHORITY_GRANT = "authority.grant"
    AUTHORITY_SET_CODE = "authority.set_code"
    PERMISSION_REVOKE = "permission.revoke"
    ADMIN_UPGRADE = "admin.upgrade"
    ADMIN_AUTHORITY = "admin.authority"
    ADMIN_TREASURY = "admin.treasury"
    ADMIN_CONTROL = "admin.control"


#: Classes no envelope may grant, whatever it lists: denied before any allow rule.
NON_DELEGABLE_CLASSES: frozenset[ActionClass] = frozenset(
    {
        ActionClass.RAW_SIGN,
        ActionClass.CHAIN_SWITCH,
        ActionClass.CHAIN_ADD,
        ActionClass.AUTHORITY_GRANT,
        ActionClass.AUTHORITY_SET_CODE,
        ActionClass.NFT_APPROVE_ALL,
        ActionClass.ADMIN_UPGRADE,
        ActionClass.ADMIN_AUTHORITY,
        ActionClass.ADMIN_TREASURY,
        ActionClass.ADMIN_CONTROL,
    }
)


class NonceKind(StrEnum):
    """Protocol nonces the replay store keys on (one layer each)."""

    CHAIN = "chain_nonce"  # (chain, from, nonce)
    EIP2612 = "permit_nonce"  # (chain, token, owner, nonce)
    PERMIT2_ORDERED = "permit2_nonce"  # (chain, owner, token, spender, nonce)
    PERMIT2_UNORDERED = "permit2_bit"  # (chain, owner, word, bit)
    SIWE = "siwe_nonce"  # (domain, nonce)
    BATCH_ID = "batch_id"  # (from, app, id)
    SEAPORT = "seaport_order"  # (chain, offerer, counter, order hash)
    AUTHORIZATION = "authorization_nonce"  # EIP-7702 (chain, authority, nonce)


@dataclass(frozen=True, slots=True)
class ProtocolNonce:
    """One protocol nonce found in the payload; ``key`` is its tuple, in the order documented on the kind."""

    kind: NonceKind
    key: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenAmount:
    """An amount of a token (``token`` = contract address, or ``"native"``) leaving the account."""

    chain_id: int
    token: str
    amount: int
    token_id: int | None = None  # NFTs


@dataclass(frozen=True, slots=True)
class Approval:
    """A standing allowance created by the action (calldata approve, permit, Permit2, ...).

    ``amount`` is None when unbounded (``2**256-1``, uint160 max, DAI ``allowed=true``, setApprovalForAll).
    """

    chain_id: int
    token: str
    spender: str
    amount: int | None
    all_tokens: bool = False
    expires_at: int | None = None
    token_id: int | None = None  # a single NFT approval (ERC-721 approve / ERC-4494 permit)


@dataclass(frozen=True, slots=True)
class Call:
    """One decoded contract interaction (a transaction, a batch entry, or a call inside a wrapper)."""

    chain_id: int
    target: str | None  # None = contract creation
    value: int
    selector: str | None  # "0x12345678", None for empty calldata
    function: str | None  # e.g. "transfer(address,uint256)" when known
    action_class: ActionClass
    args: tuple[
        tuple[str, str], ...
    ] = ()  # decoded arguments rendered as strings, for display/rules
    delegatecall: bool = False
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Action:
    """Everything the policy needs to know about one signing request, decoded.

    ``action_class`` is the most sensitive class found; ``classes`` holds every class (outer and inner
    calls). ``chain_ids`` holds every chain id found anywhere in the payload (tx chainId, EIP-712 domain,
    SIWE Chain ID, 7702 authorizations, batch chainId); ``chain_unbound`` is True when a payload that
    ought to carry a chain id does not (legacy tx without EIP-155, typed data without domain.chainId).
    """

    method: str
    action_class: ActionClass
    classes: frozenset[ActionClass]
    payload_hash: str  # 0x keccak of the canonical payload (what is actually signed, where defined)
    chain_ids: frozenset[int] = frozenset()
    chain_unbound: bool = False
    accounts: frozenset[str] = frozenset()  # the signing account(s) the payload names
    destinations: frozenset[str] = frozenset()  # every address value or tokens may reach
    native_value: int = 0  # wei leaving the account (all calls summed)
    token_amounts: tuple[TokenAmount, ...] = ()
    approvals: tuple[Approval, ...] = ()
    deadlines: tuple[int, ...] = ()
    nonces: tuple[ProtocolNonce, ...] = ()
    calls: tuple[Call, ...] = ()
    non_delegable: tuple[str, ...] = ()  # why: e.g. "selector transferOwnership(address) in call 2"
    domain: str | None = None  # SIWE domain, or EIP-712 domain name
    typed_data: tuple[str, str] | None = None  # (verifyingContract, primaryType)
    expires_at: int | None = None  # SIWE Expiration Time etc.
    details: tuple[tuple[str, str], ...] = field(
        default=()
    )  # extra facts for display and the audit log
    inflows: tuple[
        TokenAmount, ...
    ] = ()  # what the account is promised back (Seaport consideration, swap minimum out)
