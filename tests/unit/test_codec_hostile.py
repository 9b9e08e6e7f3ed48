"""Hostile encodings: each must give one DecodeError with the expected reason, nothing else.

The corpus is hand-assembled with a tiny Avro writer below, so each case
breaks exactly one rule. fastavro's own reader raises IndexError, EOFError,
UnicodeDecodeError, OverflowError or MemoryError on many of these.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import fastavro
import pytest

from interchange.errors import DecodeError
from interchange.wire import codec
from interchange.wire.codec import (
    DecodeReason,
    decode_document,
    decode_envelope,
    decode_rejection,
    decode_status,
    encode_document,
    encode_envelope,
)
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    BusinessType,
    ContentFormat,
    Document,
    DocumentCategory,
    DocumentKind,
    DocumentType,
    Envelope,
    Hop,
    OrganDetail,
    OtherInfo,
    Priority,
    ResponseFor,
    Secrecy,
    Signer,
    SteeringType,
)
from interchange.wire.strict import Limits, StrictReader

Decoder = Callable[[bytes], Any]

# ---- a tiny hand-written Avro writer -------------------------------------------


def varint(n: int, pad: int = 0) -> bytes:
    """Zigzag varint of a 64-bit value; `pad` extra bytes make it overlong (non-canonical)."""
    u = ((n << 1) ^ (n >> 63)) & ((1 << 64) - 1)
    out = []
    while True:
        if u >> 7:
            out.append((u & 0x7F) | 0x80)
            u >>= 7
        else:
            out.append(u)
            break
    if pad:
        out[-1] |= 0x80
        out += [0x80] * (pad - 1) + [0x00]
    return bytes(out)


def s(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varint(len(raw)) + raw


DIGEST = hashlib.sha256(b"pdf").digest()
DOC_FIELDS = {
    "id": s("000.00.00.G22,2024/01/01,1/X"),
    "sender": s("000.00.00.G22") + s("VPCP"),
    "recipients": varint(1) + s("000.00.00.H01") + s("Hà Nội") + varint(0),
    "code_number": s("1"),
    "code_notation": s("X"),
    "place": s("Hà Nội"),
    "date": s("2024-01-01"),
    "type": varint(0),
    "subject": s("S"),
    "signer": s("A") + s("B") + s(""),
    "priority": varint(0),
    "secrecy": varint(0),
    "business": varint(0),
    "response_for": varint(0),
    "due_date": varint(1) + s("2024-02-01"),
    "attachments": varint(1) + s("a.pdf") + s("application/pdf") + DIGEST + s(b"pdf") + varint(0),
    "send_time": varint(5),
    "business_v5": varint(0),
    # schema v6: the rest of the edXML header, every field at its default
    "sender_detail": s("") * 6,
    "recipient_details": varint(0),
    "document_kind": varint(0),
    "to_places": varint(0),
    "steering_type": varint(0),
    "other_info": s("") + s("") + varint(0) + varint(0) + b"\x00" + varint(0),
    "response_for_list": varint(0),
    "attachment_details": varint(0),
}
V6_FIELDS = list(DOC_FIELDS)[list(DOC_FIELDS).index("sender_detail") :]
NO_V6 = dict.fromkeys(V6_FIELDS, b"")


def other_info(
    amount: bytes = varint(0), direction: bytes = b"\x00", appendixes: bytes = varint(0)
) -> bytes:
    return s("Toàn quốc") + s("NV") + amount + varint(2) + direction + appendixes


def organ(email: bytes = s("vp@x.gov.vn")) -> bytes:
    return s("UBND") + s("1 Lê Lợi") + email + s("0293") + s("") + s("")


def response(date: bytes = s("2023-12-01"), doc_id: bytes = s("d9")) -> bytes:
    return s("000.00.00.H01") + s("9/UBND") + date + doc_id


BASE_DOCUMENT = Document(
    id="000.00.00.G22,2024/01/01,1/X",
    sender=AgencyRef("000.00.00.G22", "VPCP"),
    recipients=(AgencyRef("000.00.00.H01", "Hà Nội"),),
    code_number="1",
    code_notation="X",
    promulgation_place="Hà Nội",
    promulgation_date="2024-01-01",
    document_type=DocumentType.DECISION,
    subject="S",
    signer=Signer("A", "B", ""),
    priority=Priority.NORMAL,
    secrecy=Secrecy.NONE,
    business_type=BusinessType.NEW,
    response_for=None,
    due_date="2024-02-01",
    attachments=(Attachment("a.pdf", "application/pdf", DIGEST, b"pdf"),),
    send_time_us=5,
)


def test_a_full_v6_header_decodes_from_hand_written_bytes() -> None:
    """Every v6 field stated, written by hand: the codec reads each where the schema says."""
    data = doc(
        response_for=varint(1) + s("d9"),
        sender_detail=organ(),
        recipient_details=varint(1) + organ(s("")) + varint(0),
        document_kind=varint(1) + varint(2) + varint(18) + s("Công văn"),
        to_places=varint(2) + s("Như trên") + s("Lưu: VT") + varint(0),
        steering_type=varint(2),
        other_info=other_info(appendixes=varint(1) + s("Phụ lục I") + varint(0)),
        response_for_list=varint(1) + response() + varint(0),
        attachment_details=varint(1) + s("att-1") + s("Báo cáo") + varint(0),
    )
    d = decode_document(data)
    assert d.sender.detail == OrganDetail("UBND", "1 Lê Lợi", "vp@x.gov.vn", "0293", "", "")
    assert d.recipients[0].detail == OrganDetail("UBND", "1 Lê Lợi", "", "0293", "", "")
    assert d.document_kind == DocumentKind(DocumentCategory.ADMINISTRATIVE, 18, "Công văn")
    assert d.to_places == ("Như trên", "Lưu: VT")
    assert d.steering_type == SteeringType.TYPE_2
    assert d.other_info == OtherInfo("Toàn quốc", "NV", 0, 2, False, ("Phụ lục I",))
    assert d.response_for_list == (ResponseFor("000.00.00.H01", "9/UBND", "2023-12-01", "d9"),)
    assert (d.attachments[0].content_id, d.attachments[0].description) == ("att-1", "Báo cáo")
    assert encode_document(d) == data


def doc(**over: bytes) -> bytes:
    assert set(over) <= set(DOC_FIELDS)
    return b"".join(over.get(k, v) for k, v in DOC_FIELDS.items())


CERT = s("ab" * 32)


def env(
    content: bytes = s(b"c"),
    signature: bytes = s(b"sig"),
    cert: bytes = CERT,
    trace: bytes = varint(1) + s("router:r1") + varint(7) + varint(0),
    content_format: bytes = varint(0),
) -> bytes:
    return content + signature + cert + trace + content_format


def status(code: bytes = varint(2), time: bytes = varint(0)) -> bytes:
    return s("d") + s("000.00.00.G22") + s("000.00.00.H01") + code + time + s("")


def rejection(
    reason: bytes = varint(0), digest: bytes = DIGEST, recipient: bytes = varint(0)
) -> bytes:
    return s("d") + s("") + reason + s("") + digest + varint(0) + recipient + varint(1) + varint(0)


def test_hand_writer_agrees_with_the_codec() -> None:
    assert doc() == encode_document(BASE_DOCUMENT)
    assert decode_document(doc()) == BASE_DOCUMENT
    assert decode_envelope(env()) == Envelope(b"c", b"sig", "ab" * 32, (Hop("router:r1", 7),))
    edxml = decode_envelope(env(content_format=varint(1)))
    assert edxml.content_format is ContentFormat.EDXML
    assert encode_envelope(edxml) == env(content_format=varint(1))
    assert decode_status(status()).code.value == "03"
    assert decode_rejection(rejection()).content_sha256 == DIGEST
    # The largest and smallest longs are valid 10-byte varints.
    assert decode_document(doc(send_time=varint((1 << 63) - 1))).send_time_us == (1 << 63) - 1
    assert decode_document(doc(send_time=b"\xff" * 9 + b"\x01")).send_time_us == -(1 << 63)


def attachment(content_len: bytes, rest: bytes = b"") -> bytes:
    return varint(1) + s("a") + s("t") + DIGEST + content_len + rest


R = DecodeReason
CORPUS = [
    # framing
    ("empty", decode_document, b"", R.TRUNCATED),
    ("trailing-byte", decode_document, doc() + b"\0", R.TRAILING_BYTES),
    ("trailing-valid-copy", decode_document, doc() + doc(), R.TRAILING_BYTES),
    ("envelope-trailing", decode_envelope, env() + b"\x00", R.TRAILING_BYTES),
    # varints
    ("overlong-varint", decode_document, doc(send_time=varint(5, pad=1)), R.NON_CANONICAL),
    ("overlong-zero", decode_document, doc(send_time=b"\x80\x00"), R.NON_CANONICAL),
    ("overlong-enum-index", decode_document, doc(type=varint(1, pad=3)), R.NON_CANONICAL),
    ("overlong-length", decode_document, doc(subject=varint(1, pad=2) + b"S"), R.NON_CANONICAL),
    ("varint-11-bytes", decode_document, doc(send_time=b"\xff" * 10 + b"\x01"), R.BAD_VARINT),
    ("varint-65-bits", decode_document, doc(send_time=b"\xff" * 9 + b"\x02"), R.BAD_VARINT),
    (
        "varint-unterminated",
        decode_document,
        doc(send_time=b"\xff\xff", business_v5=b"", **NO_V6),
        R.TRUNCATED,
    ),
    ("int-above-32-bits", decode_document, doc(secrecy=varint(1 << 40)), R.BAD_VARINT),
    ("boolean-2", decode_document, doc(other_info=other_info(direction=b"\x02")), R.BAD_BOOLEAN),
    # enums and unions
    ("enum-negative", decode_document, doc(type=varint(-1)), R.BAD_ENUM),
    ("enum-past-end", decode_document, doc(type=varint(8)), R.BAD_ENUM),
    ("priority-5", decode_document, doc(priority=varint(5)), R.BAD_ENUM),
    ("business-type-4", decode_document, doc(business=varint(4)), R.BAD_ENUM),
    ("secrecy-int-min", decode_document, doc(secrecy=varint(-(1 << 31))), R.BAD_ENUM),
    ("status-code-past-end", decode_status, status(code=varint(9)), R.BAD_ENUM),
    ("reason-negative", decode_rejection, rejection(reason=varint(-3)), R.BAD_ENUM),
    ("content-format-2", decode_envelope, env(content_format=varint(2)), R.BAD_ENUM),
    ("union-negative", decode_document, doc(response_for=varint(-1)), R.BAD_UNION),
    ("union-past-end", decode_document, doc(response_for=varint(2)), R.BAD_UNION),
    ("union-huge", decode_rejection, rejection(recipient=varint(1 << 30)), R.BAD_UNION),
    # lengths
    ("string-huge", decode_document, doc(subject=varint(1 << 62) + b"S"), R.LIMIT_EXCEEDED),
    ("string-long-max", decode_document, doc(subject=varint((1 << 63) - 1)), R.LIMIT_EXCEEDED),
    ("string-past-end", decode_document, doc(subject=varint(60_000) + b"S"), R.TRUNCATED),
    ("string-negative", decode_document, doc(subject=varint(-5)), R.BAD_LENGTH),
    ("string-long-min", decode_document, doc(subject=varint(-(1 << 63))), R.BAD_LENGTH),
    ("bytes-huge", decode_document, doc(attachments=attachment(varint(1 << 60))), R.LIMIT_EXCEEDED),
    ("bytes-negative", decode_document, doc(attachments=attachment(varint(-1))), R.BAD_LENGTH),
    ("bytes-past-end", decode_document, doc(attachments=attachment(varint(4096))), R.TRUNCATED),
    ("signature-huge", decode_envelope, env(signature=varint(1 << 40)), R.LIMIT_EXCEEDED),
    ("signature-above-cap", decode_envelope, env(signature=s(b"x" * 4097)), R.LIMIT_EXCEEDED),
    ("content-negative", decode_envelope, env(content=varint(-2)), R.BAD_LENGTH),
    ("fixed-truncated", decode_rejection, rejection(digest=DIGEST[:10]), R.TRUNCATED),
    (
        "fixed-cut-document",
        decode_document,
        doc(attachments=varint(1) + s("a") + s("t")),
        R.TRUNCATED,
    ),
    # arrays
    ("array-huge-count", decode_document, doc(recipients=varint(1 << 62)), R.LIMIT_EXCEEDED),
    ("array-1001", decode_document, doc(recipients=varint(1_001)), R.LIMIT_EXCEEDED),
    ("attachments-101", decode_document, doc(attachments=varint(101)), R.LIMIT_EXCEEDED),
    ("array-count-past-end", decode_document, doc(recipients=varint(900) + s("a")), R.TRUNCATED),
    ("trace-huge-count", decode_envelope, env(trace=varint(1 << 50)), R.LIMIT_EXCEEDED),
    ("trace-1001", decode_envelope, env(trace=varint(1_001)), R.LIMIT_EXCEEDED),
    # the v6 header's caps
    ("to-places-101", decode_document, doc(to_places=varint(101)), R.LIMIT_EXCEEDED),
    (
        "to-place-above-1k",
        decode_document,
        doc(to_places=varint(1) + s("x" * 1025) + varint(0)),
        R.LIMIT_EXCEEDED,
    ),
    (
        "recipient-details-1001",
        decode_document,
        doc(recipient_details=varint(1_001)),
        R.LIMIT_EXCEEDED,
    ),
    (
        "attachment-details-101",
        decode_document,
        doc(attachment_details=varint(101)),
        R.LIMIT_EXCEEDED,
    ),
    (
        "response-for-list-101",
        decode_document,
        doc(response_for_list=varint(101)),
        R.LIMIT_EXCEEDED,
    ),
    (
        "appendixes-101",
        decode_document,
        doc(other_info=other_info(appendixes=varint(101))),
        R.LIMIT_EXCEEDED,
    ),
    (
        "appendix-above-1k",
        decode_document,
        doc(other_info=other_info(appendixes=varint(1) + s("a" * 1025) + varint(0))),
        R.LIMIT_EXCEEDED,
    ),
    (
        "organ-email-above-1k",
        decode_document,
        doc(sender_detail=organ(s("e" * 1025))),
        R.LIMIT_EXCEEDED,
    ),
    (
        "recipient-organ-huge",
        decode_document,
        doc(recipient_details=varint(1) + organ(varint(1 << 40))),
        R.LIMIT_EXCEEDED,
    ),
    (
        "type-name-above-256",
        decode_document,
        doc(document_kind=varint(1) + varint(2) + varint(18) + s("C" * 257)),
        R.LIMIT_EXCEEDED,
    ),
    (
        "content-id-above-256",
        decode_document,
        doc(attachment_details=varint(1) + s("c" * 257) + s("") + varint(0)),
        R.LIMIT_EXCEEDED,
    ),
    (
        "to-places-past-end",
        decode_document,
        doc(to_places=varint(90), **dict.fromkeys(V6_FIELDS[4:], b"")),
        R.TRUNCATED,
    ),
    (
        "array-negative-block",
        decode_document,
        doc(recipients=varint(-1) + varint(4) + s("r") + s("n") + varint(0)),
        R.NON_CANONICAL,
    ),
    (
        "array-two-blocks",
        decode_document,
        doc(recipients=varint(1) + s("r") + s("n") + varint(1) + s("r") + s("n") + varint(0)),
        R.NON_CANONICAL,
    ),
    (
        "trace-negative-block",
        decode_envelope,
        env(trace=varint(-1) + varint(3) + s("n") + varint(1) + varint(0)),
        R.NON_CANONICAL,
    ),
    (
        "array-no-terminator",
        decode_envelope,
        env(trace=varint(1) + s("n") + varint(1), content_format=b""),
        R.TRUNCATED,
    ),
    # UTF-8
    ("utf8-overlong-slash", decode_document, doc(subject=s(b"\xc0\xaf")), R.BAD_UTF8),
    ("utf8-surrogate", decode_document, doc(subject=s(b"\xed\xa0\x80")), R.BAD_UTF8),
    ("utf8-lone-continuation", decode_document, doc(place=s(b"\x80")), R.BAD_UTF8),
    ("utf8-cut-sequence", decode_document, doc(subject=s(b"H\xe1\xba")), R.BAD_UTF8),
    ("utf8-above-u10ffff", decode_document, doc(subject=s(b"\xf4\x90\x80\x80")), R.BAD_UTF8),
    ("utf8-in-cert-id", decode_envelope, env(cert=s(b"\xff" * 64)), R.BAD_UTF8),
    ("utf8-in-map-of-union", decode_document, doc(due_date=varint(1) + s(b"\xfe")), R.BAD_UTF8),
    # semantics
    ("date-garbage", decode_document, doc(date=s("yesterday")), R.BAD_DATE),
    ("date-feb-30", decode_document, doc(due_date=varint(1) + s("2024-02-30")), R.BAD_DATE),
    (
        "digest-mismatch",
        decode_document,
        doc(attachments=attachment(s(b"pdF"), varint(0))),
        R.BAD_DIGEST,
    ),
    ("cert-id-uppercase", decode_envelope, env(cert=s("AB" * 32)), R.BAD_VALUE),
    (
        "recipient-details-count-mismatch",
        decode_document,
        doc(recipient_details=varint(2) + organ() + organ() + varint(0)),
        R.BAD_VALUE,
    ),
    (
        "attachment-details-count-mismatch",
        decode_document,
        doc(attachment_details=varint(2) + s("c1") + s("") + s("c2") + s("") + varint(0)),
        R.BAD_VALUE,
    ),
    (
        "recipient-details-all-empty",
        decode_document,
        doc(recipient_details=varint(1) + s("") * 6 + varint(0)),
        R.NON_CANONICAL,
    ),
    (
        "attachment-details-all-empty",
        decode_document,
        doc(attachment_details=varint(1) + s("") + s("") + varint(0)),
        R.NON_CANONICAL,
    ),
    ("steering-type-4", decode_document, doc(steering_type=varint(4)), R.BAD_VALUE),
    ("steering-type-negative", decode_document, doc(steering_type=varint(-1)), R.BAD_VALUE),
    (
        "document-kind-type-3",
        decode_document,
        doc(document_kind=varint(1) + varint(3) + varint(1) + s("X")),
        R.BAD_VALUE,
    ),
    (
        "document-kind-detail-30",
        decode_document,
        doc(document_kind=varint(1) + varint(2) + varint(30) + s("X")),
        R.BAD_VALUE,
    ),
    (
        "page-amount-negative",
        decode_document,
        doc(other_info=other_info(amount=varint(-1))),
        R.BAD_VALUE,
    ),
    (
        "response-for-date-bad",
        decode_document,
        doc(
            response_for=varint(1) + s("d9"),
            response_for_list=varint(1) + response(date=s("2023-13-01")) + varint(0),
        ),
        R.BAD_DATE,
    ),
    (
        "response-for-not-first",
        decode_document,
        doc(
            response_for=varint(1) + s("other"),
            response_for_list=varint(1) + response() + varint(0),
        ),
        R.BAD_VALUE,
    ),
    # garbage
    ("all-ff", decode_document, b"\xff" * 64, R.BAD_VARINT),
    ("all-zero", decode_document, b"\x00" * 64, R.TRAILING_BYTES),
    ("document-as-envelope", decode_envelope, doc(), None),
    ("envelope-as-document", decode_document, env(), None),
    ("status-as-rejection", decode_rejection, status(), None),
]


@pytest.mark.parametrize(
    ("decode", "data", "reason"),
    [pytest.param(d, b, r, id=name) for name, d, b, r in CORPUS],
)
def test_hostile_corpus(decode: Decoder, data: bytes, reason: DecodeReason | None) -> None:
    with pytest.raises(DecodeError) as excinfo:
        decode(data)
    got = excinfo.value.reason
    assert got != DecodeReason.INTERNAL, excinfo.value
    if reason is not None:
        assert got == reason, excinfo.value


def test_corpus_names_are_unique() -> None:
    names = [c[0] for c in CORPUS]
    assert len(names) == len(set(names))


def _rich_document() -> bytes:
    content = bytes(range(256)) * 3
    d = dataclasses.replace(
        BASE_DOCUMENT,
        recipients=tuple(AgencyRef(f"000.00.{i:02d}.H01", "Xã Tân Hòa") for i in range(5)),
        response_for="000.00.00.H01,2023/12/01,9/UBND",
        attachments=(
            Attachment(
                "a.bin", "application/octet-stream", hashlib.sha256(content).digest(), content
            ),
        ),
        send_time_us=1_700_000_000_123_456,
    )
    return encode_document(d)


@pytest.mark.parametrize("kind", ["document", "envelope"])
def test_every_truncation_is_truncated(kind: str) -> None:
    data = _rich_document()
    decode: Decoder = decode_document
    if kind == "envelope":
        data = encode_envelope(
            Envelope(data, b"\x07" * 64, "cd" * 32, tuple(Hop(f"n{i}", i * 1000) for i in range(4)))
        )
        decode = decode_envelope
    value = decode(data)
    # a document or envelope of an older schema (without the trailing fields appended
    # since) is accepted: it is the same value at its defaults
    if isinstance(value, Document):
        older = {codec._encode_v5(value), codec._encode_v4(value)}
    else:
        older = {codec._encode_envelope_v5(value)}
    for cut in range(len(data)):
        if data[:cut] in older:
            assert decode(data[:cut]) == value
            continue
        with pytest.raises(DecodeError) as excinfo:
            decode(data[:cut])
        assert excinfo.value.reason == DecodeReason.TRUNCATED, (cut, excinfo.value)


def test_envelope_with_garbage_content_decodes_but_content_does_not() -> None:
    for content in (b"\xff" * 32, env(), doc()[:-2], b""):
        outer = decode_envelope(env(content=s(content)))
        assert outer.content == content
        with pytest.raises(DecodeError):
            decode_document(outer.content)


def test_booleans_must_be_0_or_1() -> None:
    schema: Any = fastavro.parse_schema(
        {"type": "record", "name": "B", "fields": [{"name": "b", "type": "boolean"}]}
    )
    reader = StrictReader(schema, Limits(max_input=16))
    assert reader.read(b"\x01") == {"b": True}
    assert reader.read(b"\x00") == {"b": False}
    for bad in (b"\x02", b"\xff", b"\x80"):
        with pytest.raises(DecodeError) as excinfo:
            reader.read(bad)
        assert excinfo.value.reason == DecodeReason.BAD_BOOLEAN


def test_maps_are_bounded_and_keys_unique() -> None:
    schema: Any = fastavro.parse_schema(
        {
            "type": "record",
            "name": "M",
            "fields": [{"name": "m", "type": {"type": "map", "values": "long"}}],
        }
    )
    reader = StrictReader(schema, Limits(max_input=1024, max_items=3))
    assert reader.read(varint(1) + s("k") + varint(9) + varint(0)) == {"m": {"k": 9}}
    cases = {
        varint(4): DecodeReason.LIMIT_EXCEEDED,
        varint(3) + s("k"): DecodeReason.TRUNCATED,
        varint(2) + s("k") + varint(1) + s("k") + varint(2) + varint(0): DecodeReason.NON_CANONICAL,
    }
    for data, reason in cases.items():
        with pytest.raises(DecodeError) as excinfo:
            reader.read(data)
        assert excinfo.value.reason == reason


def test_deep_nesting_of_a_recursive_schema_is_bounded() -> None:
    schema: Any = fastavro.parse_schema(
        {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]}
    )
    reader = StrictReader(schema, Limits(max_input=1 << 20))
    assert reader.read(b"\x02\x02\x00") == {"next": {"next": {"next": None}}}
    with pytest.raises(DecodeError) as excinfo:
        reader.read(b"\x02" * 200_000 + b"\x00")
    assert excinfo.value.reason == DecodeReason.LIMIT_EXCEEDED


# ---- random and mutated inputs ---------------------------------------------------


def _mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    op = rng.randrange(6)
    if op == 0 and buf:  # flip 1-4 bits
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif op == 1:  # insert bytes
        at = rng.randint(0, len(buf))
        buf[at:at] = rng.randbytes(rng.randint(1, 3))
    elif op == 2 and buf:  # delete bytes
        at = rng.randrange(len(buf))
        del buf[at : at + rng.randint(1, 3)]
    elif op == 3:  # splice two valid encodings
        other = rng.choice(pool)
        buf = buf[: rng.randint(0, len(buf))] + other[rng.randint(0, len(other)) :]
    elif op == 4 and buf:  # overwrite a byte with a varint-hostile value
        buf[rng.randrange(len(buf))] = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF])
    else:  # pure random bytes
        buf = bytearray(rng.randbytes(rng.randint(0, 300)))
    return bytes(buf)


def _outcome(decode: Decoder, data: bytes) -> tuple[Any, str | None]:
    try:
        return decode(data), None
    except DecodeError as exc:
        return None, exc.reason


@pytest.mark.slow
def test_100k_random_and_mutated_inputs_raise_only_decode_error() -> None:
    rng = random.Random(20261122)
    documents = [doc(), _rich_document(), encode_document(BASE_DOCUMENT)]
    envelopes = [
        encode_envelope(Envelope(d, rng.randbytes(64), rng.randbytes(32).hex(), (Hop("p", 1),)))
        for d in documents
    ]
    pool = documents + envelopes
    reasons: Counter[str] = Counter()
    decoded = 0
    for i in range(100_000):
        decode: Decoder = decode_document if i % 2 else decode_envelope
        seed = rng.choice(documents if i % 2 else envelopes)
        data = _mutate(rng, seed, pool)
        if i % 7 == 0:  # stack a second mutation
            data = _mutate(rng, data, pool)
        result, reason = _outcome(decode, data)
        assert reason != DecodeReason.INTERNAL, (i, data.hex())
        if reason is not None:
            reasons[reason] += 1
            continue
        decoded += 1
        # Anything accepted is canonical: it re-encodes to the very same bytes, in the
        # current layout or (a record of an older schema) in that schema's layout.
        if isinstance(result, Document):
            forms = {encode_document(result), codec._encode_v5(result), codec._encode_v4(result)}
        else:
            forms = {encode_envelope(result), codec._encode_envelope_v5(result)}
        assert data in forms
        if isinstance(result, Envelope):
            _, inner = _outcome(decode_document, result.content)
            assert inner != DecodeReason.INTERNAL, (i, data.hex())
    # The fuzzer reached deep into the format, not just the first byte.
    expected = {
        R.TRUNCATED,
        R.TRAILING_BYTES,
        R.NON_CANONICAL,
        R.BAD_UTF8,
        R.BAD_DIGEST,
        R.BAD_ENUM,
    }
    assert expected <= set(reasons), reasons
    assert sum(reasons.values()) + decoded == 100_000
