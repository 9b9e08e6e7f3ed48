"""The router's decision against an attacker: replays across partitions, backdating, outputs
that must decode, hostile sizes, empty recipient lists, ECDSA twins (issue 14)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from router_helpers import CENTRAL, PROVINCE, document, make_pki, sign

from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.clock import now_us
from interchange.errors import DecodeError
from interchange.pki.keystore import AlgorithmPolicy, KeyStore, TrustStore, init_pki, revoke
from interchange.pki.signing import P256_ORDER
from interchange.routing.decision import (
    MAX_SEND_AHEAD_US,
    MAX_SEND_BEHIND_US,
    ROUTER_HOP_ROOM,
    decide,
)
from interchange.routing.outcomes import (
    MAX_ID_CHARS,
    TRUNCATED,
    Decision,
    Delivered,
    Placement,
    Rejected,
)
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import (
    Agency,
    AgencyRef,
    Document,
    Envelope,
    Hop,
    ReasonCode,
    Rejection,
    StaffInfo,
    StatusCode,
    StatusMessage,
)
from interchange.wire.partitioner import partition_of

PARTITIONS = 8
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
NODE = "router:t"
SLOW = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, directory: Directory) -> tuple[KeyStore, Path]:
    keys_dir = tmp_path_factory.mktemp("keys")
    return make_pki(keys_dir, directory), keys_dir


@pytest.fixture(scope="module")
def trust(pki: tuple[KeyStore, Path]) -> TrustStore:
    return TrustStore.open(pki[1])


def home(sender: str) -> Placement:
    key = sender.encode()
    return Placement(key, partition_of(key, PARTITIONS), PARTITIONS)


def run(
    value: bytes,
    directory: Directory,
    trust: TrustStore,
    *,
    placement: Placement,
    guard: ReplayGuard | None = None,
    at: int | None = None,
) -> Decision:
    return decide(
        value,
        directory=directory,
        trust=trust,
        replay_window=guard if guard is not None else ReplayGuard(),
        now_us=at if at is not None else now_us(),
        placement=placement,
        router_node=NODE,
    )


def reason(decision: Decision) -> ReasonCode | None:
    return decision.rejection.reason if isinstance(decision, Rejected) else None


# -- 1. replays across partitions ----------------------------------------------------


def test_a_copy_on_any_other_partition_or_key_is_rejected(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    doc = document(CENTRAL, [PROVINCE], 14_001)
    value = codec.encode_envelope(sign(pki[0], doc))
    right = home(CENTRAL)
    assert isinstance(run(value, directory, trust, placement=right), Delivered)
    # Each copy lands on a partition whose guard never saw the document: before the fix
    # every one of them was delivered again.
    other = (right.partition + 1) % PARTITIONS
    stranger = PROVINCE.encode()
    copies = {
        "explicit other partition": (
            Placement(right.key, other, PARTITIONS),
            ReasonCode.WRONG_PARTITION,
        ),
        "another agency's key": (
            Placement(stranger, partition_of(stranger, PARTITIONS), PARTITIONS),
            ReasonCode.KEY_MISMATCH,
        ),
        "null key": (Placement(None, other, PARTITIONS), ReasonCode.KEY_MISMATCH),
        "empty key": (Placement(b"", other, PARTITIONS), ReasonCode.KEY_MISMATCH),
    }
    for name, (placement, expected) in copies.items():
        got = run(value, directory, trust, placement=placement)
        assert reason(got) is expected, name
        assert isinstance(got, Rejected)
        assert got.rejection.document_id == doc.id


def test_placement_checks_follow_the_partition_count(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    doc = document(CENTRAL, [PROVINCE], 14_002)
    value = codec.encode_envelope(sign(pki[0], doc))
    key = CENTRAL.encode()
    for n in (1, 2, 3, 8, 24):
        good = Placement(key, partition_of(key, n), n)
        assert isinstance(run(value, directory, trust, placement=good), Delivered), n
        if n > 1:
            bad = replace(good, partition=(good.partition + 1) % n)
            assert reason(run(value, directory, trust, placement=bad)) is (
                ReasonCode.WRONG_PARTITION
            )


# -- 2. time comes from the axis, not the signer ---------------------------------------


def test_a_key_revoked_now_cannot_sign_a_document_backdated_one_hour(
    tmp_path: Path, directory: Directory
) -> None:
    keys_dir = tmp_path / "keys"
    keys = make_pki(keys_dir, directory)
    doc = document(CENTRAL, [PROVINCE], 14_010, send_time_us=now_us() - HOUR_US)
    value = codec.encode_envelope(sign(keys, doc))
    revoke(keys_dir, agency_id=CENTRAL)
    trust = TrustStore.open(keys_dir)
    env = codec.decode_envelope(value)
    # what the router did before: judge at the signer's send time, which predates the revocation
    assert trust.verify(env.content, env.signature, env.cert_id, CENTRAL, doc.send_time_us) is None
    got = run(value, directory, trust, placement=home(CENTRAL))
    assert reason(got) is ReasonCode.REVOKED


def _pki_at(keys_dir: Path, directory: Directory, issued_us: int, days: int) -> KeyStore:
    """A PKI of the sender and the recipient whose certificates were issued at `issued_us`
    (valid from one day before it for `days` days)."""
    agencies: list[Agency] = [directory.by_id[CENTRAL], directory.by_id[PROVINCE]]
    init_pki(keys_dir, agencies, now=issued_us, validity_days=days, workers=1)
    return KeyStore.open(keys_dir)


def _signed_at(keys: KeyStore, doc: Document) -> bytes:
    cred = keys.credential(CENTRAL, at=doc.send_time_us)  # valid at the claimed time
    content = codec.encode_document(doc)
    hop = Hop(f"producer:{CENTRAL}", doc.send_time_us)
    return codec.encode_envelope(Envelope(content, cred.sign(content), cred.cert_id, (hop,)))


def test_an_expired_certificate_dated_into_its_window_is_rejected(
    tmp_path: Path, directory: Directory
) -> None:
    now = now_us()
    # valid until one hour ago (issued one day and an hour ago for one day)
    keys = _pki_at(tmp_path / "keys", directory, now - DAY_US - HOUR_US, 1)
    doc = document(CENTRAL, [PROVINCE], 14_011, send_time_us=now - 2 * HOUR_US)
    got = run(_signed_at(keys, doc), directory, TrustStore.open(tmp_path / "keys"),
              placement=home(CENTRAL), at=now)  # fmt: skip
    assert reason(got) is ReasonCode.EXPIRED


def test_a_not_yet_valid_certificate_dated_into_its_window_is_rejected(
    tmp_path: Path, directory: Directory
) -> None:
    now = now_us()
    # valid from two minutes from now; the document claims three minutes from now
    keys = _pki_at(tmp_path / "keys", directory, now + DAY_US + 120_000_000, 2)
    doc = document(CENTRAL, [PROVINCE], 14_012, send_time_us=now + 180_000_000)
    got = run(_signed_at(keys, doc), directory, TrustStore.open(tmp_path / "keys"),
              placement=home(CENTRAL), at=now)  # fmt: skip
    assert reason(got) is ReasonCode.NOT_YET_VALID


def test_send_time_bounds_are_inclusive_on_both_sides(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    receipt = now_us()
    cases = {
        receipt + MAX_SEND_AHEAD_US: None,
        receipt + MAX_SEND_AHEAD_US + 1: ReasonCode.SEND_TIME_SKEW,
        receipt - MAX_SEND_BEHIND_US: None,
        receipt - MAX_SEND_BEHIND_US - 1: ReasonCode.SEND_TIME_SKEW,
    }
    for i, (send_time, expected) in enumerate(cases.items()):
        doc = document(CENTRAL, [PROVINCE], 14_020 + i, send_time_us=send_time)
        value = codec.encode_envelope(sign(pki[0], doc))
        got = run(value, directory, trust, placement=home(CENTRAL), at=receipt)
        assert reason(got) is expected, send_time - receipt


def test_the_receipt_time_is_what_outputs_carry(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    """The audit judges again at the time the router recorded: the hop and time_us."""
    receipt = now_us()
    doc = document(CENTRAL, [PROVINCE], 14_030, send_time_us=receipt - 1_000)
    value = codec.encode_envelope(sign(pki[0], doc))
    delivered = run(value, directory, trust, placement=home(CENTRAL), at=receipt)
    assert isinstance(delivered, Delivered)
    assert delivered.envelope.trace[-1] == Hop(NODE, receipt)
    rejected = run(value, directory, trust, placement=home(PROVINCE), at=receipt + 5)
    assert isinstance(rejected, Rejected)
    assert rejected.rejection.time_us == receipt + 5


# -- 3. every output decodes -----------------------------------------------------------


def _check_outputs(decision: Decision) -> None:
    """Every record the decision leads to decodes with the router's own strict decoders."""
    if isinstance(decision, Delivered):
        routed = codec.encode_envelope(decision.envelope)
        assert codec.decode_envelope(routed) == decision.envelope
        rejections: tuple[Rejection, ...] = decision.not_connected
    else:
        rejections = (decision.rejection,)
    for rej in rejections:
        raw = codec.encode_rejection(rej)
        assert len(raw) <= codec.MAX_RECORD_BYTES
        assert codec.decode_rejection(raw) == rej


