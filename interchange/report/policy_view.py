"""Report sections for the two policy rules: exchange (100%) and online processing of work records.

Shared by simulate and the audit through `coverage_view.coverage_sections`; the JSON keys
are in `json_report` (docs/REPORT.md maps each figure to the rule it comes from).
"""

from __future__ import annotations

from interchange.metrics.coverage import Check, CoverageReport, ExchangeRow, TierCoverage
from interchange.report.sections import (
    BarChart,
    BarSeries,
    Cell,
    Section,
    Styled,
    Table,
    Tone,
    fmt_count,
    fmt_share,
    verdict,
)

NOT_MEASURED = "not measured"


def exchange_section(report: CoverageReport) -> Section:
    """Rule 1: eligible documents exchanged electronically, fully signed; target 100%."""
    target = report.targets.exchange
    text = (
        f"Rule 1, exchange: {fmt_share(target)} of the documents exchanged between state "
        "agencies (classified excepted) sent and received electronically, fully digitally "
        "signed. Exchanged = delivered to a connected recipient after the router verified "
        "the signature (and not failed by a re-check at the recipient), of eligible = "
        "addressed minus classified minus replays; per recipient, per tier on both sides."
    )
    rows = report.exchange_by_recipient
    chart = BarChart(
        "Exchange coverage per recipient tier",
        tuple(r.label for r in rows),
        (BarSeries("exchanged", tuple(r.check.value for r in rows)),),
        targets=tuple(r.check.target for r in rows),
        percent=True,
        value_label="share of eligible documents",
    )
    columns = (
        "tier",
        "eligible",
        "exchanged",
        "share",
        "",
        "not connected",
        "rejected",
        "sig. invalid",
        "lost / in flight",
    )
    total_rows = () if report.exchange_total is None else (report.exchange_total,)
    tables = [
        Table(
            f"Exchange by recipient tier (target {fmt_share(target)})",
            columns,
            tuple(_exchange_line(r) for r in (*rows, *total_rows)),
            note="Counts are per recipient: a document to 3 agencies counts 3 times.",
        ),
        Table(
            f"Exchange by sender tier (target {fmt_share(target)})",
            columns,
            tuple(_exchange_line(r) for r in report.exchange_by_sender),
            note="The same documents grouped by the tier that issued them.",
        ),
    ]
    if report.exchange_total is not None and report.exchange_total.not_exchanged:
        total = report.exchange_total
        tables.append(_causes("recipient", report.exchange_by_recipient, total))
        tables.append(_causes("sender", report.exchange_by_sender, total))
    return Section(
        "Exchange (rule 1)", text, (chart,), tuple(tables), verdict(report.exchange_passed)
    )


def _causes(side: str, rows: tuple[ExchangeRow, ...], total: ExchangeRow) -> Table:
    """What was not exchanged, by cause (NOT_CONNECTED, each reason code, lost), one column
    per tier of one side and one for all tiers: rule 1 is judged per tier on both sides."""
    causes = list(total.not_exchanged)
    for r in rows:  # a side's causes are the total's; kept in case a row has one more
        causes += [c for c in r.not_exchanged if c not in causes]
    return Table(
        f"Not exchanged by cause, per {side} tier",
        ("cause", *(r.label for r in rows), "all tiers"),
        tuple(
            (
                cause,
                *(fmt_count(r.not_exchanged.get(cause, 0)) for r in rows),
                fmt_count(total.not_exchanged.get(cause, 0)),
            )
            for cause in causes
        ),
        note="NOT_CONNECTED: the recipient is not on the axis (paper); a reason code: the "
        "router refused the submission; SIGNATURE_INVALID_AT_RECIPIENT: failed a re-check; "
        "IN_FLIGHT_OR_LOST: no outcome. Counts are per recipient.",
    )


def _exchange_line(r: ExchangeRow) -> tuple[Cell, ...]:
    label: Cell = r.label if r.tier is not None else Styled("all tiers", Tone.MUTED)
    lost: Cell = fmt_count(r.unaccounted)
    if r.unaccounted:
        lost = Styled(fmt_count(r.unaccounted), Tone.WARN)
    return (
        label,
        fmt_count(r.eligible),
        fmt_count(r.exchanged),
        fmt_share(r.check.value),
        verdict(r.check.passed),
        fmt_count(r.not_connected),
        fmt_count(sum(r.rejected.values())),
        fmt_count(r.signature_invalid),
        lost,
    )


