"""The document encoder's bytes against the plain encoding of every field.

`codec.encode_document` names the branch of each `["null", record]` union for fastavro
(tuple notation) and maps enums by dictionary: shortcuts for the producer's CPU. The
reference here is the straightforward mapping it replaced: every field as a plain dict,
enums through their Enum call, and fastavro left to pick each union's branch by
validation. The signed bytes must be the same for every document, and a value that does
not fit must still fail.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import given, settings
from strategies import documents
from test_codec import sample_document

from interchange.errors import EncodeError
from interchange.wire import codec
from interchange.wire.model import (
    AgencyRef,
    Business,
    BusinessType,
    Document,
    DocumentCategory,
    DocumentKind,
    OrganDetail,
    Priority,
)


def _detail(d: OrganDetail) -> dict[str, Any]:
    return {name: getattr(d, name) for name in OrganDetail.__slots__}


def plain_avro(doc: Document) -> dict[str, Any]:
    """Every field of `doc` as plain Avro values: no union branch named."""
    kind, other, business = doc.document_kind, doc.other_info, doc.business
    recipient_details = [_detail(r.detail) for r in doc.recipients]
    if not any(r.detail.stated for r in doc.recipients):
        recipient_details = []
    attachment_details = [
        {"content_id": a.content_id, "description": a.description} for a in doc.attachments
    ]
    if not any(a.content_id or a.description for a in doc.attachments):
        attachment_details = []
    return {
        "id": doc.id,
        "sender": {"id": doc.sender.id, "name": doc.sender.name},
        "recipients": [{"id": r.id, "name": r.name} for r in doc.recipients],
        "code_number": doc.code_number,
        "code_notation": doc.code_notation,
        "promulgation_place": doc.promulgation_place,
        "promulgation_date": doc.promulgation_date,
        "document_type": str(doc.document_type),
        "subject": doc.subject,
        "signer": dataclasses.asdict(doc.signer),
        "priority": Priority(doc.priority).name,
        "secrecy": str(doc.secrecy),
        "business_type": BusinessType(doc.business_type).name,
        "response_for": doc.response_for,
        "due_date": doc.due_date,
        "attachments": [
            {"name": a.name, "media_type": a.media_type, "sha256": a.sha256, "content": a.content}
            for a in doc.attachments
        ],
        "send_time_us": doc.send_time_us,
        "business": None if business is None else dataclasses.asdict(business),
        "sender_detail": _detail(doc.sender.detail),
        "recipient_details": recipient_details,
        "document_kind": None
        if kind is None
        else {"type": int(kind.type), "type_detail": kind.type_detail, "type_name": kind.type_name},
        "to_places": list(doc.to_places),
        "steering_type": int(doc.steering_type),
        "other_info": {**dataclasses.asdict(other), "appendixes": list(other.appendixes)},
        "response_for_list": [dataclasses.asdict(r) for r in doc.response_for_list],
        "attachment_details": attachment_details,
    }


def plain_encoding(doc: Document) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, codec.DOCUMENT_SCHEMA, plain_avro(doc))
    return out.getvalue()


@settings(max_examples=300)
@given(documents())
def test_encode_document_writes_the_plain_encoding(doc: Document) -> None:
    assert codec.encode_document(doc) == plain_encoding(doc)


def test_the_union_shortcut_is_taken_for_a_stated_kind_and_business() -> None:
    """The documents above state a kind and a business; the encoder names their branch."""
    doc = sample_document(
        document_kind=DocumentKind(DocumentCategory.ADMINISTRATIVE, 2, "Quyết định"),
        business=Business("t", "r", None),
    )
    value = codec._document_to_avro(doc)
    assert value["document_kind"][0] == "vn.interchange.DocumentKind"
    assert value["business"][0] == "vn.interchange.Business"
    assert codec.encode_document(doc) == plain_encoding(doc)


def test_priority_given_as_its_code_encodes_as_the_member() -> None:
    doc = sample_document(priority=Priority.URGENT)
    as_code = sample_document(priority=1)
    assert codec.encode_document(as_code) == codec.encode_document(doc) == plain_encoding(doc)


@pytest.mark.parametrize(
    "changes",
    [
        {"document_kind": DocumentKind(DocumentCategory.LEGAL, 1 << 40, "x")},
        {"document_kind": DocumentKind(DocumentCategory.LEGAL, True, "x")},
        {"document_kind": DocumentKind(DocumentCategory.LEGAL, 1, None)},  # type: ignore[arg-type]
        {"business": Business(b"target", "r", None)},  # type: ignore[arg-type]
        {"business": Business("t", "r", 7)},  # type: ignore[arg-type]
        {"priority": 9},
        {"business_type": "NEW"},
        {"sender": AgencyRef("000.00.00.G22", "x", None)},  # type: ignore[arg-type]
    ],
    ids=[
        "kind-int-overflow",
        "kind-bool",
        "kind-name",
        "business-bytes",
        "replacement-int",
        "priority",
        "business-type",
        "detail",
    ],
)
def test_a_value_that_does_not_fit_still_fails(changes: dict[str, object]) -> None:
    """Named branches skip fastavro's validation, so the encoder names one only for a value
    that validation accepts: a union value that does not fit fails as it did."""
    doc = sample_document(**changes)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the reference: any fastavro error
        plain_encoding(doc)
    with pytest.raises(EncodeError):
        codec.encode_document(doc)
