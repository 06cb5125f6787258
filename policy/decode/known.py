"""Well-known contract addresses the decoder trusts for semantic decoding (pure constants, no I/O).

Addresses are lowercase. A selector only gets protocol meaning (a swap, a Permit2 approve, a WETH
unwrap) when the target is listed here; anywhere else it is a plain ``contract.call``.
"""

from __future__ import annotations

__all__ = [
    "ANY_DELEGATE",
    "MULTICALL3",
    "MULTISEND_CALL_ONLY",
    "NATIVE_SENTINELS",
    "PERMIT2",
    "ROUTER_ADDRESS_THIS",
    "ROUTER_MSG_SENDER",
    "SEAPORT",
    "SWAP_ROUTER02",
    "UNISWAP_V2_ROUTERS",
    "UNISWAP_V3_ROUTERS",
    "UNIVERSAL_ROUTERS",
    "WETH",
]

PERMIT2 = "0x000000000022d473030f116ddee9f6b43ac78ba3"

#: Seaport 1.1, 1.4, 1.5, 1.6 (same address on every chain they are deployed on).
SEAPORT = frozenset(
    {
        "0x00000000006c3852cbef3e08e8df289169ede581",
        "0x00000000000001ad428e4906ae43d8f9852d0dd6",
        "0x00000000000000adc04c56bf30ac9d3c0aaf14dc",
        "0x0000000000000068f116a894984e2db1123eb395",
    }
)

#: Safe MultiSendCallOnly 1.3.0 (canonical + eip155 deployments) and 1.4.1: the only delegatecall
#: targets a SafeTx may use (they refuse nested delegatecalls themselves).
MULTISEND_CALL_ONLY = frozenset(
    {
        "0x40a2accbd92bca938b02010e17a5b8929b49130d",
        "0xa1dabef33b3b82c7814b6d82a79e50f4ac44102b",
        "0x9641d764fc13c8b624c04430c7356c1c7c8102e2",
    }
)

MULTICALL3 = "0xca11bde05977b3631167028862be2a173976ca11"

UNISWAP_V2_ROUTERS = frozenset({"0x7a250d5630b4cf539739df2c5dacb4c659f2488d"})
#: The original V3 SwapRouter (params with deadline).
UNISWAP_V3_ROUTERS = frozenset({"0xe592427a0aece92de3edee1f18e0157c05861564"})
SWAP_ROUTER02 = frozenset({"0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45"})
UNIVERSAL_ROUTERS = frozenset(
    {
        "0x66a9893cc07d91d95644aedd05d03f95e1dba8af",  # v2 (v4 pools)
        "0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad",  # v1.2
        "0xef1c6e67703c7bd7107eed8303fbe6ec2554bf6b",  # v1
    }
)

#: Router recipient placeholders (SwapRouter02 and Universal Router Constants).
ROUTER_MSG_SENDER = "0x0000000000000000000000000000000000000001"
ROUTER_ADDRESS_THIS = "0x0000000000000000000000000000000000000002"

#: Wrapped native token per chain id.
WETH: dict[int, str] = {
    1: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
    10: "0x4200000000000000000000000000000000000006",
    8453: "0x4200000000000000000000000000000000000006",
    42161: "0x82af49447d8a07e3bd95bd0d56f35241523fbab1",
    11155111: "0xfff9976782d46cc05630d1f6ebab18b2324d6b14",
}

#: Token addresses that stand for the native coin in off-chain payloads.
NATIVE_SENTINELS = frozenset(
    {"0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "0x0000000000000000000000000000000000000000"}
)

#: MetaMask Delegation Framework "open delegation" marker.
ANY_DELEGATE = "0x0000000000000000000000000000000000000a11"
