"""Report sections as rich tables on a terminal (charts are left to the HTML page)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from interchange.core.coverage import CoverageReport
from interchange.report.coverage_view import coverage_sections
from interchange.report.sections import Cell, Section, Styled, Table, Tone

_STYLE = {
    Tone.PLAIN: "",
    Tone.PASS: "bold green",
    Tone.FAIL: "bold red",
    Tone.WARN: "yellow",
    Tone.MUTED: "dim",
}


def render_terminal(
    title: str, sections: Iterable[Section], console: Console | None = None
) -> None:
    """Print `sections` under `title`: section title and verdict, text, then each table."""
    console = console if console is not None else Console()
    console.rule(Text(title, style="bold"))
    for section in sections:
        heading = Text(section.title, style="bold underline")
        if section.status is not None:
            heading.append("  ")
            heading.append(_text(section.status))
        console.print(heading)
        if section.text:
            console.print(Text(section.text, style="dim"))
        for table in section.tables:
            console.print(_table(table))
        console.print()


def print_coverage(report: CoverageReport, console: Console | None = None, title: str = "") -> None:
    """The coverage report (tables only) on the terminal."""
    render_terminal(
        title or f"Coverage report ({report.targets.name} targets)",
        coverage_sections(report),
        console,
    )


def _text(cell: Cell) -> Text:
    if isinstance(cell, Styled):
        return Text(cell.text, style=_STYLE[cell.tone])
    return Text(cell)


def _table(table: Table) -> RichTable:
    out = RichTable(
        title=table.title, title_justify="left", caption=table.note or None, caption_justify="left"
    )
    for i, col in enumerate(table.columns):
        out.add_column(
            col,
            justify="left" if table.alignment(i) == "left" else "right",
            no_wrap=i > 0 and len(table.columns) > 4,
        )
    for row in table.rows:
        out.add_row(*(_text(c) for c in row))
    return out
