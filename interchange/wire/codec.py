"""The strict Avro codec for every record that travels on the axis (docs/SCHEMAS.md).

Schemas come from `schemas/*.avsc` and are parsed once at import. Encoding is
fastavro's schemaless binary writer; its output for a Document is canonical
and is exactly what gets signed. Decoding treats input as hostile: a size cap,
then `StrictReader` (bounded lengths, minimal varints, no trailing bytes: only the
canonical encoding passes), then semantic checks; a re-encode that must reproduce
the input byte for byte is left to schemas whose canonical form the reader cannot
prove (none of the axis's). Every failure is
one `DecodeError` whose reason is a `DecodeReason`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastavro import parse_schema, schemaless_writer

from interchange.errors import DecodeError, EncodeError
from interchange.wire import header_avro
from interchange.wire.assemble import positional
from interchange.wire.model import (
    CERT_ID,
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    ContentFormat,
    Document,
    DocumentKind,
    DocumentType,
    Envelope,
    Hop,
    OrganDetail,
    OtherInfo,
    Priority,
    ReasonCode,
    Rejection,
    ResponseFor,
    Secrecy,
    Signer,
    StaffInfo,
    StatusCode,
    StatusMessage,
)
from interchange.wire.schemas import load_schema, schema_text
from interchange.wire.strict import DecodeReason, Limits, StrictReader

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_ENVELOPE_BYTES",
    "DecodeReason",
    "content_sha256",
    "decode_document",
    "decode_envelope",
    "decode_rejection",
    "decode_status",
    "encode_document",
    "encode_envelope",
    "encode_rejection",
    "encode_status",
    "make_document_id",
    "valid_document_id",
    "write_value",
]

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_ENVELOPE_BYTES = MAX_DOCUMENT_BYTES + 64 * 1024
MAX_RECORD_BYTES = 64 * 1024  # status and rejection records
MAX_SIGNATURE_BYTES = 4096  # RSA-4096 needs 512; room for any algorithm we support
MAX_RECIPIENTS = 1_000
MAX_ATTACHMENTS = 100
MAX_TRACE_HOPS = 1_000
# UTF-8 bytes of a document id. Not a decoder cap: the router refuses a longer one as
# TOO_LARGE (it could not be carried on), because every status about a document carries
# its id within MAX_RECORD_BYTES (a 13 carries two: the target's, and the revoke's in
# its detail), and the replay changelog stores an id's length in 2 bytes. An edXML id
# is well under 100 bytes.
MAX_DOCUMENT_ID_BYTES = 1_024
MAX_STRING_BYTES = Limits(max_input=0).max_string  # the cap of any string field

DOCUMENT_SCHEMA = load_schema("document")
ENVELOPE_SCHEMA = load_schema("envelope")
STATUS_SCHEMA = load_schema("status")
REJECTION_SCHEMA = load_schema("rejection")

# Caps of the edXML header fields appended in schema v6 (docs/SCHEMAS.md, Limits).
MAX_PLACES = 100  # to_places, other_info.appendixes, response_for_list
MAX_DETAIL_BYTES = 1024  # each OrganDetail string, each place and appendix title
MAX_NAME_BYTES = 256  # DocumentKind.type_name, AttachmentDetail.content_id

_DOCUMENT_LIMITS = Limits(
    max_input=MAX_DOCUMENT_BYTES,
    fields={
        "Document.recipients": MAX_RECIPIENTS,
        "Document.attachments": MAX_ATTACHMENTS,
        "Attachment.content": MAX_DOCUMENT_BYTES,
        "Document.recipient_details": MAX_RECIPIENTS,
        "Document.attachment_details": MAX_ATTACHMENTS,
        "Document.to_places": MAX_PLACES,
        "Document.to_places[]": MAX_DETAIL_BYTES,
        "Document.response_for_list": MAX_PLACES,
        "OtherInfo.appendixes": MAX_PLACES,
        "OtherInfo.appendixes[]": MAX_DETAIL_BYTES,
        "DocumentKind.type_name": MAX_NAME_BYTES,
        "AttachmentDetail.content_id": MAX_NAME_BYTES,
        **{f"OrganDetail.{name}": MAX_DETAIL_BYTES for name in OrganDetail.__slots__},
    },
)


def _first_fields(schema: dict[str, Any], count: int) -> dict[str, Any]:
    """An older layout of a record: the current schema's first `count` fields."""
    return {**schema, "fields": schema["fields"][:count]}


