"""Generate the interchange test vectors (deterministic: same code, same bytes).

    python tests/vectors/generate.py          # rewrite the files next to this script
    python tests/vectors/generate.py --check  # exit 1 if the committed files differ

The signing key and the CA key are PUBLIC TEST KEYS derived from fixed seeds
printed in vectors.json; never use them for anything else. Ed25519 signatures
are deterministic (RFC 8032), so the certificates, CRL and signatures are too.
The RSA signer's key (rsa-signer.key, a PUBLIC TEST KEY made once) signs the same
documents with RSASSA-PKCS1-v1_5 and SHA-256, which is deterministic as well
(rsa-pkcs1.json, rsa-cert.pem).
See README.md in this directory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from interchange.pki import certificates as certs
from interchange.pki.signing import Algorithm, RsaPadding, load_private_key, sign
from interchange.wire import codec
from interchange.wire.model import (
    DOCUMENT_KINDS,
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    Document,
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
    Tier,
)

HERE = Path(__file__).resolve().parent
# RFC 8032 section 7.1, TEST 1 secret key: a well-known, public Ed25519 seed.
SIGNER_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
CA_SEED = hashlib.sha256(b"interchange test vectors: root CA (public test key)").digest()
SIGNER_ID = "000.00.00.G22"
SIGNER_TIER = Tier.CENTRAL
CA_SERIAL = 1
SIGNER_SERIAL = 0x1F2E3D4C5B6A
RSA_SIGNER_SERIAL = 0x2F3E4D5C6B7A
RSA_KEY_FILE = "rsa-signer.key"  # PUBLIC TEST KEY: RSA-2048, made once, committed
T_2025 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
T_2035 = 2_051_222_400_000_000  # 2035-01-01T00:00:00Z
T_2045 = 2_366_841_600_000_000  # 2045-01-01T00:00:00Z
SEND_TIME_US = 1_756_800_000_000_000  # 2025-09-02T08:00:00Z

VPCP = AgencyRef(SIGNER_ID, "Văn phòng Chính phủ")
HAU_GIANG = AgencyRef("000.00.00.H30", "UBND tỉnh Hậu Giang")
VPCP_FULL = AgencyRef(
    SIGNER_ID,
    "Văn phòng Chính phủ",
    OrganDetail(
        organization_in_charge="Chính phủ",
        address="16 Lê Hồng Phong, Ba Đình, Hà Nội",
        email="vpcp@chinhphu.vn",
        telephone="080 43162",
        fax="080 44130",
        website="https://vpcp.chinhphu.vn",
    ),
)
HAU_GIANG_FULL = AgencyRef(
    "000.00.00.H30",
    "UBND tỉnh Hậu Giang",
    OrganDetail(
        organization_in_charge="", address="Vị Thanh, Hậu Giang", telephone="0293 3876 055"
    ),
)
CAN_THO = AgencyRef("000.00.00.H13", "UBND thành phố Cần Thơ")
FINANCE = AgencyRef("000.00.00.G05", "Bộ Tài chính")
SIGNER = Signer("Nguyen Van A", "Chief of Office", "TM.")


def _document(
    code_number: str, code_notation: str, *, recipients_detail: bool = False, **fields: Any
) -> Document:
    base = Document(
        id=codec.make_document_id(SIGNER_ID, "2025-09-01", code_number, code_notation),
        sender=VPCP,
        recipients=(HAU_GIANG,),
        code_number=code_number,
        code_notation=code_notation,
        promulgation_place="Ha Noi",
        promulgation_date="2025-09-01",
        document_type=DocumentType.OFFICIAL_LETTER,
        subject="Plain official letter",
        signer=SIGNER,
        priority=Priority.NORMAL,
        secrecy=Secrecy.NONE,
        business_type=BusinessType.NEW,
        response_for=None,
        due_date=None,
        attachments=(),
        send_time_us=SEND_TIME_US,
    )
    doc = replace(base, **fields)
    if recipients_detail:  # every recipient with an e-mail address (the schema v6 details)
        recipients = tuple(
            replace(r, detail=OrganDetail(email=f"vanthu@{r.id.rsplit('.', 1)[-1].lower()}.gov.vn"))
            for r in doc.recipients
        )
        doc = replace(doc, recipients=recipients)
    return doc


def _attachment(name: str, media_type: str, content: bytes) -> Attachment:
    return Attachment(name, media_type, hashlib.sha256(content).digest(), content)


def documents() -> dict[str, Document]:
    """The vector documents, by name."""
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    return {
        "plain": _document(
            "101", "VPCP-HC", document_kind=DOCUMENT_KINDS[DocumentType.OFFICIAL_LETTER]
        ),
        "multi-recipient": _document(
            "102",
            "VPCP-KGVX",
            recipients=(HAU_GIANG, CAN_THO, FINANCE),
            document_type=DocumentType.DIRECTIVE,
            subject="Directive to three agencies",
            priority=Priority.URGENT,
            response_for="000.00.00.H30,2025/08/20,55/UBND-VP",
            due_date="2025-09-30",
            send_time_us=SEND_TIME_US + 1,
            recipients_detail=True,
            document_kind=DOCUMENT_KINDS[DocumentType.DIRECTIVE],
            steering_type=SteeringType.TYPE_1,
            other_info=OtherInfo(direction=True),
            response_for_list=(
                ResponseFor(
                    "000.00.00.H30",
                    "55/UBND-VP",
                    "2025-08-20",
                    "000.00.00.H30,2025/08/20,55/UBND-VP",
                ),
            ),
        ),
        "attachment": _document(
            "103",
            "VPCP-TH",
            document_type=DocumentType.REPORT,
            subject="Report with two attachments",
            attachments=(
                replace(
                    _attachment("report.pdf", "application/pdf", pdf),
                    content_id="report-1",
                    description="The report",
                ),
                replace(
                    _attachment("data.csv", "text/csv", b"tier,count\ncentral,30\n"),
                    content_id="data-2",
                ),
            ),
            send_time_us=SEND_TIME_US + 2,
        ),
        "unicode-vietnamese": _document(
            "7816",
            "VPCP-TTĐT",
            promulgation_place="Hà Nội",
            document_type=DocumentType.DECISION,
            subject="Về việc triển khai Cổng Dịch vụ công quốc gia, giai đoạn 2025–2030",
            signer=Signer("Trần Văn Sơn", "Bộ trưởng, Chủ nhiệm Văn phòng Chính phủ", "KT."),
            priority=Priority.EXPRESS,
            business_type=BusinessType.UPDATE,
            business=Business(
                codec.make_document_id(SIGNER_ID, "2025-09-01", "101", "VPCP-HC"),
                "Cập nhật thời hạn",
            ),
            send_time_us=SEND_TIME_US + 3,
            sender=VPCP_FULL,
            recipients=(HAU_GIANG_FULL,),
            document_kind=DOCUMENT_KINDS[DocumentType.DECISION],
            to_places=("Như trên", "Thủ tướng, các Phó Thủ tướng", "Lưu: VT, TTĐT"),
            steering_type=SteeringType.TYPE_3,
            other_info=OtherInfo(
                sphere_of_promulgation="Toàn quốc",
                typer_notation="NVA",
                promulgation_amount=12,
                page_amount=3,
                direction=True,
                appendixes=("Phụ lục I: Danh mục dịch vụ", "Phụ lục II: Lộ trình"),
            ),
        ),
    }


def _keys() -> tuple[ed25519.Ed25519PrivateKey, ed25519.Ed25519PrivateKey]:
    ca = ed25519.Ed25519PrivateKey.from_private_bytes(CA_SEED)
    signer = ed25519.Ed25519PrivateKey.from_private_bytes(SIGNER_SEED)
    return ca, signer


def _pem(obj: Any) -> bytes:
    return bytes(obj.public_bytes(serialization.Encoding.PEM))


def _raw_public(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def _organ_json(d: OrganDetail) -> dict[str, str]:
    return {
        "organization_in_charge": d.organization_in_charge,
        "address": d.address,
        "email": d.email,
        "telephone": d.telephone,
        "fax": d.fax,
        "website": d.website,
    }


def _v6_json(doc: Document) -> dict[str, Any]:
    """The fields of schema v6 (lists parallel to recipients or attachments are empty when
    none of their items states anything)."""
    kind, other = doc.document_kind, doc.other_info
    stated = any(r.detail != OrganDetail() for r in doc.recipients)
    refs = any(a.content_id or a.description for a in doc.attachments)
    return {
        "sender_detail": _organ_json(doc.sender.detail),
        "recipient_details": [_organ_json(r.detail) for r in doc.recipients] if stated else [],
        "document_kind": None
        if kind is None
        else {
            "type": kind.type.value,
            "type_detail": kind.type_detail,
            "type_name": kind.type_name,
        },
        "to_places": list(doc.to_places),
        "steering_type": doc.steering_type.value,
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
        "attachment_details": [
            {"content_id": a.content_id, "description": a.description} for a in doc.attachments
        ]
        if refs
        else [],
    }


def document_json(doc: Document) -> dict[str, Any]:
    """The document as plain JSON (Avro field names and symbols; bytes as hex)."""
    return {
        "id": doc.id,
        "sender": {"id": doc.sender.id, "name": doc.sender.name},
        "recipients": [{"id": r.id, "name": r.name} for r in doc.recipients],
        "code_number": doc.code_number,
        "code_notation": doc.code_notation,
        "promulgation_place": doc.promulgation_place,
        "promulgation_date": doc.promulgation_date,
        "document_type": doc.document_type.value,
        "subject": doc.subject,
        "signer": {
            "name": doc.signer.name,
            "position": doc.signer.position,
            "competence": doc.signer.competence,
        },
        "priority": doc.priority.name,
        "secrecy": doc.secrecy.value,
        "business_type": doc.business_type.name,
        "response_for": doc.response_for,
        "due_date": doc.due_date,
        "attachments": [
            {
                "name": a.name,
                "media_type": a.media_type,
                "sha256_hex": a.sha256.hex(),
                "content_hex": a.content.hex(),
            }
            for a in doc.attachments
        ],
        "send_time_us": doc.send_time_us,
        "business": None
        if doc.business is None
        else {
            "target": doc.business.target,
            "reason": doc.business.reason,
            "replacement": doc.business.replacement,
        },
        **_v6_json(doc),
    }


def build() -> dict[str, bytes]:
    """Every vector file, by name, as bytes."""
    ca_key, signer_key = _keys()
    ca_name = certs.root_name("Interchange TEST VECTOR Root CA")
    root = certs.build_root(
        ca_key, serial=CA_SERIAL, not_before_us=T_2025, not_after_us=T_2045, name=ca_name
    )
    cert = certs.issue(
        ca_key,
        ca_name,
        signer_key.public_key(),
        agency_id=SIGNER_ID,
        tier=SIGNER_TIER,
        serial=SIGNER_SERIAL,
        not_before_us=T_2025,
        not_after_us=T_2035,
    )
    crl = certs.build_crl(ca_key, ca_name, [], this_update_us=T_2025, next_update_us=T_2045)
    cert_id = certs.cert_id_of(cert)
    vectors = []
    for name, doc in documents().items():
        content = codec.encode_document(doc)
        signature = signer_key.sign(content)
        trace = (Hop(f"producer:{SIGNER_ID}", doc.send_time_us + 1500),)
        envelope = codec.encode_envelope(Envelope(content, signature, cert_id, trace))
        vectors.append(
            {
                "name": name,
                "document": document_json(doc),
                "document_hex": content.hex(),
                "document_sha256": hashlib.sha256(content).hexdigest(),
                "signature_hex": signature.hex(),
                "envelope_trace": [{"node": h.node, "time_us": h.time_us} for h in trace],
                "envelope_hex": envelope.hex(),
            }
        )
    manifest = {
        "about": "interchange test vectors; regenerate with tests/vectors/generate.py. "
        "PUBLIC TEST KEYS: never use them outside tests.",
        "algorithm": "ed25519 (RFC 8032, pure) over the exact document bytes",
        "ca": {
            "seed_hex": CA_SEED.hex(),
            "public_key_hex": _raw_public(ca_key),
            "cert_file": "ca.pem",
            "crl_file": "crl.pem",
            "cert_id": certs.cert_id_of(root),
        },
        "signer": {
            "agency_id": SIGNER_ID,
            "tier": SIGNER_TIER.value,
            "seed_hex": SIGNER_SEED.hex(),
            "public_key_hex": _raw_public(signer_key),
            "cert_file": "cert.pem",
            "cert_id": cert_id,
            "serial": SIGNER_SERIAL,
            "not_before_us": T_2025,
            "not_after_us": T_2035,
        },
        "documents": vectors,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    rsa_json, rsa_cert = _rsa_pkcs1(ca_key, ca_name)
    return {
        "vectors.json": text.encode(),
        "ca.pem": _pem(root),
        "cert.pem": _pem(cert),
        "crl.pem": _pem(crl),
        "rsa-pkcs1.json": rsa_json,
        "rsa-cert.pem": rsa_cert,
    }


def _rsa_pkcs1(ca_key: ed25519.Ed25519PrivateKey, ca_name: Any) -> tuple[bytes, bytes]:
    """The same documents signed as the real axis signs: RSA-2048, PKCS#1 v1.5, SHA-256."""
    key = load_private_key((HERE / RSA_KEY_FILE).read_bytes(), RSA_KEY_FILE)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert = certs.issue(
        ca_key,
        ca_name,
        key.public_key(),
        agency_id=SIGNER_ID,
        tier=SIGNER_TIER,
        serial=RSA_SIGNER_SERIAL,
        not_before_us=T_2025,
        not_after_us=T_2035,
        algorithm=Algorithm.RSA_2048_PKCS1,
    )
    cert_id = certs.cert_id_of(cert)
    entries = []
    for name, doc in documents().items():
        content = codec.encode_document(doc)
        signature = sign(key, content, Algorithm.RSA_2048_PKCS1)
        trace = (Hop(f"producer:{SIGNER_ID}", doc.send_time_us + 1500),)
        envelope = codec.encode_envelope(Envelope(content, signature, cert_id, trace))
        entries.append(
            {
                "name": name,
                "document_hex": content.hex(),
                "signature_hex": signature.hex(),
                "envelope_hex": envelope.hex(),
            }
        )
    manifest = {
        "about": "the documents of vectors.json signed with RSASSA-PKCS1-v1_5 and SHA-256 "
        "(rsa-2048-pkcs1, XML-DSig's rsa-sha256). PUBLIC TEST KEY: never use it outside tests.",
        "algorithm": "rsa-2048-pkcs1: RSASSA-PKCS1-v1_5 (RFC 8017), SHA-256, over the exact "
        "document bytes; deterministic",
        "signer": {
            "agency_id": SIGNER_ID,
            "tier": SIGNER_TIER.value,
            "key_file": RSA_KEY_FILE,
            "cert_file": "rsa-cert.pem",
            "cert_id": cert_id,
            "serial": RSA_SIGNER_SERIAL,
            "scheme_policy": certs.SCHEME_POLICIES[RsaPadding.PKCS1V15].dotted_string,
        },
        "documents": entries,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    return text.encode(), _pem(cert)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, data in build().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
    if stale:
        print("stale vector files: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
