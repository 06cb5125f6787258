"""Talk to a running daemon's admin API, found from ``--config F [--data-dir D]`` alone (I/O: HTTP, files)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

__all__ = ["AdminClientError", "add_daemon_args", "admin_call", "print_table"]

DEFAULT_CONFIG = "config/example.toml"
_TIMEOUT_S = 30.0


class AdminClientError(Exception):
    """The daemon could not be reached or refused the call; the message is one line for the user."""


def add_daemon_args(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--data-dir`` and ``--json``, shared by every command that talks to a daemon."""
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"the daemon's config (default: {DEFAULT_CONFIG})"
    )
    parser.add_argument(
        "--data-dir", help="the daemon's data directory, if it was started with --data-dir"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _locate(args: argparse.Namespace, *, emergency: bool) -> tuple[str, str]:
    from proxy.config import load_settings
    from proxy.errors import ConfigError

    overrides = (
        {"data_dir": os.path.abspath(args.data_dir)} if getattr(args, "data_dir", None) else None
    )
    try:
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        raise AdminClientError(str(exc).splitlines()[0] + f" ({args.config})") from None
    admin = settings.admin
    url_file = Path(admin.url_file)
    try:
        url = url_file.read_text(encoding="utf-8").strip()
    except OSError:
        raise AdminClientError(
            f"no running daemon: {url_file} not found (is `wcproxy run` up?)"
        ) from None
    secret = admin.emergency_token if emergency else admin.token
    if secret is not None:
        return url, secret.get_secret_value()
    token_file = Path(admin.emergency_token_file if emergency else admin.token_file)
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError:
        raise AdminClientError(f"cannot read the token file {token_file}") from None
    return url, token


def admin_call(
    args: argparse.Namespace,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    emergency: bool = False,
) -> Any:
    """One admin API call; returns the decoded JSON or raises AdminClientError with a readable message."""
    url, token = _locate(args, emergency=emergency)
    data = json.dumps(body).encode() if body is not None else None
    headers = {
        "Authorization": f"Bearer {token}",
        "X-Wcproxy-Actor": f"cli:{os.environ.get('USER', 'unknown')}",
    }
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = Request(url + path, data=data, method=method, headers=headers)  # noqa: S310 - http(s) URL we wrote
    try:
        with urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
            raw = response.read()
    except HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise AdminClientError(f"daemon refused ({exc.code}): {message}") from None
    except (URLError, OSError) as exc:
        raise AdminClientError(
            f"cannot reach the daemon at {url}: {getattr(exc, 'reason', exc)}"
        ) from None
    if path == "/metrics":
        return raw.decode()
    return json.loads(raw)


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned table (the ``--json`` flag prints the raw data instead)."""
    if not rows:
        print("(none)")
        return
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    print("  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 66 else text[:63] + "..."


def fail(command: str, exc: Exception) -> int:
    """Print a one-line error for ``command`` and return exit status 1."""
    print(f"wcproxy {command}: {exc}", file=sys.stderr)
    return 1