# The document's older layouts: v1-v4 end after `send_time_us`; v5 appends `business`;
# v6 appends the rest of the edXML header. Each is the current schema's first fields.
DOCUMENT_V4_FIELDS = 17
DOCUMENT_V5_FIELDS = 18
_DOCUMENT_V4_SCHEMA = _first_fields(DOCUMENT_SCHEMA, DOCUMENT_V4_FIELDS)
_DOCUMENT_V5_SCHEMA = _first_fields(DOCUMENT_SCHEMA, DOCUMENT_V5_FIELDS)
_ENVELOPE_LIMITS = Limits(
    max_input=MAX_ENVELOPE_BYTES,
    fields={
        "Envelope.content": MAX_DOCUMENT_BYTES,
        "Envelope.signature": MAX_SIGNATURE_BYTES,
        "Envelope.trace": MAX_TRACE_HOPS,
    },
)
# The envelope of schemas v1 to v5 ends after `trace` (v6 appends `content_format`).
ENVELOPE_V5_FIELDS = 4
_ENVELOPE_V5_SCHEMA = _first_fields(ENVELOPE_SCHEMA, ENVELOPE_V5_FIELDS)
# Status schema v1 (history/v1): the current record without the three work-record fields
# appended in v2 (staff, online, due_us). Statuses written by a v1 connector or kept in an
# older archive still decode, with those fields None.
_STATUS_V2_FIELDS = ("staff", "online", "due_us")  # the last three: v1 is a prefix of v2
_STATUS_V1_FIELDS = len(STATUS_SCHEMA["fields"]) - len(_STATUS_V2_FIELDS)


def _status_v1_schema() -> dict[str, Any]:
    text = json.loads(schema_text("status"))
    text["fields"] = [f for f in text["fields"] if f["name"] not in _STATUS_V2_FIELDS]
    parsed = parse_schema(text)
    if not isinstance(parsed, dict):
        raise TypeError("status schema is not a record schema")
    return parsed


# The rejection of schemas v1 to v3: the current fields before `topic` (appended in v4).
REJECTION_V1_FIELDS = 9
_REJECTION_V1_SCHEMA: dict[str, Any] = {
    **REJECTION_SCHEMA,
    "fields": REJECTION_SCHEMA["fields"][:REJECTION_V1_FIELDS],
}

# Avro symbol <-> model enum. Priority and BusinessType use the member name
# (their index is the edXML code); status codes are prefixed with "S" because
# Avro symbols cannot start with a digit.
T = TypeVar("T")
_PRIORITY = {p.name: p for p in Priority}
_BUSINESS = {b.name: b for b in BusinessType}
_STATUS_TO_AVRO = {c: f"S{c.value}" for c in StatusCode}
_STATUS_FROM_AVRO = {v: k for k, v in _STATUS_TO_AVRO.items()}


def content_sha256(content: bytes) -> bytes:
    """SHA-256 digest (32 bytes) of `content`, as carried in attachments and rejections."""
    return hashlib.sha256(content).digest()


def make_document_id(
    sender_id: str, promulgation_date_iso: str, code_number: str, code_notation: str
) -> str:
    """The edXML document id: "{sender},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}"."""
    if not header_avro.valid_date(promulgation_date_iso):
        raise EncodeError(f"promulgation date {promulgation_date_iso!r} is not yyyy-MM-dd")
    return f"{sender_id},{promulgation_date_iso.replace('-', '/')},{code_number}/{code_notation}"


# The shape `make_document_id` gives: sender, a yyyy/MM/dd date, then number/notation.
_DOCUMENT_ID = re.compile(r"[^,\s]+,([0-9]{4})/([0-9]{2})/([0-9]{2}),[^/]+/.+\Z", re.DOTALL)


