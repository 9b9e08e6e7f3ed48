"""Copy a run's topics to another prefix with seeded defects, to check the audit's findings.

A change to `interchange audit` that must not change what it finds is checked twice:
on the run itself (no finding) and on a copy of it that breaks every invariant the
cross-record checks and the re-verification guard. This tool reads every topic of
`--from-prefix` (the audit's own replay) and writes each record, in partition and
offset order, to the same topic and partition of `--to-prefix` (same key, headers and
timestamp; a rejection names the copy's submissions topic), except the records it
picks, with `--seed`, to damage:

* deliveries dropped, duplicated, truncated (half the value), altered (one byte of
  the value flipped) and re-keyed (the key of another delivery on the same topic);
* submissions altered (one byte flipped);
* statuses dropped.

    interchange broker --port 39815 &
    interchange simulate --bootstrap 127.0.0.1:39815 --topic-prefix a15k. --keys-dir keys \
        --rate 400 --count 20000 --out run7
    python benchmarks/audit_seeded_copy.py --bootstrap 127.0.0.1:39815 \
        --from-prefix a15k. --to-prefix a15ke.
    interchange audit --bootstrap 127.0.0.1:39815 --topic-prefix a15ke. --keys-dir keys \
        --directory run7/directory.json --compare run7/report.json --out seeded

Then compare the `audit.json` of the version before and after the change field by
field, timings aside (docs/BENCHMARKS.md, "Audit, seventh session").
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

from interchange.audit.findings import RawRecord
from interchange.audit.replay import ReplayConfig, replay
from interchange.errors import DecodeError
from interchange.kafka.clients import make_producer
from interchange.kafka.topics import TopicLayout, create_topics, layout_of
from interchange.settings import Settings
from interchange.wire import codec

DELIVERY_DEFECTS = ("dropped", "duplicated", "truncated", "altered", "rekeyed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--from-prefix", required=True)
    ap.add_argument("--to-prefix", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-kind", type=int, default=40, help="deliveries damaged per defect")
    ap.add_argument("--submissions", type=int, default=30, help="submissions altered")
    ap.add_argument("--statuses", type=int, default=30, help="statuses dropped")
    args = ap.parse_args()
    if args.from_prefix == args.to_prefix:
        ap.error("--to-prefix must differ from --from-prefix")
    source = Settings(bootstrap=args.bootstrap, topic_prefix=args.from_prefix)
    target = source.replace(topic_prefix=args.to_prefix)
    records, stats = replay(source, ReplayConfig(topics=layout_of(source).all))
    if stats.missing_topics:
        raise SystemExit(f"topics missing: {', '.join(stats.missing_topics)}")
    create_topics(target)
    plan = _plan(records, layout_of(source), args)
    rename = dict(zip(layout_of(source).all, layout_of(target).all, strict=True))
    producer = make_producer(target)
    written: Counter[str] = Counter()
    subs = (layout_of(source).submissions, layout_of(target).submissions)
    for rec, what in _damaged(records, plan, random.Random(args.seed)):
        written[what] += 1
        if rec is None:
            continue
        value = rec.value
        if rec.topic == layout_of(source).rejections:
            value = _renamed(value, *subs)
        producer.send(
            rename[rec.topic],
            key=rec.key,
            value=value,
            partition=rec.partition,
            timestamp_ms=rec.timestamp_ms,
            headers=list(rec.headers),
        )
    producer.flush(timeout=120)
    producer.close(timeout=10)
    defects = {k: v for k, v in sorted(written.items()) if k != "copied"}
    print(f"{written['copied']:,} records copied to {args.to_prefix}*, defects: {defects}")


def _plan(
    records: list[RawRecord], layout: TopicLayout, args: argparse.Namespace
) -> dict[int, str]:
    """Index of a damaged record -> its defect, chosen with the seed."""
    rng = random.Random(args.seed)
    deliveries = set(layout.deliveries)
    of_topic = {
        "delivery": [i for i, r in enumerate(records) if r.topic in deliveries],
        "submission": [i for i, r in enumerate(records) if r.topic == layout.submissions],
        "status": [i for i, r in enumerate(records) if r.topic == layout.status],
    }
    picked = rng.sample(of_topic["delivery"], args.per_kind * len(DELIVERY_DEFECTS))
    plan = {i: DELIVERY_DEFECTS[n // args.per_kind] for n, i in enumerate(picked)}
    plan |= dict.fromkeys(
        rng.sample(of_topic["submission"], args.submissions), "altered submission"
    )
    plan |= dict.fromkeys(rng.sample(of_topic["status"], args.statuses), "dropped status")
    return plan


def _damaged(
    records: list[RawRecord], plan: dict[int, str], rng: random.Random
) -> Iterator[tuple[RawRecord | None, str]]:
    """Every record in partition and offset order, damaged where `plan` says; None: dropped."""
    keys: dict[str, list[bytes]] = {}
    for r in records:
        if r.key:
            keys.setdefault(r.topic, []).append(r.key)
    order = sorted(
        range(len(records)),
        key=lambda i: (records[i].topic, records[i].partition, records[i].offset),
    )
    for i in order:
        rec, what = records[i], plan.get(i)
        value = rec.value or b""
        if what is None:
            yield rec, "copied"
        elif what in ("dropped", "dropped status"):
            yield None, what
        elif what == "duplicated":
            yield rec, "copied"
            yield rec, what
        elif what == "truncated":
            yield replace(rec, value=value[: len(value) // 2]), what
        elif what in ("altered", "altered submission"):
            at = len(value) // 2
            yield replace(rec, value=value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]), what
        else:  # rekeyed: another recipient of the same tier
            others = [k for k in keys[rec.topic] if k != rec.key]
            yield replace(rec, key=rng.choice(others)), what


def _renamed(value: bytes | None, old: str, new: str) -> bytes | None:
    """A rejection naming a submission of the source topic names the copy's instead (the
    coordinates it is matched by); any other value as it was."""
    try:
        rej = codec.decode_rejection(value or b"")
    except DecodeError:
        return value
    return codec.encode_rejection(replace(rej, topic=new)) if rej.topic == old else value


if __name__ == "__main__":
    main()
