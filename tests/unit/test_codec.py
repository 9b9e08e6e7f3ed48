"""Round-trips, canonical form, limits and semantic checks of the strict codec."""

from __future__ import annotations

import dataclasses
import hashlib
import io

import pytest
from fastavro import schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import documents, envelopes, rejections, status_messages

from interchange.errors import DecodeError, EncodeError
from interchange.wire import codec
from interchange.wire.codec import (
    DecodeReason,
    content_sha256,
    decode_document,
    decode_envelope,
    decode_rejection,
    decode_status,
    encode_document,
    encode_envelope,
    encode_rejection,
    encode_status,
    make_document_id,
    valid_document_id,
)
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    BusinessType,
    Document,
    DocumentType,
    Envelope,
    Hop,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Signer,
    StaffInfo,
    StatusCode,
    StatusMessage,
)


def sample_document(**changes: object) -> Document:
    content = b"%PDF-1.7 sample"
    doc = Document(
        id=make_document_id("000.00.00.G22", "2024-03-05", "7816", "VPCP-TTĐT"),
        sender=AgencyRef("000.00.00.G22", "Văn phòng Chính phủ"),
        recipients=(AgencyRef("000.00.00.H01", "UBND thành phố Hà Nội"),),
        code_number="7816",
        code_notation="VPCP-TTĐT",
        promulgation_place="Hà Nội",
        promulgation_date="2024-03-05",
        document_type=DocumentType.OFFICIAL_LETTER,
        subject="Về việc triển khai trục liên thông văn bản",
        signer=Signer("Nguyễn Văn A", "Bộ trưởng", "TM."),
        priority=Priority.URGENT,
        secrecy=Secrecy.NONE,
        business_type=BusinessType.NEW,
        response_for=None,
        due_date="2024-04-01",
        attachments=(
            Attachment("cv.pdf", "application/pdf", hashlib.sha256(content).digest(), content),
        ),
        send_time_us=1_709_600_000_000_000,
    )
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


def reason_of(excinfo: pytest.ExceptionInfo[DecodeError]) -> str:
    return excinfo.value.reason


# ---- round trips -----------------------------------------------------------


@settings(max_examples=300)
@given(documents())
def test_document_round_trip_is_exact_and_canonical(doc: Document) -> None:
    data = encode_document(doc)
    back = decode_document(data)
    assert back == doc
    assert encode_document(back) == data
    assert isinstance(back.priority, Priority)
    assert isinstance(back.recipients, tuple)


@given(envelopes)
def test_envelope_round_trip(env: Envelope) -> None:
    data = encode_envelope(env)
    assert decode_envelope(data) == env
    assert encode_envelope(decode_envelope(data)) == data


@given(status_messages)
def test_status_round_trip(msg: StatusMessage) -> None:
    assert decode_status(encode_status(msg)) == msg


def test_decoded_records_are_the_models_frozen_values() -> None:
    """The decoder builds Document and StatusMessage through their slots, not __init__
    (`assemble.positional`, called by the strict reader): the result must be what the
    constructor gives, and as frozen."""
    doc = sample_document()
    msg = StatusMessage("d", "s", "r", StatusCode.ACCEPTED, 5, "", StaffInfo("a", "b", "c"))
    pairs: list[tuple[object, object]] = [
        (doc, decode_document(encode_document(doc))),
        (msg, decode_status(encode_status(msg))),
    ]
    for value, back in pairs:
        assert back == value
        assert hash(back) == hash(value)
        assert repr(back) == repr(value)
        assert type(back) is type(value)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(back, dataclasses.fields(value)[0].name, "x")  # type: ignore[arg-type]


@given(rejections)
def test_rejection_round_trip(rej: Rejection) -> None:
    assert decode_rejection(encode_rejection(rej)) == rej


@given(documents())
def test_envelope_carries_signed_bytes_unchanged(doc: Document) -> None:
    content = encode_document(doc)
    env = Envelope(content, b"\x01" * 64, "ab" * 32, (Hop("producer:x", 1),))
    assert decode_envelope(encode_envelope(env)).content == content


# ---- wire form ---------------------------------------------------------------


def test_status_wire_form_is_pinned() -> None:
    """Field order, zigzag longs and the S-prefixed code enum, byte for byte."""
    msg = StatusMessage("d", "s", "r", StatusCode.ACCEPTED, -1, "")
    # strings: len*2 then bytes; enum index 2 -> 0x04; long -1 -> 0x01; empty string -> 0x00;
    # then the v2 fields staff, online, due_us: union index 0 (null) each
    head = bytes([2, ord("d"), 2, ord("s"), 2, ord("r"), 4, 1, 0])
    assert encode_status(msg) == head + bytes([0, 0, 0])
    work = StatusMessage(
        "d", "s", "r", StatusCode.ASSIGNED, -1, "", StaffInfo("a", "b", "c"), True, 1
    )
    # staff: branch 1 then three strings; online: branch 1, true; due_us: branch 1, long 1
    tail = bytes([2, 2, ord("a"), 2, ord("b"), 2, ord("c"), 2, 1, 2, 2])
    assert encode_status(work) == bytes([2, ord("d"), 2, ord("s"), 2, ord("r"), 6, 1, 0]) + tail
    assert decode_status(encode_status(work)) == work


