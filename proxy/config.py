"""The one Settings tree: a TOML file validated by pydantic, plus environment overrides for secrets only.

I/O: :func:`load_settings` reads the one TOML file it is given and looks up a few environment variables
in the mapping it is given; everything else here is pure (no other file is opened: that a keystore or an
envelope file exists is checked where it is used, and by ``wcproxy check-config``).

Paths. A relative path written in the file resolves against **the directory of the config file**, never
the process's working directory, so ``wcproxy run --config config/example.toml`` behaves the same from
any directory. Paths that hold the daemon's own state (the SQLite file, the audit log, the admin token
and URL files) resolve against ``data_dir`` instead; ``data_dir`` itself resolves against the config
file's directory. Values given through ``overrides`` (command-line flags) are resolved the same way, so
callers pass absolute paths for flags a user typed relative to the shell's working directory.

Secrets never live in the file: the admin tokens, the keystore passphrase, a remote signer's bearer
token, the Redis password and (optionally) the WalletConnect project id come from the environment
(:data:`ENV_OVERRIDES`) or from files the Settings name; in the tree they are ``SecretStr``.

Errors: :func:`load_settings` raises :class:`proxy.errors.ConfigError` carrying *every* issue, each
with the file and the dotted key path (``session_rules[0].match.chains[1]``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_utils.address import is_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from proxy.errors import ConfigError, ConfigIssue

__all__ = [
    "ENV_OVERRIDES",
    "MAX_CONFIG_BYTES",
    "AdminSettings",
    "AuditSettings",
    "ChainSettings",
    "DevSignerSettings",
    "LocalSignerSettings",
    "LogSettings",
    "MetadataSettings",
    "PricingSettings",
    "RelaySettings",
    "RemoteSignerSettings",
    "ReplaySettings",
    "RevocationRule",
    "RevocationSettings",
    "SessionMatch",
    "SessionRule",
    "Settings",
    "SignerSettings",
    "StoreSettings",
    "TlsSettings",
    "load_settings",
    "parse_settings",
]

#: A config file larger than this is refused (it is hand-written TOML, not data).
MAX_CONFIG_BYTES = 1 << 20

#: Environment variable -> dotted key it sets. These keys may ONLY come from the environment (or, for
#: ``relay.project_id``, from the file too). ``signer.passphrase`` is filled from the variable that
#: ``signer.passphrase_env`` names.
ENV_OVERRIDES: Mapping[str, str] = {
    "WCPROXY_PROJECT_ID": "relay.project_id",
    "WCPROXY_ADMIN_TOKEN": "admin.token",
    "WCPROXY_EMERGENCY_TOKEN": "admin.emergency_token",
    "WCPROXY_SIGNER_TOKEN": "signer.auth_token",
    "WCPROXY_STORE_PASSWORD": "store.password",
}

# Keys that must never be written in the file (secrets come from env or files).
_ENV_ONLY = frozenset(
    {
        "admin.token",
        "admin.emergency_token",
        "signer.auth_token",
        "signer.passphrase",
        "store.password",
        "config_file",
    }
)

_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CAIP2_EIP155_RE = re.compile(r"^eip155:([1-9][0-9]{0,18})$")
_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


# --------------------------------------------------------------------------------------------------
# Field types


def _resolve(value: Path, info: ValidationInfo, key: str) -> Path:
    base = (info.context or {}).get(key)
    if value.is_absolute() or base is None:
        return value
    return Path(os.path.normpath(Path(base) / value))


def _config_relative(value: Path, info: ValidationInfo) -> Path:
    return _resolve(value, info, "base_dir")


def _data_relative(value: Path, info: ValidationInfo) -> Path:
    return _resolve(value, info, "data_dir")


def _no_empty_path(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("a path must not be empty")
    return value


#: A path in the file, relative to the config file's directory.
ConfigPath = Annotated[Path, BeforeValidator(_no_empty_path), AfterValidator(_config_relative)]
#: A path in the file, relative to ``data_dir``.
DataPath = Annotated[Path, BeforeValidator(_no_empty_path), AfterValidator(_data_relative)]


def _address(value: str) -> str:
    if not _ADDRESS_RE.match(value):
        raise ValueError("expected a 0x-prefixed 20-byte hex address")
    mixed = value[2:] not in (value[2:].lower(), value[2:].upper())
    if mixed and not is_checksum_address(value):
        raise ValueError("mixed-case address with a wrong EIP-55 checksum")
    return value.lower()


#: An Ethereum address, normalised to lowercase hex.
Address = Annotated[str, AfterValidator(_address)]


def _caip2(value: str) -> str:
    if not _CAIP2_EIP155_RE.match(value):
        raise ValueError('expected a CAIP-2 EVM chain id such as "eip155:1"')
    return value


Caip2 = Annotated[str, AfterValidator(_caip2)]
NonEmptyStr = Annotated[str, Field(min_length=1, max_length=512)]


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError("expected an http:// or https:// URL")
    return value


HttpUrlStr = Annotated[str, AfterValidator(_http_url)]


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


# --------------------------------------------------------------------------------------------------
# Sections


class MetadataSettings(_Model):
    """The wallet metadata the proxy presents to dApps in ``wc_sessionSettle``."""

    name: NonEmptyStr = "wcproxy"
    description: str = "WalletConnect signing proxy with capability envelopes"
    url: HttpUrlStr = "https://github.com/wcproxy/wcproxy"
    icons: tuple[HttpUrlStr, ...] = ()


class RelaySettings(_Model):
    """Where the WalletConnect relay is.

    ``url`` is ``"embedded"`` (start the local relay in-process on ``listen_host:listen_port``; port 0 =
    any free port) or a ``ws://``/``wss://`` URL. ``project_id`` (WalletConnect Cloud) is required for a
    relay that is not on loopback; it may come from ``WCPROXY_PROJECT_ID``.
    """

    url: str = "embedded"
    project_id: SecretStr | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=0, ge=0, le=65535)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value != "embedded" and not re.match(r"^wss?://[^\s/]+(/\S*)?$", value):
            raise ValueError('expected "embedded" or a ws:// / wss:// URL')
        return value

    @property
    def embedded(self) -> bool:
        """True when the daemon starts the local relay itself."""
        return self.url == "embedded"

    @field_validator("project_id")
    @classmethod
    def _need_project_id(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        url = info.data.get("url")
        if value is None and isinstance(url, str) and url != "embedded":
            host = re.sub(r"^wss?://", "", url).split("/")[0].rsplit(":", 1)[0]
            if not _is_loopback(host):
                raise ValueError(
                    "required for a public relay (set relay.project_id or WCPROXY_PROJECT_ID)"
                )
        return value


class StoreSettings(_Model):
    """The replay/session store: ``sqlite:PATH`` (PATH relative to data_dir), ``redis://…``, or ``memory:``.

    The Redis password never goes in the URL: it comes from ``WCPROXY_STORE_PASSWORD``.
    """

    url: str = "sqlite:wcproxy.sqlite3"
    key_prefix: NonEmptyStr = "wcproxy:"
    password: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        if value in ("memory", "memory:"):
            return "memory:"
        if value.startswith("sqlite:"):
            raw = value.removeprefix("sqlite:")
            if raw.startswith("//"):
                raw = raw[2:]  # tolerate sqlite:///abs/path
            if not raw.strip():
                raise ValueError("sqlite: needs a file path, e.g. sqlite:wcproxy.sqlite3")
            return f"sqlite:{_data_relative(Path(raw), info)}"
        if value.startswith(("redis://", "rediss://")):
            netloc = value.split("://", 1)[1].split("/", 1)[0]
            if "@" in netloc and ":" in netloc.split("@", 1)[0]:
                raise ValueError(
                    "do not put the Redis password in the URL; set WCPROXY_STORE_PASSWORD"
                )
            return value
        raise ValueError('expected "sqlite:PATH", "redis://HOST:PORT/DB" or "memory:"')

    @property
    def kind(self) -> Literal["sqlite", "redis", "memory"]:
        """Which backend the URL selects."""
        if self.url.startswith("sqlite:"):
            return "sqlite"
        if self.url.startswith("redis"):
            return "redis"
        return "memory"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file (absolute when loaded from a file), or None for other backends."""
        return Path(self.url.removeprefix("sqlite:")) if self.kind == "sqlite" else None


