"""`interchange conformance`: check what a connector produced (a topic, or files).

Input: `--topic T` (every record, from the beginning or `--since`, until an idle
window), or `--file F` where F is one raw envelope, a directory of them
(`*.avro`, `*.bin`, or any file without an extension, recursively, as
`interchange inbox --save` writes `envelope.avro`), or a JSON-lines file
(`.jsonl`/`.ndjson`) whose lines are a hex string or an object
`{"envelope_hex": ..., "key": ..., "timestamp_ms": ..., "name": ...}`.
Exit status: 0 all messages pass, 1 any failure (or no message at all), 2 errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from interchange.audit.conformance_findings import Message, MessageReport, Status, totals
from interchange.cli.common import (
    Command,
    add_kafka_options,
    add_keys_option,
    kafka_settings,
    settings_from_args,
)
from interchange.errors import ConfigError

CONFORMANCE = Command(
    "conformance",
    "integrators",
    "check a connector's output: schema, canonical bytes, signature, certificate, fields, "
    "id, times, sizes",
    "interchange conformance --topic interchange.submissions --bootstrap 127.0.0.1:9092 "
    "--junit conformance.xml",
)
_RAW_SUFFIXES = {".avro", ".bin", ""}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}


def register_conformance(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--topic", metavar="T", help="read every record of topic T")
    src.add_argument("--file", type=Path, metavar="F", help="envelope file, directory or .jsonl")
    src.add_argument(
        "--edxml",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="edXML package files: the same checks for packages (docs/CONNECTOR.md)",
    )
    parser.add_argument("--since-ms", type=int, metavar="MS", help="topic: records from this time")
    parser.add_argument(
        "--sender", metavar="ID", help="only messages whose record key is this agency id"
    )
    parser.add_argument("--idle", type=float, default=2.0, metavar="S", help="topic idle window")
    parser.add_argument(
        "--max-age", type=float, default=86400.0, metavar="S", help="oldest plausible send time"
    )
    parser.add_argument(
        "--max-skew", type=float, default=300.0, metavar="S", help="latest plausible send time"
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("-q", "--quiet", action="store_true", help="only failures and totals")
    parser.set_defaults(func=run_conformance)


def read_files(path: Path) -> Iterator[Message]:
    """Messages from a raw file, a directory of raw files, or a JSON-lines file."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            if child.suffix in _RAW_SUFFIXES and not child.name.startswith("."):
                yield Message(str(child.relative_to(path)), child.read_bytes())
        return
    if not path.is_file():
        raise ConfigError(f"{path}: no such file or directory")
    if path.suffix in _JSONL_SUFFIXES:
        yield from _read_jsonl(path)
        return
    yield Message(path.name, path.read_bytes())


def _read_jsonl(path: Path) -> Iterator[Message]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item: Any = json.loads(line)
            if isinstance(item, str):
                item = {"envelope_hex": item}
            key = item.get("key")
            yield Message(
                str(item.get("name") or f"{path.name}:{n}"),
                bytes.fromhex(item["envelope_hex"]),
                key.encode() if isinstance(key, str) else None,
                int(item["timestamp_ms"]) * 1000 if "timestamp_ms" in item else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}:{n}: not a hex string or envelope object ({exc})") from exc


def read_topic(settings: Any, topic: str, since_ms: int | None, idle_s: float) -> Iterator[Message]:
    """Every committed record of `topic` (from `since_ms`) until `idle_s` without data."""
    from interchange.audit.replay import ReplayConfig, replay

    records, stats = replay(settings, ReplayConfig((topic,), since_ms=since_ms, idle_s=idle_s))
    if stats.missing_topics:
        raise ConfigError(f"topic {topic} does not exist on {settings.bootstrap}")
    for r in records:
        name = f"{topic}[{r.partition}]@{r.offset}"
        yield Message(name, r.value or b"", r.key or b"", r.timestamp_ms * 1000)


def format_report(report: MessageReport, quiet: bool) -> list[str]:
    verdict = "PASS" if report.ok else "FAIL"
    lines = [] if quiet and report.ok else [f"{verdict}  {report.name}  {report.document_id}"]
    for f in report.findings:
        if f.status is Status.FAIL:
            lines.append(f"      fail {f.check.value:<16} {f.reason}: {f.detail}")
        elif f.status is Status.SKIP and not quiet:
            lines.append(f"      skip {f.check.value:<16} {f.detail}")
    return lines


def _edxml_reports(paths: list[Path], trust: Any, quiet: bool) -> list[MessageReport]:
    from interchange.audit.conformance_edxml import check_package

    reports = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
        report = check_package(str(path), data, trust, time.time_ns() // 1000)
        reports.append(report)
        for line in format_report(report, quiet):
            print(line, flush=True)
    return reports


def _edxml_message(message: Message, trust: Any, now_us: int) -> MessageReport | None:
    """The edXML findings of an envelope of content format EDXML (from a topic or a file),
    None for every other message (the Avro checks)."""
    from interchange.audit.conformance_edxml import check_package
    from interchange.errors import DecodeError
    from interchange.wire import codec
    from interchange.wire.model import ContentFormat

    try:
        envelope = codec.decode_envelope(message.value)
    except DecodeError:
        return None
    if envelope.content_format is not ContentFormat.EDXML:
        return None
    return check_package(
        message.name, envelope.content, trust, now_us, key=message.key, cert_id=envelope.cert_id
    )


def run_conformance(args: argparse.Namespace) -> int:
    from interchange.audit.conformance import Checker
    from interchange.pki.truststore import TrustStore
    from interchange.report.junit import write_junit

    settings = settings_from_args(args)
    trust = TrustStore.open(settings.keys_dir)
    checker = Checker(
        trust,
        max_future_skew_us=int(args.max_skew * 1e6),
        max_age_us=int(args.max_age * 1e6),
    )
    reports: list[MessageReport] = []
    sender = args.sender.encode() if args.sender else None

    def consume(messages: Iterator[Message]) -> None:
        for message in messages:
            if sender is not None and message.key is not None and message.key != sender:
                continue
            now = time.time_ns() // 1000
            report = _edxml_message(message, trust, now) or checker.check(message, now)
            reports.append(report)
            for line in format_report(report, args.quiet):
                print(line, flush=True)

    if args.edxml:
        reports += _edxml_reports(args.edxml, trust, args.quiet)
    elif args.file is not None:
        consume(read_files(args.file))
    else:
        with kafka_settings(settings) as live:
            consume(read_topic(live, args.topic, args.since_ms, args.idle))
    total = totals(reports)
    failing = ", ".join(f"{c.value} {n}" for c, n in total.by_check.items() if n)
    print(
        f"{total.messages} message(s): {total.passed} passed, {total.failed} failed"
        + (f" ({failing})" if failing else ""),
        flush=True,
    )
    if args.junit is not None:
        write_junit(args.junit, reports)
        print(f"JUnit report: {args.junit}", file=sys.stderr)
    if not reports:
        print("no messages to check", file=sys.stderr)
        return 1
    return 0 if total.failed == 0 else 1