def test_status_written_with_schema_v1_still_decodes() -> None:
    """A v1 status (a v1 connector, an older archive) decodes with the v2 fields None."""
    import io
    import json
    from pathlib import Path

    import fastavro

    v1 = Path(__file__).resolve().parents[2] / "schemas" / "history" / "v1" / "status.avsc"
    out = io.BytesIO()
    fastavro.schemaless_writer(
        out,
        fastavro.parse_schema(json.loads(v1.read_text(encoding="utf-8"))),
        {
            "document_id": "d",
            "sender": "s",
            "recipient": "r",
            "code": "S03",
            "time_us": 5,
            "detail": "x",
        },
    )
    msg = decode_status(out.getvalue())
    assert msg == StatusMessage("d", "s", "r", StatusCode.ACCEPTED, 5, "x")
    assert (msg.staff, msg.online, msg.due_us) == (None, None, None)
    v2 = encode_status(msg)
    assert v2[:-3] == out.getvalue()
    for cut in (1, 2, 4):  # neither a v2 nor a v1 record
        with pytest.raises(DecodeError) as info:
            decode_status(v2[:-cut])
        assert info.value.reason == DecodeReason.TRUNCATED


def test_priority_and_business_type_indexes_are_the_edxml_codes() -> None:
    for p in Priority:
        data = encode_document(sample_document(priority=p, attachments=()))
        assert decode_document(data).priority is p
    symbols = {f["name"]: f["type"] for f in codec.DOCUMENT_SCHEMA["fields"]}
    assert symbols["priority"]["symbols"] == [p.name for p in sorted(Priority)]
    assert symbols["business_type"]["symbols"] == [b.name for b in sorted(BusinessType)]
    assert symbols["document_type"]["symbols"] == [d.value for d in DocumentType]
    assert symbols["secrecy"]["symbols"] == [s.value for s in Secrecy]
    reason = next(f["type"] for f in codec.REJECTION_SCHEMA["fields"] if f["name"] == "reason")
    assert reason["symbols"] == [r.value for r in ReasonCode]
    code = next(f["type"] for f in codec.STATUS_SCHEMA["fields"] if f["name"] == "code")
    assert code["symbols"] == [f"S{c.value}" for c in StatusCode]


def test_make_document_id_follows_the_edxml_convention() -> None:
    assert (
        make_document_id("000.00.00.G22", "2024-03-05", "7816", "VPCP-TTĐT")
        == "000.00.00.G22,2024/03/05,7816/VPCP-TTĐT"
    )
    with pytest.raises(EncodeError):
        make_document_id("000.00.00.G22", "2024-3-5", "1", "X")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("000.00.00.G22,2024/03/05,7816/VPCP-TTĐT", True),
        ("000.00.00.G22,2024/02/29,1/X", True),
        ("notanid", False),
        ("", False),
        ("000.00.00.G22,2024-03-05,7816/VPCP-TTĐT", False),  # the wire date form, not the id's
        ("000.00.00.G22,2023/02/29,1/X", False),  # no such day
        ("000.00.00.G22,2024/03/05,7816", False),  # no notation
        ("000.00.00.G22,2024/03/05,/X", False),  # no number
        (",2024/03/05,1/X", False),  # no sender
    ],
)
def test_valid_document_id_is_the_shape_make_document_id_gives(text: str, ok: bool) -> None:
    assert valid_document_id(text) is ok
    if ok:
        sender, date, rest = text.split(",", 2)
        number, notation = rest.split("/", 1)
        assert make_document_id(sender, date.replace("/", "-"), number, notation) == text


def test_content_sha256_is_sha256() -> None:
    assert content_sha256(b"abc") == hashlib.sha256(b"abc").digest()
    assert len(content_sha256(b"")) == 32


# ---- encode errors -----------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"send_time_us": 1 << 63},
        {"subject": "\ud800"},
        {"document_type": "MEMO"},
        {"attachments": (Attachment("a", "b", b"short", b""),)},
        {"recipients": ("not an AgencyRef",)},
        {"promulgation_place": None},
    ],
    ids=["long-overflow", "surrogate", "unknown-enum", "fixed-size", "bad-recipient", "none"],
)
def test_encode_document_rejects_values_that_do_not_fit(changes: dict[str, object]) -> None:
    with pytest.raises(EncodeError):
        encode_document(sample_document(**changes))


