"""Model -> package XML: a document package or a status package, unsigned.

The element order is the standard's. A document package ends its header with an empty
`ds:Signature` placeholder, which `dsig.sign` fills (so the signature sits where the
profile expects it: the last child of edXMLHeader).
"""

from __future__ import annotations

import base64

from lxml import etree

from interchange.edxml.names import DS, NS, PREFIX, SECRECY_CODES, ds, edxml_date, q, timestamp
from interchange.wire.model import (
    DOCUMENT_KINDS,
    AgencyRef,
    Document,
    OrganDetail,
    StaffInfo,
    StatusMessage,
    SteeringType,
)

# OrganDetail field -> element, in the standard's order around OrganName
_DETAIL_BEFORE_NAME = (("organization_in_charge", "OrganizationInCharge"),)
_DETAIL_AFTER_NAME = (
    ("address", "OrganAdd"),
    ("email", "Email"),
    ("telephone", "Telephone"),
    ("fax", "Fax"),
    ("website", "Website"),
)


def _el(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, q(name))
    if text is not None:
        child.text = text
    return child


def _root() -> tuple[etree._Element, etree._Element]:
    root = etree.Element(q("edXMLEnvelope"), nsmap={PREFIX: NS})
    return root, _el(root, "edXMLHeader")


def _organ(parent: etree._Element, name: str, agency: AgencyRef) -> None:
    organ = _el(parent, name)
    _el(organ, "OrganId", agency.id)
    _details(organ, agency.detail, _DETAIL_BEFORE_NAME)
    _el(organ, "OrganName", agency.name)
    _details(organ, agency.detail, _DETAIL_AFTER_NAME)


def _details(
    organ: etree._Element, detail: OrganDetail, names: tuple[tuple[str, str], ...]
) -> None:
    for attribute, element in names:
        value = getattr(detail, attribute)
        if value:
            _el(organ, element, value)


def _staff(parent: etree._Element, staff: StaffInfo) -> None:
    info = _el(parent, "StaffInfo")
    _el(info, "Department", staff.department)
    _el(info, "Staff", staff.name)
    _el(info, "Position", staff.position)


def document_package(doc: Document) -> etree._Element:
    """The package of `doc`, with the signature placeholder (sign it with `dsig.sign`)."""
    root, header = _root()
    mh = _el(header, "MessageHeader")
    _organ(mh, "From", doc.sender)
    for r in doc.recipients:
        _organ(mh, "To", r)
    _el(mh, "DocumentId", doc.id)
    code = _el(mh, "Code")
    _el(code, "CodeNumber", doc.code_number)
    _el(code, "CodeNotation", doc.code_notation)
    prom = _el(mh, "PromulgationInfo")
    _el(prom, "Place", doc.promulgation_place)
    _el(prom, "PromulgationDate", edxml_date(doc.promulgation_date))
    kind = doc.document_kind or DOCUMENT_KINDS[doc.document_type]
    dtype = _el(mh, "DocumentType")
    _el(dtype, "Type", str(int(kind.type)))
    _el(dtype, "TypeDetail", str(kind.type_detail))
    _el(dtype, "TypeName", kind.type_name)
    _el(mh, "Subject", doc.subject)
    signer = _el(mh, "SignerInfo")
    _el(signer, "Competence", doc.signer.competence)
    _el(signer, "Position", doc.signer.position)
    _el(signer, "FullName", doc.signer.name)
    if doc.due_date is not None:
        _el(mh, "DueDate", edxml_date(doc.due_date))
    if doc.to_places:
        places = _el(mh, "ToPlaces")
        for place in doc.to_places:
            _el(places, "Place", place)
    _other_info(mh, doc)
    if doc.steering_type is not SteeringType.NONE:
        _el(mh, "SteeringType", str(int(doc.steering_type)))
    _response_for(mh, doc)
    business = _el(mh, "Bussiness")
    _el(business, "BussinessDocType", str(int(doc.business_type)))
    if doc.business is not None:
        _el(business, "BussinessDocReason", doc.business.reason)
        _el(business, "DocumentId", doc.business.target)
        if doc.business.replacement is not None:
            info = _el(_el(business, "ReplacementInfoList"), "ReplacementInfo")
            _el(info, "DocumentId", doc.business.replacement)
    trace = _el(header, "TraceHeaderList")
    hop = _el(trace, "TraceHeader")
    _el(hop, "OrganId", doc.sender.id)
    _el(hop, "Timestamp", timestamp(doc.send_time_us))
    etree.SubElement(header, ds("Signature"), nsmap={"ds": DS}, Id="placeholder")
    _body(root, doc)
    return root