class _SignerBase(_Model):
    accounts: tuple[Address, ...] = ()


class DevSignerSettings(_SignerBase):
    """The throwaway, publicly known development key: demo only, labelled loudly in logs.

    ``accounts`` may be left out (it is derived); if given it must be the dev key's address.
    """

    backend: Literal["dev"]


class LocalSignerSettings(_SignerBase):
    """A Web3 Secret Storage (v3) keystore file unlocked with a passphrase from a file or the environment.

    Exactly one of ``passphrase_file`` (its content, stripped of the trailing newline) and
    ``passphrase_env`` (the name of an environment variable read at load) must be set. ``accounts`` may
    be left out (the keystore's address); if given it must match it.
    """

    backend: Literal["local"]
    keystore: ConfigPath
    passphrase_file: ConfigPath | None = None
    passphrase_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    passphrase: SecretStr | None = (
        None  # filled from passphrase_env by the loader, never from the file
    )

    @model_validator(mode="after")
    def _one_passphrase_source(self) -> LocalSignerSettings:
        if (self.passphrase_file is None) == (self.passphrase_env is None):
            raise ValueError("set exactly one of passphrase_file and passphrase_env")
        return self


class TlsSettings(_Model):
    """TLS options for a remote signer: a CA bundle to trust, a client certificate, or no verification."""

    ca_file: ConfigPath | None = None
    cert_file: ConfigPath | None = None
    key_file: ConfigPath | None = None
    verify: bool = True

    @model_validator(mode="after")
    def _pair(self) -> TlsSettings:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self