def test_encode_other_records_raise_encode_error() -> None:
    with pytest.raises(EncodeError):
        encode_envelope(Envelope("text", b"", "x"))  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        encode_status(StatusMessage("d", "s", "r", "99", 0))  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        encode_rejection(
            Rejection("d", "s", ReasonCode.REPLAY, "", b"\0" * 31, Secrecy.NONE, None, 0, 0)
        )


def test_encode_document_rejects_oversize() -> None:
    big = b"\0" * codec.MAX_DOCUMENT_BYTES
    att = Attachment("big", "application/octet-stream", content_sha256(big), big)
    with pytest.raises(EncodeError):
        encode_document(sample_document(attachments=(att,)))


# ---- semantic checks on decode ----------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"promulgation_date": "2024-02-30"}, DecodeReason.BAD_DATE),
        ({"promulgation_date": "20240305"}, DecodeReason.BAD_DATE),
        ({"due_date": "2024-04-01T00:00"}, DecodeReason.BAD_DATE),
        ({"due_date": "２０２４-04-01"}, DecodeReason.BAD_DATE),  # non-ASCII digits
        (
            {"attachments": (Attachment("a", "text/plain", b"\0" * 32, b"x"),)},
            DecodeReason.BAD_DIGEST,
        ),
    ],
)
def test_semantic_defects_encode_but_do_not_decode(
    changes: dict[str, object], reason: DecodeReason
) -> None:
    data = encode_document(sample_document(**changes))  # a fault plan may produce these
    with pytest.raises(DecodeError) as excinfo:
        decode_document(data)
    assert reason_of(excinfo) == reason


