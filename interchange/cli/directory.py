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
    "show or export the agency directory (bodies and their units) of a preset and scenario",
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

    from interchange.axis.directory import AgencyKind, Directory

    assert isinstance(directory, Directory)
    as_of = f", data as of {directory.as_of}" if directory.as_of else ""
    table = Table(title=f"directory '{directory.preset}': {len(directory):,} agencies{as_of}")
    numeric = ("bodies", "departments", "public-service", "connected", "share")
    for column in ("tier", *numeric):
        table.add_column(column, justify="right" if column in numeric else "left")
    kinds = directory.counts_by_kind()
    for tier, (total, connected) in directory.counts().items():
        if not total:
            continue
        by_kind = [f"{kinds[tier][k]:,}" for k in AgencyKind]
        share = f"{connected / total:.0%}"
        table.add_row(tier.value, *by_kind, f"{connected:,}", share)
    Console().print(table)
    print(_commune_kinds(directory))
    if directory.downtime:
        print(f"{len(directory.downtime)} downtime window(s), first: {directory.downtime[0]}")


def _commune_kinds(directory: object) -> str:
    """The commune-level bodies by kind, read from their names (xã, phường, ...)."""
    from collections import Counter

    from interchange.axis.directory import Directory
    from interchange.wire.model import Tier

    assert isinstance(directory, Directory)
    prefix = "Ủy ban nhân dân "
    kinds: Counter[str] = Counter()
    for body in directory.bodies(Tier.COMMUNE):
        name = body.name.removeprefix(prefix)
        kinds[next((k for k in _KINDS if name.startswith(k + " ")), "other")] += 1
    parts = ", ".join(f"{n:,} {_KINDS.get(k, k)}" for k, n in kinds.most_common())
    return f"commune-level units: {sum(kinds.values()):,} ({parts})"


_KINDS = {
    "xã": "communes (xã)",
    "phường": "wards (phường)",
    "thị trấn": "townships (thị trấn)",
    "đặc khu": "special zones (đặc khu)",
}
