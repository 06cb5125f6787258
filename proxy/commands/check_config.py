"""``wcproxy check-config [--config F]``: validate a config file and the files it names (reads files).

Prints ``OK`` and a summary (secrets masked), or every problem with its location (file and dotted key
path), one per line on stderr. Exit status: 0 valid, 2 invalid. Beyond the Settings schema it checks
that the files the config names exist and parse: session-rule envelopes (as capability envelopes), the
token list, the keystore and passphrase file, TLS files (``--skip-files`` skips this, e.g. to check a
template on a machine that is not the deployment target).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proxy.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from proxy.config import Settings

# Heavy modules (pydantic, eth-account) are imported inside the handlers so `wcproxy --help` stays fast.

__all__ = ["DEFAULT_CONFIG", "check_files", "register", "run", "summary"]

DEFAULT_CONFIG = Path("config/example.toml")
_MAX_FILE_BYTES = 4 << 20


def register(subparsers: Any) -> None:
    """Add ``check-config``."""
    parser = subparsers.add_parser(
        "check-config",
        help="validate a configuration file",
        description="Validate a configuration file and the files it names. Exit 0 valid, 2 invalid.",
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, metavar="F", help="default: %(default)s"
    )
    parser.add_argument(
        "--skip-files", action="store_true", help="do not check that referenced files exist/parse"
    )
    parser.set_defaults(func=run)


def _read(path: Path) -> bytes:
    with path.open("rb") as handle:
        blob = handle.read(_MAX_FILE_BYTES + 1)
    if len(blob) > _MAX_FILE_BYTES:
        raise ValueError(f"larger than {_MAX_FILE_BYTES} bytes")
    return blob


def check_files(settings: Settings, source: str | None = None) -> list[ConfigIssue]:
    """Check that the files a valid config names exist and parse; returns every problem found."""
    from policy.envelope import parse_envelope
    from policy.errors import EnvelopeError
    from policy.tokens import TokenList, TokenListError
    from proxy.config import LocalSignerSettings, RemoteSignerSettings

    source = source or str(settings.config_file or "<config>")
    issues: list[ConfigIssue] = []

    def need(path: Path | None, where: str) -> bytes | None:
        if path is None:
            return None
        try:
            return _read(path)
        except OSError as exc:
            issues.append(ConfigIssue(source, where, f"cannot read {path}: {exc.strerror}"))
        except ValueError as exc:
            issues.append(ConfigIssue(source, where, f"{path}: {exc}"))
        return None

    for index, rule in enumerate(settings.session_rules):
        where = f"session_rules[{index}].envelope"
        blob = need(rule.envelope, where)
        if blob is not None:
            try:
                parse_envelope(blob)
            except EnvelopeError as exc:
                issues.append(ConfigIssue(source, where, f"{rule.envelope}: {exc}"))
    blob = need(settings.pricing.token_list, "pricing.token_list")
    if blob is not None:
        try:
            TokenList.from_token_list(json.loads(blob))
        except (ValueError, TokenListError) as exc:
            issues.append(
                ConfigIssue(source, "pricing.token_list", f"{settings.pricing.token_list}: {exc}")
            )
    signer = settings.signer
    if isinstance(signer, LocalSignerSettings):
        need(signer.keystore, "signer.keystore")
        need(signer.passphrase_file, "signer.passphrase_file")
    elif isinstance(signer, RemoteSignerSettings):
        need(signer.tls.ca_file, "signer.tls.ca_file")
        need(signer.tls.cert_file, "signer.tls.cert_file")
        need(signer.tls.key_file, "signer.tls.key_file")
    return issues


def summary(settings: Settings) -> list[str]:
    """Human-readable lines describing a valid config (no secret values)."""
    from proxy.config import DevSignerSettings, LocalSignerSettings
    from proxy.signers.keystore import DEV_ADDRESS, DEV_LABEL

    signer = settings.signer
    if isinstance(signer, DevSignerSettings):
        signer_line = f"dev, account {DEV_ADDRESS} ({DEV_LABEL})"
    elif isinstance(signer, LocalSignerSettings):
        source = (
            f"env {signer.passphrase_env}"
            if signer.passphrase_env
            else f"file {signer.passphrase_file}"
        )
        signer_line = f"local keystore {signer.keystore} (passphrase from {source})"
    else:
        signer_line = f"remote {signer.flavor} at {signer.url} (timeout {signer.timeout_s}s, retries {signer.retries})"
    if signer.accounts:
        signer_line += f"; accounts {', '.join(signer.accounts)}"
    relay = settings.relay
    relay_line = (
        f"embedded on {relay.listen_host}:{relay.listen_port}" if relay.embedded else relay.url
    )
    if relay.project_id is not None:
        relay_line += " (project id set)"
    lines = [
        f"config:    {settings.config_file}",
        f"data dir:  {settings.data_dir}",
        f"relay:     {relay_line}",
        f"store:     {settings.store.url}",
        f"signer:    {signer_line}",
        "chains:    "
        + (
            ", ".join(
                f"eip155:{cid} ({chain.native_symbol}{', rpc' if chain.rpc_url else ', no rpc'})"
                for cid, chain in sorted(settings.chains.items())
            )
            or "none"
        ),
        "prices:    "
        + (", ".join(f"{sym}={usd} USD" for sym, usd in settings.pricing.prices.items()) or "none"),
        f"tokens:    {settings.pricing.token_list or 'none'}",
    ]
    for rule in settings.session_rules:
        lines.append(
            f"rule:      {rule.name}: {rule.action}"
            + (f" with {rule.envelope}" if rule.envelope else "")
            + f"; chains {', '.join(rule.match.chains)}; origins {', '.join(rule.match.origins)}"
            + f"; methods {', '.join(rule.match.methods)}"
        )
    admin = settings.admin
    lines += [
        f"unmatched: {settings.unmatched}",
        f"admin:     http://{admin.host}:{admin.port or '<any free port>'} (token "
        + ("from WCPROXY_ADMIN_TOKEN" if admin.token else f"file {admin.token_file}")
        + ")",
        f"audit:     {settings.audit.path} (fsync {settings.audit.fsync}, head in {settings.audit.head})",
        f"log:       {settings.log.format}, {settings.log.level}",
        f"revocation rules: {', '.join(r.name for r in settings.revocation.rules) or 'none'}",
    ]
    return lines


def run(args: argparse.Namespace) -> int:
    """Validate; print OK + summary or every issue."""
    from proxy.config import load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        _print_issues(list(exc.issues))
        return 2
    issues = [] if args.skip_files else check_files(settings, str(args.config))
    if issues:
        _print_issues(issues)
        return 2
    print(f"OK: {args.config}")
    for line in summary(settings):
        print(f"  {line}")
    return 0


def _print_issues(issues: list[ConfigIssue]) -> None:
    count = len(issues)
    print(f"{count} configuration error{'s' if count != 1 else ''}:", file=sys.stderr)
    for issue in issues:
        print(f"  {issue}", file=sys.stderr)
