"""Size and recursion limits applied while decoding hostile signing requests (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DecodeLimits"]


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Upper bounds; exceeding any of them raises ``DecodeError("too_large" / "depth_exceeded")``.

    ``max_depth`` bounds wrapper nesting (a plain transaction is depth 0, a call inside
    ``multicall`` depth 1, ...); ``max_calls`` bounds the total number of decoded calls across a
    whole request (batch entries, wrapper children, Universal Router commands, Seaport bulk leaves).
    """

    max_depth: int = 6
    max_calls: int = 128
    max_calldata_bytes: int = 64 * 1024
    max_message_bytes: int = 16 * 1024
    max_typed_data_bytes: int = 64 * 1024
    max_typed_data_nodes: int = 4096
    max_typed_data_depth: int = 24
    max_types: int = 64
    max_fields_per_type: int = 64
    max_access_list: int = 256
    max_authorizations: int = 16
    max_batch_calls: int = 64
    max_params_nodes: int = 4096
    max_bulk_order_height: int = (
        7  # 2**7 leaves; Seaport allows 2**24, we decode every leaf or deny
    )