def test_a_trace_at_the_hop_cap_is_rejected_at_input(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    doc = document(CENTRAL, [PROVINCE], 14_040)
    env = sign(pki[0], doc)
    for hops, expected in ((codec.MAX_TRACE_HOPS - 1, None), (codec.MAX_TRACE_HOPS, "TOO_LARGE")):
        trace = tuple(Hop(f"relay:{i}", doc.send_time_us) for i in range(hops))
        value = codec.encode_envelope(replace(env, trace=trace))
        codec.decode_envelope(value)  # the input itself is within the caps
        got = run(value, directory, trust, placement=home(CENTRAL))
        assert (reason(got) or None) == (ReasonCode(expected) if expected else None)
        _check_outputs(got)


@pytest.fixture(scope="module")
def big(pki: tuple[KeyStore, Path]) -> tuple[Document, Envelope]:
    """A signed document of nearly 4 MiB, the most a document may be."""
    doc = document(
        CENTRAL, [PROVINCE], 14_050, attachment=b"\x5a" * (codec.MAX_DOCUMENT_BYTES - 2_000)
    )
    return doc, sign(pki[0], doc)


def _padded(env: Envelope, size: int) -> bytes:
    """`env` with filler hops so that its encoding is exactly `size` bytes."""
    base = len(codec.encode_envelope(env))
    filler: list[Hop] = []
    need = size - base
    while need > 0:
        chunk = min(need, 60_000)
        filler.append(Hop("f" * chunk, 0))
        value = codec.encode_envelope(replace(env, trace=(*env.trace, *filler)))
        need = size - len(value)
        if need < 0:  # varint lengths grew: shorten the last hop by the excess
            last = filler.pop()
            filler.append(Hop(last.node[: len(last.node) + need], 0))
            need = size - len(codec.encode_envelope(replace(env, trace=(*env.trace, *filler))))
    value = codec.encode_envelope(replace(env, trace=(*env.trace, *filler)))
    assert len(value) == size
    return value


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(below=st.integers(min_value=0, max_value=2 * ROUTER_HOP_ROOM))
def test_an_envelope_near_the_size_cap_is_forwarded_only_if_it_still_fits(
    below: int,
    big: tuple[Document, Envelope],
    directory: Directory,
    trust: TrustStore,
) -> None:
    _doc, env = big
    value = _padded(env, codec.MAX_ENVELOPE_BYTES - below)
    sent = codec.decode_envelope(value)  # a valid input, `below` bytes under the cap
    at = now_us()
    grown = codec.encode_envelope(replace(sent, trace=(*sent.trace, Hop(NODE, at))))
    got = run(value, directory, trust, placement=home(CENTRAL), at=at)
    fits = len(value) <= codec.MAX_ENVELOPE_BYTES - ROUTER_HOP_ROOM
    assert reason(got) is (None if fits else ReasonCode.TOO_LARGE)
    assert fits <= (len(grown) <= codec.MAX_ENVELOPE_BYTES)  # forwarded: within the cap
    _check_outputs(got)  # whatever the outcome, the router could write it


def test_at_the_size_cap_exactly_the_envelope_is_rejected(
    big: tuple[Document, Envelope], directory: Directory, trust: TrustStore
) -> None:
    value = _padded(big[1], codec.MAX_ENVELOPE_BYTES)
    got = run(value, directory, trust, placement=home(CENTRAL))
    assert reason(got) is ReasonCode.TOO_LARGE
    _check_outputs(got)


def test_an_id_too_long_for_the_replay_changelog_is_rejected(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    doc = replace(document(CENTRAL, [PROVINCE], 14_060), id="x" * 65_536)
    value = codec.encode_envelope(sign(pki[0], doc))
    got = run(value, directory, trust, placement=home(CENTRAL))
    assert reason(got) is ReasonCode.TOO_LARGE
    _check_outputs(got)


def _largest_status(doc: Document, recipient: str) -> bytes:
    """A status larger than any a recipient writes about `doc`: a 13 names two document
    ids (the target as `document_id`, and `revoke <id>` in `detail`); staff set too."""
    staff = StaffInfo("Nguyễn Thị Minh Khai", "Chuyên viên chính", "Văn phòng Ủy ban nhân dân")
    return codec.encode_status(
        StatusMessage(
            doc.id,
            doc.sender.id,
            recipient,
            StatusCode.RECALL_REQUESTED,
            now_us(),
            f"revoke {doc.id}",
            staff,
            True,
            now_us(),
        )
    )


def test_a_document_id_no_status_record_could_carry_is_rejected_at_input(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    """A genuine document whose id fits the string cap and the changelog's 2-byte length
    (65,535 UTF-8 bytes) used to be delivered; then every status about it was above the
    64 KiB record cap, refused by the sender's, the audit's and the recipient's own
    decoders. Such an id is now refused at the input."""
    cases = {
        "ệ" * 21_845: ReasonCode.TOO_LARGE,  # 65,535 bytes
        "x" * (codec.MAX_DOCUMENT_ID_BYTES + 1): ReasonCode.TOO_LARGE,
        "ệ" * (codec.MAX_DOCUMENT_ID_BYTES // 3)
        + "x" * (codec.MAX_DOCUMENT_ID_BYTES % 3): None,  # the bound
    }
    for number, (doc_id, expected) in enumerate(cases.items()):
        doc = replace(document(CENTRAL, [PROVINCE], 14_061 + number), id=doc_id)
        got = run(codec.encode_envelope(sign(pki[0], doc)), directory, trust,
                  placement=home(CENTRAL))  # fmt: skip
        assert reason(got) is expected, len(doc_id.encode())
        _check_outputs(got)
        status = _largest_status(doc, PROVINCE)
        if expected is None:  # delivered: whatever its recipients say about it decodes
            assert codec.decode_status(status).document_id == doc_id
        elif len(doc_id.encode()) == 0xFFFF:  # what was delivered before: no status decodes
            with pytest.raises(DecodeError):
                codec.decode_status(status)


@SLOW
@given(
    sender_len=st.integers(min_value=1, max_value=65_000),
    id_len=st.integers(min_value=1, max_value=65_000),
    recipient_len=st.integers(min_value=1, max_value=65_000),
    known_sender=st.booleans(),
    keyed=st.booleans(),
    char=st.sampled_from(["x", "ệ", "\U0001f4c4"]),
)
def test_rejections_from_hostile_ids_are_bounded_and_decode(
    sender_len: int,
    id_len: int,
    recipient_len: int,
    known_sender: bool,
    keyed: bool,
    char: str,
    pki: tuple[KeyStore, Path],
    directory: Directory,
    trust: TrustStore,
) -> None:
    """Ids of up to 65,000 characters (up to 4 bytes each, within the 64 KiB string cap
    only for the short ones): what a rejection copies is cut and marked, the hash kept."""
    cap = codec.MAX_STRING_BYTES // len(char.encode())
    sender = CENTRAL if known_sender else char * min(sender_len, cap)
    recipient = char * min(recipient_len, cap)
    doc = replace(
        document(CENTRAL, [], 14_070),
        id=char * min(id_len, cap),
        sender=AgencyRef(sender, "S"),
        recipients=(AgencyRef(recipient, "R"),),
    )
    value = codec.encode_envelope(replace(sign(pki[0], doc, signer=CENTRAL), trace=()))
    codec.decode_document(codec.decode_envelope(value).content)  # hostile, but well-formed
    key = sender.encode()
    placement = Placement(key if keyed else b"other", partition_of(key, PARTITIONS), PARTITIONS)
    got = run(value, directory, trust, placement=placement)
    assert isinstance(got, Rejected)
    _check_outputs(got)
    rej = got.rejection
    assert rej.content_sha256 == codec.content_sha256(codec.decode_envelope(value).content)
    for claimed, copied in ((doc.id, rej.document_id), (sender, rej.sender)):
        if len(claimed) > MAX_ID_CHARS:
            assert copied == claimed[:MAX_ID_CHARS] + TRUNCATED
        else:
            assert copied == claimed
    assert len(rej.detail) <= 512 + len(TRUNCATED)


# -- 5. an empty recipient list ------------------------------------------------------


def test_an_empty_recipient_list_is_rejected_and_does_not_use_up_the_id(
    pki: tuple[KeyStore, Path], directory: Directory, trust: TrustStore
) -> None:
    guard = ReplayGuard()
    empty = document(CENTRAL, [], 14_080)
    got = run(codec.encode_envelope(sign(pki[0], empty)), directory, trust,
              placement=home(CENTRAL), guard=guard)  # fmt: skip
    assert reason(got) is ReasonCode.NO_RECIPIENTS
    fixed = replace(empty, recipients=document(CENTRAL, [PROVINCE], 0).recipients)
    again = run(codec.encode_envelope(sign(pki[0], fixed)), directory, trust,
                placement=home(CENTRAL), guard=guard)  # fmt: skip
    assert isinstance(again, Delivered)


# -- 7. ECDSA malleability -----------------------------------------------------------


def test_the_high_s_twin_of_an_ecdsa_signature_is_not_delivered(
    tmp_path: Path, directory: Directory
) -> None:
    keys_dir = tmp_path / "keys"
    init_pki(keys_dir, directory.agencies, policy=AlgorithmPolicy.parse("central=ecdsa-p256"))
    keys, trust = KeyStore.open(keys_dir), TrustStore.open(keys_dir)
    doc = document(CENTRAL, [PROVINCE], 14_090)
    env = sign(keys, doc)
    r, s = decode_dss_signature(env.signature)
    twin = replace(env, signature=encode_dss_signature(r, P256_ORDER - s))
    got = run(codec.encode_envelope(twin), directory, trust, placement=home(CENTRAL))
    assert reason(got) is ReasonCode.BAD_SIGNATURE
    assert isinstance(run(codec.encode_envelope(env), directory, trust, placement=home(CENTRAL)),
                      Delivered)  # fmt: skip
