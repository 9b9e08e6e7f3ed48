"""The replay-guard changelog record format (router_txn), without Kafka."""

from __future__ import annotations

from interchange.routing.transaction import Batch, decode_changelog, encode_changelog


def test_entries_round_trip_in_order() -> None:
    entries = [(0, "000.00.00.G01-1"), (7, "000.00.00.G01-2"), (2**40, "ünïcode-id")]
    assert decode_changelog(b"txn", encode_changelog(entries)) == entries


def test_earlier_one_record_per_id_format_still_reads() -> None:
    assert decode_changelog(b"doc-9", (12).to_bytes(8, "big")) == [(12, "doc-9")]


def test_a_truncated_record_keeps_only_its_whole_entries() -> None:
    raw = encode_changelog([(1, "a"), (2, "bbbb")])
    assert decode_changelog(b"t", raw[:-2]) == [(1, "a")]
    assert decode_changelog(b"t", b"") == []
    assert decode_changelog(None, None) == []


def test_a_batch_writes_one_record_per_submissions_partition() -> None:
    batch = Batch(b"router-1/run:3")
    batch.remembered = {0: [(5, "x"), (6, "y")], 3: [(9, "z")]}
    outs = batch.changelog_outputs("p.router-state")
    assert [(o.topic, o.partition, o.key) for o in outs] == [
        ("p.router-state", 0, b"router-1/run:3"),
        ("p.router-state", 3, b"router-1/run:3"),
    ]
    assert decode_changelog(outs[0].key, outs[0].value) == [(5, "x"), (6, "y")]
