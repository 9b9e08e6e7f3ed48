"""Entry point: `interchange <command>`. Each command module registers itself here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from interchange import __version__
from interchange.cli import agency as agency_cli
from interchange.cli import audit as audit_cli
from interchange.cli import bench as bench_cli
from interchange.cli import conformance as conformance_cli
from interchange.cli import directory as directory_cli
from interchange.cli import edxml as edxml_cli
from interchange.cli import keys as keys_cli
from interchange.cli import ops, route
from interchange.cli import produce as produce_cli
from interchange.cli import recipients as recipients_cli
from interchange.cli import simulate as simulate_cli
from interchange.cli.common import EXAMPLE_HEADER, Command
from interchange.errors import InterchangeError

Registrar = Callable[[argparse.ArgumentParser], None]

# (command, registrar), in the order shown; grouped by user in --help.
COMMANDS: list[tuple[Command, Registrar]] = [
    (simulate_cli.SIMULATE, simulate_cli.register_simulate),
    (ops.BROKER, ops.register_broker),
    (ops.TOPICS, ops.register_topics),
    (keys_cli.KEYS, keys_cli.register_keys),
    (agency_cli.SEND, agency_cli.register_send),
    (agency_cli.INBOX, agency_cli.register_inbox),
    (conformance_cli.CONFORMANCE, conformance_cli.register_conformance),
    (edxml_cli.EDXML, edxml_cli.register_edxml),
    (route.ROUTE, route.register_route),
    (directory_cli.DIRECTORY, directory_cli.register_directory),
    (produce_cli.PRODUCE, produce_cli.register_produce),
    (bench_cli.BENCH, bench_cli.register_bench),
    (recipients_cli.RECIPIENTS, recipients_cli.register_recipients),
    (audit_cli.AUDIT, audit_cli.register_audit),
    (audit_cli.ARCHIVE, audit_cli.register_archive),
]

GROUP_TITLES = {
    "main": "The main job",
    "operators": "Running the axis",
    "integrators": "For integrators (agency connectors)",
    "load": "For load testers",
    "auditors": "For auditors",
}


def build_parser() -> argparse.ArgumentParser:
    lines = []
    for group, title in GROUP_TITLES.items():
        members = [c for c, _ in COMMANDS if c.group == group]
        if members:
            lines.append(f"{title}:")
            lines += [f"  {c.name:<12} {c.help}" for c in members]
    parser = argparse.ArgumentParser(
        prog="interchange",
        description="Simulator of a national e-document interchange axis on Kafka.",
        epilog="\n".join(lines) + "\n\nRun 'interchange COMMAND --help' for a command's options "
        "and an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"interchange {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command, register in COMMANDS:
        # No help= here: the grouped list in the epilog is the one index of commands.
        child = sub.add_parser(
            command.name,
            description=command.help[0].upper() + command.help[1:] + ".",
            epilog=f"{EXAMPLE_HEADER}\n  {command.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        register(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except InterchangeError as exc:
        print(f"interchange {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`interchange ... | head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
