"""The audit decodes and verifies each distinct signed document once, on its
submission and however many recipients it was delivered to, in one process and on the
pool; and a cached verdict never stands in for a different signature, certificate,
sender or time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from router_helpers import CENTRAL, document, make_pki, sign

from interchange.audit import stage as audit_stage
from interchange.audit.deliveries import delivery_facts
from interchange.audit.facts import router_times, submission_facts
from interchange.audit.findings import Kind, RawRecord
from interchange.audit.reverify import Reverified
from interchange.audit.stage import AuditConfig, run_audit
from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.kafka.topics import layout_of
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Envelope, Hop, ReasonCode, Tier
from interchange.wire.partitioner import partition_of

SETTINGS = Settings(topic_prefix="t.")
LAYOUT = layout_of(SETTINGS)
PARTITIONS = SETTINGS.submission_partitions
SENDER_PARTITION = partition_of(CENTRAL.encode(), PARTITIONS)


class Counting:
    """A verifier that counts the checks that reach the real trust store."""

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self.calls = 0

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        self.calls += 1
        return self.trust.verify(content, signature, cert_id, sender_id, at_us)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory, directory: Directory) -> KeyStore:
    return make_pki(tmp_path_factory.mktemp("keys"), directory)


@pytest.fixture(scope="module")
def trust(keys: KeyStore) -> TrustStore:
    return TrustStore.open(keys.keys_dir)


def recipients(directory: Directory) -> list[tuple[str, Tier]]:
    """Every connected agency but the sender: one document, many recipients."""
    return [(a.id, a.tier) for a in directory.agencies if a.connected and a.id != CENTRAL]


def one_document_to_many(
    keys: KeyStore, directory: Directory, *, documents: int = 1
) -> list[RawRecord]:
    """Submissions and what a faithful router writes for them: one delivery record per
    recipient, each the submitted envelope with the router's hop appended (the same hop
    for every recipient: the receipt time)."""
    out: list[RawRecord] = []
    offsets: dict[str, int] = {}
    for n in range(documents):
        to = recipients(directory)
        doc = document(CENTRAL, [r for r, _ in to], 100 + n)
        env = sign(keys, doc)
        received = doc.send_time_us + 1_000
        value = codec.encode_envelope(env)
        sub = RawRecord(LAYOUT.submissions, SENDER_PARTITION, n, 1, CENTRAL.encode(), value)
        out.append(sub)
        routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:r", received)))
        headers = (("document-id", doc.id.encode()), ("sender", CENTRAL.encode()))
        for recipient, tier in to:
            topic = LAYOUT.delivery(tier)
            offsets[topic] = offsets.get(topic, -1) + 1
            value = codec.encode_envelope(routed)
            out.append(RawRecord(topic, 0, offsets[topic], 2, recipient.encode(), value, headers))
    return out


def split(records: list[RawRecord]) -> tuple[list[RawRecord], list[tuple[RawRecord, Tier]]]:
    tiers = {LAYOUT.delivery(t): t for t in Tier}
    subs = [r for r in records if r.topic == LAYOUT.submissions]
    return subs, [(r, tiers[r.topic]) for r in records if r.topic in tiers]


def test_one_cache_verifies_a_document_once_for_its_submission_and_every_delivery(
    keys: KeyStore, directory: Directory, trust: TrustStore
) -> None:
    subs, deliveries = split(one_document_to_many(keys, directory))
    assert len(deliveries) >= 10
    counting = Counting(trust)
    once = Reverified(counting)
    verified = delivery_facts(deliveries, counting, cache=once)
    times = router_times(verified, [])
    facts = submission_facts(
        subs, directory, counting, partitions=PARTITIONS, times=times, cache=once
    )
    assert counting.calls == 1
    assert once.verifications == 1
    assert [f.outcome for f in facts] == [None]
    assert all(v.verify is None and v.error == "" for v in verified)
    assert {v.content_sha256 for v in verified} == {facts[0].content_sha256}


def test_deliveries_whose_bytes_differ_share_one_decode_and_one_check(
    keys: KeyStore, directory: Directory, trust: TrustStore
) -> None:
    """Envelopes of one document that differ after the router hop (another hop appended)
    are different values, yet one signed content judged at one time."""
    _subs, deliveries = split(one_document_to_many(keys, directory))
    varied = []
    for i, (rec, tier) in enumerate(deliveries):
        env = codec.decode_envelope(rec.value or b"")
        env = dataclasses.replace(env, trace=(*env.trace, Hop(f"relay:{i}", 1)))
        varied.append((dataclasses.replace(rec, value=codec.encode_envelope(env)), tier))
    assert len({r.value for r, _ in varied}) == len(varied)
    counting = Counting(trust)
    once = Reverified(counting)
    facts = delivery_facts(varied, counting, cache=once)
    assert counting.calls == 1
    assert once.decodes == 1
    assert all(f.verify is None and f.error == "" for f in facts)


def config(keys: KeyStore, directory: Directory, workers: int) -> AuditConfig:
    return AuditConfig(directory, keys.keys_dir, LAYOUT, workers=workers)


def test_the_audit_in_one_process_verifies_each_document_once(
    keys: KeyStore, directory: Directory, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = one_document_to_many(keys, directory, documents=3)
    counting = Counting(trust)

    class Store:
        @staticmethod
        def open(_keys_dir: Path) -> Counting:
            return counting

    monkeypatch.setattr(audit_stage, "TrustStore", Store)
    outcome = run_audit(records, config(keys, directory, workers=1))
    assert outcome.findings == []
    assert outcome.counts["deliveries"] == 3 * len(recipients(directory))
    assert counting.calls == 3
    assert outcome.reverify["signature_checks"] == 3


def test_the_pool_verifies_each_document_once(keys: KeyStore, directory: Directory) -> None:
    records = one_document_to_many(keys, directory, documents=3)
    outcome = run_audit(records, config(keys, directory, workers=2))
    assert outcome.findings == []
    assert outcome.reverify["records"] == 3 + 3 * len(recipients(directory))
    assert outcome.reverify["signature_checks"] == 3


def test_a_forged_signature_on_the_same_content_is_still_caught(
    keys: KeyStore, directory: Directory
) -> None:
    records = one_document_to_many(keys, directory)
    victim = next(i for i, r in enumerate(records) if r.topic != LAYOUT.submissions)
    env = codec.decode_envelope(records[victim].value or b"")
    bad = bytes([env.signature[0] ^ 1]) + env.signature[1:]
    forged = Envelope(env.content, bad, env.cert_id, env.trace)
    records[victim] = dataclasses.replace(records[victim], value=codec.encode_envelope(forged))
    for workers in (1, 2):
        outcome = run_audit(records, config(keys, directory, workers=workers))
        kinds = [(f.kind, f.topic, f.offset) for f in outcome.findings]
        assert kinds == [(Kind.SIGNATURE_INVALID, records[victim].topic, records[victim].offset)]
        assert outcome.reverify["signature_checks"] == 2


def test_a_cached_verdict_is_keyed_by_every_input(keys: KeyStore, trust: TrustStore) -> None:
    doc = document(CENTRAL, ["000.00.00.H01"], 1)
    env = sign(keys, doc)
    counting = Counting(trust)
    once = Reverified(counting)
    call = (env.content, env.signature, env.cert_id, CENTRAL, doc.send_time_us)
    assert once.verify(*call) is None
    assert once.verify(*call) is None
    assert counting.calls == 1
    other_cert = keys.credential("000.00.00.H01").cert_id
    variants = [
        (env.content + b"x", *call[1:]),
        (env.content, env.signature[::-1], *call[2:]),
        (*call[:2], other_cert, *call[3:]),
        (*call[:3], "000.00.00.H01", call[4]),
        (*call[:4], doc.send_time_us + 1),
    ]
    for n, variant in enumerate(variants, start=2):
        once.verify(*variant)
        assert counting.calls == n
    assert once.verify(*call) is None
    assert counting.calls == len(variants) + 1


def test_a_delivery_outside_its_partitions_task_still_gives_its_receipt_time(
    keys: KeyStore, directory: Directory
) -> None:
    """Without its `sender` header a delivery is verified in another pool task, so the
    partition's task decided its submission without the receipt time that delivery
    records; the audit notices and decides that partition again with every time."""
    records = one_document_to_many(keys, directory, documents=2)
    first = next(r for r in records if r.topic != LAYOUT.submissions)
    bare = [dataclasses.replace(r, headers=()) if r.value == first.value else r for r in records]
    alone = run_audit(bare, config(keys, directory, workers=1))
    pooled = run_audit(bare, config(keys, directory, workers=2))
    assert alone.findings == []
    assert pooled.findings == []
    assert pooled.counts == alone.counts


def test_equal_unclaimed_delivery_values_are_verified_once_however_small_the_chunks(
    keys: KeyStore, directory: Directory
) -> None:
    """Deliveries no partition claims (no `sender` header) go to the pool in chunks; the
    copies of one value to every recipient travel in one chunk, so a document is not
    verified again for each chunk its copies would otherwise be spread over."""
    records = one_document_to_many(keys, directory, documents=3)
    bare = [
        r if r.topic == LAYOUT.submissions else dataclasses.replace(r, headers=()) for r in records
    ]
    checks = {}
    for chunk in (1, 1_000):
        pooled = run_audit(bare, dataclasses.replace(config(keys, directory, 2), chunk=chunk))
        assert pooled.findings == []
        checks[chunk] = pooled.reverify["signature_checks"]
    assert len(recipients(directory)) > 1  # several copies of each value
    assert checks[1] == checks[1_000]


def test_an_archived_leak_is_named_alike_in_one_process_and_on_the_pool(
    keys: KeyStore, directory: Directory
) -> None:
    """A classified delivery an archive kept as metadata only (no value to verify) is
    read from that metadata on the pool too, not taken for a malformed record."""
    from interchange.audit.redaction import redact
    from interchange.wire.model import Secrecy

    to = recipients(directory)[0]
    doc = document(CENTRAL, [to[0]], 900, secrecy=Secrecy.SECRET)
    env = sign(keys, doc)
    routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:r", doc.send_time_us)))
    leak = RawRecord(
        LAYOUT.delivery(to[1]), 0, 0, 2, to[0].encode(), codec.encode_envelope(routed),
        (("sender", CENTRAL.encode()),),
    )  # fmt: skip
    records = [*one_document_to_many(keys, directory), redact(leak, {leak.topic})]
    assert records[-1].excluded is not None
    alone = run_audit(records, config(keys, directory, workers=1))
    pooled = run_audit(records, config(keys, directory, workers=2))
    kinds = {f.kind for f in alone.findings}
    assert Kind.CLASSIFIED_DELIVERED in kinds
    assert Kind.MALFORMED_DELIVERY not in kinds
    assert pooled.findings == alone.findings


@pytest.mark.parametrize("workers", [1, 2])
def test_the_audit_gives_the_garbage_collector_back_as_it_found_it(
    keys: KeyStore, directory: Directory, workers: int
) -> None:
    """The audit runs with the cyclic collector off and what exists frozen (`stage`);
    afterwards the collector is on again, nothing stays frozen, and a caller that had
    it off finds it off."""
    import gc

    records = one_document_to_many(keys, directory)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    outcome = run_audit(records, config(keys, directory, workers=workers))
    assert outcome.findings == []
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen == 0
    gc.disable()
    try:
        run_audit(records, config(keys, directory, workers=workers))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_submission_no_delivery_carried_has_its_envelope_decoded_once(
    keys: KeyStore, directory: Directory, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its document is read from the envelope `parsed` decoded, not through `parse`,
    which would decode the envelope again; the result is `parse`'s."""
    from interchange.routing.decision import parse

    subs, _deliveries = split(one_document_to_many(keys, directory))
    value = subs[0].value
    expected = parse(value, 0)
    calls = 0
    real = codec.decode_envelope

    def counting(data: bytes) -> Envelope:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(codec, "decode_envelope", counting)
    once = Reverified(trust)
    got = once.parsed(value)
    assert calls == 1
    assert got == expected
    assert once.parsed(value) == expected  # learnt: the document is not read again
    assert calls == 2


