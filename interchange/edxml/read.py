"""Package XML -> model, validating the profile's structure and codes on the way.

`read_document` and `read_status` never raise anything but `PackageError`. Structure:
every element is in the profile's namespace and known at its place, repeated at most
as often as the profile allows, containers hold no text, leaves no elements, and only
`Attachment` has an attribute. The one foreign element is the `ds:Signature` at the
end of edXMLHeader, whose inside `dsig` checks. So a second MessageHeader, a document
hidden in an unknown element or a misplaced signature never reaches the mapping.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from lxml import etree

from interchange.axis.directory import ID_PATTERN
from interchange.edxml import xmlsafe
from interchange.edxml.names import (
    DS,
    NS,
    SECRECY_OF_CODE,
    STATUS_OF_CODE,
    iso_date,
    q,
    time_us,
)
from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.wire.codec import MAX_ATTACHMENTS, MAX_RECIPIENTS, MAX_TRACE_HOPS
from interchange.wire.model import (
    DOCUMENT_KINDS,
    AdministrativeKind,
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    Document,
    DocumentCategory,
    DocumentKind,
    DocumentType,
    OrganDetail,
    OtherInfo,
    Priority,
    ResponseFor,
    Signer,
    StaffInfo,
    StatusMessage,
    SteeringType,
)

_C = TypeVar("_C")
_NUMBER = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() takes "²" too
MAX_INT = (1 << 31) - 1  # the Avro int of amounts and TypeDetail
MANY = 1 << 30
_ORGAN = {
    "OrganId": (1, 1),
    "OrganizationInCharge": (0, 1),
    "OrganName": (0, 1),
    "OrganAdd": (0, 1),
    "Email": (0, 1),
    "Telephone": (0, 1),
    "Fax": (0, 1),
    "Website": (0, 1),
}
_RESPONSE_FOR = {"OrganId": (0, 1), "Code": (0, 1), "PromulgationDate": (0, 1)}
_RESPONSE_FOR["DocumentId"] = (1, 1)
_STAFF = {"Department": (0, 1), "Staff": (0, 1), "Position": (0, 1), "Mobile": (0, 1)}
_STAFF["Email"] = (0, 1)
# element name -> {child name: (min, max)}; a name not here is a text leaf.
SPEC: dict[str, dict[str, tuple[int, int]]] = {
    "edXMLEnvelope": {"edXMLHeader": (1, 1), "edXMLBody": (0, 1)},
    "edXMLHeader": {"MessageHeader": (0, 1), "Status": (0, 1), "TraceHeaderList": (0, 1)},
    "MessageHeader": {
        "From": (1, 1),
        "To": (0, MAX_RECIPIENTS),
        "DocumentId": (1, 1),
        "Code": (1, 1),
        "PromulgationInfo": (1, 1),
        "DocumentType": (1, 1),
        "Subject": (1, 1),
        "Content": (0, 1),
        "SignerInfo": (1, 1),
        "DueDate": (0, 1),
        "ToPlaces": (0, 1),
        "OtherInfo": (0, 1),
        "SteeringType": (0, 1),
        "ResponseFor": (0, MAX_RECIPIENTS),
        "Bussiness": (0, 1),
    },
    "From": _ORGAN,
    "To": _ORGAN,
    "Code": {"CodeNumber": (1, 1), "CodeNotation": (1, 1)},
    "PromulgationInfo": {"Place": (1, 1), "PromulgationDate": (1, 1)},
    "DocumentType": {"Type": (1, 1), "TypeDetail": (0, 1), "TypeName": (0, 1)},
    "SignerInfo": {"Competence": (0, 1), "Position": (1, 1), "FullName": (1, 1)},
    "ToPlaces": {"Place": (0, MAX_RECIPIENTS)},
    "OtherInfo": {
        "Priority": (0, 1),
        "SecurityLevel": (0, 1),
        "SphereOfPromulgation": (0, 1),
        "TyperNotation": (0, 1),
        "PromulgationAmount": (0, 1),
        "PageAmount": (0, 1),
        "Direction": (0, 1),
        "Appendixes": (0, 1),
    },
    "Appendixes": {"Appendix": (0, MAX_ATTACHMENTS)},
    "ResponseFor": _RESPONSE_FOR,
    "Bussiness": {
        "BussinessDocType": (1, 1),
        "BussinessDocReason": (0, 1),
        "DocumentId": (0, 1),
        "Paper": (0, 1),
        "StaffInfo": (0, 1),
        "ReceiverList": (0, 1),
        "ReplacementInfoList": (0, 1),
    },
    "StaffInfo": _STAFF,
    "ReceiverList": {"Receiver": (0, MAX_RECIPIENTS)},
    "Receiver": {"OrganId": (1, 1), "ReceiverType": (0, 1)},
    "ReplacementInfoList": {"ReplacementInfo": (0, 1)},
    "ReplacementInfo": {"DocumentId": (1, 1), "OrganIdList": (0, 1)},
    "OrganIdList": {"OrganId": (0, MAX_RECIPIENTS)},
    "TraceHeaderList": {"TraceHeader": (1, MAX_TRACE_HOPS)},
    "TraceHeader": {"OrganId": (1, 1), "Timestamp": (1, 1)},
    "Status": {
        "ResponseFor": (1, 1),
        "From": (1, 1),
        "StatusCode": (1, 1),
        "Description": (0, 1),
        "Timestamp": (1, 1),
        "StaffInfo": (0, 1),
    },
    "edXMLBody": {"Manifest": (0, 1), "Attachments": (0, 1)},
    "Manifest": {"Reference": (0, MAX_ATTACHMENTS)},
    "Reference": {
        "ContentId": (1, 1),
        "ContentType": (1, 1),
        "Description": (0, 1),
        "AttachmentName": (1, 1),
    },
    "Attachments": {"Attachment": (0, MAX_ATTACHMENTS)},
}
_LEAF_IN = {("ResponseFor", "Code")}  # a leaf there ("12/VPCP-TH"), a container elsewhere
_SIGNATURE = f"{{{DS}}}Signature"


@dataclass(frozen=True, slots=True)
class Package:
    """A parsed, structurally valid package: its root and what kind of package it is."""

    root: etree._Element
    status: bool  # a status package (edXMLHeader/Status) rather than a document


def parse_package(data: object) -> Package:
    """Parse (hardened) and check the structure; PackageError on any defect."""
    root = xmlsafe.parse(data)
    if root.tag != q("edXMLEnvelope"):
        raise PackageError(EdxmlReason.STRUCTURE, f"root element {_name(root)}, not edXMLEnvelope")
    check_structure(root)
    header = root.find(q("edXMLHeader"))
    assert header is not None  # the structure check requires it
    has_message = header.find(q("MessageHeader")) is not None
    has_status = header.find(q("Status")) is not None
    if has_message == has_status:
        raise PackageError(
            EdxmlReason.STRUCTURE, "edXMLHeader holds neither or both MessageHeader and Status"
        )
    if has_message and header.find(q("TraceHeaderList")) is None:
        raise PackageError(EdxmlReason.STRUCTURE, "a document package needs TraceHeaderList")
    return Package(root, has_status)


def check_structure(root: etree._Element) -> None:
    """Walk the tree against SPEC (module docstring). The signature's inside is dsig's."""
    stack: list[etree._Element] = [root]
    while stack:
        node = stack.pop()
        local = etree.QName(node).localname
        for attribute in node.attrib:
            if not (local == "Attachment" and attribute == "ContentId"):
                raise PackageError(EdxmlReason.STRUCTURE, f"attribute {attribute} on {local}")
        parent = node.getparent()
        parent_local = etree.QName(parent).localname if parent is not None else ""
        spec = None if (parent_local, local) in _LEAF_IN else SPEC.get(local)
        elements = [c for c in node if isinstance(c.tag, str)]
        if spec is None:
            if elements:
                raise PackageError(EdxmlReason.STRUCTURE, f"{local} holds elements")
            continue
        if (node.text or "").strip() or any((c.tail or "").strip() for c in node):
            raise PackageError(EdxmlReason.STRUCTURE, f"{local} holds text")
        counts: dict[str, int] = {}
        for child in elements:
            if child.tag == _SIGNATURE and local == "edXMLHeader":
                continue  # dsig checks the signature (count, place and inside)
            if etree.QName(child).namespace != NS:
                raise PackageError(EdxmlReason.STRUCTURE, f"foreign element {_name(child)}")
            name = etree.QName(child).localname
            if name not in spec:
                raise PackageError(EdxmlReason.STRUCTURE, f"{name} is not allowed in {local}")
            counts[name] = counts.get(name, 0) + 1
            stack.append(child)
        for name, (low, high) in spec.items():
            n = counts.get(name, 0)
            if not low <= n <= high:
                want = f"{low}" if low == high else f"{low}-{high if high < MANY else 'n'}"
                raise PackageError(EdxmlReason.STRUCTURE, f"{local} has {n} {name}, wants {want}")


def _name(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else "?"


def _text(parent: etree._Element, *path: str, required: bool = True) -> str | None:
    node: etree._Element | None = parent
    for name in path:
        node = node.find(q(name)) if node is not None else None
    if node is None:
        if required:
            raise PackageError(EdxmlReason.STRUCTURE, f"{'/'.join(path)} missing")
        return None
    return node.text or ""  # exact: the signed text, whitespace included


def _need(parent: etree._Element, *path: str) -> str:
    value = _text(parent, *path)
    assert value is not None
    return value


def _agency(node: etree._Element, where: str) -> AgencyRef:
    agency_id = _need(node, "OrganId")
    if not ID_PATTERN.match(agency_id):
        raise PackageError(EdxmlReason.BAD_CODE, f"{where} OrganId {agency_id[:80]!r}")
    detail = OrganDetail(
        *(_text(node, element, required=False) or "" for element in _DETAIL_ELEMENTS)
    )
    return AgencyRef(agency_id, _text(node, "OrganName", required=False) or "", detail)


# OrganDetail's fields in order
_DETAIL_ELEMENTS = ("OrganizationInCharge", "OrganAdd", "Email", "Telephone", "Fax", "Website")


def _code(text: str, table: Mapping[int, _C], what: str) -> _C:
    if not _NUMBER.fullmatch(text) or int(text) not in table:
        raise PackageError(EdxmlReason.BAD_CODE, f"{what} {text[:40]!r}")
    return table[int(text)]


def _date(text: str, what: str) -> str:
    try:
        return iso_date(text)
    except ValueError as exc:
        raise PackageError(EdxmlReason.BAD_CODE, f"{what} {text[:40]!r} is not yyyy/MM/dd") from exc


def _time(text: str, what: str) -> int:
    try:
        return time_us(text)
    except (ValueError, OverflowError) as exc:
        raise PackageError(EdxmlReason.BAD_CODE, f"{what} {text[:40]!r}") from exc


def read_document(data: object) -> Document:
    """The Document a document package states (it is not verified here: `verify`)."""
    package = parse_package(data)
    if package.status:
        raise PackageError(EdxmlReason.STRUCTURE, "a status package, not a document")
    return document_of(package.root)


def document_of(root: etree._Element) -> Document:
    """Map a structurally valid document package (also used on the signed copy)."""
    header = root.find(q("edXMLHeader"))
    assert header is not None
    mh = header.find(q("MessageHeader"))
    assert mh is not None
    sender = _agency(mh.find(q("From")), "From")
    recipients = tuple(_agency(to, "To") for to in mh.findall(q("To")))
    number, notation = _need(mh, "Code", "CodeNumber"), _need(mh, "Code", "CodeNotation")
    date = _date(_need(mh, "PromulgationInfo", "PromulgationDate"), "PromulgationDate")
    doc_id = _need(mh, "DocumentId")
    expected = f"{sender.id},{date.replace('-', '/')},{number}/{notation}"
    if doc_id != expected:
        raise PackageError(EdxmlReason.ID_MISMATCH, f"DocumentId is not {expected[:120]!r}")
    other = mh.find(q("OtherInfo"))
    priority = _text(other, "Priority", required=False) if other is not None else None
    level = _text(other, "SecurityLevel", required=False) if other is not None else None
    due = _text(mh, "DueDate", required=False)
    document_type, kind = _kind(mh)
    responses, first = _responses(mh)
    steering = _text(mh, "SteeringType", required=False)
    return Document(
        id=doc_id,
        sender=sender,
        recipients=recipients,
        code_number=number,
        code_notation=notation,
        promulgation_place=_need(mh, "PromulgationInfo", "Place"),
        promulgation_date=date,
        document_type=document_type,
        subject=_need(mh, "Subject"),
        signer=Signer(
            _need(mh, "SignerInfo", "FullName"),
            _need(mh, "SignerInfo", "Position"),
            _text(mh, "SignerInfo", "Competence", required=False) or "",
        ),
        priority=_code(priority or "0", {p.value: p for p in Priority}, "Priority"),
        secrecy=_code(level or "0", SECRECY_OF_CODE, "SecurityLevel"),
        business_type=_business_type(mh),
        response_for=first,
        due_date=_date(due, "DueDate") if due is not None else None,
        attachments=_attachments(root),
        send_time_us=_send_time(header, sender.id),
        business=_business(mh),
        document_kind=kind,
        to_places=tuple(p.text or "" for p in mh.findall(f"{q('ToPlaces')}/{q('Place')}")),
        steering_type=_code(steering or "0", {s.value: s for s in SteeringType}, "SteeringType"),
        other_info=_other_info(other),
        response_for_list=responses,
    )


_BY_KIND = {kind: t for t, kind in DOCUMENT_KINDS.items()}


def _kind(mh: etree._Element) -> tuple[DocumentType, DocumentKind | None]:
    """DocumentType -> the model's type and, when it says more than that type's usual
    kind, the full DocumentKind. A kind the model's eight types do not name (a legal
    document, a guidance note, ...) travels as an official letter with its kind kept."""
    category = _code(
        _need(mh, "DocumentType", "Type"), {c.value: c for c in DocumentCategory}, "Type"
    )
    detail_text = _text(mh, "DocumentType", "TypeDetail", required=False) or "0"
    if not _NUMBER.fullmatch(detail_text) or int(detail_text) > MAX_INT:
        raise PackageError(EdxmlReason.BAD_CODE, f"TypeDetail {detail_text[:20]!r}")
    detail = int(detail_text)
    if category is DocumentCategory.ADMINISTRATIVE and detail > max(AdministrativeKind):
        raise PackageError(EdxmlReason.BAD_CODE, f"TypeDetail {detail}")
    kind = DocumentKind(
        category, detail, _text(mh, "DocumentType", "TypeName", required=False) or ""
    )
    if kind in _BY_KIND:
        return _BY_KIND[kind], None
    known = category is DocumentCategory.ADMINISTRATIVE and detail >= 1
    name = AdministrativeKind(detail).name if known else ""
    return DocumentType.__members__.get(name, DocumentType.OFFICIAL_LETTER), kind


def _amount(other: etree._Element, name: str) -> int:
    text = _text(other, name, required=False) or "0"
    if not _NUMBER.fullmatch(text) or int(text) > MAX_INT:
        raise PackageError(EdxmlReason.BAD_CODE, f"{name} {text[:20]!r}")
    return int(text)


def _other_info(other: etree._Element | None) -> OtherInfo:
    if other is None:
        return OtherInfo()
    direction = _text(other, "Direction", required=False) or "0"
    if direction not in ("0", "1", "true", "false"):
        raise PackageError(EdxmlReason.BAD_CODE, f"Direction {direction[:20]!r}")
    return OtherInfo(
        sphere_of_promulgation=_text(other, "SphereOfPromulgation", required=False) or "",
        typer_notation=_text(other, "TyperNotation", required=False) or "",
        promulgation_amount=_amount(other, "PromulgationAmount"),
        page_amount=_amount(other, "PageAmount"),
        direction=direction in ("1", "true"),
        appendixes=tuple(a.text or "" for a in other.findall(f"{q('Appendixes')}/{q('Appendix')}")),
    )


def _responses(mh: etree._Element) -> tuple[tuple[ResponseFor, ...], str | None]:
    """Every ResponseFor in full, or one that names only a DocumentId; the first id."""
    nodes = mh.findall(q("ResponseFor"))
    if not nodes:
        return (), None
    full = [
        all(n.find(q(e)) is not None for e in ("OrganId", "Code", "PromulgationDate"))
        for n in nodes
    ]
    if len(nodes) == 1 and not full[0]:
        return (), _need(nodes[0], "DocumentId")
    if not all(full):
        raise PackageError(EdxmlReason.STRUCTURE, "ResponseFor without OrganId, Code or date")
    out = tuple(
        ResponseFor(
            _agency(n, "ResponseFor").id,
            _need(n, "Code"),
            _date(_need(n, "PromulgationDate"), "ResponseFor PromulgationDate"),
            _need(n, "DocumentId"),
        )
        for n in nodes
    )
    return out, out[0].document_id


def _business_type(mh: etree._Element) -> BusinessType:
    text = _text(mh, "Bussiness", "BussinessDocType", required=False)
    return _code(text or "0", {b.value: b for b in BusinessType}, "BussinessDocType")


def _business(mh: etree._Element) -> Business | None:
    node = mh.find(q("Bussiness"))
    if node is None or _business_type(mh) is BusinessType.NEW:
        return None
    target = _text(node, "DocumentId", required=False)
    if target is None:
        return None  # the router says UNKNOWN_TARGET ("names no target")
    replacement = _text(
        node, "ReplacementInfoList", "ReplacementInfo", "DocumentId", required=False
    )
    reason = _text(node, "BussinessDocReason", required=False) or ""
    return Business(target, reason, replacement)


def _send_time(header: etree._Element, sender: str) -> int:
    """The first TraceHeader is the sender's, and its Timestamp is the send time."""
    first = header.find(q("TraceHeaderList"))
    hop = first.find(q("TraceHeader")) if first is not None else None
    if hop is None or _need(hop, "OrganId") != sender:
        raise PackageError(EdxmlReason.STRUCTURE, "the first TraceHeader is not the sender's")
    return _time(_need(hop, "Timestamp"), "TraceHeader Timestamp")


