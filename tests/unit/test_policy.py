"""The router's pure decision: every reason code, classified metadata only, never raises."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from router_helpers import (
    CENTRAL,
    COMMUNE,
    OFFLINE_COMMUNE,
    PROVINCE,
    SECRET_CONTENT,
    SECRET_SUBJECT,
    Case,
    cases,
    document,
    make_pki,
    sign,
)

from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.errors import DecodeError
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.routing.decision import decide, parse
from interchange.routing.outcomes import Decision, Delivered, Excluded, Placement, Rejected
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import Envelope, Hop, ReasonCode, Secrecy, Tier
from interchange.wire.partitioner import partition_of

# The receipt time of every decision: set again when the module's PKI and cases are made
# (certificates are issued and documents sent then), not at collection, which can be
# minutes earlier in a full run.
NOW = time.time_ns() // 1000
PARTITIONS = 8


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, directory: Directory) -> tuple[KeyStore, Path]:
    global NOW  # noqa: PLW0603 - the module's clock, see above
    NOW = time.time_ns() // 1000
    keys_dir = tmp_path_factory.mktemp("keys")
    return make_pki(keys_dir, directory), keys_dir


@pytest.fixture(scope="module")
def trust(pki: tuple[KeyStore, Path]) -> TrustStore:
    return TrustStore.open(pki[1])


@pytest.fixture(scope="module")
def all_cases(pki: tuple[KeyStore, Path]) -> list[Case]:
    return cases(pki[0])


def home(value: bytes | None) -> Placement:
    """Where a correct producer puts `value`: keyed by its sender, on that key's partition."""
    try:
        sender = codec.decode_document(codec.decode_envelope(value or b"").content).sender.id
    except DecodeError:
        return Placement(None, 0, PARTITIONS)
    key = sender.encode()
    return Placement(key, partition_of(key, PARTITIONS), PARTITIONS)


def run(
    value: bytes,
    directory: Directory,
    trust: TrustStore,
    guard: ReplayGuard,
    *,
    placement: Placement | None = None,
    now_us: int | None = None,
) -> Decision:
    return decide(
        value,
        directory=directory,
        trust=trust,
        replay_window=guard,
        now_us=NOW if now_us is None else now_us,
        placement=placement or home(value),
        router_node="router:t",
    )


def test_every_case_reaches_its_outcome(
    all_cases: list[Case], directory: Directory, trust: TrustStore
) -> None:
    guard = ReplayGuard()
    seen_reasons = set()
    for case in all_cases:
        decision = run(case.value, directory, trust, guard, placement=case.placement(PARTITIONS))
        if case.reason is None:
            assert isinstance(decision, Delivered), case.name
            assert tuple(d.recipient for d in decision.deliveries) == case.deliveries
            assert tuple(r.recipient for r in decision.not_connected) == case.not_connected
            assert all(r.reason is ReasonCode.NOT_CONNECTED for r in decision.not_connected)
            seen_reasons |= {r.reason for r in decision.not_connected}
        elif case.reason is ReasonCode.CLASSIFIED:
            assert isinstance(decision, Excluded), case.name
            seen_reasons.add(decision.rejection.reason)
        else:
            assert isinstance(decision, Rejected), case.name
            assert decision.reason is case.reason, (case.name, decision.detail)
            seen_reasons.add(decision.reason)
    assert seen_reasons == set(ReasonCode)


def test_a_parse_given_to_decide_gives_the_same_outcome(
    all_cases: list[Case], directory: Directory, trust: TrustStore
) -> None:
    plain, given = ReplayGuard(), ReplayGuard()
    for case in all_cases:
        parsed = parse(case.value, NOW)
        assert (parsed.malformed is None) == (parsed.document is not None), case.name
        where = case.placement(PARTITIONS)
        expected = run(case.value, directory, trust, plain, placement=where)
        got = decide(
            case.value, directory=directory, trust=trust, replay_window=given, now_us=NOW,
            placement=where, router_node="router:t", parsed=parsed,
        )  # fmt: skip
        assert got == expected, case.name


def test_parse_keeps_the_envelope_when_only_the_document_is_malformed() -> None:
    env = Envelope(content=b"\xff not avro", signature=b"s" * 64, cert_id="0" * 64, trace=())
    parsed = parse(codec.encode_envelope(env), NOW)
    assert parsed.envelope == env
    assert parsed.document is None
    assert parsed.malformed is not None
    assert parsed.malformed.reason is ReasonCode.MALFORMED
    assert parsed.malformed.detail.startswith("document:")
    assert parse(None, NOW).envelope is None