def valid_document_id(text: str) -> bool:
    """True for an id of the edXML shape "{sender},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}"
    with a real calendar date; what a revoke, update or replace may name as its target."""
    m = _DOCUMENT_ID.match(text)
    return m is not None and header_avro.valid_date("-".join(m.groups()))


def write_value(schema: Any, value: Any, what: str) -> bytes:
    """fastavro's schemaless encoding of `value`; EncodeError naming `what` if it does not fit."""
    out = io.BytesIO()
    try:
        schemaless_writer(out, schema, value)
    except Exception as exc:  # fastavro raises ValueError, TypeError, OverflowError, ...
        raise EncodeError(f"{what} does not fit its schema: {exc}") from exc
    return out.getvalue()


# ---- Document --------------------------------------------------------------


def _union_branch(schema: dict[str, Any], field: str) -> str:
    """The full name of the record branch of a `["null", record]` field of `schema`."""
    union = next(f["type"] for f in schema["fields"] if f["name"] == field)
    return str(next(branch["name"] for branch in union if isinstance(branch, dict)))


# The record branch of each `["null", record]` union of the document, named for fastavro by
# its tuple notation `(name, value)`. Given a plain dict, fastavro picks the branch by
# validating the value against each branch, which was about a third of its time writing a
# document (docs/BENCHMARKS.md, "Producer's per-document work"). The name is given only
# for a value that validation accepts (`_kind_fits`, `_business_fits`); any other value
# goes as a plain dict and fails as it always did.
_KIND_BRANCH = _union_branch(DOCUMENT_SCHEMA, "document_kind")
_BUSINESS_BRANCH = _union_branch(DOCUMENT_SCHEMA, "business")
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
# Avro symbol of an IntEnum value by dictionary, not `Priority(value).name` (an Enum call
# costs about a microsecond); an int equal to a member finds it as the call would.
_PRIORITY_SYMBOL = {p: p.name for p in Priority}
_BUSINESS_SYMBOL = {b: b.name for b in BusinessType}


def _is_int(value: object) -> bool:
    """What fastavro's validation accepts for an Avro int."""
    return isinstance(value, int) and not isinstance(value, bool) and _INT_MIN <= value <= _INT_MAX


def _kind_fits(kind: dict[str, Any]) -> bool:
    return (
        _is_int(kind["type"])
        and _is_int(kind["type_detail"])
        and isinstance(kind["type_name"], str)
    )


def _business_fits(business: dict[str, Any]) -> bool:
    replacement = business["replacement"]
    return (
        isinstance(business["target"], str)
        and isinstance(business["reason"], str)
        and (replacement is None or isinstance(replacement, str))
    )


def _detail_to_avro(d: OrganDetail) -> dict[str, Any]:
    return {
        "organization_in_charge": d.organization_in_charge,
        "address": d.address,
        "email": d.email,
        "telephone": d.telephone,
        "fax": d.fax,
        "website": d.website,
    }


