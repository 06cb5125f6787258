"""Render a report as one self-contained HTML page with matplotlib charts as PNG data URIs (pure).

Importing this module imports matplotlib (seconds on a cold start), so the CLI imports it only for
``--html``; the daemon never does. Charts are drawn on :class:`matplotlib.figure.Figure` objects with
the Agg canvas directly (no pyplot global state, no display). The page references nothing outside
itself: inline CSS, images as ``data:image/png;base64`` URIs, no scripts, no links.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)

from proxy.report.compute import DEFAULT_TOP, Report, nearest_rank
from proxy.report.format import duration, rate, short_id, verification_line

__all__ = ["CHARTS", "render_charts", "render_html"]

_ALLOW = "#4c9a6a"
_DENY = "#d1495b"
_ERROR = "#edae49"
_LINE = "#30343f"
_BAR = "#3b6ea5"
_PALETTE = (
    "#3b6ea5",
    "#d1495b",
    "#edae49",
    "#4c9a6a",
    "#8e6c8a",
    "#00798c",
    "#e07a5f",
    "#6d6875",
    "#a3a847",
    "#5b8e7d",
)
_WIDTH_IN = 7.5
_DPI = 110


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)  # attaches itself to the figure: no pyplot, no display
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _figure(rows: int = 0, base: float = 3.2) -> tuple[Figure, Axes]:
    height = max(base, 1.2 + 0.42 * rows) if rows else base
    figure = Figure(figsize=(_WIDTH_IN, height), dpi=_DPI)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _empty(title: str) -> bytes:
    figure, axes = _figure(base=1.6)
    axes.set_axis_off()
    axes.set_title(title, loc="left", fontsize=11)
    axes.text(0.5, 0.4, "no data in this window", ha="center", va="center", color="#777777")
    return _png(figure)


#: Tick positions on a log time axis, with their labels.
_TICKS_S: dict[float, str] = {
    0.001: "1 ms",
    0.01: "10 ms",
    0.1: "100 ms",
    1.0: "1 s",
    10.0: "10 s",
    60.0: "1 min",
    600.0: "10 min",
    3600.0: "1 h",
    6 * 3600.0: "6 h",
    86400.0: "1 d",
    7 * 86400.0: "7 d",
    30 * 86400.0: "30 d",
    365 * 86400.0: "1 y",
}


def _tick(seconds: float) -> str:
    return _TICKS_S.get(seconds) or duration(seconds)


def _seconds_axis(axes: Axes, values: list[float]) -> None:
    """A log time axis with ticks at human durations (1 ms, 1 s, 1 min, 1 h, 1 d...) when values span
    more than a decade; a linear one otherwise."""
    positive = [value for value in values if value > 0]
    if positive and max(positive) / min(positive) > 10:
        low, high = min(positive) / 2, max(positive) * 2
        axes.set_xscale("log")
        axes.set_xlim(low, high)
        axes.xaxis.set_major_locator(FixedLocator([t for t in _TICKS_S if low <= t <= high]))
        axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: _tick(value)))


def chart_denials(report: Report) -> bytes:
    """Requests per day (stacked by decision) with the policy denial rate as a line."""
    title = "Requests per day and policy denial rate"
    days = report.document["daily"]
    if not any(day["requests"] for day in days):
        return _empty(title)
    figure, axes = _figure(base=3.4)
    positions = list(range(len(days)))
    allowed = [day["allowed"] for day in days]
    denied = [day["denied"] for day in days]
    errors = [day["errors"] for day in days]
    axes.bar(positions, allowed, color=_ALLOW, label="allowed")
    axes.bar(positions, denied, bottom=allowed, color=_DENY, label="denied")
    axes.bar(
        positions,
        errors,
        bottom=[a + d for a, d in zip(allowed, denied, strict=True)],
        color=_ERROR,
        label="error",
    )
    axes.set_ylabel("requests")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    step = max(1, len(days) // 14)
    axes.set_xticks(positions[::step], [day["date"][5:] for day in days][::step], fontsize=8)
    rates = axes.twinx()
    rates.spines[["top"]].set_visible(False)
    # NaN breaks the line on days without delegated executions (no rate), instead of bridging them
    series = [math.nan if day["denial_rate"] is None else day["denial_rate"] for day in days]
    points = [value for value in series if not math.isnan(value)]
    rates.plot(
        positions,
        series,
        color=_LINE,
        marker="o",
        markersize=4,
        linewidth=1.6,
        label="denial rate",
    )
    rates.set_ylim(0, max(0.05, *(value * 1.15 for value in points)))
    rates.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    rates.set_ylabel("denied by policy / delegated")
    handles, labels = axes.get_legend_handles_labels()
    more_handles, more_labels = rates.get_legend_handles_labels()
    axes.legend(handles + more_handles, labels + more_labels, fontsize=8, loc="upper left", ncol=4)
    axes.set_ylim(
        0, max(1, max(a + d + e for a, d, e in zip(allowed, denied, errors, strict=True))) * 1.25
    )
    axes.set_title(title, loc="left", fontsize=11)
    return _png(figure)


def chart_boundary_hits(report: Report) -> bytes:
    """Policy boundary hits per action class, stacked by reason."""
    title = "Policy boundary hits per action class"
    hits = report.document["overall"]["boundary_hits"]
    if not hits:
        return _empty(title)
    totals: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for hit in hits:
        totals[hit["action_class"]] = totals.get(hit["action_class"], 0) + hit["count"]
        reasons[hit["reason"]] = reasons.get(hit["reason"], 0) + hit["count"]
    classes = sorted(totals, key=lambda name: (totals[name], name))  # biggest on top
    ordered = sorted(reasons, key=lambda name: (-reasons[name], name))
    shown = ordered[: len(_PALETTE) - 1]
    figure, axes = _figure(rows=len(classes))
    left = [0] * len(classes)
    groups = [[reason] for reason in shown]
    if len(ordered) > len(shown):
        groups.append(ordered[len(shown) :])
    for index, group in enumerate(groups):
        label = group[0] if len(group) == 1 else "other"
        counts = [
            sum(
                hit["count"]
                for hit in hits
                if hit["action_class"] == name and hit["reason"] in group
            )
            for name in classes
        ]
        axes.barh(classes, counts, left=left, color=_PALETTE[index], label=label)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    for row, total in enumerate(left):
        axes.text(total, row, f" {total}", va="center", fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, max(left) * 1.12)
    axes.set_xlabel("denials (one per reason)")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.set_title(title, loc="left", fontsize=11)
    return _png(figure)


def _median(values: list[float]) -> float:
    middle = nearest_rank(sorted(values), 50)
    return math.nan if middle is None else middle


def _distribution(title: str, samples: dict[str, list[float]], xlabel: str) -> bytes:
    names = [name for name, values in samples.items() if values]
    if not names:
        return _empty(title)
    names.sort(reverse=True)  # alphabetical from the top
    figure, axes = _figure(rows=len(names), base=2.4)
    data = [samples[name] for name in names]
    axes.boxplot(
        data,
        vert=False,
        widths=0.5,
        # the median line is the report's nearest-rank p50, so the chart agrees with the tables
        usermedians=[_median(values) for values in data],
        whis=(0, 100),
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "#dbe6f3", "edgecolor": _BAR},
        medianprops={"color": _DENY, "linewidth": 2},
        whiskerprops={"color": _BAR},
        capprops={"color": _BAR},
    )
    for row, values in enumerate(data, start=1):
        count = len(values)
        offsets = [((i * 37) % 11 - 5) / 40 for i in range(count)]  # deterministic jitter
        axes.scatter(
            values, [row + offset for offset in offsets], s=9, color=_LINE, alpha=0.5, zorder=3
        )
    axes.set_yticks(
        range(1, len(names) + 1), [f"{name} (n={len(samples[name])})" for name in names]
    )
    _seconds_axis(axes, [value for values in data for value in values])
    axes.set_xlabel(xlabel)
    axes.set_title(title, loc="left", fontsize=11)
    return _png(figure)


def chart_time_to_revoke(report: Report) -> bytes:
    """Distribution of alert-to-revocation times per revocation path (box: quartiles, whiskers: min/max)."""
    return _distribution(
        "Time from critical alert to effective revocation, per path",
        report.ttr_samples,
        "time to revoke (box: quartiles, line: median, whiskers: min/max)",
    )


def chart_lifetimes(report: Report) -> bytes:
    """Distribution of session lifetimes per action class."""
    return _distribution(
        "Session lifetime by action class",
        report.lifetime_samples,
        "approval to end (box: quartiles, line: median, whiskers: min/max)",
    )


def _bars(
    title: str,
    counts: dict[str, int],
    xlabel: str,
    color: str,
    colors: dict[str, str] | None = None,
) -> bytes:
    if not any(counts.values()):
        return _empty(title)
    names = sorted(counts, key=lambda name: (counts[name], name))
    figure, axes = _figure(rows=len(names), base=2.0)
    values = [counts[name] for name in names]
    axes.barh(names, values, color=[(colors or {}).get(name, color) for name in names])
    for row, value in enumerate(values):
        axes.text(value, row, f" {value}", va="center", fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, max(values) * 1.12)
    axes.set_xlabel(xlabel)
    axes.set_title(title, loc="left", fontsize=11)
    return _png(figure)


def chart_replay(report: Report) -> bytes:
    """Replay refusals per replay layer."""
    return _bars(
        "Replay refusals by layer",
        report.document["overall"]["replay_refusals"],
        "requests refused",
        _DENY,
    )


def chart_context(report: Report) -> bytes:
    """Context mismatches per kind next to post-revocation attempts."""
    overall = report.document["overall"]
    counts = {
        f"{kind} mismatch ({rate(entry['rate'])} of requests)": entry["count"]
        for kind, entry in overall["context_mismatch"]["by_kind"].items()
    }
    post = "post-revocation attempts"
    counts[post] = overall["post_revocation_attempts"]
    return _bars(
        "Context mismatches and post-revocation attempts",
        counts,
        "requests",
        _ERROR,
        {post: _DENY},
    )


#: (anchor, heading, renderer): one <img> each, in page order.
CHARTS: tuple[tuple[str, str, Callable[[Report], bytes]], ...] = (
    ("denials", "Denial rate per day", chart_denials),
    ("boundary", "Boundary hits per action class", chart_boundary_hits),
    ("revoke", "Time to revoke per path", chart_time_to_revoke),
    ("lifetime", "Session lifetime by action class", chart_lifetimes),
    ("replay", "Replay refusals by layer", chart_replay),
    ("context", "Context mismatches and post-revocation attempts", chart_context),
)


def render_charts(report: Report) -> dict[str, bytes]:
    """Every chart in :data:`CHARTS` as PNG bytes, by anchor."""
    return {anchor: draw(report) for anchor, _, draw in CHARTS}


# --------------------------------------------------------------------------------------------------
# Page


def _e(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def _table(headers: tuple[str, ...], rows: list[list[Any]], numeric_from: int = 1) -> str:
    if not rows:
        return '<p class="none">none</p>'
    head = "".join(f"<th>{_e(name)}</th>" for name in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">{_e(cell)}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _slice_table(label: str, slices: dict[str, Any]) -> str:
    rows = []
    for name, figures in slices.items():
        req = figures["requests"]
        rows.append(
            [
                name,
                req["total"],
                req["allowed"],
                req["denied"],
                req["errors"],
                rate(req["denial_rate"]),
                figures["context_mismatch"]["requests"],
                figures["post_revocation_attempts"],
                sum(figures["replay_refusals"].values()),
                sum(entry["revocations"] for entry in figures["time_to_revoke"].values()),
                figures["sessions"]["approved"],
            ]
        )
    headers = (
        label,
        "requests",
        "allowed",
        "denied",
        "errors",
        "denial rate",
        "ctx mismatch",
        "post-revoke",
        "replays",
        "revocations",
        "sessions",
    )
    return _table(headers, rows)


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#666;font-size:13px}
.ok{background:#e3f1e7;border-left:6px solid #4c9a6a;padding:10px 14px;margin:14px 0;font-size:14px}
.bad{background:#d1495b;color:#fff;padding:18px 20px;margin:14px 0;font-size:18px;font-weight:700;
border:4px solid #8c1c2b}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;margin:14px 0}
.card{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .v{font-size:24px;font-weight:600}.card .k{font-size:12px;color:#666}
.card.alert .v{color:#d1495b}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:14px}
figure{background:#fff;margin:0;padding:8px;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
figure img{width:100%;height:auto;display:block}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:5px 9px;border-bottom:1px solid #e6e8eb;text-align:left;white-space:nowrap}
th{background:#eceef1;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.none{color:#777;font-style:italic}
""".strip()


