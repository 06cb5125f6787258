"""The proxy package's exception tree (pure, no I/O).

::

    ProxyError                          base of everything proxy/ raises on purpose
      ConfigError (also ValueError)     the configuration is invalid; carries *every* issue with its
                                        file and dotted key path (raised by proxy.config.load_settings;
                                        printed by ``wcproxy check-config``; stops the daemon at start)
      SignerError                       a signer could not produce a usable result (proxy.signers)
        SignerInputError (ValueError)   what we asked to sign is incomplete or unsupported (caller bug:
                                        e.g. a transaction without nonce or gas); nothing was sent
        SignerUnavailableError          the backend cannot be reached: connection refused, timeout,
                                        keystore unreadable; safe to answer the dApp "try later"
        SignerRejectedError             the backend answered with a refusal (JSON-RPC error, HTTP 4xx/5xx,
                                        Clef operator said no, account not held)
        SignerMismatchError             the backend returned something that does not verify: a signature
                                        that does not recover to the account, a signed transaction that
                                        differs from what was approved, or a malformed result. Never
                                        forwarded to the dApp; treat as a security incident.
      AdminAuthError                    the admin API caller gave no or a wrong bearer token
      AuditError                        the audit log could not be written or read
        AuditChainBrokenError           the hash chain does not verify (edited, removed, reordered or
                                        truncated lines, or a log that disagrees with its external head)

Every class may reach the daemon's edge; ``proxy/error_map.py`` turns them into JSON-RPC errors or admin
HTTP statuses. Messages never include key material, passphrases or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AdminAuthError",
    "AuditChainBrokenError",
    "AuditError",
    "ConfigError",
    "ConfigIssue",
    "ProxyError",
    "SignerError",
    "SignerInputError",
    "SignerMismatchError",
    "SignerRejectedError",
    "SignerUnavailableError",
]


class ProxyError(Exception):
    """Base class of every exception raised on purpose by ``proxy``."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One configuration problem: in which file, at which dotted key path (``""`` = the file itself), and why."""

    file: str
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.location}" if self.location else self.file
        return f"{where}: {self.message}"


class ConfigError(ProxyError, ValueError):
    """The configuration is invalid; ``issues`` lists every problem found, each with its location."""

    def __init__(self, issues: list[ConfigIssue] | tuple[ConfigIssue, ...]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        count = len(self.issues)
        head = f"{count} configuration error{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *(f"  {issue}" for issue in self.issues)]))


class SignerError(ProxyError):
    """Base class of signer failures: nothing usable was signed."""


class SignerInputError(SignerError, ValueError):
    """The payload handed to the signer is incomplete or of an unsupported type (nothing was sent)."""


class SignerUnavailableError(SignerError):
    """The signer backend could not be reached or did not answer in time."""


class SignerRejectedError(SignerError):
    """The signer backend refused the request; ``code`` is the backend's error code when it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SignerMismatchError(SignerError):
    """The signer's result does not verify against what was approved; ``field`` names the first difference."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AdminAuthError(ProxyError):
    """The admin API request carried no bearer token, or a wrong one."""


class AuditError(ProxyError):
    """The audit log could not be written, read or resumed."""


class AuditChainBrokenError(AuditError):
    """The audit hash chain does not verify; ``line`` is the 1-based first bad line (0 = the whole file)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line