def _body(root: etree._Element, doc: Document) -> None:
    body = _el(root, "edXMLBody")
    manifest = _el(body, "Manifest")
    ids: list[str] = []  # ContentId links a Reference to its content: unique, never empty
    for i, a in enumerate(doc.attachments, start=1):
        cid = a.content_id if a.content_id and a.content_id not in ids else f"cid:{i}"
        ids.append(cid if cid not in ids else f"cid:{i}:{len(ids)}")
    for cid, a in zip(ids, doc.attachments, strict=True):
        ref = _el(manifest, "Reference")
        _el(ref, "ContentId", cid)
        _el(ref, "ContentType", a.media_type)
        if a.description:
            _el(ref, "Description", a.description)
        _el(ref, "AttachmentName", a.name)
    if doc.attachments:
        files = _el(body, "Attachments")
        for cid, a in zip(ids, doc.attachments, strict=True):
            item = _el(files, "Attachment", base64.b64encode(a.content).decode("ascii"))
            item.set("ContentId", cid)


def _other_info(mh: etree._Element, doc: Document) -> None:
    other, info = _el(mh, "OtherInfo"), doc.other_info
    _el(other, "Priority", str(int(doc.priority)))
    _el(other, "SecurityLevel", str(SECRECY_CODES[doc.secrecy]))
    texts = (
        ("SphereOfPromulgation", info.sphere_of_promulgation),
        ("TyperNotation", info.typer_notation),
        ("PromulgationAmount", str(info.promulgation_amount) if info.promulgation_amount else ""),
        ("PageAmount", str(info.page_amount) if info.page_amount else ""),
        ("Direction", "1" if info.direction else ""),
    )
    for name, value in texts:
        if value:
            _el(other, name, value)
    if info.appendixes:
        appendixes = _el(other, "Appendixes")
        for title in info.appendixes:
            _el(appendixes, "Appendix", title)


def _response_for(mh: etree._Element, doc: Document) -> None:
    """Every answered document in full, or only the one id when no more is stated."""
    if doc.response_for_list:
        for r in doc.response_for_list:
            node = _el(mh, "ResponseFor")
            _el(node, "OrganId", r.organ_id)
            _el(node, "Code", r.code)
            _el(node, "PromulgationDate", edxml_date(r.promulgation_date))
            _el(node, "DocumentId", r.document_id)
    elif doc.response_for is not None:
        _el(_el(mh, "ResponseFor"), "DocumentId", doc.response_for)


def status_package(msg: StatusMessage, *, placeholder: bool = False) -> etree._Element:
    """The status package of `msg`. Unsigned unless `placeholder` (then `dsig.sign` it):
    statuses travel as Avro on the axis, unsigned, and export writes them as they are."""
    root, header = _root()
    status = _el(header, "Status")
    response = _el(status, "ResponseFor")
    _el(response, "OrganId", msg.sender)
    _el(response, "DocumentId", msg.document_id)
    frm = _el(status, "From")
    _el(frm, "OrganId", msg.recipient)
    _el(status, "StatusCode", msg.code.value)
    if msg.detail:
        _el(status, "Description", msg.detail)
    _el(status, "Timestamp", timestamp(msg.time_us))
    if msg.staff is not None:
        _staff(status, msg.staff)
    if placeholder:
        etree.SubElement(header, ds("Signature"), nsmap={"ds": DS}, Id="placeholder")
    return root


def serialise(root: etree._Element) -> bytes:
    """The package bytes: UTF-8 with an XML declaration, no pretty-printing."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