def _document_to_avro(doc: Document) -> dict[str, Any]:
    """The Avro value of `doc` (schema v6; the older layouts read a prefix of its fields).

    Written out field by field, without helper calls or Enum calls: it runs once per
    document the producer sends. What it gives is pinned by tests/unit/test_codec.py
    against the plain mapping of every field."""
    sender, recipients, attachments = doc.sender, doc.recipients, doc.attachments
    kind, business, other = doc.document_kind, doc.business, doc.other_info
    priority, business_type = doc.priority, doc.business_type
    kind_value: Any = None
    if kind is not None:
        kind_value = {
            "type": int(kind.type),
            "type_detail": kind.type_detail,
            "type_name": kind.type_name,
        }
        if _kind_fits(kind_value):
            kind_value = (_KIND_BRANCH, kind_value)
    business_value: Any = None
    if business is not None:
        business_value = {
            "target": business.target,
            "reason": business.reason,
            "replacement": business.replacement,
        }
        if _business_fits(business_value):
            business_value = (_BUSINESS_BRANCH, business_value)
    # The lists parallel to recipients and attachments are canonically empty when nothing
    # in them is stated, otherwise one entry per item (docs/SCHEMAS.md).
    recipient_details = (
        [_detail_to_avro(r.detail) for r in recipients]
        if any(r.detail is not header_avro.NO_DETAIL and r.detail.stated for r in recipients)
        else []
    )
    attachment_details = (
        [{"content_id": a.content_id, "description": a.description} for a in attachments]
        if any(a.content_id or a.description for a in attachments)
        else []
    )
    return {
        "id": doc.id,
        "sender": {"id": sender.id, "name": sender.name},
        "recipients": [{"id": r.id, "name": r.name} for r in recipients],
        "code_number": doc.code_number,
        "code_notation": doc.code_notation,
        "promulgation_place": doc.promulgation_place,
        "promulgation_date": doc.promulgation_date,
        "document_type": str(doc.document_type),
        "subject": doc.subject,
        "signer": {
            "name": doc.signer.name,
            "position": doc.signer.position,
            "competence": doc.signer.competence,
        },
        "priority": _PRIORITY_SYMBOL.get(priority) or Priority(priority).name,
        "secrecy": str(doc.secrecy),
        "business_type": _BUSINESS_SYMBOL.get(business_type) or BusinessType(business_type).name,
        "response_for": doc.response_for,
        "due_date": doc.due_date,
        "attachments": [
            {"name": a.name, "media_type": a.media_type, "sha256": a.sha256, "content": a.content}
            for a in attachments
        ],
        "send_time_us": doc.send_time_us,
        "business": business_value,
        # schema v6: the rest of the edXML header
        "sender_detail": _detail_to_avro(sender.detail),
        "recipient_details": recipient_details,
        "document_kind": kind_value,
        "to_places": list(doc.to_places),
        "steering_type": int(doc.steering_type),
        "other_info": {
            "sphere_of_promulgation": other.sphere_of_promulgation,
            "typer_notation": other.typer_notation,
            "promulgation_amount": other.promulgation_amount,
            "page_amount": other.page_amount,
            "direction": other.direction,
            "appendixes": list(other.appendixes),
        },
        "response_for_list": [
            {
                "organ_id": r.organ_id,
                "code": r.code,
                "promulgation_date": r.promulgation_date,
                "document_id": r.document_id,
            }
            for r in doc.response_for_list
        ],
        "attachment_details": attachment_details,
    }


