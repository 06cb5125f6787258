"""The wcproxy daemon: wires walletconnect and policy to stores, signers, the admin API, audit and metrics."""