@pytest.mark.parametrize("cert_id", ["", "AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32])
def test_envelope_cert_id_must_be_lowercase_sha256_hex(cert_id: str) -> None:
    data = encode_envelope(Envelope(b"c", b"s", cert_id))
    with pytest.raises(DecodeError) as excinfo:
        decode_envelope(data)
    assert reason_of(excinfo) == DecodeReason.BAD_VALUE


# ---- limits --------------------------------------------------------------------


def _expect(reason: DecodeReason, decode: object, data: bytes) -> None:
    with pytest.raises(DecodeError) as excinfo:
        decode(data)  # type: ignore[operator]
    assert reason_of(excinfo) == reason


def test_recipient_and_attachment_caps() -> None:
    many = tuple(AgencyRef(f"000.00.00.H{i % 100:02d}", "") for i in range(1_001))
    _expect(
        DecodeReason.LIMIT_EXCEEDED,
        decode_document,
        encode_document(sample_document(recipients=many)),
    )
    ok = sample_document(recipients=many[:1_000])
    assert decode_document(encode_document(ok)) == ok
    att = sample_document().attachments[0]
    _expect(
        DecodeReason.LIMIT_EXCEEDED,
        decode_document,
        encode_document(sample_document(attachments=(att,) * 101)),
    )


def test_string_cap_is_64_kib() -> None:
    ok = sample_document(subject="a" * 65_536)
    assert decode_document(encode_document(ok)) == ok
    _expect(
        DecodeReason.LIMIT_EXCEEDED,
        decode_document,
        encode_document(sample_document(subject="a" * 65_537)),
    )


def test_envelope_caps() -> None:
    hops = tuple(Hop("n", i) for i in range(1_001))
    _expect(
        DecodeReason.LIMIT_EXCEEDED,
        decode_envelope,
        encode_envelope(Envelope(b"", b"", "ab" * 32, hops)),
    )
    _expect(
        DecodeReason.LIMIT_EXCEEDED,
        decode_envelope,
        encode_envelope(Envelope(b"", b"s" * 4097, "ab" * 32)),
    )
    big = Envelope(b"\0" * codec.MAX_DOCUMENT_BYTES, b"s" * 64, "ab" * 32)
    assert decode_envelope(encode_envelope(big)) == big


def test_size_cap_is_checked_before_decoding() -> None:
    _expect(DecodeReason.TOO_LARGE, decode_document, b"\0" * (codec.MAX_DOCUMENT_BYTES + 1))
    _expect(DecodeReason.TOO_LARGE, decode_envelope, b"\0" * (codec.MAX_ENVELOPE_BYTES + 1))
    _expect(DecodeReason.TOO_LARGE, decode_status, b"\0" * (64 * 1024 + 1))


@pytest.mark.parametrize("value", ["text", None, 42, [1, 2]])
def test_non_bytes_input_is_a_decode_error(value: object) -> None:
    _expect(DecodeReason.NOT_BYTES, decode_document, value)  # type: ignore[arg-type]


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = encode_document(sample_document())
    assert decode_document(bytearray(data)) == sample_document()  # type: ignore[arg-type]
    assert decode_document(memoryview(data)) == sample_document()  # type: ignore[arg-type]


def _failure(decode: object, data: bytes) -> str | None:
    try:
        decode(data)  # type: ignore[operator]
    except DecodeError as exc:
        return exc.reason
    return None


@given(st.binary(max_size=64))
def test_arbitrary_short_bytes_give_only_decode_error(data: bytes) -> None:
    for decode in (decode_document, decode_envelope, decode_status, decode_rejection):
        assert _failure(decode, data) != DecodeReason.INTERNAL


def test_a_rejection_written_with_schema_v1_still_decodes() -> None:
    """Written by fastavro with the released v1 schema: the v2 fields take their defaults."""
    import io
    import json
    from pathlib import Path

    import fastavro

    v1_path = Path(__file__).resolve().parents[2] / "schemas" / "history" / "v1" / "rejection.avsc"
    v1 = fastavro.parse_schema(json.loads(v1_path.read_text(encoding="utf-8")))
    value = {
        "document_id": "000.00.00.G22,2026/11/02,1/VP", "sender": "000.00.00.G22",
        "reason": "REPLAY", "detail": "seen", "content_sha256": b"\1" * 32,
        "secrecy": "NONE", "recipient": None, "time_us": 5, "send_time_us": 4,
    }  # fmt: skip
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, v1, value)
    rej = codec.decode_rejection(buf.getvalue())
    assert (rej.document_id, rej.reason, rej.time_us) == (
        value["document_id"],
        ReasonCode.REPLAY,
        5,
    )
    assert (rej.topic, rej.partition, rej.offset, rej.authenticated) == ("", -1, -1, False)
    assert not rej.located
    with pytest.raises(DecodeError):
        codec.decode_rejection(buf.getvalue()[:-1])


def test_a_rejection_carries_its_submission_and_whether_its_id_was_authenticated() -> None:
    base = Rejection("d", "s", ReasonCode.BAD_SIGNATURE, "x", b"\0" * 32, Secrecy.NONE, None, 1, 0)
    forged = codec.decode_rejection(codec.encode_rejection(base.about("t.sub", 2, 7)))
    assert (forged.topic, forged.partition, forged.offset, forged.authenticated) == (
        "t.sub", 2, 7, False,
    )  # fmt: skip
    replay = dataclasses.replace(base, reason=ReasonCode.REPLAY).about("t.sub", 2, 8)
    assert codec.decode_rejection(codec.encode_rejection(replay)).authenticated


def test_strict_decode_does_not_re_encode_what_the_reader_proves_canonical(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fastavro re-encode was 11% of the router's CPU; the reader's proof replaces it."""
    doc = sample_document()
    data = encode_document(doc)
    env = encode_envelope(Envelope(data, b"s" * 64, "a" * 64, (Hop("producer:x", 1),)))

    def no_writer(*args: object) -> bytes:
        raise AssertionError("re-encoded while decoding")

    monkeypatch.setattr(codec, "write_value", no_writer)
    assert decode_document(data) == doc
    assert decode_envelope(env).content == data


def test_strict_decode_still_re_encodes_without_the_readers_proof() -> None:
    """A schema the reader cannot prove canonical (a small long in the union's long branch,
    where a writer picks int) is still checked by re-encoding."""
    import io

    import fastavro

    from interchange.wire.strict import Limits, StrictReader

    schema = fastavro.parse_schema(
        {"type": "record", "name": "R", "fields": [{"name": "n", "type": ["int", "long"]}]}
    )
    assert isinstance(schema, dict)
    reader = StrictReader(schema, Limits(max_input=64))

    def encode(value: dict[str, object]) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, value)
        return out.getvalue()

    assert codec._strict_decode(b"\x00\x0a", reader, encode) == {"n": 5}
    with pytest.raises(DecodeError) as excinfo:
        codec._strict_decode(b"\x02\x0a", reader, encode)  # 5 in the long branch
    assert excinfo.value.reason == DecodeReason.NON_CANONICAL


@given(status_messages)
@settings(max_examples=200)
def test_a_status_is_written_as_fastavro_writes_it_without_naming_the_union_branch(
    msg: StatusMessage,
) -> None:
    """encode_status names the staff branch (fastavro's tuple notation, no trial of each
    branch); the bytes are those of the plain value, which decode back to the message."""
    plain = {
        "document_id": msg.document_id,
        "sender": msg.sender,
        "recipient": msg.recipient,
        "code": f"S{msg.code.value}",
        "time_us": msg.time_us,
        "detail": msg.detail,
        "staff": None if msg.staff is None else dataclasses.asdict(msg.staff),
        "online": msg.online,
        "due_us": msg.due_us,
    }
    out = io.BytesIO()
    schemaless_writer(out, codec.STATUS_SCHEMA, plain)
    assert codec.encode_status(msg) == out.getvalue()
    assert codec.decode_status(out.getvalue()) == msg
