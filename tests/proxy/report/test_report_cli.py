"""``wcproxy report`` as a subprocess: exact JSON figures, text, self-contained HTML, tampering, bad input."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_expected import DAPP_REQUESTS, LONG_LIVED, OVERALL, RECORDS, SLOWEST, WEEK_REQUESTS
from report_fixtures import NOW, write_log

from proxy.report.html import CHARTS

ROOT = Path(__file__).resolve().parents[3]
WCPROXY = ROOT / ".venv" / "bin" / "wcproxy"


def report(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WCPROXY), "report", "--now", str(NOW), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    write_log(path, head_file=True)
    return path


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_json_figures_exact(log_path: Path) -> None:
    result = report("--audit", str(log_path), "--since", "14d", "--json")
    assert result.returncode == 0, result.stderr
    document = as_json(result)
    assert document["format"] == "wcproxy.report/1"
    assert document["records"] == RECORDS
    assert document["overall"] == OVERALL
    for week, expected in WEEK_REQUESTS.items():
        requests = dict(document["weeks"][week]["requests"])
        requests.pop("by_reason")
        assert requests == expected, week
    for dapp, expected in DAPP_REQUESTS.items():
        requests = dict(document["dapps"][dapp]["requests"])
        requests.pop("by_reason")
        assert requests == expected, dapp
    assert document["slowest_revocations"] == SLOWEST
    assert document["long_lived_sessions"] == LONG_LIVED
    assert document["source"] == {"audit": str(log_path)}
    assert document["verification"] == {
        "ok": True,
        "records": RECORDS["read"],
        "line": None,
        "reason": None,
        "head": str(log_path) + ".head",  # found next to the log and used
        "unanchored": 0,
    }


def test_iso_date_since_equals_relative(log_path: Path) -> None:
    relative = as_json(report("--audit", str(log_path), "--since", "2w", "--json"))
    dated = as_json(report("--audit", str(log_path), "--since", "2025-01-06", "--json"))
    assert dated == relative
    week = as_json(report("--audit", str(log_path), "--since", "7d", "--json"))
    assert sorted(week["weeks"]) == ["2025-W03"]
    assert week["overall"]["requests"]["total"] == WEEK_REQUESTS["2025-W03"]["total"]


def test_audit_path_from_config(tmp_path: Path, log_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "audit.jsonl").write_bytes(log_path.read_bytes())
    config = tmp_path / "wcproxy.toml"
    config.write_text('data_dir = "state"\n[audit]\npath = "audit.jsonl"\n')
    result = report("--config", str(config), "--since", "14d", "--json", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    document = as_json(result)
    assert document["source"]["audit"] == str(tmp_path / "state" / "audit.jsonl")
    assert document["overall"]["requests"] == OVERALL["requests"]
    assert document["verification"]["head"] is None  # the copy has no head file: links only


def test_text_output(log_path: Path) -> None:
    result = report("--audit", str(log_path), "--since", "14d")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Audit chain verified: 64 records, anchored to" in text
    assert re.search(r"^\s+34\s+15\s+17\s+2\s+33\s+16\s+48\.5%$", text, re.MULTILINE)
    assert re.search(r"^\s+2025-W02\s+18\s+8\s+9\s+1\s+17\s+47\.1%", text, re.MULTILINE)
    assert re.search(r"policy\s+3\s+3\s+30\.0 ms\s+1\.5 s\s+1\.5 s", text)
    assert "Post-revocation attempts: 2" in text
    assert "Sessions alive longer than 24 h at 2025-01-20T00:00:00Z: 1 (of 2 alive)" in text


def test_html_is_self_contained_with_one_img_per_chart(tmp_path: Path, log_path: Path) -> None:
    page = tmp_path / "report.html"
    result = report("--audit", str(log_path), "--since", "14d", "--html", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == len(CHARTS) == 6
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == len(images)
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    for external in ("href=", "<script", "<link", "url(", "@import", "<iframe"):
        assert external not in html, external
    assert "Audit chain verified" in html
    assert 'class="bad"' not in html
    # the text summary still goes to stdout
    assert "Per ISO week" in result.stdout


def _tamper(source: Path, target: Path, edit: str) -> None:
    lines = source.read_text().splitlines(keepends=True)
    index = next(  # an allow inside the window (the first allow of the log is before it)
        i for i, line in enumerate(lines) if '"decision":"allow"' in line and "2025-01-06" in line
    )
    if edit == "edit":
        lines[index] = lines[index].replace('"decision":"allow"', '"decision":"deny"')
    elif edit == "delete":
        del lines[index]
    elif edit == "torn":
        lines[-1] = lines[-1][:40]
    target.write_text("".join(lines))


@pytest.mark.parametrize(
    ("edit", "reason"), [("edit", "edited"), ("delete", "link"), ("torn", "torn")]
)
def test_tampered_log_reported_loudly_but_rendered(
    tmp_path: Path, log_path: Path, edit: str, reason: str
) -> None:
    copy = tmp_path / "copy.jsonl"
    _tamper(log_path, copy, edit)
    result = report("--audit", str(copy), "--since", "14d", "--json")
    assert result.returncode == 1, result.stderr
    assert "did not verify" in result.stderr
    document = as_json(result)
    verification = document["verification"]
    assert verification["ok"] is False
    assert reason in verification["reason"]
    assert verification["line"] is not None
    assert document["overall"]["requests"]["total"] > 0  # still rendered
    if edit == "edit":  # the figures are those of the altered log: one allow became a deny
        assert document["overall"]["requests"]["allowed"] == OVERALL["requests"]["allowed"] - 1
        assert document["overall"]["requests"]["denied"] == OVERALL["requests"]["denied"] + 1
    text = report("--audit", str(copy), "--since", "14d")
    assert text.returncode == 1
    assert "!! AUDIT LOG DID NOT VERIFY at line" in text.stdout


def test_tampered_html_banner(tmp_path: Path, log_path: Path) -> None:
    copy = tmp_path / "copy.jsonl"
    _tamper(log_path, copy, "edit")
    page = tmp_path / "report.html"
    result = report("--audit", str(copy), "--since", "14d", "--html", str(page), "--json")
    assert result.returncode == 1
    html = page.read_text(encoding="utf-8")
    assert '<div class="bad">' in html
    assert "AUDIT LOG DID NOT VERIFY" in html
    assert len(re.findall(r"<img ", html)) == len(CHARTS)


def test_truncated_log_caught_by_head(tmp_path: Path, log_path: Path) -> None:
    copy = tmp_path / "copy.jsonl"
    lines = log_path.read_text().splitlines(keepends=True)
    copy.write_text("".join(lines[:-2]))
    head = Path(str(log_path) + ".head")
    document = as_json(report("--audit", str(copy), "--head", str(head), "--json"))
    assert document["verification"]["ok"] is False
    assert "truncated" in document["verification"]["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--audit", "/nonexistent/audit.jsonl"), "not found"),
        (("--audit", "{log}", "--since", "7x"), "--since '7x'"),
        (("--audit", "{log}", "--since", "2030-01-01"), "after --now"),
        (("--audit", "{log}", "--long-lived", "soon"), "--long-lived"),
        (("--audit", "{garbage}"), "not JSON"),
        (("--audit", "{array}"), "not a JSON object"),
        (("--audit", "{deep}"), "not JSON"),
        (("--config", "/nonexistent/wcproxy.toml"), "cannot use --config"),
    ],
)
def test_bad_input_one_line_exit_2(
    tmp_path: Path, log_path: Path, args: tuple[str, ...], message: str
) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("hello\nworld\n")
    array = tmp_path / "array.jsonl"
    array.write_text("[1, 2]\n")
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    filled = [a.format(log=log_path, garbage=garbage, array=array, deep=deep) for a in args]
    result = report(*filled)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wcproxy report: ")
    assert message in lines[0]


def test_bad_now_is_exit_2() -> None:
    result = subprocess.run(
        [str(WCPROXY), "report", "--audit", "x", "--now", "tomorrow"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--now 'tomorrow'" in result.stderr


def test_json_run_does_not_import_matplotlib(log_path: Path) -> None:
    code = (
        "import sys\n"
        "from proxy.cli import main\n"
        f"status = main(['report', '--audit', {str(log_path)!r}, '--now', '{NOW}', '--json'])\n"
        "assert status == 0, status\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