def test_a_submission_whose_document_does_not_decode_gets_the_routers_rejection(
    keys: KeyStore, directory: Directory, trust: TrustStore
) -> None:
    """A document that fails to decode goes to `parse`, for the router's MALFORMED
    rejection, whether or not a delivery of the same content failed first."""
    from interchange.routing.decision import parse

    subs, _deliveries = split(one_document_to_many(keys, directory))
    env = codec.decode_envelope(subs[0].value or b"")
    broken = codec.encode_envelope(dataclasses.replace(env, content=env.content[:-3]))
    expected = parse(broken, 0)
    assert expected.malformed is not None
    assert Reverified(trust).parsed(broken) == expected
    once = Reverified(trust)
    assert once.content(env.content[:-3]).error  # a delivery of it failed first
    assert once.parsed(broken) == expected


def test_a_caller_with_other_threads_gets_a_spawned_pool_and_the_same_outcome(
    keys: KeyStore, directory: Directory
) -> None:
    """Forking a threaded process is unsafe: the pool then spawns its workers and pickles
    the tasks to them; the findings and the checks are the forked pool's."""
    import threading

    records = one_document_to_many(keys, directory, documents=3)
    forked = run_audit(records, config(keys, directory, workers=2))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert audit_stage._context().get_start_method() == "spawn"
        spawned = run_audit(records, config(keys, directory, workers=2))
    finally:
        stop.set()
        other.join(5)
    assert spawned.findings == forked.findings == []
    assert spawned.counts == forked.counts
    assert spawned.reverify["signature_checks"] == forked.reverify["signature_checks"] == 3


