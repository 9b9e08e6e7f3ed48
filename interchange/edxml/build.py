"""Model -> package XML: a document package or a status package, unsigned.

The element order is the standard's. A document package ends its header with an empty
`ds:Signature` placeholder, which `dsig.sign` fills (so the signature sits where the
profile expects it: the last child of edXMLHeader).
"""

from __future__ import annotations

import base64

from lxml import etree

from interchange.core.model import AgencyRef, Document, StaffInfo, StatusMessage
from interchange.edxml.names import (
    DS,
    NS,
    PREFIX,
    SECRECY_CODES,
    TYPE_CODES,
    TYPE_NAMES,
    ds,
    edxml_date,
    q,
    timestamp,
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
    _el(organ, "OrganName", agency.name)


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
    dtype = _el(mh, "DocumentType")
    _el(dtype, "Type", str(TYPE_CODES[doc.document_type]))
    _el(dtype, "TypeName", TYPE_NAMES[doc.document_type])
    _el(mh, "Subject", doc.subject)
    signer = _el(mh, "SignerInfo")
    _el(signer, "Competence", doc.signer.competence)
    _el(signer, "Position", doc.signer.position)
    _el(signer, "FullName", doc.signer.name)
    if doc.due_date is not None:
        _el(mh, "DueDate", edxml_date(doc.due_date))
    other = _el(mh, "OtherInfo")
    _el(other, "Priority", str(int(doc.priority)))
    _el(other, "SecurityLevel", str(SECRECY_CODES[doc.secrecy]))
    if doc.response_for is not None:
        _el(_el(mh, "ResponseFor"), "DocumentId", doc.response_for)
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
    body = _el(root, "edXMLBody")
    manifest = _el(body, "Manifest")
    for i, a in enumerate(doc.attachments, start=1):
        ref = _el(manifest, "Reference")
        _el(ref, "ContentId", f"cid:{i}")
        _el(ref, "ContentType", a.media_type)
        _el(ref, "AttachmentName", a.name)
    if doc.attachments:
        files = _el(body, "Attachments")
        for i, a in enumerate(doc.attachments, start=1):
            item = _el(files, "Attachment", base64.b64encode(a.content).decode("ascii"))
            item.set("ContentId", f"cid:{i}")
    return root


def status_package(msg: StatusMessage) -> etree._Element:
    """The status package of `msg` (unsigned: statuses travel as Avro on the axis, and a
    status package is what an edXML system reads; `dsig.sign` may sign it)."""
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
    etree.SubElement(header, ds("Signature"), nsmap={"ds": DS}, Id="placeholder")
    return root


def serialise(root: etree._Element) -> bytes:
    """The package bytes: UTF-8 with an XML declaration, no pretty-printing."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
