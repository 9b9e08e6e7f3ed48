"""The conformance findings of the Avro check (`audit.conformance`), for edXML packages.

One finding per check, in the same report order and with the same check names, so the
JUnit output reads the same: `schema` (well-formed, hardened parse, the profile's
structure), `canonical` (skipped: XML-DSig canonicalises), `size-limits`,
`required-fields` (agency ids, dates, status/business/type codes, attachments),
`id-convention`, `timestamps`, `certificate`, `signature` (the XML-DSig profile and
cryptography, an XML word as the reason), `record-key` (skipped: files), `secrecy`.
"""

from __future__ import annotations

from interchange.audit.conformance_findings import Check, Finding, MessageReport, Status
from interchange.edxml import read
from interchange.edxml.package import keyinfo_cert_id
from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.edxml.verify import CertificateSource, signature_finding
from interchange.routing.decision import MAX_SEND_AHEAD_US, MAX_SEND_BEHIND_US
from interchange.wire.model import Document

_CHECK_OF = {
    EdxmlReason.NOT_WELL_FORMED: Check.SCHEMA,
    EdxmlReason.FORBIDDEN_MARKUP: Check.SCHEMA,
    EdxmlReason.STRUCTURE: Check.SCHEMA,
    EdxmlReason.LIMIT_EXCEEDED: Check.SIZE_LIMITS,
    EdxmlReason.BAD_CODE: Check.REQUIRED_FIELDS,
    EdxmlReason.BAD_ATTACHMENT: Check.REQUIRED_FIELDS,
    EdxmlReason.ID_MISMATCH: Check.ID_CONVENTION,
}


def _finding(check: Check, status: Status, reason: str = "", detail: str = "") -> Finding:
    return Finding(check, status, reason, detail)


def check_package(
    name: str,
    data: bytes,
    trust: CertificateSource,
    now_us: int,
    *,
    key: bytes | None = None,
    cert_id: str | None = None,
) -> MessageReport:
    """Every check on one package; never raises on any bytes. From a topic, `key` is the
    record key and `cert_id` the envelope's (which must name KeyInfo's certificate)."""
    found: dict[Check, Finding] = {
        Check.CANONICAL: _finding(Check.CANONICAL, Status.SKIP, detail="XML-DSig canonicalises"),
        Check.RECORD_KEY: _finding(Check.RECORD_KEY, Status.SKIP, detail="file input"),
    }
    doc: Document | None = None
    try:
        doc = read.read_document(data)
    except PackageError as exc:
        check = _CHECK_OF.get(exc.why, Check.SCHEMA)
        found[check] = _finding(check, Status.FAIL, exc.why.value, exc.detail)
    except Exception as exc:  # a defect of ours must not stop the run
        found[Check.SCHEMA] = _finding(Check.SCHEMA, Status.FAIL, "INTERNAL", type(exc).__name__)
    if doc is not None:
        found.update(_document_findings(data, doc, trust, now_us, cert_id))
        if key is not None and key != doc.sender.id.encode():
            found[Check.RECORD_KEY] = _finding(
                Check.RECORD_KEY, Status.FAIL, "KEY_MISMATCH", "record key is not the sender id"
            )
        elif key is not None:
            found[Check.RECORD_KEY] = _finding(Check.RECORD_KEY, Status.PASS)
    for check in Check:
        if check not in found:
            skipped = doc is None
            status = Status.SKIP if skipped else Status.PASS
            found[check] = _finding(
                check, status, detail="the package does not map" if skipped else ""
            )
    return MessageReport(name, doc.id if doc else "", tuple(found[c] for c in Check))


def _document_findings(
    data: bytes, doc: Document, trust: CertificateSource, now_us: int, named: str | None
) -> dict[Check, Finding]:
    out: dict[Check, Finding] = {}
    ahead = doc.send_time_us - now_us
    if ahead > MAX_SEND_AHEAD_US:
        out[Check.TIMESTAMPS] = _finding(
            Check.TIMESTAMPS, Status.FAIL, "FUTURE", f"{ahead // 1_000_000} s ahead"
        )
    elif -ahead > MAX_SEND_BEHIND_US:
        out[Check.TIMESTAMPS] = _finding(
            Check.TIMESTAMPS, Status.FAIL, "TOO_OLD", f"{-ahead // 1_000_000} s old"
        )
    if doc.secrecy.classified:
        out[Check.SECRECY] = _finding(Check.SECRECY, Status.FAIL, "CLASSIFIED", doc.secrecy.value)
    try:
        cert_id = keyinfo_cert_id(data)
    except PackageError as exc:
        out[Check.CERTIFICATE] = _finding(Check.CERTIFICATE, Status.SKIP, detail="no certificate")
        out[Check.SIGNATURE] = _finding(Check.SIGNATURE, Status.FAIL, exc.why.value, exc.detail)
        return out
    if named is not None and named != cert_id:
        mismatch = EdxmlReason.KEYINFO_MISMATCH
        out[Check.SIGNATURE] = _finding(
            Check.SIGNATURE, Status.FAIL, mismatch.value, mismatch.wire.value
        )
        cert_id = named  # the router judges the certificate the envelope names
    reason = trust.certificate_reason(cert_id, doc.sender.id, now_us)
    if reason is not None:
        out[Check.CERTIFICATE] = _finding(
            Check.CERTIFICATE, Status.FAIL, reason.value, f"certificate {cert_id[:16]}"
        )
        if trust.certificate(cert_id) is None:
            out[Check.SIGNATURE] = _finding(
                Check.SIGNATURE, Status.SKIP, detail="certificate unknown"
            )
            return out
    why = signature_finding(data, cert_id, now_us, trust)
    if why is not None and Check.SIGNATURE not in out:
        out[Check.SIGNATURE] = _finding(Check.SIGNATURE, Status.FAIL, why.value, why.wire.value)
    return out