def encode_document(doc: Document) -> bytes:
    """Canonical encoding of `doc`: these bytes are what is signed.

    Semantic defects (a bad date, a wrong attachment digest) are encoded as
    given, so a fault plan can produce them; the strict decoder rejects them.
    """
    try:
        value = _document_to_avro(doc)
    except (AttributeError, ValueError, TypeError) as exc:
        raise EncodeError(f"not a valid Document: {exc}") from exc
    data = write_value(DOCUMENT_SCHEMA, value, "document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise EncodeError(f"document encodes to {len(data)} bytes, above {MAX_DOCUMENT_BYTES}")
    return data


def _document(  # noqa: PLR0917 - the reader passes a record's fields by position
    id_: str,
    sender: AgencyRef,
    recipients: list[AgencyRef],
    code_number: str,
    code_notation: str,
    promulgation_place: str,
    promulgation_date: str,
    document_type: DocumentType,
    subject: str,
    signer: Signer,
    priority: Priority,
    secrecy: Secrecy,
    business_type: BusinessType,
    response_for: str | None,
    due_date: str | None,
    attachments: list[Attachment],
    send_time_us: int,
    # v5 appends business; v6 the rest of the edXML header. A record of an older layout
    # ends early: these are then at their defaults.
    business: Business | None = None,
    sender_detail: OrganDetail = header_avro.NO_DETAIL,
    recipient_details: Sequence[OrganDetail] = (),
    document_kind: DocumentKind | None = None,
    to_places: Sequence[str] = (),
    steering_type: int = 0,
    other_info: OtherInfo = header_avro.NO_OTHER,
    response_for_list: Sequence[ResponseFor] = (),
    attachment_details: Sequence[tuple[str, str]] = (),
) -> Document:
    """The Document of a record the reader has read in full (its root constructor), every
    field by position, each record inside it already built.

    The checks run in a fixed order (dates, attachment details and digests, recipient
    details, then the v6 header fields), so an input with several defects always gets
    the same reason; they all come after every check of the bytes."""
    if not header_avro.valid_date(promulgation_date):
        raise DecodeError(DecodeReason.BAD_DATE, "promulgation_date is not a valid yyyy-MM-dd")
    if due_date is not None and not header_avro.valid_date(due_date):
        raise DecodeError(DecodeReason.BAD_DATE, "due_date is not a valid yyyy-MM-dd")
    refs = header_avro.parallel(
        attachment_details, attachments, "attachment_details", "attachments", any
    )
    for i, a in enumerate(attachments):
        if content_sha256(a.content) != a.sha256:
            raise DecodeError(DecodeReason.BAD_DIGEST, f"attachment {i} sha256 mismatch")
    if refs:
        attachments = [
            _ATTACHMENT(a.name, a.media_type, a.sha256, a.content, content_id, description)
            for a, (content_id, description) in zip(attachments, attachment_details, strict=True)
        ]
    if header_avro.parallel(
        recipient_details, recipients, "recipient_details", "recipients", _stated
    ):
        recipients = [
            _AGENCY(r.id, r.name, d) for r, d in zip(recipients, recipient_details, strict=True)
        ]
    if sender_detail is not header_avro.NO_DETAIL:
        sender = _AGENCY(sender.id, sender.name, sender_detail)
    if document_kind is not None:
        header_avro.check_kind(document_kind)
    steering = header_avro.steering(steering_type)
    if other_info is not header_avro.NO_OTHER:
        header_avro.check_other(other_info)
    if response_for_list:
        header_avro.check_responses(response_for, response_for_list)
    return _DOCUMENT(
        id_,
        sender,
        tuple(recipients),
        code_number,
        code_notation,
        promulgation_place,
        promulgation_date,
        document_type,
        subject,
        signer,
        priority,
        secrecy,
        business_type,
        response_for,
        due_date,
        tuple(attachments),
        send_time_us,
        business,
        document_kind,
        tuple(to_places),
        steering,
        other_info,
        tuple(response_for_list),
    )


def _stated(detail: OrganDetail) -> bool:
    return detail is not header_avro.NO_DETAIL


_DOCUMENT = positional(Document)
_AGENCY = positional(AgencyRef)
_ATTACHMENT = positional(Attachment)


def _enum_values(schema: dict[str, Any], name: str, value: Callable[[str], Any]) -> list[Any]:
    """The model's value of each symbol of enum `name`, in the schema's order (the reader
    gives the one at the index read)."""
    return [value(symbol) for symbol in schema["__named_schemas"][name]["symbols"]]


# What the document reader builds: each record of the document, and the model's members
# of its enums. Every map is one to one, so what the reader proves of the bytes
# (`StrictReader.proves_canonical`) still holds of the Document.
_DOCUMENT_RECORDS: dict[str, Callable[..., Any]] = {
    "vn.interchange.Document": _document,
    "vn.interchange.AgencyRef": positional(AgencyRef, given=2),  # its detail: v6's list
    "vn.interchange.Signer": positional(Signer),
    "vn.interchange.Attachment": positional(Attachment, given=4),  # content_id, description
    "vn.interchange.Business": positional(Business),
    "vn.interchange.OrganDetail": header_avro.organ,
    "vn.interchange.DocumentKind": header_avro.kind,
    "vn.interchange.OtherInfo": header_avro.other,
    "vn.interchange.ResponseFor": positional(ResponseFor),
    "vn.interchange.AttachmentDetail": header_avro.attachment_detail,
}
_DOCUMENT_ENUMS = {
    "vn.interchange.DocumentType": _enum_values(
        DOCUMENT_SCHEMA, "vn.interchange.DocumentType", DocumentType
    ),
    "vn.interchange.Priority": _enum_values(
        DOCUMENT_SCHEMA, "vn.interchange.Priority", _PRIORITY.__getitem__
    ),
    "vn.interchange.Secrecy": _enum_values(DOCUMENT_SCHEMA, "vn.interchange.Secrecy", Secrecy),
    "vn.interchange.BusinessType": _enum_values(
        DOCUMENT_SCHEMA, "vn.interchange.BusinessType", _BUSINESS.__getitem__
    ),
}
_DOCUMENT_READER = StrictReader(
    DOCUMENT_SCHEMA, _DOCUMENT_LIMITS, _DOCUMENT_RECORDS, _DOCUMENT_ENUMS
)
_DOCUMENT_V5_READER = StrictReader(
    _DOCUMENT_V5_SCHEMA, _DOCUMENT_LIMITS, _DOCUMENT_RECORDS, _DOCUMENT_ENUMS
)
_DOCUMENT_V4_READER = StrictReader(
    _DOCUMENT_V4_SCHEMA, _DOCUMENT_LIMITS, _DOCUMENT_RECORDS, _DOCUMENT_ENUMS
)


def _strict_decode(data: object, reader: StrictReader, encode: Callable[[T], bytes]) -> T:
    """Read (the reader builds the model value, checks included), then prove canonical
    form; only DecodeError escapes.

    Where the reader proves canonical form itself (`StrictReader.proves_canonical`: true
    for every schema of the axis), the fastavro re-encode is skipped: the reader's
    constructors and enum tables map what it reads one to one onto the model, which
    `encode` maps back, so the re-encode could only give the input again (the one
    many-to-one case, a v6 list of details that states nothing, is refused in
    `header_avro.parallel`). It was 11% of the router's CPU. For a reader without that
    proof the re-encode is still compared. The hostile-input fuzz test re-encodes
    everything accepted and checks the bytes are the input."""
    try:
        result: T = reader.read(data)
        if not reader.proves_canonical and encode(result) != data:
            raise DecodeError(DecodeReason.NON_CANONICAL, "re-encoding differs from the input")
    except DecodeError:
        raise
    except Exception as exc:  # untrusted input: nothing else may escape
        raise DecodeError(DecodeReason.INTERNAL, f"{type(exc).__name__}: {exc}") from exc
    return result


_Way = tuple[StrictReader, Callable[[T], bytes]]


def _strict_decode_either(data: object, current: _Way[T], *older: _Way[T]) -> T:
    """The current schema's reading; a record that ends early is tried as each older
    schema's, newest first (appended fields absent); if none reads it, the current
    error stands. Each older layout is a prefix of the next, so at most one reads it."""
    try:
        return _strict_decode(data, *current)
    except DecodeError as exc:
        if exc.reason != DecodeReason.TRUNCATED:
            raise
        for way in older:
            try:
                return _strict_decode(data, *way)
            except DecodeError as old:
                if old.reason != DecodeReason.TRUNCATED:
                    break
        raise exc from None


def decode_document(data: bytes) -> Document:
    """Strictly decode signed content bytes; raises DecodeError only.

    A document written with an older schema still decodes, its v6 header fields at
    their defaults: v5 (it ends after `business`) and v1 to v4 (it ends after
    `send_time_us`, `business` None). Its signed bytes are what they were, so its
    signature still verifies."""
    return _strict_decode_either(
        data,
        (_DOCUMENT_READER, encode_document),
        (_DOCUMENT_V5_READER, _encode_v5),
        (_DOCUMENT_V4_READER, _encode_v4),
    )


def _encode_v5(doc: Document) -> bytes:
    """The v5 wire form (no v6 header fields): the canonical check of a v5 record."""
    return write_value(_DOCUMENT_V5_SCHEMA, _document_to_avro(doc), "document")


def _encode_v4(doc: Document) -> bytes:
    """The v1-v4 wire form (no `business`): the canonical check of such a record."""
    return write_value(_DOCUMENT_V4_SCHEMA, _document_to_avro(doc), "document")


# ---- Envelope --------------------------------------------------------------


def encode_envelope(env: Envelope) -> bytes:
    """Encode an envelope; `content` is embedded as given (never re-encoded)."""
    try:
        value = {
            "content": env.content,
            "signature": env.signature,
            "cert_id": env.cert_id,
            "trace": [{"node": h.node, "time_us": h.time_us} for h in env.trace],
            "content_format": str(ContentFormat(env.content_format)),
        }
    except (AttributeError, TypeError, ValueError) as exc:
        raise EncodeError(f"not a valid Envelope: {exc}") from exc
    return write_value(ENVELOPE_SCHEMA, value, "envelope")


def _envelope(
    content: bytes,
    signature: bytes,
    cert_id: str,
    trace: list[Hop],
    content_format: ContentFormat = ContentFormat.AVRO,  # v6; absent from v1-v5 records
) -> Envelope:
    """The Envelope of a record the reader has read in full (its root constructor)."""
    if not CERT_ID.fullmatch(cert_id):
        raise DecodeError(DecodeReason.BAD_VALUE, "cert_id is not 64 lowercase hex digits")
    return _ENVELOPE(content, signature, cert_id, tuple(trace), content_format)


_ENVELOPE = positional(Envelope)
_ENVELOPE_RECORDS: dict[str, Callable[..., Any]] = {
    "vn.interchange.Envelope": _envelope,
    "vn.interchange.Hop": positional(Hop),
}
_ENVELOPE_ENUMS = {
    "vn.interchange.ContentFormat": _enum_values(
        ENVELOPE_SCHEMA, "vn.interchange.ContentFormat", ContentFormat
    )
}
_ENVELOPE_READER = StrictReader(
    ENVELOPE_SCHEMA, _ENVELOPE_LIMITS, _ENVELOPE_RECORDS, _ENVELOPE_ENUMS
)
_ENVELOPE_V5_READER = StrictReader(
    _ENVELOPE_V5_SCHEMA, _ENVELOPE_LIMITS, _ENVELOPE_RECORDS, _ENVELOPE_ENUMS
)


def decode_envelope(data: bytes) -> Envelope:
    """Strictly decode an envelope; `content` stays bytes (decode it with decode_document).

    An envelope written with schemas v1 to v5 (it ends after `trace`) still decodes, as
    `ContentFormat.AVRO`."""
    return _strict_decode_either(
        data,
        (_ENVELOPE_READER, encode_envelope),
        (_ENVELOPE_V5_READER, _encode_envelope_v5),
    )


def _encode_envelope_v5(env: Envelope) -> bytes:
    """The v1-v5 wire form (no `content_format`): the canonical check of such a record."""
    return encode_envelope(env)[:-1] if env.content_format is ContentFormat.AVRO else b""


# ---- StatusMessage ---------------------------------------------------------


_STAFF_BRANCH = "vn.interchange.StaffInfo"  # the named record of the status's staff union


def encode_status(msg: StatusMessage) -> bytes:
    try:
        value = {
            "document_id": msg.document_id,
            "sender": msg.sender,
            "recipient": msg.recipient,
            "code": _STATUS_TO_AVRO[StatusCode(msg.code)],
            "time_us": msg.time_us,
            "detail": msg.detail,
            # fastavro's tuple notation names the union branch: no trial of each branch
            # against the value (a status with staff 10.4 -> 8.4 µs, best of 15 rounds)
            "staff": None
            if msg.staff is None
            else (
                _STAFF_BRANCH,
                {
                    "name": msg.staff.name,
                    "position": msg.staff.position,
                    "department": msg.staff.department,
                },
            ),
            "online": msg.online,
            "due_us": msg.due_us,
        }
    except (AttributeError, ValueError, TypeError, KeyError) as exc:
        raise EncodeError(f"not a valid StatusMessage: {exc}") from exc
    return write_value(STATUS_SCHEMA, value, "status")


_STATUS_ENUMS = {
    "vn.interchange.StatusCode": _enum_values(
        STATUS_SCHEMA, "vn.interchange.StatusCode", _STATUS_FROM_AVRO.__getitem__
    )
}
_STATUS_LIMITS = Limits(max_input=MAX_RECORD_BYTES)
# A status has no check across its fields: the reader builds it as it ends. A v1 record
# lacks the last three fields (v2 appended them), which its constructor leaves None.
_STATUS_READER = StrictReader(
    STATUS_SCHEMA,
    _STATUS_LIMITS,
    {
        "vn.interchange.StatusMessage": positional(StatusMessage),
        "vn.interchange.StaffInfo": positional(StaffInfo),
    },
    _STATUS_ENUMS,
)
_STATUS_V1_READER = StrictReader(
    _status_v1_schema(),
    _STATUS_LIMITS,
    {"vn.interchange.StatusMessage": positional(StatusMessage, given=_STATUS_V1_FIELDS)},
    _STATUS_ENUMS,
)


def decode_status(data: bytes) -> StatusMessage:
    """Strictly decode a status record of schema v2, or of v1 (work-record fields None)."""
    return _strict_decode_either(
        data,
        (_STATUS_READER, encode_status),
        (_STATUS_V1_READER, _encode_status_v1),
    )


def _encode_status_v1(msg: StatusMessage) -> bytes:
    """The v1 wire form: v2 with its three trailing null unions (one 0 byte each) left off."""
    return encode_status(msg)[: -len(_STATUS_V2_FIELDS)]


# ---- Rejection -------------------------------------------------------------


def encode_rejection(rej: Rejection) -> bytes:
    try:
        value = {
            **_rejection_v1_value(rej),
            "topic": rej.topic,
            "partition": rej.partition,
            "offset": rej.offset,
            "authenticated": rej.authenticated,
        }
    except (AttributeError, ValueError, TypeError) as exc:
        raise EncodeError(f"not a valid Rejection: {exc}") from exc
    return write_value(REJECTION_SCHEMA, value, "rejection")


def _encode_rejection_v1(rej: Rejection) -> bytes:
    """The v1-v3 encoding (no submission coordinates): the canonical check of such a record."""
    return write_value(_REJECTION_V1_SCHEMA, _rejection_v1_value(rej), "rejection")


def _rejection_v1_value(rej: Rejection) -> dict[str, Any]:
    return {
        "document_id": rej.document_id,
        "sender": rej.sender,
        "reason": str(ReasonCode(rej.reason)),
        "detail": rej.detail,
        "content_sha256": rej.content_sha256,
        "secrecy": str(Secrecy(rej.secrecy)),
        "recipient": rej.recipient,
        "time_us": rej.time_us,
        "send_time_us": rej.send_time_us,
    }


# A rejection has no check across its fields: the reader builds it as it ends. A record
# of v1-v3 lacks the submission coordinates (v4 appended them): at their defaults.
_REJECTION_LIMITS = Limits(max_input=MAX_RECORD_BYTES)
_REJECTION_ENUMS = {
    name: _enum_values(REJECTION_SCHEMA, name, value)
    for name, value in (
        ("vn.interchange.ReasonCode", ReasonCode),
        ("vn.interchange.Secrecy", Secrecy),
    )
}
_REJECTION_READER = StrictReader(
    REJECTION_SCHEMA,
    _REJECTION_LIMITS,
    {"vn.interchange.Rejection": positional(Rejection)},
    _REJECTION_ENUMS,
)
_REJECTION_V1_READER = StrictReader(
    _REJECTION_V1_SCHEMA,
    _REJECTION_LIMITS,
    {"vn.interchange.Rejection": positional(Rejection, given=REJECTION_V1_FIELDS)},
    _REJECTION_ENUMS,
)


def decode_rejection(data: bytes) -> Rejection:
    """Strict; a record written with schemas v1 to v3 (it ends where v4's added fields
    begin) still decodes, with their defaults (no coordinates, not authenticated)."""
    return _strict_decode_either(
        data,
        (_REJECTION_READER, encode_rejection),
        (_REJECTION_V1_READER, _encode_rejection_v1),
    )
