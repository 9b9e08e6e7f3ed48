"""The strict decode as it was before the reader built the model: a test oracle only.

The codec's readers used to return dicts and enum symbols, which `*_from_avro` mapped
onto the model afterwards, checks included, in a fixed order. This is that path, kept
as it was (the dict readers are `StrictReader` without constructors, the mapping and
the v6 header's checks copied from `codec` and `header_avro` before the change), so
`test_codec_builds_in_reader.py` can hold the reader-built decode to it input for
input: the same value, or the same reason and detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from interchange.errors import DecodeError
from interchange.wire import codec, header_avro
from interchange.wire.model import (
    CERT_ID,
    AdministrativeKind,
    AgencyRef,
    Attachment,
    Business,
    ContentFormat,
    Document,
    DocumentCategory,
    DocumentKind,
    DocumentType,
    Envelope,
    Hop,
    OrganDetail,
    OtherInfo,
    ReasonCode,
    Rejection,
    ResponseFor,
    Secrecy,
    Signer,
    StaffInfo,
    StatusMessage,
    SteeringType,
)
from interchange.wire.strict import DecodeReason, Limits, StrictReader

T = TypeVar("T")

# ---- the v6 header's checks on dicts (header_avro before the change) ------------------

_CATEGORY = {int(c): c for c in DocumentCategory}
_CATEGORIES = frozenset(_CATEGORY)
_STEERING = {int(s): s for s in SteeringType}
_NO_DETAIL = OrganDetail()
_NO_OTHER = OtherInfo()
_EMPTY_DETAIL = {name: getattr(_NO_DETAIL, name) for name in OrganDetail.__slots__}
_EMPTY_OTHER = {
    **{name: getattr(_NO_OTHER, name) for name in OtherInfo.__slots__},
    "appendixes": list(_NO_OTHER.appendixes),
}
_MAX_ADMINISTRATIVE = max(AdministrativeKind)


def parallel(v: dict[str, Any], name: str, items: str) -> list[dict[str, Any]] | None:
    details: list[dict[str, Any]] = v.get(name, [])
    if not details:
        return None
    if len(details) != len(v[items]):
        raise DecodeError(
            DecodeReason.BAD_VALUE, f"{name} has {len(details)} entries for {len(v[items])} {items}"
        )
    if not any(value for entry in details for value in entry.values()):
        raise DecodeError(DecodeReason.NON_CANONICAL, f"{name} states nothing: write no list")
    return details


def organ(d: dict[str, Any] | None) -> OrganDetail:
    if d is None or d == _EMPTY_DETAIL:
        return _NO_DETAIL
    return OrganDetail(**d)


def kind_from_avro(k: dict[str, Any] | None) -> DocumentKind | None:
    if k is None:
        return None
    if k["type"] not in _CATEGORIES:
        raise DecodeError(DecodeReason.BAD_VALUE, f"document_kind.type {k['type']} not 1 or 2")
    top = _MAX_ADMINISTRATIVE if k["type"] == DocumentCategory.ADMINISTRATIVE else 1 << 31
    if not 0 <= k["type_detail"] <= top:
        raise DecodeError(DecodeReason.BAD_VALUE, f"document_kind.type_detail {k['type_detail']}")
    return DocumentKind(_CATEGORY[k["type"]], k["type_detail"], k["type_name"])


def other_from_avro(o: dict[str, Any] | None) -> OtherInfo:
    if o is None or o == _EMPTY_OTHER:
        return _NO_OTHER
    if o["promulgation_amount"] < 0 or o["page_amount"] < 0:
        raise DecodeError(DecodeReason.BAD_VALUE, "other_info amounts must not be negative")
    return OtherInfo(**{**o, "appendixes": tuple(o["appendixes"])})


def responses_from_avro(v: dict[str, Any]) -> tuple[ResponseFor, ...]:
    answered = tuple(ResponseFor(**r) for r in v.get("response_for_list", []))
    for r in answered:
        if not header_avro.valid_date(r.promulgation_date):
            raise DecodeError(DecodeReason.BAD_DATE, "response_for_list promulgation_date")
    if answered and v["response_for"] != answered[0].document_id:
        raise DecodeError(
            DecodeReason.BAD_VALUE, "response_for is not response_for_list's first document_id"
        )
    return answered


def steering_from_avro(value: int) -> SteeringType:
    steering = _STEERING.get(value)
    if steering is None:
        raise DecodeError(DecodeReason.BAD_VALUE, f"steering_type {value} not 0-3")
    return steering


# ---- the mapping (codec before the change) --------------------------------------------

_PRIORITY = codec._PRIORITY
_BUSINESS = codec._BUSINESS
_DOCTYPE = {d.value: d for d in DocumentType}
_SECRECY = {s.value: s for s in Secrecy}
_FORMAT = {f.value: f for f in ContentFormat}
_REASON = {r.value: r for r in ReasonCode}


def document_from_avro(v: dict[str, Any]) -> Document:
    if not header_avro.valid_date(v["promulgation_date"]):
        raise DecodeError(DecodeReason.BAD_DATE, "promulgation_date is not a valid yyyy-MM-dd")
    if v["due_date"] is not None and not header_avro.valid_date(v["due_date"]):
        raise DecodeError(DecodeReason.BAD_DATE, "due_date is not a valid yyyy-MM-dd")
    refs = parallel(v, "attachment_details", "attachments")
    attachments = []
    for i, a in enumerate(v["attachments"]):
        if codec.content_sha256(a["content"]) != a["sha256"]:
            raise DecodeError(DecodeReason.BAD_DIGEST, f"attachment {i} sha256 mismatch")
        attachments.append(
            Attachment(a["name"], a["media_type"], a["sha256"], a["content"])
            if refs is None
            else Attachment(
                a["name"],
                a["media_type"],
                a["sha256"],
                a["content"],
                refs[i]["content_id"],
                refs[i]["description"],
            )
        )
    details = parallel(v, "recipient_details", "recipients")
    recipients = (
        [AgencyRef(r["id"], r["name"]) for r in v["recipients"]]
        if details is None
        else [
            AgencyRef(r["id"], r["name"], organ(d))
            for r, d in zip(v["recipients"], details, strict=True)
        ]
    )
    sender, s = v["sender"], v["signer"]
    business = v.get("business")
    return Document(
        v["id"],
        AgencyRef(sender["id"], sender["name"], organ(v.get("sender_detail"))),
        tuple(recipients),
        v["code_number"],
        v["code_notation"],
        v["promulgation_place"],
        v["promulgation_date"],
        _DOCTYPE[v["document_type"]],
        v["subject"],
        Signer(s["name"], s["position"], s["competence"]),
        _PRIORITY[v["priority"]],
        _SECRECY[v["secrecy"]],
        _BUSINESS[v["business_type"]],
        v["response_for"],
        v["due_date"],
        tuple(attachments),
        v["send_time_us"],
        None
        if business is None
        else Business(business["target"], business["reason"], business["replacement"]),
        kind_from_avro(v.get("document_kind")),
        tuple(v.get("to_places", ())),
        steering_from_avro(v.get("steering_type", 0)),
        other_from_avro(v.get("other_info")),
        responses_from_avro(v),
    )


def envelope_from_avro(v: dict[str, Any]) -> Envelope:
    if not CERT_ID.fullmatch(v["cert_id"]):
        raise DecodeError(DecodeReason.BAD_VALUE, "cert_id is not 64 lowercase hex digits")
    return Envelope(
        v["content"],
        v["signature"],
        v["cert_id"],
        tuple([Hop(h["node"], h["time_us"]) for h in v["trace"]]),
        _FORMAT[v.get("content_format", "AVRO")],
    )


def status_from_avro(v: dict[str, Any]) -> StatusMessage:
    staff = v["staff"]
    return StatusMessage(
        v["document_id"],
        v["sender"],
        v["recipient"],
        codec._STATUS_FROM_AVRO[v["code"]],
        v["time_us"],
        v["detail"],
        None if staff is None else StaffInfo(staff["name"], staff["position"], staff["department"]),
        v["online"],
        v["due_us"],
    )


def status_v1_from_avro(v: dict[str, Any]) -> StatusMessage:
    return status_from_avro(dict.fromkeys(codec._STATUS_V2_FIELDS) | v)


def rejection_from_avro(v: dict[str, Any]) -> Rejection:
    return Rejection(
        document_id=v["document_id"],
        sender=v["sender"],
        reason=_REASON[v["reason"]],
        detail=v["detail"],
        content_sha256=v["content_sha256"],
        secrecy=_SECRECY[v["secrecy"]],
        recipient=v["recipient"],
        time_us=v["time_us"],
        send_time_us=v["send_time_us"],
        topic=v.get("topic", ""),
        partition=v.get("partition", -1),
        offset=v.get("offset", -1),
        authenticated=v.get("authenticated", False),
    )


# ---- read, then map; older layouts on TRUNCATED (codec before the change) ----------------

Way = tuple[StrictReader, Callable[[dict[str, Any]], Any]]


def strict_decode(data: object, reader: StrictReader, build: Callable[[dict[str, Any]], T]) -> T:
    """Every reader here proves canonical form, as the codec's do: no re-encode."""
    assert reader.proves_canonical
    try:
        return build(reader.read(data))
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(DecodeReason.INTERNAL, f"{type(exc).__name__}: {exc}") from exc


