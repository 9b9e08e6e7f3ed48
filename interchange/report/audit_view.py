"""Report sections and JSON payload of an audit (same building blocks as the coverage report)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from interchange.audit.compare import Comparison
from interchange.audit.findings import Check, Finding, by_check
from interchange.metrics.coverage import CoverageReport
from interchange.metrics.coverage_json import coverage_payload
from interchange.report.bundle import ReportPaths
from interchange.report.coverage_view import coverage_sections
from interchange.report.html import render_html, write_html
from interchange.report.json_report import build_report, write_json
from interchange.report.sections import (
    BarChart,
    BarSeries,
    Cell,
    Section,
    Styled,
    Table,
    Tone,
    fmt_count,
    verdict,
)

MAX_ROWS = 200  # findings shown in terminal/HTML; the JSON has all of them


def audit_sections(
    findings: Sequence[Finding],
    notes: Sequence[Finding],
    coverage: CoverageReport,
    *,
    source: Mapping[str, Any],
    reverify: Mapping[str, Any],
    comparison: Sequence[Comparison] = (),
    checked: Sequence[Check] = tuple(Check),
    judged: Mapping[str, int] | None = None,
) -> tuple[Section, ...]:
    """Verdict per invariant, findings, replay, agreement, then the recomputed coverage."""
    out = [
        _verdict(findings, checked),
        _findings(findings, notes),
        _replay(source, reverify, judged or {}),
    ]
    if comparison:
        out.append(_agreement(comparison))
    out += coverage_sections(coverage)
    return tuple(out)


def _verdict(findings: Sequence[Finding], checked: Sequence[Check]) -> Section:
    grouped = by_check(findings)
    rows: list[tuple[Cell, ...]] = []
    for check in Check:
        n = len(grouped[check])
        holds = None if check not in checked else n == 0
        rows.append((check.value, fmt_count(n), verdict(holds)))
    chart = BarChart(
        "Findings per invariant",
        tuple(c.value for c in Check),
        (BarSeries("findings", tuple(float(len(grouped[c])) for c in Check)),),
        horizontal=True,
        value_label="findings",
        tones=tuple(Tone.FAIL if grouped[c] else Tone.PASS for c in Check),
    )
    text = (
        "Every invariant holds: nothing lost, duplicated, forged or leaked; "
        "every signature verifies."
        if not findings
        else f"{len(findings):,} finding(s); each names the offending topic, partition and offset."
    )
    table = Table("Invariants", ("invariant", "findings", ""), tuple(rows), align="lrr")
    return Section("Audit verdict", text, (chart,), (table,), verdict(not findings))


def _findings(findings: Sequence[Finding], notes: Sequence[Finding]) -> Section:
    def rows(items: Sequence[Finding]) -> tuple[tuple[Cell, ...], ...]:
        return tuple((Styled(f.kind.value, Tone.FAIL), f.where, f.detail) for f in items[:MAX_ROWS])

    tables = []
    if findings:
        more = f" First {MAX_ROWS} shown; the JSON lists all." if len(findings) > MAX_ROWS else ""
        tables.append(
            Table("Findings", ("kind", "where", "detail"), rows(findings), note=more, align="lll")
        )
    if notes:
        tables.append(
            Table(
                "Not judged (partial replay)",
                ("kind", "where", "detail"),
                rows(notes),
                note="Cross-record checks need the whole run; these may lie outside the window.",
                align="lll",
            )
        )
    text = "" if findings or notes else "No finding."
    return Section("Findings", text, (), tuple(tables))


def _replay(
    source: Mapping[str, Any], reverify: Mapping[str, Any], judged: Mapping[str, int]
) -> Section:
    rows: list[tuple[Cell, ...]] = [
        (str(k), str(v)) for k, v in source.items() if not isinstance(v, Mapping)
    ]
    rows += [(f"re-verify {k}", str(v)) for k, v in reverify.items()]
    read = source.get("per_topic", {})
    names = list(read) + [t for t in judged if t not in read]
    rows_per_topic: list[tuple[Cell, ...]] = [
        (t, fmt_count(int(read.get(t, 0))), fmt_count(int(judged.get(t, 0)))) for t in names
    ]
    total_read = sum(int(n) for n in read.values())
    rows_per_topic.append(("total", fmt_count(total_read), fmt_count(sum(judged.values()))))
    topics = Table(
        "Records read and judged per topic", ("topic", "read", "judged"), tuple(rows_per_topic)
    )
    facts = Table("Source and throughput", ("figure", "value"), tuple(rows), align="ll")
    return Section("Replay", "", (), (facts, topics))


def _agreement(comparison: Sequence[Comparison]) -> Section:
    def mark(c: Comparison) -> Cell:
        return Styled("info", Tone.MUTED) if c.agrees is None else verdict(c.agrees)

    shown = [c for c in comparison if c.agrees is False or c.tier == "all"]
    text = (
        "Counts must be equal; latency percentiles within histogram precision "
        "(|live − audit| ≤ max/1000 + 1 µs). Shown: the total, and any tier that differs."
    )
    table = Table(
        "Audit against the live report",
        ("tier", "figure", "live", "audit", ""),
        tuple((c.tier, c.figure, str(c.live), str(c.audit), mark(c)) for c in shown),
        align="llrrr",
    )
    agrees = all(c.agrees is not False for c in comparison)
    return Section("Agreement with the live report", text, (), (table,), verdict(agrees))


def audit_payload(
    findings: Sequence[Finding],
    notes: Sequence[Finding],
    coverage: CoverageReport,
    *,
    source: Mapping[str, Any],
    reverify: Mapping[str, Any],
    counts: Mapping[str, int],
    comparison: Sequence[Comparison] = (),
    stats: Mapping[str, Any] | None = None,
    judged: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The `kind: "audit"` report body (docs/AUDIT.md lists the keys)."""
    grouped = by_check(findings)
    return {
        "passed": not findings,
        "invariants": {
            c.name: {"text": c.value, "holds": not grouped[c], "findings": len(grouped[c])}
            for c in Check
        },
        "findings": [f.to_dict() for f in findings],
        "notes": [f.to_dict() for f in notes],
        "counts": dict(counts),
        "replay": dict(source),
        "judged": {"records": sum((judged or {}).values()), "per_topic": dict(judged or {})},
        "reverify": dict(reverify),
        "coverage": coverage_payload(coverage),
        "comparison": [
            {
                "tier": c.tier,
                "figure": c.figure,
                "live": c.live,
                "audit": c.audit,
                "agrees": c.agrees,
            }
            for c in comparison
        ],
        "stats": dict(stats or {}),
    }


def write_audit_files(
    out_dir: Path,
    title: str,
    sections: Sequence[Section],
    payload: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> ReportPaths:
    """`<out_dir>/audit.json` (the payload in the report envelope) and `audit.html`."""
    json_path = write_json(out_dir / "audit.json", build_report("audit", payload, meta))
    html_path = write_html(out_dir / "audit.html", render_html(title, sections, meta=meta))
    return ReportPaths(json_path, html_path)
