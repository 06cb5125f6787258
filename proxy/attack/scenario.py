"""Attack scenarios as data: the pydantic model of one scenario file, the loader and the corpus (pure but
for reading files).

A scenario is one TOML file in ``proxy/scenarios/`` (or any directory given to ``--scenarios``)::

    name = "resubmit-same-tx"            # unique in a corpus
    category = "replay"
    proves = "a signed transaction is not signed again when resubmitted in a new request"
    self_only = false                     # true: skipped against foreign wallets

    [setup]                               # optional
    sessions = 1                          # how many sessions the attacker opens (1..3)
    chains = ["eip155:1", "eip155:10"]    # proposed chains (a wallet approves what it likes)
    envelope = { ... }                    # --target self: this scenario's session envelope
    revocation_rules = [ { ... } ]        # --target self only: daemon rules (own daemon)
    isolated = false                      # --target self only: a daemon of its own

    [calldata.upgrade]                    # named helpers used by {calldata:upgrade}
    sig = "upgradeTo(address)"
    args = ["0x2222222222222222222222222222222222222222"]

    [[steps]]
    kind = "request"                      # request | raw | admin | wait
    name = "first"
    role = "setup"                        # setup steps must be signed; attack steps are judged
    method = "eth_signTransaction"
    params = [{ from = "{account}", to = "0x1111...", nonce = "{nonce_hex:0}" }]

    [expect]
    outcome = "deny"                      # deny | no_second_signature | no_answer
    reason = ["replay"]                   # accepted reason classes (checked for wcproxy targets)

Adding a scenario means adding a file. Errors name the file and the field
(:class:`ScenarioError`); placeholders are rendered by :mod:`proxy.attack.template`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from policy.envelope import parse_envelope
from policy.errors import EnvelopeError
from proxy.config import RevocationRule

__all__ = [
    "MAX_SCENARIO_BYTES",
    "RAW_OPS",
    "REASON_CLASSES",
    "AdminStep",
    "CalldataDef",
    "Expect",
    "MultisendDef",
    "RawStep",
    "RequestStep",
    "Scenario",
    "ScenarioError",
    "Setup",
    "Step",
    "WaitStep",
    "corpus_files",
    "load_corpus",
    "load_scenario",
    "parse_scenario",
    "select",
]

MAX_SCENARIO_BYTES = 256 * 1024
"""A scenario file larger than this is refused."""

ReasonClass = Literal[
    "policy",  # 5000: the envelope / non-delegable rules refused it
    "replay",  # 5010 / 5720: a replay layer refused it
    "revoked",  # 5020
    "frozen",  # 5021
    "expired",  # 8000
    "malformed",  # -32602 / -32600
    "unsupported",  # 4200, or the WC engine: method / chain not in the session
    "unavailable",  # -32002
    "no_answer",  # silence within the quiet window
    "relay",  # the relay refused to carry it
    "duplicate",  # the earlier answer was re-sent (no new signature)
    "variant",  # a valid signature came back, but for a safer variant of the payload
    "refused",  # any other JSON-RPC error (foreign wallets)
]
REASON_CLASSES: tuple[str, ...] = ReasonClass.__args__  # type: ignore[attr-defined]

RawOp = Literal[
    "duplicate_envelope",  # the exact envelope text again
    "reencrypt",  # the same plaintext (same JSON-RPC id) under a fresh IV
    "stale_id",  # the same request with an id whose timestamp is 8 days old
    "future_id",  # ... an hour ahead
    "tamper_tag",  # the same request, fresh id, Poly1305 tag corrupted
    "tamper_ttl",  # the same request, fresh id, relay ttl set to ``ttl`` (default 30 days)
    "oversize",  # the request padded to ``size`` characters
    "publish_on_other_topic",  # the same plaintext sealed for another session of ours
]
RAW_OPS: tuple[str, ...] = RawOp.__args__  # type: ignore[attr-defined]

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class ScenarioError(Exception):
    """A scenario file could not be read or does not validate; ``file`` and ``field`` name the spot."""

    def __init__(self, file: str, field: str, message: str) -> None:
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.field = field
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalldataDef(_Model):
    """``{calldata:NAME}``: selector of ``sig`` + ABI-encoded ``args`` (placeholders allowed)."""

    sig: str = Field(min_length=3, max_length=512)
    args: tuple[Any, ...] = ()


class MultisendCall(_Model):
    """One packed Safe MultiSend call."""

    operation: Literal[0, 1] = 0
    to: str
    value: str | int = 0
    data: str = "0x"


class MultisendDef(_Model):
    """``{multisend:NAME}``: the packed ``transactions`` bytes of Safe ``multiSend(bytes)``."""

    calls: tuple[MultisendCall, ...] = Field(min_length=1, max_length=32)


class Setup(_Model):
    """Sessions to open and (``--target self`` only) the daemon/envelope overrides."""

    sessions: int = Field(default=1, ge=1, le=3)
    chains: tuple[str, ...] = Field(default=("eip155:1", "eip155:10"), min_length=1)
    methods: tuple[str, ...] | None = None
    envelope: dict[str, Any] | None = None
    revocation_rules: tuple[RevocationRule, ...] = ()
    isolated: bool = False  # run in a daemon of its own (e.g. an emergency stop freezes everything)

    @field_validator("envelope")
    @classmethod
    def _valid_envelope(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                parse_envelope(json.dumps(value))
            except (EnvelopeError, TypeError, ValueError) as exc:
                raise ValueError(f"not a valid capability envelope: {exc}") from None
        return value


class _StepBase(_Model):
    name: str | None = Field(default=None, pattern=_NAME)
    role: Literal["setup", "attack"] = "attack"
    session: int = Field(default=0, ge=0, le=2)


class RequestStep(_StepBase):
    """A ``wc_sessionRequest`` built from templates (sent with the session key, like the dApp)."""

    kind: Literal["request"]
    method: str = Field(min_length=1, max_length=128)
    params: Any = None
    params_from: str | None = None  # copy the rendered params of an earlier step
    chain: str = "{chain}"
    id: Literal["fresh", "stale", "future"] | int | str = "fresh"  # or "same:<step>"
    expiry_s: int | None = Field(default=None, ge=-86_400, le=86_400)

    @model_validator(mode="after")
    def _params(self) -> RequestStep:
        if self.params is None and self.params_from is None:
            raise ValueError("give params or params_from")
        if (
            isinstance(self.id, str)
            and self.id not in ("fresh", "stale", "future")
            and (not self.id.startswith("same:") or len(self.id) == 5)
        ):
            raise ValueError('id must be "fresh", "stale", "future", "same:<step>" or an int')
        return self


class RawStep(_StepBase):
    """A crafted relay publish derived from an earlier request step ``of``."""

    kind: Literal["raw"]
    op: RawOp
    of: str = Field(pattern=_NAME)
    target_session: int = Field(default=1, ge=0, le=2)  # publish_on_other_topic
    ttl: int | None = Field(default=None, ge=10, le=30 * 86_400)
    relay_tag: int | None = Field(default=None, ge=0, le=100_000)
    size: int = Field(default=400_000, ge=1_000, le=2_000_000)  # oversize


class AdminStep(_StepBase):
    """An operator action (``--target self`` only, except ``disconnect`` = the dApp's wc_sessionDelete)."""

    kind: Literal["admin"]
    action: Literal["revoke", "emergency_stop", "emergency_resume", "disconnect", "wait_revoked"]
    timeout_s: float = Field(default=5.0, gt=0, le=30)


class WaitStep(_StepBase):
    """Sleep (bounded), e.g. until a short envelope has expired."""

    kind: Literal["wait"]
    seconds: float = Field(gt=0, le=30)


Step = Annotated[RequestStep | RawStep | AdminStep | WaitStep, Field(discriminator="kind")]


class Expect(_Model):
    """The secure outcome of the attack steps."""

    outcome: Literal["deny", "no_second_signature", "no_answer"]
    reason: tuple[ReasonClass, ...] = ()


class Scenario(_Model):
    """One attack scenario (see the module docstring)."""

    name: str = Field(pattern=_NAME)
    category: str = Field(pattern=_NAME)
    proves: str = Field(min_length=1, max_length=1000)
    self_only: bool = False  # meaningful only against wcproxy (e.g. relies on an envelope override)
    setup: Setup = Field(default_factory=Setup)
    calldata: dict[str, CalldataDef] = Field(default_factory=dict)
    multisend: dict[str, MultisendDef] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    steps: tuple[Step, ...] = Field(min_length=1, max_length=32)
    expect: Expect
    source: str = ""  # set by the loader

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        named: dict[str, Step] = {}
        for i, step in enumerate(self.steps):
            where = f"steps[{i}]"
            if step.session >= self.setup.sessions:
                raise ValueError(f"{where}.session {step.session} >= setup.sessions")
            if isinstance(step, RequestStep):
                ref = step.params_from
                if isinstance(step.id, str) and step.id.startswith("same:"):
                    ref2 = step.id[5:]
                    if not isinstance(named.get(ref2), RequestStep):
                        raise ValueError(f"{where}.id refers to no earlier request step {ref2!r}")
                if ref is not None and not isinstance(named.get(ref), RequestStep):
                    raise ValueError(f"{where}.params_from: no earlier request step {ref!r}")
            if isinstance(step, RawStep):
                if not isinstance(named.get(step.of), RequestStep):
                    raise ValueError(f"{where}.of: no earlier request step {step.of!r}")
                if (
                    step.op == "publish_on_other_topic"
                    and step.target_session >= self.setup.sessions
                ):
                    raise ValueError(
                        f"{where}.target_session needs setup.sessions > {step.target_session}"
                    )
            if step.name is not None:
                if step.name in named:
                    raise ValueError(f"{where}.name {step.name!r} is used twice")
                named[step.name] = step
        if not any(s.role == "attack" and isinstance(s, RequestStep | RawStep) for s in self.steps):
            raise ValueError("no attack step (a request or raw step with role = 'attack')")
        return self

    @property
    def needs_self(self) -> bool:
        """Whether only ``--target self`` can run it (operator actions, daemon overrides, or marked so).

        An envelope override alone does not make a scenario self-only: a foreign wallet simply has no
        envelope, and what it signs is what the report must show.
        """
        return (
            self.self_only
            or bool(self.setup.revocation_rules)
            or self.setup.isolated
            or any(isinstance(s, AdminStep) and s.action != "disconnect" for s in self.steps)
        )

    @property
    def attack_steps(self) -> list[int]:
        """Indexes of the judged steps."""
        return [
            i
            for i, s in enumerate(self.steps)
            if s.role == "attack" and isinstance(s, RequestStep | RawStep)
        ]


def _location(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("request", "raw", "admin", "wait", "function-after[_params()]"):
            continue  # discriminator tags pydantic inserts
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_scenario(text: str, *, source: str) -> Scenario:
    """Parse one scenario document; raises :class:`ScenarioError` naming ``source`` and the field."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(source, "", f"larger than {MAX_SCENARIO_BYTES} bytes")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "", f"TOML syntax error: {exc}") from None
    raw["source"] = source
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = _location(first["loc"])
        if first["type"] == "extra_forbidden":
            message = f"unknown field {str(first['loc'][-1])!r}"
        else:
            message = first["msg"]
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ScenarioError(source, field, message) from None


def load_scenario(path: Path) -> Scenario:
    """Read and parse one ``.toml`` scenario file."""
    try:
        with path.open("rb") as handle:
            blob = handle.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc.strerror}") from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "not UTF-8 text") from None
    return parse_scenario(text, source=str(path))


def corpus_files() -> list[Path]:
    """The packaged corpus (``proxy/scenarios/*.toml``), sorted by name."""
    root = resources.files("proxy").joinpath("scenarios")
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml"))


def _expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix == ".toml"))
        elif path.exists():
            files.append(path)
        else:
            raise ScenarioError(str(path), "", "no such file or directory")
    return files


def load_corpus(paths: Sequence[Path] | None = None) -> list[Scenario]:
    """Load scenario files and directories (default: the packaged corpus); names must be unique."""
    files = _expand(paths) if paths else corpus_files()
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for file in files:
        scenario = load_scenario(file)
        if scenario.name in seen:
            raise ScenarioError(
                str(file), "name", f"{scenario.name!r} also in {seen[scenario.name]}"
            )
        seen[scenario.name] = str(file)
        scenarios.append(scenario)
    if not scenarios:
        raise ScenarioError(", ".join(str(p) for p in paths or ()), "", "no scenario files found")
    return scenarios


def select(scenarios: Sequence[Scenario], only: Sequence[str]) -> list[Scenario]:
    """Keep the scenarios whose name or category is in ``only`` (all when empty)."""
    if not only:
        return list(scenarios)
    wanted = set(only)
    return [s for s in scenarios if s.name in wanted or s.category in wanted]
