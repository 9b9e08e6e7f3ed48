"""The audit's pure checks: a faithful run passes; each seeded violation is detected and named."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from router_helpers import (
    COMMUNE,
    PROVINCE,
    SECRET_CONTENT,
    SECRET_SUBJECT,
    Case,
    cases,
    document,
    make_pki,
    sign,
)

from interchange.audit.checks import audit_records
from interchange.audit.deliveries import delivery_facts
from interchange.audit.facts import router_times, submission_facts
from interchange.audit.findings import Check, Kind, RawRecord, by_check
from interchange.audit.state import AuditResult
from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.errors import DecodeError
from interchange.pki.keystore import KeyStore, TrustStore, revoke
from interchange.routing.decision import decide
from interchange.routing.outcomes import Delivered, Placement
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import (
    Envelope,
    Hop,
    Priority,
    Rejection,
    StatusCode,
    StatusMessage,
    Tier,
)

PARTITIONS = 8
SUB = "t.submissions"
REJ = "t.rejections"
STA = "t.status"


def dtopic(tier: Tier) -> str:
    return f"t.delivery.{tier.value}"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory, directory: Directory) -> KeyStore:
    return make_pki(tmp_path_factory.mktemp("keys"), directory)


@pytest.fixture(scope="module")
def trust(keys: KeyStore) -> TrustStore:
    return TrustStore.open(keys.keys_dir)


@pytest.fixture(scope="module")
def stream(keys: KeyStore) -> list[Case]:
    return cases(keys)


@dataclasses.dataclass
class Run:
    """Records of one faithful run: what a correct router and recipients would write."""

    submissions: list[RawRecord]
    deliveries: list[RawRecord]
    rejections: list[RawRecord]
    statuses: list[RawRecord]


def submissions(stream: list[Case]) -> list[RawRecord]:
    """The stream as a correct producer writes it: each case on its key's partition."""
    offsets: Counter[int] = Counter()
    out = []
    now_ms = time.time_ns() // 1_000_000
    for c in stream:
        p = c.partition(PARTITIONS)
        out.append(RawRecord(SUB, p, offsets[p], now_ms, c.key, c.value))
        offsets[p] += 1
    return out


def faithful(
    stream: list[Case], directory: Directory, trust: TrustStore, capacity: int = 100
) -> Run:
    subs = submissions(stream)
    guards: dict[int, ReplayGuard] = defaultdict(lambda: ReplayGuard(capacity))
    deliveries: list[RawRecord] = []
    rejections: list[RawRecord] = []
    statuses: list[RawRecord] = []
    start = time.time_ns() // 1000
    for i, rec in enumerate(subs):
        d = decide(
            rec.value, directory=directory, trust=trust, replay_window=guards[rec.partition],
            now_us=start + i, placement=Placement(rec.key, rec.partition, PARTITIONS),
            router_node="router:r",
        )  # fmt: skip
        if isinstance(d, Delivered):
            for out in d.deliveries:
                topic = dtopic(out.tier)
                n = sum(1 for x in deliveries if x.topic == topic)
                value = codec.encode_envelope(d.envelope)
                deliveries.append(RawRecord(topic, 0, n, 2, out.recipient.encode(), value))
                status = StatusMessage(
                    d.document_id, d.sender, out.recipient, StatusCode.ARRIVED, 9
                )
                statuses.append(
                    RawRecord(STA, 0, len(statuses), 3, None, codec.encode_status(status))
                )
            rejs = list(d.not_connected)
        else:
            rejs = [d.rejection]
        for r in (r.about(rec.topic, rec.partition, rec.offset) for r in rejs):
            rejections.append(
                RawRecord(REJ, 0, len(rejections), 2, r.sender.encode(), codec.encode_rejection(r))
            )
    return Run(subs, deliveries, rejections, statuses)