def strict_decode_either(data: object, current: Way, *older: Way) -> Any:
    try:
        return strict_decode(data, *current)
    except DecodeError as exc:
        if exc.reason != DecodeReason.TRUNCATED:
            raise
        for way in older:
            try:
                return strict_decode(data, *way)
            except DecodeError as old:
                if old.reason != DecodeReason.TRUNCATED:
                    break
        raise exc from None


_RECORD_LIMITS = Limits(max_input=codec.MAX_RECORD_BYTES)


def _reader(schema: Any, limits: Limits) -> StrictReader:
    return StrictReader(schema, limits)  # no constructors: dicts and symbols


_DOCUMENT = (
    (_reader(codec.DOCUMENT_SCHEMA, codec._DOCUMENT_LIMITS), document_from_avro),
    (_reader(codec._DOCUMENT_V5_SCHEMA, codec._DOCUMENT_LIMITS), document_from_avro),
    (_reader(codec._DOCUMENT_V4_SCHEMA, codec._DOCUMENT_LIMITS), document_from_avro),
)
_ENVELOPE = (
    (_reader(codec.ENVELOPE_SCHEMA, codec._ENVELOPE_LIMITS), envelope_from_avro),
    (_reader(codec._ENVELOPE_V5_SCHEMA, codec._ENVELOPE_LIMITS), envelope_from_avro),
)
_STATUS = (
    (_reader(codec.STATUS_SCHEMA, _RECORD_LIMITS), status_from_avro),
    (_reader(codec._status_v1_schema(), _RECORD_LIMITS), status_v1_from_avro),
)
_REJECTION = (
    (_reader(codec.REJECTION_SCHEMA, _RECORD_LIMITS), rejection_from_avro),
    (_reader(codec._REJECTION_V1_SCHEMA, _RECORD_LIMITS), rejection_from_avro),
)


def decode_document(data: object) -> Document:
    result: Document = strict_decode_either(data, *_DOCUMENT)
    return result


def decode_envelope(data: object) -> Envelope:
    result: Envelope = strict_decode_either(data, *_ENVELOPE)
    return result


def decode_status(data: object) -> StatusMessage:
    result: StatusMessage = strict_decode_either(data, *_STATUS)
    return result


def decode_rejection(data: object) -> Rejection:
    result: Rejection = strict_decode_either(data, *_REJECTION)
    return result