def _attachments(root: etree._Element) -> tuple[Attachment, ...]:
    body = root.find(q("edXMLBody"))
    if body is None:
        return ()
    refs = body.findall(f"{q('Manifest')}/{q('Reference')}")
    files = {
        item.get("ContentId", ""): (item.text or "")
        for item in body.findall(f"{q('Attachments')}/{q('Attachment')}")
    }
    if len(files) != len(body.findall(f"{q('Attachments')}/{q('Attachment')}")):
        raise PackageError(EdxmlReason.BAD_ATTACHMENT, "two attachments share a ContentId")
    out = []
    for ref in refs:
        cid = _need(ref, "ContentId")
        if cid not in files:
            raise PackageError(EdxmlReason.BAD_ATTACHMENT, f"no content for {cid[:80]!r}")
        try:
            content = base64.b64decode("".join(files.pop(cid).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PackageError(EdxmlReason.BAD_ATTACHMENT, f"{cid[:80]!r} is not base64") from exc
        out.append(
            Attachment(
                _need(ref, "AttachmentName"),
                _need(ref, "ContentType"),
                hashlib.sha256(content).digest(),
                content,
                cid,
                _text(ref, "Description", required=False) or "",
            )
        )
    if files:
        raise PackageError(EdxmlReason.BAD_ATTACHMENT, "an attachment the manifest does not list")
    return tuple(out)


def read_status(data: object) -> StatusMessage:
    """The StatusMessage a status package states."""
    package = parse_package(data)
    if not package.status:
        raise PackageError(EdxmlReason.STRUCTURE, "a document package, not a status")
    return status_of(package.root)


def status_of(root: etree._Element) -> StatusMessage:
    status = root.find(f"{q('edXMLHeader')}/{q('Status')}")
    assert status is not None
    response = status.find(q("ResponseFor"))
    assert response is not None
    sender = _text(response, "OrganId", required=False) or ""
    document_id = _need(response, "DocumentId")
    if not sender:
        sender = document_id.split(",", 1)[0]
    if not ID_PATTERN.match(sender):
        raise PackageError(EdxmlReason.BAD_CODE, f"ResponseFor OrganId {sender[:80]!r}")
    reporter = _agency(status.find(q("From")), "From")
    code_text = _need(status, "StatusCode")
    if code_text not in STATUS_OF_CODE:
        raise PackageError(EdxmlReason.BAD_CODE, f"StatusCode {code_text[:20]!r}")
    staff_node = status.find(q("StaffInfo"))
    staff = None
    if staff_node is not None:
        staff = StaffInfo(
            _text(staff_node, "Staff", required=False) or "",
            _text(staff_node, "Position", required=False) or "",
            _text(staff_node, "Department", required=False) or "",
        )
    return StatusMessage(
        document_id=document_id,
        sender=sender,
        recipient=reporter.id,
        code=STATUS_OF_CODE[code_text],
        time_us=_time(_need(status, "Timestamp"), "Timestamp"),
        detail=_text(status, "Description", required=False) or "",
        staff=staff,
    )