def test_delivery_appends_the_router_hop_and_keeps_content(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    doc = document(CENTRAL, [PROVINCE, COMMUNE, PROVINCE], 9001)
    env = sign(pki[0], doc)
    decision = run(codec.encode_envelope(env), directory, trust, ReplayGuard())
    assert isinstance(decision, Delivered)
    assert decision.envelope.content == env.content
    assert decision.envelope.signature == env.signature
    assert decision.envelope.trace == (*env.trace, Hop("router:t", NOW))
    # a recipient listed twice gets one delivery
    assert [(d.recipient, d.tier) for d in decision.deliveries] == [
        (PROVINCE, Tier.PROVINCE),
        (COMMUNE, Tier.COMMUNE),
    ]


def test_classified_carries_only_metadata(
    all_cases: list[Case],
    directory: Directory,
    trust: TrustStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = next(c for c in all_cases if c.name == "classified")
    caplog.set_level(logging.DEBUG)
    decision = run(case.value, directory, trust, ReplayGuard())
    assert isinstance(decision, Excluded)
    rej = decision.rejection
    doc = codec.decode_document(codec.decode_envelope(case.value).content)
    assert (rej.reason, rej.secrecy, rej.document_id, rej.sender) == (
        ReasonCode.CLASSIFIED,
        Secrecy.SECRET,
        doc.id,
        CENTRAL,
    )
    assert rej.content_sha256 == codec.content_sha256(codec.decode_envelope(case.value).content)
    encoded = codec.encode_rejection(rej)
    for secret in (SECRET_SUBJECT.encode(), SECRET_CONTENT):
        assert secret not in encoded
        assert secret not in repr(decision).encode()
        assert secret not in caplog.text.encode()


def test_check_order_first_failure_wins(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    # classified AND unknown recipient AND offline recipient: CLASSIFIED comes first
    doc = document(CENTRAL, ["000.00.00.H63", OFFLINE_COMMUNE], 9100, secrecy=Secrecy.SECRET)
    assert isinstance(
        run(codec.encode_envelope(sign(pki[0], doc)), directory, trust, ReplayGuard()), Excluded
    )
    # a bad signature on a classified replay: the signature reason comes before REPLAY
    guard = ReplayGuard()
    env = sign(pki[0], doc)
    run(codec.encode_envelope(env), directory, trust, guard)
    forged = replace(env, signature=bytes([env.signature[0] ^ 1]) + env.signature[1:])
    got = run(codec.encode_envelope(forged), directory, trust, guard)
    assert isinstance(got, Rejected)
    assert got.reason is ReasonCode.BAD_SIGNATURE


def test_forged_copy_does_not_poison_the_replay_guard(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    doc = document(CENTRAL, [PROVINCE], 9200)
    env = sign(pki[0], doc)
    forged = replace(env, signature=bytes([env.signature[0] ^ 1]) + env.signature[1:])
    guard = ReplayGuard()
    assert isinstance(run(codec.encode_envelope(forged), directory, trust, guard), Rejected)
    assert isinstance(run(codec.encode_envelope(env), directory, trust, guard), Delivered)
    again = run(codec.encode_envelope(env), directory, trust, guard)
    assert isinstance(again, Rejected)
    assert again.reason is ReasonCode.REPLAY


def test_replay_guard_is_bounded_and_restorable() -> None:
    guard = ReplayGuard(capacity=3)
    for i in range(5):
        guard.remember(f"id{i}")
    assert len(guard) == 3
    assert "id0" not in guard
    assert "id1" not in guard
    assert all(f"id{i}" in guard for i in (2, 3, 4))
    assert guard.pending() == [f"id{i}" for i in range(5)]
    assert guard.pending() == []
    restored = ReplayGuard.restore([f"id{i}" for i in range(5)], capacity=3)
    assert sorted(f"id{i}" for i in range(5) if f"id{i}" in restored) == ["id2", "id3", "id4"]
    assert restored.pending() == []
    guard.remember("x")
    guard.discard_pending(["x"])
    assert "x" not in guard
    with pytest.raises(ValueError, match="capacity"):
        ReplayGuard(0)


def test_replay_outside_the_window_is_accepted(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    guard = ReplayGuard(capacity=2)
    envs = [
        codec.encode_envelope(sign(pki[0], document(CENTRAL, [PROVINCE], 9300 + i)))
        for i in range(3)
    ]
    for value in envs:
        assert isinstance(run(value, directory, trust, guard), Delivered)
    # envs[0] fell out of the 2-id window (documented), envs[2] is still inside it
    assert isinstance(run(envs[0], directory, trust, guard), Delivered)
    got = run(envs[2], directory, trust, guard)
    assert isinstance(got, Rejected)
    assert got.reason is ReasonCode.REPLAY


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes, directory: Directory, trust: TrustStore) -> None:
    decision = run(data, directory, trust, ReplayGuard())
    assert isinstance(decision, Rejected)
    assert decision.reason is ReasonCode.MALFORMED
    assert decision.rejection.content_sha256 == codec.content_sha256(data)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_mutated_envelopes_never_raise_nor_deliver_changed_content(
    position: int, flip: int, all_cases: list[Case], directory: Directory, trust: TrustStore
) -> None:
    original = all_cases[0].value
    i = position % len(original)
    value = original[:i] + bytes([original[i] ^ flip]) + original[i + 1 :]
    decision = run(value, directory, trust, ReplayGuard())
    if isinstance(decision, Delivered):  # only the trace (outside the signature) may differ
        assert decision.envelope.content == codec.decode_envelope(original).content


def test_none_and_empty_values_are_malformed(directory: Directory, trust: TrustStore) -> None:
    for value in (None, b""):
        got = decide(
            value,
            directory=directory,
            trust=trust,
            replay_window=ReplayGuard(),
            now_us=NOW,
            placement=Placement(None, 0, PARTITIONS),
        )
        assert isinstance(got, Rejected)
        assert got.reason is ReasonCode.MALFORMED
        assert got.detail == "envelope: empty record value"  # the `envelope:` prefix, as documented


def test_a_verifier_that_raises_yields_malformed_not_an_exception(
    all_cases: list[Case], directory: Directory
) -> None:
    class Broken:
        def verify(self, *args: object) -> ReasonCode | None:
            raise RuntimeError("boom")

    got = decide(
        all_cases[0].value,
        directory=directory,
        trust=Broken(),
        replay_window=ReplayGuard(),
        now_us=NOW,
        placement=all_cases[0].placement(PARTITIONS),
    )
    assert isinstance(got, Rejected)
    assert got.reason is ReasonCode.MALFORMED


def test_a_revoke_naming_an_unknown_target_is_rejected_with_its_reason(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    """Check 12: the target must be a document this router delivered from the same sender;
    one it accepted but delivered to nobody (every recipient off the axis) does not count."""
    import dataclasses

    from router_helpers import CENTRAL, OFFLINE_COMMUNE, PROVINCE, document, sign

    from interchange.wire.model import Business, BusinessType

    keys = pki[0]
    guard = ReplayGuard()
    target = document(CENTRAL, [PROVINCE], 9_001)
    paper_only = document(CENTRAL, [OFFLINE_COMMUNE], 9_002)

    def revoke(number: int, of: str) -> Decision:
        d = dataclasses.replace(
            document(CENTRAL, [PROVINCE], number),
            business_type=BusinessType.REVOKE,
            business=Business(of, "sent in error"),
        )
        return run(codec.encode_envelope(sign(keys, d)), directory, trust, guard)

    unknown = revoke(9_003, target.id)  # not delivered yet
    assert isinstance(unknown, Rejected)
    assert unknown.reason is ReasonCode.UNKNOWN_TARGET
    assert unknown.rejection.reason.authenticated
    assert target.id in unknown.detail
    assert isinstance(run(codec.encode_envelope(sign(keys, target)), directory, trust, guard),
                      Delivered)  # fmt: skip
    assert isinstance(revoke(9_004, target.id), Delivered)
    nowhere = run(codec.encode_envelope(sign(keys, paper_only)), directory, trust, guard)
    assert isinstance(nowhere, Delivered)
    assert not nowhere.deliveries
    refused = revoke(9_005, paper_only.id)
    assert isinstance(refused, Rejected)
    assert refused.reason is ReasonCode.UNKNOWN_TARGET
