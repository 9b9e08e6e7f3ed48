"""Report tables stay readable when the output is not a terminal (a pipe, a CI log):
no header or cell cut to "…", every column present."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from test_bench_report import RESULT

from interchange.metrics.coverage import compute_coverage
from interchange.metrics.run import RunMetrics
from interchange.report.bench_view import TITLE, bench_sections
from interchange.report.coverage_view import coverage_sections
from interchange.report.sections import Section, Table
from interchange.report.terminal import PIPE_WIDTH, render_terminal, report_console
from interchange.wire.model import Priority, ReasonCode, Tier


def _coverage_sections() -> tuple[Section, ...]:
    m = RunMetrics()
    m.record_addressed(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, 1_000_000)
    m.record_rejected(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, ReasonCode.REVOKED, 12_345)
    for _ in range(3):
        m.record_delivery(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, 1_234_567)
    return coverage_sections(compute_coverage(m))


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in "┃│┏┡└┗"]


def _headers(sections: tuple[Section, ...] | list[Section]) -> set[str]:
    return {col for s in sections for t in s.tables for col in t.columns}


def _render(sections: tuple[Section, ...] | list[Section], console: Console) -> str:
    render_terminal(TITLE, sections, console)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


@pytest.mark.parametrize("report", ["bench", "coverage"])
def test_piped_report_cuts_no_header(report: str) -> None:
    sections = bench_sections(RESULT) if report == "bench" else _coverage_sections()
    console = report_console(io.StringIO())  # a StringIO is not a terminal, like a pipe
    assert not console.is_terminal
    assert console.width >= PIPE_WIDTH
    text = _render(sections, console)
    lines = _table_lines(text)
    assert lines
    assert not [line for line in lines if "…" in line]
    for header in _headers(sections):
        assert header in text, header


@pytest.mark.parametrize("report", ["bench", "coverage"])
def test_a_table_wider_than_the_console_is_folded_not_cut(report: str) -> None:
    sections = bench_sections(RESULT) if report == "bench" else _coverage_sections()
    console = Console(file=io.StringIO(), width=72)
    text = _render(sections, console)
    assert not [line for line in _table_lines(text) if "…" in line]
    for header in _headers(sections):
        assert header in text, header
    assert all(len(line) <= 72 for line in text.splitlines())


def test_folded_parts_repeat_the_first_column_and_keep_every_row() -> None:
    wide = Table(
        "Wide",
        ("step", *(f"column number {i}" for i in range(8))),
        (("a", *(f"{i:,}" for i in range(8))), ("b", *("x" * 12 for _ in range(8)))),
        note="how to read it",
    )
    console = Console(file=io.StringIO(), width=80)
    text = _render([Section("S", tables=(wide,))], console)
    assert text.count("Wide (continued)") >= 1
    assert text.count("how to read it") == 1  # the note once, under the last part
    parts = text.count("Wide")
    assert text.count("│ a ") == parts  # each part starts with the first column's rows
    assert text.count("│ b ") == parts
    assert "…" not in text
