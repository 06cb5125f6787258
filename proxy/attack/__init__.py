"""The replay-attack test bench behind ``wcproxy attack``: scenarios as data, a raw-relay attacker, targets."""

__all__: list[str] = []
