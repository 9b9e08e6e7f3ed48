"""Signed edXML packages and their broken variants, for the edXML tests and vectors."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace

from lxml import etree

from interchange.edxml import build, dsig
from interchange.edxml.names import DS, ds, q
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    BusinessType,
    Document,
    DocumentType,
    Priority,
    Secrecy,
    Signer,
)

XMLSEC1 = shutil.which("xmlsec1")
SKIP_XMLSEC1 = "xmlsec1 is not installed (Debian package xmlsec1): the independent check is skipped"


def document(sender: str, recipients: list[str], number: int, send_time_us: int) -> Document:
    content = f"Nội dung đính kèm {number}".encode()
    return Document(
        id=f"{sender},2026/12/01,{number}/VPCP-TH",
        sender=AgencyRef(sender, "Văn phòng Chính phủ"),
        recipients=tuple(AgencyRef(r, f"UBND {r}") for r in recipients),
        code_number=str(number),
        code_notation="VPCP-TH",
        promulgation_place="Hà Nội",
        promulgation_date="2026-12-01",
        document_type=DocumentType.OFFICIAL_LETTER,
        subject=f"Về việc thử nghiệm gói edXML số {number} & <ký số>",
        signer=Signer("Nguyễn Văn A", "Chánh Văn phòng", "TM."),
        priority=Priority.URGENT,
        secrecy=Secrecy.NONE,
        business_type=BusinessType.NEW,
        response_for=None,
        due_date="2026-12-15",
        attachments=(
            Attachment(
                "cong-van.txt", "text/plain", hashlib.sha256(content).digest(), content, "cid:1"
            ),
        ),
        send_time_us=send_time_us,
    )


def classified(doc: Document) -> Document:
    return replace(doc, secrecy=Secrecy.SECRET)


def bad_digest(package: bytes) -> bytes:
    """The subject changed after signing."""
    return package.replace("thử nghiệm".encode(), b"thu nghiem", 1)


def unsigned_element(package: bytes) -> bytes:
    """A ds:Object inside the signature: content the signature does not cover."""
    root = etree.fromstring(package)
    signature = root.find(f".//{ds('Signature')}")
    obj = etree.SubElement(signature, ds("Object"))
    etree.SubElement(obj, "Note").text = "Nội dung chèn thêm"
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def wrapping(package: bytes) -> bytes:
    """Signature wrapping: the genuine signed header moved under a second header that the
    attacker's reader would see first; the signature is left where it was."""
    root = etree.fromstring(package)
    header = root.find(q("edXMLHeader"))
    forged = etree.fromstring(etree.tostring(header.find(q("MessageHeader"))))
    forged.find(q("Subject")).text = "Văn bản giả mạo"
    signature = header.find(ds("Signature"))
    wrapper = etree.SubElement(signature, ds("Object"))
    wrapper.append(forged)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def reference_not_whole(package: bytes) -> bytes:
    """The reference points at one element instead of the whole package (URI="#body")."""
    return package.replace(b'URI=""', b'URI="#body"', 1)


def template(package: bytes) -> bytes:
    """The signature emptied to a template (for `xmlsec1 --sign`)."""
    root = etree.fromstring(package)
    for node in root.iter(ds("DigestValue"), ds("SignatureValue")):
        node.text = ""
    x509_data = root.find(f".//{{{DS}}}X509Data")
    for child in list(x509_data):
        x509_data.remove(child)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def package_of(doc: Document, key: object, cert: object) -> bytes:
    return dsig.sign(build.document_package(doc), key, cert)  # type: ignore[arg-type]