def audit(run: Run, directory: Directory, trust: TrustStore, capacity: int = 100) -> AuditResult:
    tiers = {dtopic(t): t for t in Tier}
    facts = delivery_facts([(r, tiers[r.topic]) for r in run.deliveries], trust)
    decoded = []
    for r in run.rejections:
        try:
            decoded.append(codec.decode_rejection(r.value or b""))
        except DecodeError:
            continue
    times = router_times(facts, decoded)
    by_partition: dict[int, list[RawRecord]] = defaultdict(list)
    for rec in sorted(run.submissions, key=lambda r: (r.partition, r.offset)):
        by_partition[rec.partition].append(rec)
    subs = [
        fact
        for records in by_partition.values()
        for fact in submission_facts(
            records, directory, trust, capacity, partitions=PARTITIONS, times=times
        )
    ]
    return audit_records(subs, facts, run.rejections, run.statuses, directory.by_id)


@pytest.fixture
def run(stream: list[Case], directory: Directory, trust: TrustStore) -> Run:
    return faithful(stream, directory, trust)


def only(result: AuditResult) -> list[tuple[Kind, str, int | None]]:
    return [(f.kind, f.topic, f.offset) for f in result.findings]


def test_faithful_run_has_no_finding(run: Run, directory: Directory, trust: TrustStore) -> None:
    assert audit(run, directory, trust).findings == []


