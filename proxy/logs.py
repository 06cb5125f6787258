"""structlog configuration (JSON in production, console in a terminal) and the secret-redaction processor."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

__all__ = ["REDACTED", "SECRET_FIELDS", "configure_logging", "redact_secrets"]

REDACTED = "***"
SECRET_FIELDS = frozenset(
    {
        "sym_key",
        "symkey",
        "private_key",
        "privkey",
        "secret",
        "seed",
        "token",
        "authorization",
        "password",
        "passphrase",
        "auth",
        "jwt",
        "api_key",
        "emergency_token",
    }
)


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask every field whose name is a known secret, and record which ones were masked."""
    masked = [key for key in event_dict if key.lower() in SECRET_FIELDS]
    for key in masked:
        event_dict[key] = REDACTED
    if masked:
        event_dict["redacted"] = sorted(masked)
    return event_dict


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto",
    level: str = "info",
    stream: Any = None,
    *,
    cache: bool = False,
) -> None:
    """Configure structlog once for the process; ``auto`` picks console on a TTY, JSON otherwise.

    ``cache``: each module logger builds its bound logger once, on first use, instead of on every
    call (a long-running daemon; not where tests reconfigure logging to capture it).
    """
    out = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=cache,
    )
