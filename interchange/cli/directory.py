"""`interchange directory`: show or export an agency directory (preset + scenario, or a file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interchange.cli.common import (
    Command,
    add_directory_options,
    directory_from_args,
)

DIRECTORY = Command(
    "directory",
    "load",
    "show or export the four-tier agency directory of a preset and scenario",
    "interchange directory export --preset national --scenario scenario.json --out dir.json",
)


def register_directory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["show", "export"], help="summary table, or JSON file")
    add_directory_options(parser, scenario=True)
    parser.add_argument("--out", type=Path, metavar="FILE", help="export target (default stdout)")
    parser.set_defaults(func=run_directory)


def run_directory(args: argparse.Namespace) -> int:
    import json

    directory = directory_from_args(args)
    if args.action == "export":
        if args.out is None:
            json.dump(directory.to_dict(), sys.stdout, ensure_ascii=False, indent=1)
            print()
        else:
            directory.save(args.out)
            print(f"{len(directory):,} agencies written to {args.out}", file=sys.stderr)
        return 0
    _show(directory)
    return 0


def _show(directory: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from interchange.core.directory import Directory

    assert isinstance(directory, Directory)
    table = Table(title=f"directory '{directory.preset}': {len(directory):,} agencies")
    for column in ("tier", "agencies", "connected", "share", "example id", "example name"):
        table.add_column(
            column, justify="right" if column in ("agencies", "connected", "share") else "left"
        )
    for tier, (total, connected) in directory.counts().items():
        if not total:
            continue
        first = directory.of_tier(tier)[0]
        share = f"{connected / total:.0%}"
        table.add_row(tier.value, f"{total:,}", f"{connected:,}", share, first.id, first.name)
    Console().print(table)
    if directory.downtime:
        print(f"{len(directory.downtime)} downtime window(s), first: {directory.downtime[0]}")
