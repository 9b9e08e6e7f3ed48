from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from interchange.metrics.coverage import CoverageReport, compute_coverage
from interchange.metrics.run import RunMetrics
from interchange.report.charts import render_svg
from interchange.report.html import coverage_html, render_html, write_html
from interchange.report.json_report import (
    REPORT_SCHEMA_VERSION,
    build_report,
    coverage_json,
    dumps,
    write_json,
)
from interchange.report.sections import (
    BarChart,
    BarSeries,
    Chart,
    LineSeries,
    PercentileChart,
    Section,
    Styled,
    Table,
    TimeChart,
    Tone,
    fmt_us,
)
from interchange.report.terminal import print_coverage, render_terminal
from interchange.wire.model import Priority, ReasonCode, Tier

S = 1_000_000


@pytest.fixture(scope="module")
def report() -> CoverageReport:
    m = RunMetrics()
    m.record_addressed(Tier.CENTRAL, Tier.PROVINCE, Priority.NORMAL, 10)
    m.record_excluded(Tier.CENTRAL, Tier.PROVINCE, Priority.NORMAL, 2)
    m.record_rejected(Tier.CENTRAL, Tier.PROVINCE, Priority.NORMAL, ReasonCode.REVOKED)
    for lat in (1, 2, 3, 4, 5, 6, 7):
        m.record_delivery(Tier.CENTRAL, Tier.PROVINCE, Priority.NORMAL, lat * S // 10)
    m.record_addressed(Tier.PROVINCE, Tier.COMMUNE, Priority.EXPRESS, 4)
    m.record_rejected(Tier.PROVINCE, Tier.COMMUNE, Priority.EXPRESS, ReasonCode.NOT_CONNECTED)
    m.record_delivery(Tier.PROVINCE, Tier.COMMUNE, Priority.EXPRESS, 9 * S)
    return compute_coverage(m)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]
        if tag not in ("meta", "br", "img", "link", "input", "hr"):
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> without an open tag"
        assert self.open[-1] == tag, f"</{tag}> closes <{self.open[-1]}>"
        self.open.pop()


def test_html_is_well_formed_self_contained_and_has_charts(report: CoverageReport) -> None:
    page = coverage_html(report, meta={"seed": 7})
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    assert parser.tags.count("svg") == 4  # exchange, delivery, latency, outcomes
    assert "script" not in parser.tags
    assert "link" not in parser.tags
    assert all(r.startswith("#") for r in parser.refs), parser.refs
    assert not re.search(r"https?://", page)
    assert "<style>" in page
    for text in ("central", "province", "commune", "PASS", "FAIL", "REVOKED", "NOT_CONNECTED"):
        assert text in page


def test_html_escapes_text_and_renders_generic_sections(tmp_path: Path) -> None:
    sections = [
        Section(
            "Load <test>",
            "a & b",
            charts=(BarChart("rate", ("w1", "w2"), (BarSeries("docs/s", (10.0, None)),)),),
            tables=(Table("t", ("name", "value"), (("x", Styled("FAIL", Tone.FAIL)),)),),
            status=Styled("PASS", Tone.PASS),
        )
    ]
    page = render_html("Bench", sections, meta=[("rate", 100)])
    assert "Load &lt;test&gt;" in page
    assert "a &amp; b" in page
    assert 'class="r t-fail"' in page
    path = write_html(tmp_path / "r" / "bench.html", page)
    assert path.read_text(encoding="utf-8") == page


def test_svg_charts_have_no_external_references_and_handle_empty_data() -> None:
    charts: list[Chart] = [
        PercentileChart("empty", (LineSeries("a", ()),)),
        PercentileChart("one", (LineSeries("a", ((50.0, 1.0), (99.0, 5.0), (100.0, 9.0))),)),
        BarChart("none", (), ()),
        BarChart("pct", ("a",), (BarSeries("s", (0.5,)),), targets=(0.6,), percent=True),
        BarChart("h", ("a", "b"), (BarSeries("s", (3.0, 4.0)),), horizontal=True),
        TimeChart("rss", (LineSeries("p", ((0.0, 60.0), (10.0, 64.0))),), "MiB"),
        TimeChart("none", (LineSeries("p", ()),)),
    ]
    for chart in charts:
        svg = render_svg(chart)
        assert svg.startswith("<svg ")
        assert svg.endswith("</svg>")
        assert "http" not in svg