def render_html(report: Report, charts: dict[str, bytes] | None = None) -> str:
    """The whole report as one HTML page (charts drawn unless given; each is one ``<img>``)."""
    document = report.document
    drawn = charts if charts is not None else render_charts(report)
    overall = document["overall"]
    req = overall["requests"]
    window = document["window"]
    ok, sentence = verification_line(document.get("verification"))
    banner = (
        f'<div class="ok">{_e(sentence)}</div>'
        if ok
        else f'<div class="bad">⚠ {_e(sentence)}</div>'
    )
    long_lived = document["long_lived_sessions"]
    revocations = sum(entry["revocations"] for entry in overall["time_to_revoke"].values())
    replays = sum(overall["replay_refusals"].values())
    cards = [
        ("requests", req["total"], False),
        ("denial rate (policy)", rate(req["denial_rate"]), False),
        (
            "context mismatches",
            overall["context_mismatch"]["requests"],
            overall["context_mismatch"]["requests"] > 0,
        ),
        (
            "post-revocation attempts",
            overall["post_revocation_attempts"],
            overall["post_revocation_attempts"] > 0,
        ),
        ("replay refusals", replays, replays > 0),
        ("revocations", revocations, False),
        (
            f"sessions alive > {long_lived['threshold_hours']:g} h",
            long_lived["count"],
            long_lived["count"] > 0,
        ),
        ("emergency stops", overall["emergency"]["stops"], overall["emergency"]["stops"] > 0),
    ]
    card_html = "".join(
        f'<div class="card{" alert" if alert else ""}"><div class="v">{_e(value)}</div>'
        f'<div class="k">{_e(key)}</div></div>'
        for key, value, alert in cards
    )
    figures = "".join(
        f'<figure id="{anchor}"><img alt="{_e(heading)}" '
        f'src="data:image/png;base64,{base64.b64encode(drawn[anchor]).decode("ascii")}"></figure>'
        for anchor, heading, _ in CHARTS
    )
    hits = overall["boundary_hits"][:DEFAULT_TOP]
    sections = [
        ("Per ISO week", _slice_table("week", document["weeks"])),
        ("Per dApp", _slice_table("dApp", document["dapps"])),
        (
            "Top boundary hits",
            _table(
                ("action class", "reason", "hits"),
                [[hit["action_class"], hit["reason"], hit["count"]] for hit in hits],
                numeric_from=2,
            ),
        ),
        (
            "Slowest revocations",
            _table(
                ("time", "session", "dApp", "path", "rule", "time to revoke"),
                [
                    [
                        entry["time"],
                        short_id(entry["session"]),
                        entry["dapp"],
                        entry["path"],
                        entry["rule"],
                        duration(entry["seconds"]),
                    ]
                    for entry in document["slowest_revocations"]
                ],
                numeric_from=5,
            ),
        ),
        (
            f"Sessions alive longer than {long_lived['threshold_hours']:g} h "
            f"({long_lived['count']} of {long_lived['alive']} alive)",
            _table(
                ("session", "dApp", "approved", "age", "action classes", "rule"),
                [
                    [
                        short_id(entry["session"]),
                        entry["dapp"],
                        entry["approved_at"],
                        duration(entry["age_hours"] * 3600),
                        ", ".join(entry["action_classes"]) or None,
                        entry["rule"],
                    ]
                    for entry in long_lived["sessions"]
                ],
                numeric_from=99,
            ),
        ),
        (
            "Emergency stops and resumes",
            _table(
                ("time", "event", "actor", "reason"),
                [[e["time"], e["event"], e["actor"], e["reason"]] for e in document["emergencies"]],
                numeric_from=99,
            ),
        ),
    ]
    body = "".join(f"<h2>{_e(title)}</h2>{content}" for title, content in sections)
    source = (document.get("source") or {}).get("audit")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>wcproxy report {_e(window['since'][:10])} to {_e(window['now'][:10])}</title>"
        f"<style>{_CSS}</style></head><body><main>"
        f"<h1>wcproxy delegation report</h1>"
        f'<div class="sub">{_e(window["since"])} → {_e(window["now"])}'
        + (f" · {_e(source)}" if source else "")
        + f'</div>{banner}<div class="cards">{card_html}</div>'
        f'<div class="charts">{figures}</div>{body}'
        "</main></body></html>\n"
    )
