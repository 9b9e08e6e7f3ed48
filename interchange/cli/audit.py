"""`interchange audit` and `interchange archive`: for auditors who come after the run."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from interchange.cli.common import (
    Command,
    add_directory_options,
    add_kafka_options,
    add_keys_option,
    directory_from_args,
    settings_from_args,
)
from interchange.errors import ConfigError

AUDIT = Command(
    "audit",
    "auditors",
    "replay retained topics or an archive, re-verify every signature, prove the invariants",
    "interchange audit --bootstrap 127.0.0.1:9092 --preset tiny --keys-dir runs/x/keys "
    "--compare runs/x/report.json --out runs/x/audit",
)
ARCHIVE = Command(
    "archive",
    "auditors",
    "write every topic to Avro files with a signed, time-stamped, chained manifest",
    "interchange archive --bootstrap 127.0.0.1:9092 --out archives/2026-11-02",
)

NO_SOURCE = (
    "nothing to read: give --bootstrap HOST:PORT (the broker that holds the run) or "
    "--archive DIR; an embedded broker started for this command would be empty"
)


def _add_range_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what to replay (default: everything, from the beginning)")
    group.add_argument(
        "--from-offsets",
        metavar="T:P=O,...",
        help="start these partitions at these offsets (others from the beginning)",
    )
    group.add_argument("--since", metavar="ISO", help="first record time, e.g. 2026-11-02T08:00Z")
    group.add_argument("--until", metavar="ISO", help="last record time (inclusive)")
    group.add_argument(
        "--idle",
        type=float,
        default=2.0,
        metavar="S",
        help="caught up after S seconds without a record on any partition (default 2)",
    )


def register_audit(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    parser.add_argument("--archive", type=Path, metavar="DIR", help="audit this archive instead")
    parser.add_argument(
        "--manifest-sha256", metavar="HEX", help="the archive manifest hash you anchored"
    )
    add_directory_options(parser, whose="the audited run")
    _add_range_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--compare", type=Path, metavar="REPORT.json", help="live report to agree with"
    )
    out.add_argument("--out", type=Path, metavar="DIR", help="where audit.json/.html go")
    out.add_argument(
        "--targets", default="2025", help="coverage targets: 2025, 2030 or a JSON file"
    )
    out.add_argument(
        "--workers", type=int, metavar="N", help="processes for re-verification (default: cores)"
    )
    parser.set_defaults(func=run_audit_cli)


def register_archive(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="new archive dir; archives in the same parent directory form one chain",
    )
    _add_range_options(parser)
    parser.add_argument(
        "--max-records", type=int, default=100_000, metavar="N", help="records per file"
    )
    parser.add_argument("--codec", choices=("deflate", "null"), default="deflate")
    parser.set_defaults(func=run_archive)


def _replay_config(args: argparse.Namespace, topics: tuple[str, ...]) -> Any:
    from interchange.audit.replay import ReplayConfig, parse_offsets, parse_time_ms

    return ReplayConfig(
        topics=topics,
        from_offsets=parse_offsets(args.from_offsets) if args.from_offsets else {},
        since_ms=parse_time_ms(args.since) if args.since else None,
        until_ms=parse_time_ms(args.until) if args.until else None,
        idle_s=args.idle,
    )


def run_archive(args: argparse.Namespace) -> int:
    from interchange.audit.archive import Sealer, write_archive
    from interchange.audit.replay import replay
    from interchange.kafka.topics import layout_of

    settings = settings_from_args(args)
    if settings.bootstrap is None:
        raise ConfigError("give --bootstrap HOST:PORT, the broker that holds the topics to archive")
    sealer, issued = Sealer.from_keys(settings.keys_dir)  # before reading: no key, no archive
    if issued:
        print(
            f"issued the archive signer and time-stamping authority certificates in "
            f"{settings.keys_dir}/ca (archive.pem, tsa.pem)",
            file=sys.stderr,
        )
    layout = layout_of(settings)
    records, stats = replay(settings, _replay_config(args, layout.all))
    if stats.missing_topics:
        raise ConfigError(
            f"topics missing on {settings.bootstrap}: {', '.join(stats.missing_topics)} "
            f"(is --topic-prefix {settings.topic_prefix!r} right?)"
        )
    manifest = write_archive(
        records,
        args.out,
        sealer=sealer,
        topic_order=layout.all,
        source={"bootstrap": settings.bootstrap, "topic_prefix": settings.topic_prefix}
        | {"replay": stats.to_dict()},
        max_records=args.max_records,
        codec=args.codec,
        envelope_topics=(layout.submissions, *layout.deliveries),
    )
    data = json.loads((args.out / "manifest.json").read_text(encoding="utf-8"))
    print(
        f"archived {manifest.records:,} records in {len(manifest.files)} file(s) to {args.out}\n"
        f"replay: {stats.records_per_s:,.0f} records/s, {stats.mb_per_s:.1f} MB/s\n"
        f"manifest sha256 {data['manifest_sha256']}, signed and time-stamped "
        f"(manifest.p7s, manifest.tsr); archive {manifest.chain.seq} of the chain in "
        f"{args.out.resolve().parent}"
    )
    return 0


def run_audit_cli(args: argparse.Namespace) -> int:
    from interchange.audit.findings import Check
    from interchange.audit.stage import AuditConfig, default_workers, run_audit
    from interchange.kafka.topics import layout_of
    from interchange.metrics.targets import load_targets

    settings = settings_from_args(args)
    if args.archive is None and settings.bootstrap is None:
        raise ConfigError(NO_SOURCE)
    directory = directory_from_args(args)
    records, prior, source, partial, prefix = _read(args, settings)
    settings = settings.replace(topic_prefix=prefix)
    layout = layout_of(settings)
    live = _load_report(args.compare) if args.compare else None
    config = AuditConfig(
        directory=directory,
        keys_dir=settings.keys_dir,
        layout=layout,
        workers=args.workers or default_workers(),
        submission_partitions=settings.submission_partitions,
        partial=partial,
        targets=load_targets(args.targets),
    )
    outcome = run_audit(records, config, prior=prior, live_report=live)
    checked = [
        c
        for c in Check
        if (c is not Check.ARCHIVE or args.archive)
        and (c is not Check.AGREEMENT or live is not None)
    ]
    _write(args, settings, outcome, source, checked)
    return 0 if outcome.passed else 1


def _read(args: argparse.Namespace, settings: Any) -> tuple[Any, ...]:
    """Records, prior findings, source figures, partial?, and the topic prefix audited."""
    from interchange.kafka.topics import layout_of
    from interchange.pki.truststore import TrustStore

    trust = TrustStore.open(settings.keys_dir)  # the trust anchor first: nothing without it
    if args.archive is not None:
        from interchange.audit.archive import archive_prefix, read_archive

        started = time.perf_counter()
        got = read_archive(args.archive, trust=trust, expected_sha256=args.manifest_sha256)
        seconds = time.perf_counter() - started
        prefix = archive_prefix(got.manifest)
        if args.topic_prefix is not None and prefix is not None and args.topic_prefix != prefix:
            raise ConfigError(
                f"--topic-prefix {args.topic_prefix!r} disagrees with the archive, which holds "
                f"the topics of prefix {prefix!r}; leave it out to audit those"
            )
        size = sum(r.size for r in got.records)
        source = {
            "source": f"archive {args.archive}",
            "manifest_sha256": got.manifest_sha256,
            "sealed_at": _iso(got.seal.gen_time_us),
            "signed_by": got.seal.signer or "(no valid signature)",
            "chain_position": f"{got.manifest.chain.seq} ({got.chain_length} in the chain)",
            "files": len(got.manifest.files),
            "records": len(got.records),
            "seconds": round(seconds, 3),
            "records_per_s": round(len(got.records) / seconds, 1) if seconds else 0.0,
            "mb_per_s": round(size / 1e6 / seconds, 3) if seconds else 0.0,
            "per_topic": _per_topic(got.records),
        }
        return got.records, got.findings, source, False, prefix or settings.topic_prefix
    from interchange.audit.replay import replay

    config = _replay_config(args, layout_of(settings).all)
    records, stats = replay(settings, config)
    if stats.missing_topics:
        raise ConfigError(
            f"{len(stats.missing_topics)} of {len(config.topics)} topics do not exist on "
            f"{settings.bootstrap}: {', '.join(stats.missing_topics)} (is --topic-prefix "
            f"{settings.topic_prefix!r} the run's?)"
        )
    source = {"source": f"kafka {settings.bootstrap}", "idle_s": config.idle_s} | stats.to_dict()
    return records, [], source, config.partial, settings.topic_prefix


def _iso(time_us: int | None) -> str:
    if time_us is None:
        return "(no valid time-stamp)"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time_us / 1e6))


def _per_topic(records: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r.topic] = out.get(r.topic, 0) + 1
    return out


def _load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--compare {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"--compare {path}: not a JSON object")
    return data


def _write(
    args: argparse.Namespace, settings: Any, outcome: Any, source: Any, checked: Any
) -> None:
    from interchange.report.audit_view import audit_payload, audit_sections, write_audit_files
    from interchange.report.policy_view import policy_headline
    from interchange.report.terminal import render_terminal

    sections = audit_sections(
        outcome.findings,
        outcome.notes,
        outcome.coverage,
        source=source,
        reverify=outcome.reverify,
        comparison=outcome.comparison,
        checked=checked,
        judged=outcome.judged,
    )
    empty = not any(outcome.judged.values())
    title = "Interchange audit: " + (
        "PASS" if outcome.passed else "FAIL" + (" (nothing to judge)" if empty else "")
    )
    meta = {"source": source["source"], "topic prefix": settings.topic_prefix}
    render_terminal(title, sections)
    for line in policy_headline(outcome.coverage):
        print(f"recomputed {line}")
    out = args.out or settings.out_dir / time.strftime("audit-%Y%m%d-%H%M%S")
    payload = audit_payload(
        outcome.findings,
        outcome.notes,
        outcome.coverage,
        source=source,
        reverify=outcome.reverify,
        counts=outcome.counts,
        comparison=outcome.comparison,
        stats=outcome.metrics.to_dict(),
        judged=outcome.judged,
    )
    paths = write_audit_files(out, title, sections, payload, meta)
    if empty:
        print(f"interchange audit: {nothing_judged_line(outcome)}", file=sys.stderr)
    print(f"audit report: {paths.json} and {paths.html}", file=sys.stderr)


def nothing_judged_line(outcome: Any) -> str:
    from interchange.audit.findings import Kind

    return str(next(f.detail for f in outcome.findings if f.kind is Kind.NOTHING_JUDGED))
