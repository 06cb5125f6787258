"""Logging set-up: JSON lines, level filtering, secrets redacted, cached loggers for the daemon."""

from __future__ import annotations

import io
import json

import structlog

from proxy.logs import REDACTED, configure_logging


def test_cached_module_loggers_filter_levels_and_redact_secrets() -> None:
    out = io.StringIO()
    log = structlog.get_logger("wcproxy.test")  # a lazy proxy, as modules hold them
    try:
        configure_logging("json", "info", stream=out, cache=True)
        log.debug("hidden", n=1)
        log.info("shown", n=2, sym_key="00" * 32)
        log.warning("shown_again", n=3)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        structlog.reset_defaults()
    assert [(line["event"], line["n"]) for line in lines] == [("shown", 2), ("shown_again", 3)]
    assert lines[0]["sym_key"] == REDACTED
    assert lines[1]["level"] == "warning"
