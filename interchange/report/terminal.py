"""Report sections as rich tables on a terminal (charts are left to the HTML page)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table as RichTable
from rich.text import Text

from interchange.metrics.coverage import CoverageReport
from interchange.report.coverage_view import coverage_sections
from interchange.report.sections import Cell, Section, Styled, Table, Tone

# Not a terminal (a pipe, a CI log): rich would lay every table out in 80 columns and cut
# headers to "p…". A log has no width, so use one wide enough for the widest report table.
PIPE_WIDTH = 160

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
            for part in _fold(table, console):
                console.print(part)
        console.print()


def report_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console for reports: a terminal's own width; otherwise PIPE_WIDTH columns, or
    $COLUMNS when wider (rich reads it)."""
    console = Console(file=file, stderr=stderr)
    if console.is_terminal:
        return console
    return Console(file=file, stderr=stderr, width=max(console.width, PIPE_WIDTH))


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


def _fold(table: Table, console: Console) -> list[RichTable]:
    """The table, or, when it is wider than the console, several narrower ones that each
    repeat the first column, so no header or cell is cut short."""
    whole = _table(table)
    if len(table.columns) <= 2 or _width(whole, console) <= console.width:
        return [whole]
    parts: list[list[int]] = []
    current: list[int] = []
    for index in range(1, len(table.columns)):
        trial = _table(_columns(table, [0, *current, index], 0, last=1))  # no note: it wraps
        if current and _width(trial, console) > console.width:
            parts.append(current)
            current = []
        current.append(index)
    parts.append(current)
    last = len(parts) - 1
    return [_table(_columns(table, [0, *cols], n, last)) for n, cols in enumerate(parts)]


def _columns(table: Table, keep: list[int], part: int, last: int = 0) -> Table:
    align = "".join("l" if table.alignment(i) == "left" else "r" for i in keep)
    return Table(
        table.title if part == 0 else f"{table.title} (continued)",
        tuple(table.columns[i] for i in keep),
        tuple(tuple(row[i] for i in keep) for row in table.rows),
        note=table.note if part == last else "",  # once, under the last part
        align=align,
    )


def _width(table: RichTable, console: Console) -> int:
    """The width the table needs with nothing wrapped or cut."""
    return Measurement.get(console, console.options.update(width=10_000), table).maximum


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