class RemoteSignerSettings(_SignerBase):
    """A JSON-RPC signer over HTTP(S): Clef (``account_*``) or web3signer (``eth_*``).

    ``timeout_s`` bounds one call (Clef waits for its operator; give it time). ``retries`` applies only
    to connection failures before any response (see proxy.signers.remote). ``accounts`` is required:
    the proxy only ever asks the signer for these.
    """

    backend: Literal["remote"]
    accounts: tuple[Address, ...] = Field(min_length=1)
    url: HttpUrlStr
    flavor: Literal["clef", "web3signer"]
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    retries: int = Field(default=2, ge=0, le=10)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    auth_token: SecretStr | None = None  # WCPROXY_SIGNER_TOKEN, sent as a bearer token

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        return _with_sections(value, {"tls": {}})


SignerSettings = Annotated[
    DevSignerSettings | LocalSignerSettings | RemoteSignerSettings,
    Field(discriminator="backend"),
]


class ChainSettings(_Model):
    """One EVM chain the proxy serves: its JSON-RPC endpoint (needed to broadcast) and native symbol."""

    rpc_url: HttpUrlStr | None = None
    native_symbol: NonEmptyStr = "ETH"
    name: str | None = None


def _price(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('write prices as strings, e.g. "3000.50" (floats lose precision)')
    return value


Price = Annotated[Decimal, BeforeValidator(_price), Field(gt=0, allow_inf_nan=False)]


class PricingSettings(_Model):
    """USD prices by symbol (strings of decimals), their freshness, and a Uniswap-format token list."""

    prices: dict[Annotated[str, Field(min_length=1, max_length=32)], Price] = Field(
        default_factory=dict
    )
    as_of: int | None = Field(default=None, ge=0)  # Unix seconds the prices were taken
    max_age_s: int | None = Field(default=None, gt=0)  # older than this at decision time -> deny
    token_list: ConfigPath | None = None

    @model_validator(mode="after")
    def _age_needs_time(self) -> PricingSettings:
        if self.max_age_s is not None and self.as_of is None:
            raise ValueError("max_age_s needs as_of (when the prices were taken)")
        return self


class SessionMatch(_Model):
    """What a session proposal must look like for a rule to apply.

    ``origins`` and ``names`` are shell-style globs (case-insensitive) over the dApp origin (verified
    origin, else metadata URL) and metadata name. ``chains``: every chain the proposal *requires* must be
    in this list (optional chains are intersected). ``methods``: the methods a session may get; the
    approved namespace holds the requested methods that are in this list, and a proposal whose
    *required* methods fall outside it does not match.
    """

    origins: tuple[NonEmptyStr, ...] = ("*",)
    names: tuple[NonEmptyStr, ...] = ("*",)
    chains: tuple[Caip2, ...] = Field(min_length=1)
    methods: tuple[NonEmptyStr, ...] = Field(min_length=1)

    def matches(
        self,
        *,
        origin: str | None,
        name: str | None,
        required_chains: tuple[str, ...] | frozenset[str],
        required_methods: tuple[str, ...] | frozenset[str],
    ) -> bool:
        """Return whether a proposal with these facts falls under this rule (pure)."""

        def glob(value: str | None, patterns: tuple[str, ...]) -> bool:
            text = (value or "").lower()
            return any(fnmatchcase(text, pattern.lower()) for pattern in patterns)

        return (
            glob(origin, self.origins)
            and glob(name, self.names)
            and set(required_chains) <= set(self.chains)
            and set(required_methods) <= set(self.methods)
        )


class SessionRule(_Model):
    """Map matching proposals to an envelope and an action (``approve``, ``queue`` for an operator, ``reject``)."""

    name: NonEmptyStr
    match: SessionMatch
    action: Literal["approve", "queue", "reject"] = "approve"
    envelope: ConfigPath | None = None

    @field_validator("envelope")
    @classmethod
    def _envelope_unless_reject(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        action = info.data.get("action", "approve")
        if action != "reject" and value is None:
            raise ValueError(f'action "{action}" needs envelope = "path/to/envelope.json"')
        return value


class AdminSettings(_Model):
    """The admin API: loopback by default; port 0 = any free port (the bound URL goes to ``url_file``).

    Tokens come from ``WCPROXY_ADMIN_TOKEN`` / ``WCPROXY_EMERGENCY_TOKEN`` or, failing that, from the token
    files, which the daemon generates (random, mode 0600) on first start when missing.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    allow_remote: bool = False
    token_file: DataPath = Path("admin.token")
    emergency_token_file: DataPath = Path("emergency.token")
    url_file: DataPath = Path("admin.url")
    token: SecretStr | None = None
    emergency_token: SecretStr | None = None

    @model_validator(mode="after")
    def _loopback(self) -> AdminSettings:
        if not self.allow_remote and not _is_loopback(self.host):
            raise ValueError(
                f"host {self.host!r} is not loopback; set allow_remote = true to expose the admin API"
            )
        return self


class AuditSettings(_Model):
    """The hash-chained audit log (JSONL) and where its external chain head is kept.

    ``fsync``: ``always`` (each batch is fsynced before the request is answered), ``interval`` (at most
    every ``fsync_interval_s``) or ``never`` (left to the OS). ``head``: ``store`` (the daemon's store) or
    ``file`` (``<path>.head``).
    """

    path: DataPath = Path("audit.jsonl")
    fsync: Literal["always", "interval", "never"] = "interval"
    fsync_interval_s: float = Field(default=1.0, gt=0, le=60)
    head: Literal["store", "file"] = "store"


class LogSettings(_Model):
    """Debug/operations log: ``auto`` = console on a TTY, JSON otherwise."""

    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class ReplaySettings(_Model):
    """How long replay keys are remembered: transport ids (relay message / JSON-RPC ids) and payload hashes.

    ``id_window_s``: a JSON-RPC id whose embedded timestamp is older than this is refused as stale (the
    SDK's requests live 900 s by default; a dApp may ask for longer, up to 7 days, and then its late
    deliveries are refused once older than the window). ``payload_window_s``: how long a signed payload
    is remembered when nothing in it (deadline, envelope expiry) says longer. Protocol nonces (chain,
    permit, SIWE...) are kept until their own deadline, capped at 90 days.
    """

    id_window_s: int = Field(default=3600, gt=0)
    payload_window_s: int = Field(default=7 * 86400, gt=0)


RevocationTrigger = Literal[
    "replay",  # any replay attempt
    "non_delegable",  # any non-delegable attempt
    "context_mismatch",  # chain / account / origin disagreement
    "denials",  # N denials within window_s
    "budget_exhausted",
    "expired_envelope",  # a request on a session whose envelope has expired
]


class RevocationRule(_Model):
    """A policy-path revocation rule: when ``trigger`` fires ``threshold`` times within ``window_s``, act.

    Validated here; the engine that applies them is the daemon's (issue 8).
    """

    name: NonEmptyStr
    trigger: RevocationTrigger
    threshold: int = Field(default=1, ge=1)
    window_s: int | None = Field(default=None, gt=0)
    action: Literal["revoke", "alert"] = "revoke"

    @model_validator(mode="after")
    def _window(self) -> RevocationRule:
        if self.threshold > 1 and self.window_s is None:
            raise ValueError("threshold > 1 needs window_s")
        return self


class RevocationSettings(_Model):
    """Automatic (policy-path) revocation rules."""

    rules: tuple[RevocationRule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> RevocationSettings:
        _unique_names([rule.name for rule in self.rules], "revocation rule")
        return self


def _unique_names(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} name {name!r}")
        seen.add(name)


_SECTIONS = (
    "metadata",
    "relay",
    "store",
    "pricing",
    "admin",
    "audit",
    "log",
    "replay",
    "revocation",
)


def _with_sections(value: Any, defaults: Mapping[str, Any]) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {**defaults, **value}


def _chain_key(key: Any) -> Any:
    if isinstance(key, str):
        match = _CAIP2_EIP155_RE.match(key)
        if match:
            return int(match.group(1))
        if key.isdigit():
            return int(key)
    return key


class Settings(_Model):
    """The whole configuration. Build it with :func:`load_settings` (or :func:`parse_settings`)."""

    config_file: Path | None = None  # set by the loader
    data_dir: ConfigPath = Path("data")
    unmatched: Literal["reject", "queue"] = "reject"
    metadata: MetadataSettings = Field(default_factory=MetadataSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    signer: SignerSettings = Field(default_factory=lambda: DevSignerSettings(backend="dev"))
    chains: dict[Annotated[int, Field(gt=0)], ChainSettings] = Field(default_factory=dict)
    pricing: PricingSettings = Field(default_factory=PricingSettings)
    session_rules: tuple[SessionRule, ...] = ()
    admin: AdminSettings = Field(default_factory=AdminSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    revocation: RevocationSettings = Field(default_factory=RevocationSettings)

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        # sections left out are validated from {} so their paths resolve with the loader's context
        return _with_sections(
            value, {name: {} for name in _SECTIONS} | {"signer": {"backend": "dev"}}
        )

    @field_validator("chains", mode="before")
    @classmethod
    def _chain_keys(cls, value: Any) -> Any:
        if isinstance(value, list):  # [[chains]] id = 1 ... form
            out: dict[Any, Any] = {}
            for item in value:
                if not isinstance(item, dict) or "id" not in item:
                    raise ValueError("each [[chains]] entry needs id = <chain id>")
                rest = {k: v for k, v in item.items() if k != "id"}
                out[_chain_key(str(item["id"]))] = rest
            return out
        if isinstance(value, dict):
            return {_chain_key(key): item for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        _unique_names([rule.name for rule in self.session_rules], "session rule")
        for index, rule in enumerate(self.session_rules):
            for chain in rule.match.chains:
                if int(chain.split(":")[1]) not in self.chains:
                    raise ValueError(
                        f'session_rules[{index}] ("{rule.name}") uses {chain}, which has no '
                        f'[chains."{chain}"] section'
                    )
        return self

    def rule_for(
        self,
        *,
        origin: str | None,
        name: str | None,
        required_chains: tuple[str, ...] | frozenset[str],
        required_methods: tuple[str, ...] | frozenset[str],
    ) -> SessionRule | None:
        """Return the first session rule (file order) that matches a proposal, or None (see ``unmatched``)."""
        for rule in self.session_rules:
            if rule.match.matches(
                origin=origin,
                name=name,
                required_chains=required_chains,
                required_methods=required_methods,
            ):
                return rule
        return None


# --------------------------------------------------------------------------------------------------
# Loading


def _render_location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    items = list(loc)
    # a tagged union inserts the tag ("signer", "local", ...): drop it
    if len(items) >= 2 and items[0] == "signer" and items[1] in ("dev", "local", "remote"):
        del items[1]
    for index, item in enumerate(items):
        if isinstance(item, int) and index == 1 and items[0] == "chains":
            parts.append(f'."eip155:{item}"')  # chain keys are normalised to ints
        elif isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "[key]":
            parts.append(" (key)")
        elif _BARE_KEY_RE.match(item):
            parts.append(f".{item}" if parts else item)
        else:
            parts.append(f'."{item}"' if parts else f'"{item}"')
    return "".join(parts)


def _render_message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (not part of the configuration)"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return 'unknown signer backend; expected "dev", "local" or "remote"'
    if kind == "union_tag_not_found":
        return 'backend is missing; expected "dev", "local" or "remote"'
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def _dotted_get(raw: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _dotted_set(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def parse_settings(
    raw: Mapping[str, Any],
    *,
    base_dir: Path,
    environ: Mapping[str, str],
    source: str = "<config>",
    overrides: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Validate already-parsed TOML data (pure): apply ``overrides`` and environment secrets, then validate.

    Args:
        raw: the TOML document as a dict.
        base_dir: the directory relative paths in the file resolve against.
        environ: where secrets are looked up (:data:`ENV_OVERRIDES`, ``signer.passphrase_env``).
        source: the file name used in error messages.
        overrides: dotted key -> value applied on top of the file (command-line flags).
        config_file: recorded in ``Settings.config_file``.

    Raises:
        ConfigError: with every issue found.
    """
    data: dict[str, Any] = _deep_copy(raw)
    issues: list[ConfigIssue] = []
    for key in sorted(_ENV_ONLY):
        present, _ = _dotted_get(data, key)
        if present:
            env = next((name for name, dotted in ENV_OVERRIDES.items() if dotted == key), None)
            hint = f"set {env}" if env else "use passphrase_file or passphrase_env"
            if key == "config_file":
                hint = "it is set by the loader"
            issues.append(ConfigIssue(source, key, f"must not be written in the file; {hint}"))
    for key, value in (overrides or {}).items():
        _dotted_set(data, key, value)
    for env, key in ENV_OVERRIDES.items():
        value = environ.get(env)
        if value:
            _dotted_set(data, key, value)
    present, var = _dotted_get(data, "signer.passphrase_env")
    if present and isinstance(var, str):
        secret = environ.get(var)
        if secret is None:
            issues.append(
                ConfigIssue(
                    source,
                    "signer.passphrase_env",
                    f"environment variable {var} is not set",
                )
            )
        else:
            _dotted_set(data, "signer.passphrase", secret)
    if config_file is not None:
        data["config_file"] = config_file
    data_dir_raw = data.get("data_dir", "data")
    data_dir = base_dir / (data_dir_raw if isinstance(data_dir_raw, str | Path) else "data")
    context = {"base_dir": base_dir, "data_dir": Path(os.path.normpath(data_dir))}
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        locs = [tuple(error["loc"]) for error in errors]
        for error, loc in zip(errors, locs, strict=True):
            # a list whose items failed is also reported "too short": the item errors say it better
            if error["type"] == "too_short" and any(
                other[: len(loc)] == loc and len(other) > len(loc) for other in locs
            ):
                continue
            issues.append(ConfigIssue(source, _render_location(loc), _render_message(error)))
    if issues or settings is None:
        raise ConfigError(issues)
    return settings


def _deep_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in value.items()}


def load_settings(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] = os.environ,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read and validate one TOML config file; relative paths resolve against its directory.

    Raises:
        ConfigError: the file cannot be read or parsed, or does not validate (every issue listed).
    """
    file = Path(path)
    source = str(path)
    try:
        with file.open("rb") as handle:
            blob = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError([ConfigIssue(source, "", f"cannot read: {exc.strerror}")]) from None
    if len(blob) > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue(source, "", f"larger than {MAX_CONFIG_BYTES} bytes")])
    try:
        raw = tomllib.loads(blob.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([ConfigIssue(source, "", "not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigIssue(source, "", f"invalid TOML: {exc}")]) from None
    base_dir = Path(os.path.abspath(file)).parent
    return parse_settings(
        raw,
        base_dir=base_dir,
        environ=environ,
        source=source,
        overrides=overrides,
        config_file=Path(os.path.abspath(file)),
    )