def test_equal_delivery_values_are_grouped_by_their_whole_bytes_not_their_tail() -> None:
    """The pool's tasks group equal delivery values without hashing each whole value: by
    its last bytes first, then by equality of the whole. Values that end alike but differ
    earlier (a flipped content byte, an altered signature) stay apart, and many values
    with one tail are still grouped right; first-sight order is kept."""
    tail = b"-" * 200
    values = [b"a" + tail, b"b" + tail, b"a" + tail, b"c" + tail, b"b" + tail, b"x", b"a" + tail]
    values += [bytes([n % 256, n // 256]) + tail for n in range(300)]  # one tail, 300 values
    grouped = audit_stage._EqualValues()
    for i, value in enumerate(values):
        grouped.add(value, i)
    expected: dict[bytes, list[int]] = {}
    for i, value in enumerate(values):
        expected.setdefault(value, []).append(i)
    assert [(v, list(idx)) for v, idx in grouped.groups] == list(expected.items())


def test_receipt_times_gathered_per_task_equal_those_of_every_record(
    keys: KeyStore, directory: Directory, trust: TrustStore
) -> None:
    """The pool adds each task's distinct delivery values as the task finishes; the times
    are those of every delivery record at once, in whatever pieces they were added."""
    from interchange.audit.facts import ReceiptTimes

    records = one_document_to_many(keys, directory, documents=3)
    _subs, deliveries = split(records)
    facts = delivery_facts(deliveries, trust)
    whole = router_times(facts, [])
    gathered = ReceiptTimes()
    distinct = {r.value: f for (r, _t), f in zip(deliveries, facts, strict=True)}
    for fact in reversed(list(distinct.values())):
        gathered.add([fact])
    gathered.add([facts[0]])  # a value added twice adds nothing
    assert gathered.settled() == whole
    assert len(whole) == 3