def processing_section(report: CoverageReport) -> Section:
    """Rule 2: work records handled on the network, per recipient tier; the funnel."""
    name = report.targets.name
    if not report.processing_measured:
        text = (
            f"Rule 2, online processing of work records ({name} targets): {NOT_MEASURED}. "
            "No work-record status of this run states whether the record was handled on the "
            "network or on paper (statuses 03-06 with the online flag), so no share is shown."
        )
    else:
        text = (
            f"Rule 2, online processing of work records, against the {name} targets: work "
            "records handled on the network ÷ work records whose status 03 states the mode. "
            "A work record is a document delivered to an agency: 03 accepted → 04 assigned "
            "→ 05 in progress → 06 completed."
        )
    share = Table(
        "Online processing of work records",
        ("tier", "records", "online", "paper", "mode not stated", "share", "target", ""),
        tuple(_processing_row(t) for t in (*report.tiers, report.total)),
        note="Judged per recipient tier; records of agencies not on the axis are not seen.",
    )
    funnel = Table(
        "Workflow funnel per recipient tier",
        (
            "tier",
            "03 accepted",
            "04 assigned",
            "05 in progress",
            "06 completed",
            "open",
            "overdue (done late)",
            "overdue (open)",
            "redelivered",
        ),
        tuple(_funnel_row(t) for t in (*report.tiers, report.total)),
        note="Overdue: completed after the due date, or still open past it at the last "
        "status of the run. Redelivered: records whose 01 came again (at-least-once "
        "delivery after a recipients restart); their repeated steps are not counted twice.",
    )
    tables = [share, funnel]
    total = report.total.work
    answers = (total.recall_agreed, total.recall_refused, total.update_agreed, total.update_refused)
    if total.recall_requested or any(answers):
        tables.append(
            Table(
                "Recall outcomes per recipient tier",
                (
                    "tier",
                    "13 requested",
                    "15 agreed",
                    "16 refused",
                    "unanswered",
                    "update: 15 agreed",
                    "update: 16 refused",
                ),
                tuple(
                    (
                        _label(t),
                        fmt_count(t.work.recall_requested),
                        fmt_count(t.work.recall_agreed),
                        fmt_count(t.work.recall_refused),
                        fmt_count(
                            max(
                                t.work.recall_requested
                                - t.work.recall_agreed
                                - t.work.recall_refused,
                                0,
                            )
                        ),
                        fmt_count(t.work.update_agreed),
                        fmt_count(t.work.update_refused),
                    )
                    for t in (*report.tiers, report.total)
                ),
                note="A revoke is answered 13, then 15 or 16; an update is answered 15 or 16 "
                "alone (no status code records an update request). Both are refused once "
                "the record is completed.",
            )
        )
    status = verdict(report.processing_passed)
    if not report.processing_measured:
        status = Styled(NOT_MEASURED, Tone.MUTED)
    return Section("Online processing of work records (rule 2)", text, (), tuple(tables), status)


def _label(t: TierCoverage) -> Cell:
    return t.label if t.tier is not None else Styled("all tiers", Tone.MUTED)


def _processing_row(t: TierCoverage) -> tuple[Cell, ...]:
    w, c = t.work, t.processing
    measured = c.value is not None
    return (
        _label(t),
        fmt_count(w.records),
        fmt_count(w.online),
        fmt_count(w.paper),
        fmt_count(w.mode_unknown),
        fmt_share(c.value) if measured else NOT_MEASURED,
        _at_least(c),
        verdict(c.passed) if measured else Styled(NOT_MEASURED, Tone.MUTED),
    )


def _funnel_row(t: TierCoverage) -> tuple[Cell, ...]:
    w = t.work
    late: Cell = fmt_count(w.overdue_completed)
    if w.overdue_completed:
        late = Styled(fmt_count(w.overdue_completed), Tone.WARN)
    late_open: Cell = fmt_count(w.overdue_open)
    if w.overdue_open:
        late_open = Styled(fmt_count(w.overdue_open), Tone.WARN)
    return (
        _label(t),
        fmt_count(w.records),
        fmt_count(w.assigned),
        fmt_count(w.in_progress),
        fmt_count(w.completed),
        fmt_count(w.records - w.completed),
        late,
        late_open,
        fmt_count(w.redelivered),
    )


def _at_least(c: Check) -> str:
    return "—" if c.target is None else f"≥ {fmt_share(c.target)}"


def policy_headline(report: CoverageReport) -> tuple[str, str]:
    """One line per rule for a command's closing summary: verdict, figure, main causes."""
    ex = report.exchange_total
    if ex is None or ex.check.value is None:
        exchange = "exchange (rule 1): n/a, no eligible document"
    else:
        word = "PASS" if report.exchange_passed else "FAIL"
        failing = [
            f"{side} {low.label} {fmt_share(low.check.value)}"
            for side, rows in (
                ("sender", report.exchange_by_sender),
                ("recipient", report.exchange_by_recipient),
            )
            for low in [min(rows, key=_share_key, default=None)]
            if low is not None and low.check.passed is False
        ]
        causes = ", ".join(f"{k} {fmt_count(n)}" for k, n in ex.not_exchanged.items())
        exchange = (
            f"exchange (rule 1, target {fmt_share(report.targets.exchange)} every tier): {word} "
            f"{fmt_share(ex.check.value)} of {fmt_count(ex.eligible)} eligible"
            + (f"; not exchanged: {causes}" if causes else "")
            + (f"; lowest: {', '.join(failing)}" if failing else "")
        )
    name = report.targets.name
    if not report.processing_measured:
        processing = (
            f"online processing of work records (rule 2, {name} targets): {NOT_MEASURED} "
            "(no work-record status states online or paper)"
        )
    else:
        word = {True: "PASS", False: "FAIL", None: "n/a"}[report.processing_passed]
        shares = ", ".join(
            f"{t.label} {fmt_share(t.processing.value)}"
            + (f" (≥ {fmt_share(t.processing.target)})" if t.processing.target is not None else "")
            for t in report.tiers
            if t.processing.value is not None
        )
        processing = f"online processing of work records (rule 2, {name} targets): {word} {shares}"
    return exchange, processing


def _share_key(r: ExchangeRow) -> float:
    return 2.0 if r.check.value is None else r.check.value