def test_json_report_has_stable_documented_keys(report: CoverageReport, tmp_path: Path) -> None:
    doc = coverage_json(report, {"seed": 7})
    text = dumps(doc)
    back = json.loads(text)
    assert dumps(back) == text  # stable: same text after a round trip
    assert back["schema_version"] == REPORT_SCHEMA_VERSION
    assert back["kind"] == "coverage"
    assert back["meta"] == {"seed": 7}
    assert set(back) == {
        "schema_version",
        "kind",
        "meta",
        "passed",
        "exchange",
        "processing",
        "targets",
        "sla_s",
        "tiers",
        "total",
        "outcomes",
        "schedule_lag",
    }
    assert list(back["tiers"]) == sorted(t.value for t in Tier)  # sort_keys
    prov = back["tiers"]["province"]
    assert set(prov) == {
        "addressed",
        "excluded_classified",
        "eligible",
        "replays",
        "rejected",
        "rejected_total",
        "not_connected",
        "delivered",
        "exchanged",
        "within_sla",
        "unaccounted",
        "duplicates",
        "signature_reverified",
        "signature_invalid",
        "checks",
        "passed",
        "work",
        "latency",
        "before_router",
        "after_router",
        "ack",
        "by_priority",
    }
    assert prov["checks"]["exchange"] == {
        "value": 7 / 8,
        "target": 1.0,
        "verdict": "FAIL",
        "numerator": 7,
        "denominator": 8,
    }
    assert back["exchange"]["by_recipient"]["province"]["not_exchanged"] == {"REVOKED": 1}
    assert back["exchange"]["by_sender"]["central"]["check"]["verdict"] == "FAIL"
    assert back["exchange"]["total"]["eligible"] == 12
    assert back["processing"]["measured"] is False
    assert back["processing"]["tiers"]["commune"]["check"]["value"] is None
    assert set(prov["latency"]) == {"count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}
    assert back["tiers"]["district"]["checks"]["exchange"]["verdict"] == "n/a"
    assert back["outcomes"] == {"DELIVERED": 8, "REVOKED": 1, "CLASSIFIED": 2, "NOT_CONNECTED": 1}
    assert json.loads(write_json(tmp_path / "r.json", doc).read_text()) == back


def test_build_report_refuses_reserved_keys() -> None:
    with pytest.raises(ValueError, match="reserved"):
        build_report("x", {"kind": 1})


def test_terminal_shows_tiers_verdicts_and_reasons(report: CoverageReport) -> None:
    console = Console(record=True, width=160, color_system=None)
    print_coverage(report, console)
    out = console.export_text()
    for text in ("central", "province", "district", "commune", "PASS", "FAIL", "n/a", "REVOKED"):
        assert text in out
    assert "87.5%" in out  # province exchange 7/8
    assert "not measured" in out  # no work-record status in this run


def test_json_terminal_and_html_show_the_same_work_record_figures() -> None:
    from interchange.workrecords.workflow import WorkCell

    m = RunMetrics()
    m.record_addressed(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL, 8)
    for _ in range(8):
        m.record_delivery(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL, S)
    cell = WorkCell()
    cell.records, cell.assigned, cell.in_progress, cell.completed = 8, 7, 6, 5
    cell.online, cell.paper, cell.overdue_completed, cell.overdue_open = 5, 3, 2, 1
    cell.recall_requested, cell.recall_refused = 2, 1
    cell.update_agreed = 3
    m.record_work(Tier.PROVINCE, Tier.COMMUNE, cell)
    r = compute_coverage(m)
    doc = coverage_json(r)
    commune = doc["processing"]["tiers"]["commune"]
    assert commune["check"]["value"] == 5 / 8
    assert commune["check"]["verdict"] == "PASS"  # 62.5% >= 60% (2025)
    assert commune["work"]["overdue_completed"] == 2
    assert commune["work"]["update_agreed"] == 3
    console = Console(record=True, width=200, color_system=None)
    print_coverage(r, console)
    out = console.export_text()
    page = coverage_html(r)
    for text in ("62.5%", "Workflow funnel", "Recall outcomes", "16 refused", "update: 15"):
        assert text in out
        assert text in page
    assert "Online processing of work records (rule 2)  PASS" in out  # measured, judged


def test_terminal_colours_verdicts() -> None:
    console = Console(record=True, width=100, force_terminal=True, color_system="standard")
    table = Table("t", ("a", "b"), (("x", Styled("FAIL", Tone.FAIL)),))
    render_terminal("T", [Section("S", tables=(table,))], console)
    assert "\x1b[1;31mFAIL" in console.export_text(styles=True)


@pytest.mark.parametrize(
    ("us", "text"),
    [(999, "999 µs"), (1_500, "1.5 ms"), (999_000, "999.0 ms"), (12_340_000, "12.34 s")],
)
def test_fmt_us(us: int, text: str) -> None:
    assert fmt_us(us) == text


def test_write_coverage_files(report: CoverageReport, tmp_path: Path) -> None:
    from interchange.report.bundle import write_coverage_files

    paths = write_coverage_files(report, tmp_path / "run", meta={"seed": 1})
    assert json.loads(paths.json.read_text())["meta"] == {"seed": 1}
    assert "<svg" in paths.html.read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["report.html", "report.json"]


def test_page_header_hides_unset_values_and_shows_dates() -> None:
    from interchange.report.html import render_html

    page = render_html(
        "t",
        [],
        meta={"duration_s": None, "problems": [], "start_us": 1_795_379_192_776_620, "seed": 0},
    )
    assert "duration" not in page
    assert "problems" not in page
    assert "2026-11-22 20:26:32 UTC" in page
    assert "<dt>seed</dt><dd>0</dd>" in page


def test_every_reason_code_has_a_line_in_the_outcomes_table() -> None:
    from interchange.report.coverage_view import REASON_TEXT
    from interchange.wire.model import ReasonCode

    assert set(REASON_TEXT) == set(ReasonCode)


def test_terminal_and_html_break_down_not_exchanged_by_cause_per_sender_and_recipient_tier(
    report: CoverageReport,
) -> None:
    """Rule 1's causes (not connected, each reason, lost) per tier on both sides, not only
    overall: the fixture's REVOKED is a central->province document, its NOT_CONNECTED and
    unaccounted ones province->commune, so each cause sits in one column of each side."""
    from interchange.report.policy_view import exchange_section

    tables = {t.title: t for t in exchange_section(report).tables}
    by_recipient = tables["Not exchanged by cause, per recipient tier"]
    by_sender = tables["Not exchanged by cause, per sender tier"]
    tiers = [t.value for t in Tier]
    assert by_recipient.columns == ("cause", *tiers, "all tiers")
    assert by_sender.columns == by_recipient.columns
    recipient_rows = {row[0]: row[1:] for row in by_recipient.rows}
    sender_rows = {row[0]: row[1:] for row in by_sender.rows}
    assert recipient_rows == {
        "NOT_CONNECTED": ("0", "0", "0", "1", "1"),
        "REVOKED": ("0", "1", "0", "0", "1"),
        "IN_FLIGHT_OR_LOST": ("0", "0", "0", "2", "2"),  # 4 addressed, 2 with an outcome
    }
    assert sender_rows == {
        "NOT_CONNECTED": ("0", "1", "0", "0", "1"),
        "REVOKED": ("1", "0", "0", "0", "1"),
        "IN_FLIGHT_OR_LOST": ("0", "2", "0", "0", "2"),
    }
    console = Console(record=True, width=200, color_system=None)
    print_coverage(report, console)
    out = console.export_text()
    page = coverage_html(report)
    for title in tables:
        assert title in out
        assert title in page