def test_faithful_run_figures(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    result = audit(run, directory, trust)
    cells = list(result.metrics.cells.values())
    assert sum(c.delivered for c in cells) == sum(len(c.deliveries) for c in stream)
    assert sum(c.not_connected for c in cells) == sum(len(c.not_connected) for c in stream)
    assert sum(c.excluded for c in cells) == 2  # the classified case names two recipients
    assert sum(c.signature_reverified for c in cells) == len(run.deliveries)
    assert sum(c.signature_invalid for c in cells) == 0
    assert result.counts["latency_from_status_01"] == len(run.deliveries)


def test_every_recipient_outcome_is_accounted(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    result = audit(run, directory, trust)
    for cell in result.metrics.cells.values():
        outcomes = cell.delivered + cell.excluded + cell.not_connected + sum(cell.rejected.values())
        assert cell.addressed == outcomes


def forged_delivery(keys: KeyStore) -> RawRecord:
    doc = document(PROVINCE, [COMMUNE], 9_001)
    env = sign(keys, doc)
    return RawRecord(dtopic(Tier.COMMUNE), 0, 99, 2, COMMUNE.encode(), codec.encode_envelope(env))


def test_forged_delivery_is_named(
    run: Run, keys: KeyStore, directory: Directory, trust: TrustStore
) -> None:
    run.deliveries.append(forged_delivery(keys))
    assert only(audit(run, directory, trust)) == [(Kind.FORGED_DELIVERY, dtopic(Tier.COMMUNE), 99)]


def test_duplicate_delivery_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    dup = dataclasses.replace(run.deliveries[0], offset=500)
    run.deliveries.append(dup)
    result = audit(run, directory, trust)
    assert only(result) == [(Kind.DUPLICATE_DELIVERY, dup.topic, 500)]
    assert sum(c.duplicates for c in result.metrics.cells.values()) == 1


def status_pair(rec: RawRecord) -> tuple[str, bytes]:
    msg = codec.decode_status(rec.value or b"")
    return msg.document_id, msg.recipient.encode()


def test_missing_delivery_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    lost = run.deliveries.pop(0)
    lost_pair = (
        codec.decode_document(codec.decode_envelope(lost.value or b"").content).id,
        lost.key,
    )
    run.statuses = [s for s in run.statuses if status_pair(s) != lost_pair]
    assert only(audit(run, directory, trust)) == [(Kind.MISSING_DELIVERY, SUB, 0)]


def classified_delivery(stream: list[Case]) -> RawRecord:
    case = next(c for c in stream if c.classified)
    return RawRecord(dtopic(Tier.PROVINCE), 0, 77, 2, PROVINCE.encode(), case.value)


def test_classified_delivery_is_named(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    run.deliveries.append(classified_delivery(stream))
    found = audit(run, directory, trust).findings
    assert (Kind.CLASSIFIED_DELIVERED, 77) in [(f.kind, f.offset) for f in found]
    assert by_check(found)[Check.NO_CLASSIFIED][0].topic == dtopic(Tier.PROVINCE)


def test_edited_delivery_fails_verification_and_matching(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    rec = run.deliveries[0]
    env = codec.decode_envelope(rec.value or b"")
    doc = codec.decode_document(env.content)
    edited = dataclasses.replace(doc, subject="edited after signing")
    env2 = Envelope(codec.encode_document(edited), env.signature, env.cert_id, env.trace)
    run.deliveries[0] = dataclasses.replace(rec, value=codec.encode_envelope(env2))
    kinds = {f.kind for f in audit(run, directory, trust).findings}
    assert kinds == {Kind.SIGNATURE_INVALID, Kind.CONTENT_MISMATCH}


def test_malformed_delivery_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    run.deliveries.append(RawRecord(dtopic(Tier.CENTRAL), 1, 3, 2, b"x", b"\x00junk"))
    assert only(audit(run, directory, trust)) == [
        (Kind.MALFORMED_DELIVERY, dtopic(Tier.CENTRAL), 3)
    ]


def test_wrong_delivery_topic_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    rec = next(r for r in run.deliveries if r.topic == dtopic(Tier.PROVINCE))
    run.deliveries.remove(rec)
    moved = dataclasses.replace(rec, topic=dtopic(Tier.DISTRICT), offset=40)
    run.deliveries.append(moved)
    assert only(audit(run, directory, trust)) == [(Kind.WRONG_DELIVERY_TOPIC, moved.topic, 40)]


def rejection_edit(run: Run, change: Callable[[Rejection], Rejection]) -> RawRecord:
    rec = run.rejections[0]
    rej = codec.decode_rejection(rec.value or b"")
    edited = dataclasses.replace(rec, value=codec.encode_rejection(change(rej)))
    run.rejections[0] = edited
    return edited


def test_subject_in_rejection_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    idx = next(
        i
        for i, r in enumerate(run.rejections)
        if codec.decode_rejection(r.value or b"").reason.value == "CLASSIFIED"
    )
    rec = run.rejections[idx]
    rej = codec.decode_rejection(rec.value or b"")
    run.rejections[idx] = dataclasses.replace(
        rec, value=codec.encode_rejection(dataclasses.replace(rej, detail=f"leak {SECRET_SUBJECT}"))
    )
    assert only(audit(run, directory, trust)) == [(Kind.CONTENT_IN_REJECTION, REJ, rec.offset)]


def test_rejection_without_reason_is_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    edited = rejection_edit(run, lambda r: dataclasses.replace(r, detail=""))
    assert only(audit(run, directory, trust)) == [
        (Kind.REJECTION_WITHOUT_REASON, REJ, edited.offset)
    ]


def test_reason_mismatch_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    from interchange.wire.model import ReasonCode

    edited = rejection_edit(run, lambda r: dataclasses.replace(r, reason=ReasonCode.REVOKED))
    assert only(audit(run, directory, trust)) == [(Kind.REASON_MISMATCH, REJ, edited.offset)]


def test_missing_and_unexpected_rejections_are_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    dropped = run.rejections.pop(0)
    run.rejections.append(dataclasses.replace(dropped, offset=1_000, value=run.rejections[0].value))
    kinds = sorted(f.kind for f in audit(run, directory, trust).findings)
    assert kinds == [Kind.MISSING_REJECTION, Kind.UNEXPECTED_REJECTION]


def test_rejections_of_schema_v1_without_coordinates_still_match(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    for i, rec in enumerate(run.rejections):
        rej = codec.decode_rejection(rec.value or b"")
        legacy = dataclasses.replace(rej, topic="", partition=-1, offset=-1, authenticated=False)
        run.rejections[i] = dataclasses.replace(rec, value=codec.encode_rejection(legacy))
    assert audit(run, directory, trust).findings == []


def test_a_rejection_pinned_on_another_submission_is_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    """Same id, digest and reason, but the coordinates of another submission."""
    edited = rejection_edit(run, lambda r: dataclasses.replace(r, offset=r.offset + 1))
    result = audit(run, directory, trust)
    assert sorted(f.kind for f in result.findings) == [
        Kind.MISSING_REJECTION,
        Kind.UNEXPECTED_REJECTION,
    ]
    assert (Kind.UNEXPECTED_REJECTION, REJ, edited.offset) in only(result)


def test_a_wrong_authenticated_flag_is_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    edited = rejection_edit(
        run, lambda r: dataclasses.replace(r, authenticated=not r.authenticated)
    )
    result = audit(run, directory, trust)
    assert only(result) == [(Kind.REASON_MISMATCH, REJ, edited.offset)]
    assert "authenticated" in result.findings[0].detail


def test_status_without_delivery_is_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    ghost = StatusMessage(
        "000.00.00.G05,2026/11/02,404/X", "000.00.00.G05", PROVINCE, StatusCode.ACCEPTED, 1
    )
    run.statuses.append(RawRecord(STA, 2, 8, 3, None, codec.encode_status(ghost)))
    assert only(audit(run, directory, trust)) == [(Kind.STATUS_WITHOUT_DELIVERY, STA, 8)]


def test_latency_falls_back_to_the_kafka_timestamp(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    run.statuses.clear()
    result = audit(run, directory, trust)
    assert result.findings == []
    assert result.counts["latency_from_kafka_timestamp"] == len(run.deliveries)


def test_latency_is_status_01_time_minus_intended_send(
    directory: Directory, keys: KeyStore, trust: TrustStore
) -> None:
    sent = time.time_ns() // 1000
    doc = document(PROVINCE, [COMMUNE], 7_001, send_time_us=sent)
    stream = [
        Case("one", codec.encode_envelope(sign(keys, doc)), PROVINCE, None, (COMMUNE,), (), doc.id)
    ]
    run = faithful(stream, directory, trust)
    status = StatusMessage(doc.id, PROVINCE, COMMUNE, StatusCode.ARRIVED, sent + 250_000)
    run.statuses = [RawRecord(STA, 0, 0, 3, None, codec.encode_status(status))]
    result = audit(run, directory, trust)
    hist = result.metrics.histograms("delivery")[(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL)]
    assert hist.count == 1
    assert abs(hist.max - 250_000) <= 250  # HDR: 3 significant digits


def test_submissions_are_decided_per_partition_like_the_router(
    stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    subs = submissions(stream)
    by_offset = {(r.partition, r.offset): c for r, c in zip(subs, stream, strict=True)}
    for p in range(PARTITIONS):
        mine = [r for r in subs if r.partition == p]
        facts = submission_facts(mine, directory, trust, partitions=PARTITIONS, times={})
        assert [f.outcome for f in facts] == [by_offset[p, r.offset].reason for r in mine]


# ---- work records: invariants and the recomputed measures (issue 17) ----------------------


def with_work_records(run: Run, *, forge: StatusMessage | None = None) -> Run:
    """The faithful run plus a full 03 -> 06 trail (online, on time) for every delivery."""
    from interchange.wire.model import StaffInfo

    staff = StaffInfo("Trần Thị B", "Chuyên viên", "Văn phòng")
    arrivals = [codec.decode_status(s.value or b"") for s in run.statuses]
    for i, arrived in enumerate(arrivals):
        for step, code in enumerate(
            (StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS, StatusCode.COMPLETED)
        ):
            msg = dataclasses.replace(
                arrived, code=code, time_us=10 + step, staff=staff, online=i % 4 != 0, due_us=100
            )
            run.statuses.append(
                RawRecord(STA, 0, len(run.statuses), 3, None, codec.encode_status(msg))
            )
    if forge is not None:
        run.statuses.append(RawRecord(STA, 0, 900, 3, None, codec.encode_status(forge)))
    return run


def test_audit_recomputes_the_work_record_funnel(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    n = len(run.statuses)
    result = audit(with_work_records(run), directory, trust)
    assert result.findings == []
    work = list(result.metrics.work.values())
    assert sum(w.records for w in work) == sum(w.completed for w in work) == n
    assert sum(w.online for w in work) == n - (n + 3) // 4
    assert sum(w.paper for w in work) == (n + 3) // 4
    assert sum(w.overdue_completed + w.overdue_open for w in work) == 0


def test_forged_recall_answer_without_13_is_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    first = codec.decode_status(run.statuses[0].value or b"")
    forged = dataclasses.replace(first, code=StatusCode.RECALL_AGREED, time_us=50)
    found = audit(with_work_records(run, forge=forged), directory, trust).findings
    assert [(f.kind, f.topic, f.partition, f.offset) for f in found] == [
        (Kind.RECALL_ANSWER_WITHOUT_REQUEST, STA, 0, 900)
    ]
    assert found[0].check is Check.WORKFLOW


def test_status_after_06_and_skipped_step_are_named(
    run: Run, directory: Directory, trust: TrustStore
) -> None:
    first = codec.decode_status(run.statuses[0].value or b"")
    late = dataclasses.replace(first, code=StatusCode.IN_PROGRESS, time_us=60)
    found = audit(with_work_records(run, forge=late), directory, trust).findings
    assert [(f.kind, f.offset) for f in found] == [(Kind.STATUS_AFTER_COMPLETED, 900)]


def _revoked_target(run: Run, stream: list[Case]) -> tuple[StatusMessage, str]:
    """The run's 01 of the document its revoke recalls, and the 13's detail naming it."""
    revoke = next(c for c in stream if c.name == "revoke-delivered-target")
    target = next(c.document_id for c in stream if c.name == "delivered")
    arrived = next(
        m
        for m in (codec.decode_status(r.value or b"") for r in run.statuses)
        if m.document_id == target and m.recipient == PROVINCE
    )
    return arrived, f"revoke {revoke.document_id}"


def test_a_recall_agreed_after_06_is_named_at_its_coordinates(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    """Every record of `with_work_records` is completed, so its recall must be refused (16):
    a 13 then a 15 is RECALL_AGREED_AFTER_COMPLETED at the 15."""
    arrived, why = _revoked_target(run, stream)
    run = with_work_records(run)
    for offset, code in ((901, StatusCode.RECALL_REQUESTED), (902, StatusCode.RECALL_AGREED)):
        msg = dataclasses.replace(arrived, code=code, time_us=offset, detail=why)
        run.statuses.append(RawRecord(STA, 0, offset, 3, None, codec.encode_status(msg)))
    found = audit(run, directory, trust).findings
    assert [(f.kind, f.topic, f.partition, f.offset, f.check) for f in found] == [
        (Kind.RECALL_AGREED_AFTER_COMPLETED, STA, 0, 902, Check.WORKFLOW)
    ]


def test_work_after_an_agreed_recall_is_named(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    """An agreed recall (15) withdraws the record: its 03 may still come, a 04 may not."""
    arrived, why = _revoked_target(run, stream)
    steps = (
        StatusCode.RECALL_REQUESTED,
        StatusCode.RECALL_AGREED,
        StatusCode.ACCEPTED,
        StatusCode.ASSIGNED,
    )
    for offset, code in enumerate(steps, start=901):
        msg = dataclasses.replace(arrived, code=code, time_us=offset, online=True, detail=why)
        run.statuses.append(RawRecord(STA, 0, offset, 3, None, codec.encode_status(msg)))
    found = audit(run, directory, trust).findings
    assert [(f.kind, f.offset) for f in found] == [(Kind.STATUS_AFTER_WITHDRAWN, 904)]


def _recall_statuses(run: Run, target: str, recipient: str, detail: str) -> None:
    """A 13 and a 15 about `target` from `recipient`, after the run's statuses."""
    sender = next(
        m.sender
        for m in (codec.decode_status(r.value or b"") for r in run.statuses)
        if m.document_id == target
    )
    for code in (StatusCode.RECALL_REQUESTED, StatusCode.RECALL_AGREED):
        msg = StatusMessage(target, sender, recipient, code, 20, detail=detail)
        offset = len(run.statuses)
        run.statuses.append(RawRecord(STA, 0, offset, 3, None, codec.encode_status(msg)))


def test_a_recall_request_names_a_revoke_of_its_document_delivered_to_that_agency(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    """13 records that a revoke (business type 1) of the document reached the agency: a 13
    whose detail names such a delivered revoke passes; one naming no revoke, or a revoke of
    another document, is RECALL_WITHOUT_REVOKE at the 13, and its 15 then answers nothing."""
    revoke = next(c for c in stream if c.name == "revoke-delivered-target")
    target = next(c.document_id for c in stream if c.name == "delivered")
    _recall_statuses(run, target, PROVINCE, f"revoke {revoke.document_id}")
    assert audit(run, directory, trust).findings == []

    other = next(c.document_id for c in stream if c.deliveries and c.document_id != target)
    other_to = next(c.deliveries[0] for c in stream if c.document_id == other)
    for detail in ("recall", f"revoke {revoke.document_id}"):  # no revoke; not this document's
        forged = faithful(stream, directory, trust)
        _recall_statuses(forged, other, other_to, detail)
        found = audit(forged, directory, trust).findings
        n = len(forged.statuses)
        assert [(f.kind, f.topic, f.offset) for f in found] == [
            (Kind.RECALL_WITHOUT_REVOKE, STA, n - 2),
            (Kind.RECALL_ANSWER_WITHOUT_REQUEST, STA, n - 1),
        ]
        assert found[0].check is Check.WORKFLOW


def test_skipped_step_is_named(run: Run, directory: Directory, trust: TrustStore) -> None:
    first = codec.decode_status(run.statuses[0].value or b"")
    jump = dataclasses.replace(first, code=StatusCode.IN_PROGRESS, time_us=60)  # 01 -> 05
    run.statuses.append(RawRecord(STA, 0, 901, 3, None, codec.encode_status(jump)))
    found = audit(run, directory, trust).findings
    assert [(f.kind, f.offset) for f in found] == [(Kind.STATUS_OUT_OF_ORDER, 901)]


def test_a_document_delivered_from_two_partitions_is_named(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    """What routers without the placement checks did: a copy produced to another partition
    (whose replay guard never saw the id) was delivered again. The audit names the copy's
    submission and the first one, whatever partition each sits on."""
    case = next(c for c in stream if c.name == "delivered")
    first = next(r for r in run.submissions if r.value == case.value)
    other = (first.partition + 1) % PARTITIONS
    offset = sum(1 for r in run.submissions if r.partition == other)
    run.submissions.append(dataclasses.replace(first, partition=other, offset=offset))
    later = time.time_ns() // 1000 + 10_000_000
    for rec in [r for r in run.deliveries if r.value == first.value or _same(r, case)]:
        env = codec.decode_envelope(rec.value or b"")
        again = dataclasses.replace(env, trace=(*env.trace[:-1], Hop("router:old", later)))
        n = sum(1 for x in run.deliveries if x.topic == rec.topic)
        run.deliveries.append(
            dataclasses.replace(rec, offset=n, value=codec.encode_envelope(again))
        )
    found = audit(run, directory, trust).findings
    twice = [f for f in found if f.kind is Kind.DELIVERED_TWICE]
    assert [(f.topic, f.partition, f.offset) for f in twice] == [(SUB, other, offset)]
    assert f"{SUB}[{first.partition}]@{first.offset}" in twice[0].detail
    assert {f.kind for f in found} >= {Kind.DUPLICATE_DELIVERY, Kind.MISSING_REJECTION}


def _same(rec: RawRecord, case: Case) -> bool:
    env = codec.decode_envelope(rec.value or b"")
    return codec.decode_document(env.content).id == case.document_id


def test_a_replay_outside_the_window_delivered_twice_is_named(
    directory: Directory, keys: KeyStore, trust: TrustStore
) -> None:
    doc = document(PROVINCE, [COMMUNE], 7_101)
    filler = [document(PROVINCE, [COMMUNE], 7_102 + i) for i in range(2)]
    stream = [
        Case(d.id, codec.encode_envelope(sign(keys, d)), PROVINCE, None, (COMMUNE,), (), d.id)
        for d in (doc, *filler, doc)
    ]
    run = faithful(stream, directory, trust, capacity=2)
    found = audit(run, directory, trust, capacity=2).findings
    assert [(f.kind, f.offset) for f in found] == [(Kind.DELIVERED_TWICE, 3)]


def test_certificates_are_judged_again_at_the_recorded_receipt_time(
    directory: Directory, tmp_path: Path
) -> None:
    """A certificate revoked after the router delivered: the audit agrees with the router.
    Revoked before the router's recorded time: the delivery fails re-verification."""
    keys_dir = tmp_path / "keys"
    keys = make_pki(keys_dir, directory)
    doc = document(PROVINCE, [COMMUNE], 7_201)
    stream = [
        Case("one", codec.encode_envelope(sign(keys, doc)), PROVINCE, None, (COMMUNE,), (), doc.id)
    ]
    run = faithful(stream, directory, TrustStore.open(keys_dir))
    hop = codec.decode_envelope(run.deliveries[0].value or b"").trace[-1].time_us
    earlier = tmp_path / "earlier"
    shutil.copytree(keys_dir, earlier)
    revoke(keys_dir, agency_id=PROVINCE, at=hop + 2_000_000)
    assert audit(run, directory, TrustStore.open(keys_dir)).findings == []
    revoke(earlier, agency_id=PROVINCE, at=hop - 2_000_000)  # before the receipt
    kinds = {f.kind for f in audit(run, directory, TrustStore.open(earlier)).findings}
    assert Kind.SIGNATURE_INVALID in kinds


def test_an_archive_keeps_only_exclusion_metadata_of_classified_envelopes(
    run: Run, directory: Directory, keys: KeyStore, trust: TrustStore, tmp_path: Path
) -> None:
    from interchange.audit.archive import Sealer, read_archive, write_archive

    assert any(SECRET_CONTENT in (r.value or b"") for r in run.submissions)  # there is some
    records = run.submissions + run.deliveries + run.rejections + run.statuses
    envelope_topics = (SUB, *(dtopic(t) for t in Tier))
    sealer = Sealer.from_keys(keys.keys_dir)[0]
    write_archive(
        records, tmp_path / "a", sealer=sealer, envelope_topics=envelope_topics, codec="null"
    )
    for path in (tmp_path / "a").iterdir():
        data = path.read_bytes()
        assert SECRET_CONTENT not in data, path.name
        assert SECRET_SUBJECT.encode() not in data, path.name
    back = read_archive(tmp_path / "a", trust=TrustStore.open(keys.keys_dir))
    assert back.findings == []
    redacted = [r for r in back.records if r.excluded is not None]
    assert redacted
    assert all(r.value is None and r.topic == SUB for r in redacted)
    subs = [r for r in back.records if r.topic == SUB]
    archived = Run(subs, [r for r in back.records if r.topic.startswith("t.delivery.")],
                   [r for r in back.records if r.topic == REJ],
                   [r for r in back.records if r.topic == STA])  # fmt: skip
    result = audit(archived, directory, trust)
    assert result.findings == []
    assert result.counts["redacted_submissions"] == len(redacted)
    assert result.metrics.to_dict() == audit(run, directory, trust).metrics.to_dict()


def test_a_leaked_classified_delivery_is_archived_as_metadata_and_still_named(
    run: Run, directory: Directory, trust: TrustStore, tmp_path: Path
) -> None:
    from interchange.audit.redaction import redact

    classified = next(r for r in run.submissions if SECRET_CONTENT in (r.value or b""))
    leak = RawRecord(dtopic(Tier.COMMUNE), 0, 99, 2, COMMUNE.encode(), classified.value)
    kept = redact(leak, (dtopic(Tier.COMMUNE),))
    assert kept.value is None
    assert SECRET_CONTENT not in (kept.excluded or b"")
    facts = delivery_facts([(kept, Tier.COMMUNE)], trust)
    assert facts[0].secrecy.classified
    assert facts[0].error == ""


def test_a_revoke_update_or_replace_delivered_without_its_target_is_a_finding(
    run: Run, stream: list[Case], directory: Directory, trust: TrustStore
) -> None:
    """A router that delivers the update naming a document it never delivered (and writes
    no UNKNOWN_TARGET rejection): the delivery is named at its coordinates, and the
    missing rejection at the submission's."""
    case = next(c for c in stream if c.name == "update-unknown-target")
    sub = next(r for r in run.submissions if r.value == case.value)
    env = codec.decode_envelope(case.value)
    routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:r", time.time_ns() // 1000)))
    topic = dtopic(Tier.PROVINCE)
    offset = sum(1 for x in run.deliveries if x.topic == topic)
    run.deliveries.append(
        RawRecord(topic, 0, offset, 2, PROVINCE.encode(), codec.encode_envelope(routed))
    )
    run.rejections = [
        r
        for r in run.rejections
        if codec.decode_rejection(r.value or b"").document_id != case.document_id
    ]
    found = audit(run, directory, trust).findings
    assert [(f.kind, f.topic, f.partition, f.offset) for f in found] == [
        (Kind.TARGET_NOT_DELIVERED, topic, 0, offset),
        (Kind.MISSING_REJECTION, SUB, sub.partition, sub.offset),
    ]
    assert "UNKNOWN_TARGET" in found[1].detail


def _with_update(stream: list[Case], keys: KeyStore) -> tuple[list[Case], str, str]:
    """The stream plus an update (business type 2) of its "delivered" document, to PROVINCE:
    the stream, the update's id and the target's."""
    from router_helpers import CENTRAL

    from interchange.wire.model import Business, BusinessType

    target = next(c.document_id for c in stream if c.name == "delivered")
    doc = dataclasses.replace(
        document(CENTRAL, [PROVINCE], 900),
        business_type=BusinessType.UPDATE,
        business=Business(target, "sửa số liệu"),
    )
    update = Case("update-delivered-target", codec.encode_envelope(sign(keys, doc)), CENTRAL,
                  None, (PROVINCE,), document_id=doc.id)  # fmt: skip
    return [*stream, update], doc.id, target


def test_an_update_answered_15_or_16_passes_and_a_forged_update_answer_is_named(
    stream: list[Case], keys: KeyStore, directory: Directory, trust: TrustStore
) -> None:
    """A 15 or 16 names the update it answers ("update <id>") and needs no 13: it passes when
    that update of its document was delivered to its writer; naming another update, or one
    not delivered to that agency, is RECALL_ANSWER_WITHOUT_REQUEST at its coordinates."""
    cases_, update, target = _with_update(stream, keys)
    run = faithful(cases_, directory, trust)
    sender = next(c.sender for c in cases_ if c.document_id == target)

    def answer(run: Run, recipient: str, code: StatusCode, detail: str) -> int:
        msg = StatusMessage(target, sender, recipient, code, 20, detail=detail)
        offset = len(run.statuses)
        run.statuses.append(RawRecord(STA, 0, offset, 3, None, codec.encode_status(msg)))
        return offset

    answer(run, PROVINCE, StatusCode.RECALL_AGREED, f"update {update}")
    result = audit(run, directory, trust)
    assert result.findings == []
    assert sum(w.update_agreed for w in result.metrics.work.values()) == 1

    revoke = next(c.document_id for c in stream if c.name == "revoke-delivered-target")
    for recipient, detail in (
        (PROVINCE, f"update {revoke}"),  # a delivered document, but not an update of it
        (COMMUNE, f"update {update}"),  # the update was not delivered to the commune
    ):
        forged = faithful(cases_, directory, trust)
        at_offset = answer(forged, recipient, StatusCode.RECALL_REFUSED, detail)
        found = audit(forged, directory, trust).findings
        assert [(f.kind, f.topic, f.partition, f.offset) for f in found] == [
            (Kind.RECALL_ANSWER_WITHOUT_REQUEST, STA, 0, at_offset)
        ]
        assert found[0].check is Check.WORKFLOW
