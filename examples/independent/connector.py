"""Independent agency connector for the interchange axis.

Written only from the published contract (docs/CONNECTOR.md, docs/SCHEMAS.md,
schemas/*.avsc, tests/vectors/): no interchange import, no Avro library. The
schemaless binary Avro encoding of Document, Envelope, StatusMessage and
Rejection is implemented by hand below, following CONNECTOR.md section 4.

Kafka: confluent-kafka (librdkafka). Signatures and certificates: cryptography.

Commands:

    python connector.py selfcheck [--vectors tests/vectors]
    python connector.py send  --bootstrap B --as ID --cert PEM --key KEY --to ID[,ID]
                              --code-number N --code-notation X [--subject S] ...
    python connector.py inbox --bootstrap B --as ID --trust-dir KEYS [--ack 01,03]
                              [--drain --idle S] [--max N] [--timeout S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID

# --------------------------------------------------------------------------------------
# Enums (CONNECTOR.md section 3: index = position in the list)

DOCUMENT_TYPES = (
    "DECISION",
    "DIRECTIVE",
    "OFFICIAL_LETTER",
    "REPORT",
    "PLAN",
    "NOTICE",
    "RESOLUTION",
    "SUBMISSION",
)
PRIORITIES = ("NORMAL", "URGENT", "VERY_URGENT", "EXPRESS", "EXPRESS_TIMED")
SECRECY = ("NONE", "CONFIDENTIAL", "SECRET", "TOP_SECRET")
BUSINESS_TYPES = ("NEW", "REVOKE", "UPDATE", "REPLACE")
CONTENT_FORMATS = ("AVRO", "EDXML")  # Envelope.content_format (schema v6)
STATUS_CODES = ("S01", "S02", "S03", "S04", "S05", "S06", "S13", "S15", "S16")
REASON_CODES = (
    "MALFORMED",
    "BAD_SIGNATURE",
    "UNKNOWN_SENDER",
    "UNKNOWN_CERTIFICATE",
    "UNTRUSTED_CERTIFICATE",
    "REVOKED",
    "EXPIRED",
    "NOT_YET_VALID",
    "SENDER_MISMATCH",
    "ALGORITHM_MISMATCH",
    "REPLAY",
    "UNKNOWN_RECIPIENT",
    "CLASSIFIED",
    "NOT_CONNECTED",
    "KEY_MISMATCH",
    "WRONG_PARTITION",
    "SEND_TIME_SKEW",
    "TOO_LARGE",
    "NO_RECIPIENTS",
)

# Limits (CONNECTOR.md section 12)
KIB, MIB = 1024, 1024 * 1024
MAX_DOCUMENT = 4 * MIB
MAX_ENVELOPE = 4 * MIB + 64 * KIB
MAX_SMALL_RECORD = 64 * KIB  # status / rejection
MAX_STRING = 64 * KIB
MAX_OTHER_BYTES = 64 * KIB
MAX_SIGNATURE = 4 * KIB
MAX_RECIPIENTS, MAX_ATTACHMENTS, MAX_HOPS = 1000, 100, 1000
# the edXML header fields of schema v6 (docs/SCHEMAS.md, Limits)
MAX_PLACES, MAX_DETAIL, MAX_NAME = 100, 1 * KIB, 256

LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1


# --------------------------------------------------------------------------------------
# Avro binary encoding, canonical form (CONNECTOR.md section 4)


def enc_long(n: int) -> bytes:
    """zigzag, then base-128 varint, least significant group first, minimal length."""
    if not isinstance(n, int) or isinstance(n, bool) or not LONG_MIN <= n <= LONG_MAX:
        raise ValueError(f"not a 64-bit long: {n!r}")
    z = ((n << 1) ^ (n >> 63)) & 0xFFFF_FFFF_FFFF_FFFF
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def enc_bytes(b: bytes) -> bytes:
    return enc_long(len(b)) + bytes(b)


def enc_string(s: str) -> bytes:
    # strict UTF-8: a lone surrogate raises UnicodeEncodeError; no BOM, no normalisation
    return enc_bytes(s.encode("utf-8"))


def enc_fixed(b: bytes, size: int) -> bytes:
    if len(b) != size:
        raise ValueError(f"fixed({size}) needs {size} bytes, got {len(b)}")
    return bytes(b)


def enc_enum(symbol: str, symbols: tuple[str, ...]) -> bytes:
    return enc_long(symbols.index(symbol))


def enc_opt_string(s: str | None) -> bytes:
    return b"\x00" if s is None else b"\x02" + enc_string(s)


def enc_array(items: Iterable[Any], enc_item: Callable[[Any], bytes]) -> bytes:
    items = list(items)
    if not items:
        return b"\x00"
    return enc_long(len(items)) + b"".join(enc_item(i) for i in items) + b"\x00"


class DecodeError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Reader:
    """Strict reader of schemaless Avro: bounded, minimal varints, one array block."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise DecodeError("TRUNCATED", f"need {n} bytes at {self.pos}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def long(self) -> int:
        z, shift, start = 0, 0, self.pos
        while True:
            if self.pos >= len(self.data):
                raise DecodeError("TRUNCATED", f"varint at {start}")
            byte = self.data[self.pos]
            self.pos += 1
            z |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if self.pos - start >= 10:
                raise DecodeError("BAD_VARINT", f"varint longer than 10 bytes at {start}")
        if z >> 64:
            raise DecodeError("BAD_VARINT", f"varint above 64 bits at {start}")
        if self.pos - start > 1 and byte == 0:
            raise DecodeError("NON_CANONICAL", f"overlong varint at {start}")
        return (z >> 1) ^ -(z & 1)

    def length(self, cap: int) -> int:
        n = self.long()
        if n < 0:
            raise DecodeError("BAD_LENGTH", f"negative length {n}")
        if n > cap:
            raise DecodeError("LIMIT_EXCEEDED", f"length {n} > {cap}")
        if n > len(self.data) - self.pos:
            raise DecodeError("TRUNCATED", f"length {n} exceeds input")
        return n

    def bytes_(self, cap: int = MAX_OTHER_BYTES) -> bytes:
        return self._take(self.length(cap))

    def string(self, cap: int = MAX_STRING) -> str:
        raw = self.bytes_(cap)
        try:
            return raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            raise DecodeError("BAD_UTF8", str(e)) from e

    def fixed(self, size: int) -> bytes:
        return self._take(size)

    def enum(self, symbols: tuple[str, ...]) -> str:
        i = self.long()
        if not 0 <= i < len(symbols):
            raise DecodeError("BAD_ENUM", f"index {i}")
        return symbols[i]

    def optional(self) -> bool:
        """The branch of a union [null, T]: False for null, True when a T follows."""
        branch = self.long()
        if branch not in (0, 1):
            raise DecodeError("BAD_UNION", f"branch {branch}")
        return branch == 1

    def opt_string(self) -> str | None:
        branch = self.long()
        if branch == 0:
            return None
        if branch == 1:
            return self.string()
        raise DecodeError("BAD_UNION", f"branch {branch}")

    def array(self, read_item: Callable[[], Any], cap: int) -> list[Any]:
        count = self.long()
        if count == 0:
            return []
        if count < 0:
            raise DecodeError("NON_CANONICAL", "negative block count")
        if count > cap:
            raise DecodeError("LIMIT_EXCEEDED", f"{count} items > {cap}")
        if count > len(self.data) - self.pos:  # every item takes at least one byte
            raise DecodeError("TRUNCATED", "array count exceeds input")
        items = [read_item() for _ in range(count)]
        if self.long() != 0:
            raise DecodeError("NON_CANONICAL", "several array blocks")
        return items

    def end(self) -> None:
        if self.pos != len(self.data):
            raise DecodeError("TRAILING_BYTES", f"{len(self.data) - self.pos} bytes left")


# --------------------------------------------------------------------------------------
# Records. Values are plain dicts with the Avro field names (as in vectors.json),
# bytes as bytes (attachment sha256 / content).


def _enc_agency(a: dict[str, str]) -> bytes:
    return enc_string(a["id"]) + enc_string(a["name"])


def _enc_attachment(a: dict[str, Any]) -> bytes:
    return (
        enc_string(a["name"])
        + enc_string(a["media_type"])
        + enc_fixed(a["sha256"], 32)
        + enc_bytes(a["content"])
    )


def _enc_business(b: dict[str, Any] | None) -> bytes:
    """Schema v5's trailing union: null (0) or the Business record (branch 1)."""
    if b is None:
        return b"\x00"
    return (
        b"\x02"
        + enc_string(b["target"])
        + enc_string(b["reason"])
        + enc_opt_string(b.get("replacement"))
    )


# Schema v6: the rest of the edXML header, appended after `business`, each with a default.
ORGAN_FIELDS = ("organization_in_charge", "address", "email", "telephone", "fax", "website")
NO_ORGAN = dict.fromkeys(ORGAN_FIELDS, "")
NO_OTHER_INFO: dict[str, Any] = {
    "sphere_of_promulgation": "",
    "typer_notation": "",
    "promulgation_amount": 0,
    "page_amount": 0,
    "direction": False,
    "appendixes": [],
}
RESPONSE_FIELDS = ("organ_id", "code", "promulgation_date", "document_id")


def _enc_organ(o: dict[str, str]) -> bytes:
    return b"".join(enc_string(o[k]) for k in ORGAN_FIELDS)


def _enc_v6(d: dict[str, Any]) -> bytes:
    """The fields schema v6 appends; absent keys take the schema's defaults."""
    kind, other = d.get("document_kind"), d.get("other_info", NO_OTHER_INFO)
    return b"".join(
        (
            _enc_organ(d.get("sender_detail", NO_ORGAN)),
            enc_array(d.get("recipient_details", []), _enc_organ),
            b"\x00"
            if kind is None
            else b"\x02"
            + enc_long(kind["type"])
            + enc_long(kind["type_detail"])
            + enc_string(kind["type_name"]),
            enc_array(d.get("to_places", []), enc_string),
            enc_long(d.get("steering_type", 0)),
            enc_string(other["sphere_of_promulgation"])
            + enc_string(other["typer_notation"])
            + enc_long(other["promulgation_amount"])
            + enc_long(other["page_amount"])
            + (b"\x01" if other["direction"] else b"\x00")
            + enc_array(other["appendixes"], enc_string),
            enc_array(
                d.get("response_for_list", []),
                lambda r: b"".join(enc_string(r[k]) for k in RESPONSE_FIELDS),
            ),
            enc_array(
                d.get("attachment_details", []),
                lambda a: enc_string(a["content_id"]) + enc_string(a["description"]),
            ),
        )
    )


def encode_document(d: dict[str, Any], layout: int = 6) -> bytes:
    """Canonical encoding of vn.interchange.Document: exactly the signed bytes.

    `layout` 4 or 5 writes an older schema's form (no `business`, no v6 header), which is
    how the decoder checks that such a record is canonical."""
    s = d["signer"]
    out = b"".join(
        (
            enc_string(d["id"]),
            _enc_agency(d["sender"]),
            enc_array(d["recipients"], _enc_agency),
            enc_string(d["code_number"]),
            enc_string(d["code_notation"]),
            enc_string(d["promulgation_place"]),
            enc_string(d["promulgation_date"]),
            enc_enum(d["document_type"], DOCUMENT_TYPES),
            enc_string(d["subject"]),
            enc_string(s["name"]) + enc_string(s["position"]) + enc_string(s["competence"]),
            enc_enum(d["priority"], PRIORITIES),
            enc_enum(d["secrecy"], SECRECY),
            enc_enum(d["business_type"], BUSINESS_TYPES),
            enc_opt_string(d["response_for"]),
            enc_opt_string(d["due_date"]),
            enc_array(d["attachments"], _enc_attachment),
            enc_long(d["send_time_us"]),
            _enc_business(d.get("business")) if layout >= 5 else b"",
            _enc_v6(d) if layout >= 6 else b"",
        )
    )
    if len(out) > MAX_DOCUMENT:
        raise ValueError("document above 4 MiB")
    return out


def encode_envelope(e: dict[str, Any]) -> bytes:
    return b"".join(
        (
            enc_bytes(e["content"]),
            enc_bytes(e["signature"]),
            enc_string(e["cert_id"]),
            enc_array(e["trace"], lambda h: enc_string(h["node"]) + enc_long(h["time_us"])),
            enc_enum(e.get("content_format", "AVRO"), CONTENT_FORMATS),
        )
    )


def encode_status(m: dict[str, Any]) -> bytes:
    """Status schema v2: v1's six fields, then staff, online and due_us (each null or a value)."""
    staff, online, due = m.get("staff"), m.get("online"), m.get("due_us")
    return b"".join(
        (
            enc_string(m["document_id"]),
            enc_string(m["sender"]),
            enc_string(m["recipient"]),
            enc_enum(m["code"], STATUS_CODES),
            enc_long(m["time_us"]),
            enc_string(m.get("detail", "")),
            b"\x00"
            if staff is None
            else b"\x02"
            + b"".join(enc_string(staff[k]) for k in ("name", "position", "department")),
            b"\x00" if online is None else b"\x02" + (b"\x01" if online else b"\x00"),
            b"\x00" if due is None else b"\x02" + enc_long(due),
        )
    )


def encode_rejection(r: dict[str, Any]) -> bytes:
    """Schema v2 when the record has the submission's coordinates, else v1."""
    v1 = b"".join(
        (
            enc_string(r["document_id"]),
            enc_string(r["sender"]),
            enc_enum(r["reason"], REASON_CODES),
            enc_string(r["detail"]),
            enc_fixed(r["content_sha256"], 32),
            enc_enum(r["secrecy"], SECRECY),
            enc_opt_string(r["recipient"]),
            enc_long(r["time_us"]),
            enc_long(r["send_time_us"]),
        )
    )
    if "offset" not in r:
        return v1
    return v1 + b"".join(
        (
            enc_string(r["topic"]),
            enc_long(r["partition"]),
            enc_long(r["offset"]),
            b"\x01" if r["authenticated"] else b"\x00",
        )
    )


_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CERT_ID_RE = re.compile(r"^[0-9a-f]{64}$")


def _check_date(s: str | None, what: str) -> None:
    if s is None:
        return
    try:
        ok = bool(_DATE_RE.match(s)) and dt.date.fromisoformat(s).isoformat() == s
    except ValueError:
        ok = False
    if not ok:
        raise DecodeError("BAD_DATE", f"{what} {s!r}")


def _checked(data: bytes, cap: int, what: str) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("NOT_BYTES", what)
    if len(data) > cap:
        raise DecodeError("TOO_LARGE", f"{what} {len(data)} bytes > {cap}")
    return bytes(data)


def _canonical(data: bytes, value: dict[str, Any], encoder: Callable[[Any], bytes]) -> None:
    if encoder(value) != data:
        raise DecodeError("NON_CANONICAL", "re-encoding differs")


def decode_document(data: bytes) -> dict[str, Any]:
    data = _checked(data, MAX_DOCUMENT, "document")
    r = Reader(data)

    def agency() -> dict[str, str]:
        return {"id": r.string(), "name": r.string()}

    def attachment() -> dict[str, Any]:
        return {
            "name": r.string(),
            "media_type": r.string(),
            "sha256": r.fixed(32),
            "content": r.bytes_(MAX_DOCUMENT),
        }

    d: dict[str, Any] = {
        "id": r.string(),
        "sender": agency(),
        "recipients": r.array(agency, MAX_RECIPIENTS),
    }
    for name in ("code_number", "code_notation", "promulgation_place", "promulgation_date"):
        d[name] = r.string()
    d["document_type"] = r.enum(DOCUMENT_TYPES)
    d["subject"] = r.string()
    d["signer"] = {"name": r.string(), "position": r.string(), "competence": r.string()}
    d["priority"] = r.enum(PRIORITIES)
    d["secrecy"] = r.enum(SECRECY)
    d["business_type"] = r.enum(BUSINESS_TYPES)
    d["response_for"] = r.opt_string()
    d["due_date"] = r.opt_string()
    d["attachments"] = r.array(attachment, MAX_ATTACHMENTS)
    d["send_time_us"] = r.long()
    layout = 4  # written before schema v5: no business field at all
    d["business"] = None
    if r.pos < len(r.data):
        layout = 5
        if r.optional():
            d["business"] = {
                "target": r.string(),
                "reason": r.string(),
                "replacement": r.opt_string(),
            }
    if r.pos < len(r.data):  # schema v6: the rest of the edXML header
        layout = 6
        _read_v6(r, d)
    r.end()
    _check_date(d["promulgation_date"], "promulgation_date")
    _check_date(d["due_date"], "due_date")
    for a in d["attachments"]:
        if hashlib.sha256(a["content"]).digest() != a["sha256"]:
            raise DecodeError("BAD_DIGEST", f"attachment {a['name']!r}")
    if layout == 6:
        _check_v6(d)
    _canonical(data, d, lambda v: encode_document(v, layout))
    return d


def _read_v6(r: Reader, d: dict[str, Any]) -> None:
    def organ() -> dict[str, str]:
        return {k: r.string(MAX_DETAIL) for k in ORGAN_FIELDS}

    def flag() -> bool:
        b = r.fixed(1)
        if b not in (b"\x00", b"\x01"):
            raise DecodeError("BAD_BOOLEAN", f"boolean byte {b[0]}")
        return b == b"\x01"

    d["sender_detail"] = organ()
    d["recipient_details"] = r.array(organ, MAX_RECIPIENTS)
    d["document_kind"] = (
        {"type": r.long(), "type_detail": r.long(), "type_name": r.string(MAX_NAME)}
        if r.optional()
        else None
    )
    d["to_places"] = r.array(lambda: r.string(MAX_DETAIL), MAX_PLACES)
    d["steering_type"] = r.long()
    d["other_info"] = {
        "sphere_of_promulgation": r.string(),
        "typer_notation": r.string(),
        "promulgation_amount": r.long(),
        "page_amount": r.long(),
        "direction": flag(),
        "appendixes": r.array(lambda: r.string(MAX_DETAIL), MAX_PLACES),
    }
    d["response_for_list"] = r.array(lambda: {k: r.string() for k in RESPONSE_FIELDS}, MAX_PLACES)
    d["attachment_details"] = r.array(
        lambda: {"content_id": r.string(MAX_NAME), "description": r.string()}, MAX_ATTACHMENTS
    )


def _check_v6(d: dict[str, Any]) -> None:
    """The semantic checks of the v6 header (docs/SCHEMAS.md)."""
    for details, items in (
        ("recipient_details", "recipients"),
        ("attachment_details", "attachments"),
    ):
        if d[details] and len(d[details]) != len(d[items]):
            raise DecodeError("BAD_VALUE", f"{details} not one per item of {items}")
    kind = d["document_kind"]
    if kind is not None and (
        kind["type"] not in (1, 2)
        or kind["type_detail"] < 0
        or (kind["type"] == 2 and kind["type_detail"] > 29)
    ):
        raise DecodeError("BAD_VALUE", f"document_kind {kind}")
    if not 0 <= d["steering_type"] <= 3:
        raise DecodeError("BAD_VALUE", f"steering_type {d['steering_type']}")
    other = d["other_info"]
    if other["promulgation_amount"] < 0 or other["page_amount"] < 0:
        raise DecodeError("BAD_VALUE", "negative amount in other_info")
    for entry in d["response_for_list"]:
        _check_date(entry["promulgation_date"], "response_for_list promulgation_date")
    answered = d["response_for_list"]
    if answered and d["response_for"] != answered[0]["document_id"]:
        raise DecodeError("BAD_VALUE", "response_for is not the first answered document")


def decode_envelope(data: bytes) -> dict[str, Any]:
    data = _checked(data, MAX_ENVELOPE, "envelope")
    r = Reader(data)
    e: dict[str, Any] = {
        "content": r.bytes_(MAX_DOCUMENT),
        "signature": r.bytes_(MAX_SIGNATURE),
        "cert_id": r.string(),
    }
    e["trace"] = r.array(lambda: {"node": r.string(), "time_us": r.long()}, MAX_HOPS)
    v5 = r.pos == len(r.data)  # written before schema v6: no content_format, so AVRO
    e["content_format"] = "AVRO" if v5 else r.enum(CONTENT_FORMATS)
    r.end()
    if not _CERT_ID_RE.match(e["cert_id"]):
        raise DecodeError("BAD_VALUE", "cert_id is not 64 lowercase hex digits")
    _canonical(data, e, (lambda v: encode_envelope(v)[:-1]) if v5 else encode_envelope)
    return e


def decode_status(data: bytes) -> dict[str, Any]:
    data = _checked(data, MAX_SMALL_RECORD, "status")
    r = Reader(data)
    m = {
        "document_id": r.string(),
        "sender": r.string(),
        "recipient": r.string(),
        "code": r.enum(STATUS_CODES),
        "time_us": r.long(),
        "detail": r.string(),
        "staff": None,
        "online": None,
        "due_us": None,
    }
    if r.pos == len(data):  # a schema v1 record: the work-record fields were not there yet
        _canonical(data, m, lambda v: encode_status(v)[:-3])
        return m
    if r.optional():
        m["staff"] = {k: r.string() for k in ("name", "position", "department")}
    if r.optional():
        flag = r.fixed(1)
        if flag not in (b"\x00", b"\x01"):
            raise DecodeError("BAD_BOOLEAN", f"boolean byte {flag[0]}")
        m["online"] = flag == b"\x01"
    if r.optional():
        m["due_us"] = r.long()
    r.end()
    _canonical(data, m, encode_status)
    return m


def decode_rejection(data: bytes) -> dict[str, Any]:
    data = _checked(data, MAX_SMALL_RECORD, "rejection")
    r = Reader(data)
    rej = {
        "document_id": r.string(),
        "sender": r.string(),
        "reason": r.enum(REASON_CODES),
        "detail": r.string(),
        "content_sha256": r.fixed(32),
        "secrecy": r.enum(SECRECY),
        "recipient": r.opt_string(),
        "time_us": r.long(),
        "send_time_us": r.long(),
    }
    if r.pos < len(r.data):  # rejection schema v4: the submission's coordinates (section 11)
        rej["topic"], rej["partition"], rej["offset"] = r.string(), r.long(), r.long()
        flag = r._take(1)
        if flag not in (b"\x00", b"\x01"):
            raise DecodeError("BAD_BOOLEAN", f"boolean byte {flag!r}")
        rej["authenticated"] = flag == b"\x01"
    r.end()
    _canonical(data, rej, encode_rejection)
    return rej


# --------------------------------------------------------------------------------------
# Ids and tiers (CONNECTOR.md section 6)

_AGENCY_RE = re.compile(r"^([0-9]{3})\.([0-9]{2})\.([0-9]{2})\.([A-Z])([0-9]{2})$")


def make_document_id(
    sender_id: str, promulgation_date: str, code_number: str, code_notation: str
) -> str:
    return f"{sender_id},{promulgation_date.replace('-', '/')},{code_number}/{code_notation}"


def tier_of(agency_id: str) -> str:
    m = _AGENCY_RE.match(agency_id)
    if not m:
        raise ValueError(f"not an agency id: {agency_id!r}")
    _ddd, cc, dd, letter, _nn = m.groups()
    if letter == "G" and cc == dd == "00":
        return "central"
    if letter == "H":
        if cc != "00":
            return "commune"
        return "district" if dd != "00" else "province"
    raise ValueError(f"{agency_id}: outside the id scheme, pass --tier")


def now_us() -> int:
    return time.time_ns() // 1000


# --------------------------------------------------------------------------------------
# Signatures and certificates (CONNECTOR.md section 7)


def cert_id_of(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def rsa_pkcs1(cert: x509.Certificate | None) -> bool:
    """An RSA certificate naming the policy sha256WithRSAEncryption signs PKCS#1 v1.5, else PSS."""
    if cert is None:
        return False
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return False
    return any(p.policy_identifier.dotted_string == "1.2.840.113549.1.1.11" for p in policies)


def _rsa_padding(cert: x509.Certificate | None) -> Any:
    return padding.PKCS1v15() if rsa_pkcs1(cert) else _pss()


def sign(key: Any, content: bytes, cert: x509.Certificate | None = None) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(content)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        # the axis accepts low-S ECDSA only (CONNECTOR.md section 7): s <= n / 2
        r, s = decode_dss_signature(key.sign(content, ec.ECDSA(hashes.SHA256())))
        return encode_dss_signature(r, min(s, P256_ORDER - s))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(content, _rsa_padding(cert), hashes.SHA256())
    raise ValueError(f"key type outside the profile: {type(key).__name__}")


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _key_in_profile(pub: Any) -> bool:
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return True
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return isinstance(pub.curve, ec.SECP256R1)
    if isinstance(pub, rsa.RSAPublicKey):
        return pub.key_size in (2048, 3072)
    return False


def _shape_fits(pub: Any, sig: bytes) -> bool:
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return len(sig) == 64
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return 8 <= len(sig) <= 72 and sig[0] == 0x30 and sig[1] == len(sig) - 2
    if isinstance(pub, rsa.RSAPublicKey):
        return len(sig) == pub.key_size // 8
    return False


def verify_signature(
    pub: Any, sig: bytes, content: bytes, cert: x509.Certificate | None = None
) -> bool:
    try:
        if isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(sig, content)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            if decode_dss_signature(sig)[1] > P256_ORDER // 2:
                return False  # high-S twin: refused like the router does
            pub.verify(sig, content, ec.ECDSA(hashes.SHA256()))
        elif isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, content, _rsa_padding(cert), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def agency_of_cert(cert: x509.Certificate) -> str | None:
    for oid in (NameOID.USER_ID, NameOID.COMMON_NAME):
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return None


def _extensions_ok(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        return False
    return (
        bc.critical
        and not bc.value.ca
        and ku.critical
        and ku.value.digital_signature
        and ku.value.content_commitment
    )


class TrustStore:
    """Verifier of envelopes: the root CA, the CRL and a directory of certificates."""

    def __init__(
        self,
        root_pem: Path,
        crl_pem: Path | None,
        certs_dir: Path | None,
        extra_certs: Iterable[x509.Certificate] = (),
    ) -> None:
        self.root = x509.load_pem_x509_certificate(root_pem.read_bytes())
        self.certs_dir = certs_dir
        self.extra = {cert_id_of(c): c for c in extra_certs}
        self.revoked: dict[int, dt.datetime] = {}
        if crl_pem is not None and crl_pem.exists():
            crl = x509.load_pem_x509_crl(crl_pem.read_bytes())
            if crl.issuer != self.root.subject or not crl.is_signature_valid(
                self.root.public_key()
            ):  # type: ignore[arg-type]
                raise ValueError("CRL not signed by the root")
            for entry in crl:
                self.revoked[entry.serial_number] = entry.revocation_date_utc

    @classmethod
    def from_keys_dir(cls, keys_dir: Path) -> TrustStore:
        return cls(keys_dir / "ca" / "root.pem", keys_dir / "ca" / "crl.pem", keys_dir / "certs")

    def certificate(self, cert_id: str) -> x509.Certificate | None:
        if not _CERT_ID_RE.match(cert_id):
            return None
        if cert_id in self.extra:
            return self.extra[cert_id]
        path = self.certs_dir / f"{cert_id}.pem" if self.certs_dir is not None else None
        if path is None or not path.exists():
            return None
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        return cert if cert_id_of(cert) == cert_id else None

    def issued_by_root(self, cert: x509.Certificate) -> bool:
        try:
            cert.verify_directly_issued_by(self.root)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, send_time_us: int
    ) -> str | None:
        """None if valid, else the ReasonCode, in the router's check-3 order."""
        cert = self.certificate(cert_id)
        if cert is None:
            return "UNKNOWN_CERTIFICATE"
        pub = cert.public_key()
        if not self.issued_by_root(cert) or not _key_in_profile(pub) or not _extensions_ok(cert):
            return "UNTRUSTED_CERTIFICATE"
        # "second precision, inclusive": compare whole seconds of the send time
        send_s = send_time_us // 1_000_000
        if send_s < int(cert.not_valid_before_utc.timestamp()):
            return "NOT_YET_VALID"
        if send_s > int(cert.not_valid_after_utc.timestamp()):
            return "EXPIRED"
        revoked_at = self.revoked.get(cert.serial_number)
        if revoked_at is not None and int(revoked_at.timestamp()) <= send_s:
            return "REVOKED"
        if agency_of_cert(cert) != sender_id:
            return "SENDER_MISMATCH"
        if not _shape_fits(pub, signature):
            return "ALGORITHM_MISMATCH"
        if not verify_signature(pub, signature, content, cert):
            return "BAD_SIGNATURE"
        return None


@dataclass
class Credential:
    cert: x509.Certificate
    key: Any
    cert_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.cert_id = cert_id_of(self.cert)

    @classmethod
    def load(cls, cert_pem: Path, key_pem: Path) -> Credential:
        cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
        key = serialization.load_pem_private_key(key_pem.read_bytes(), password=None)
        return cls(cert, key)


# --------------------------------------------------------------------------------------
# Self-check against tests/vectors (CONNECTOR.md section 4, tests/vectors/README.md)


def document_from_vector(j: dict[str, Any]) -> dict[str, Any]:
    d = json.loads(json.dumps(j))
    d["attachments"] = [
        {
            "name": a["name"],
            "media_type": a["media_type"],
            "sha256": bytes.fromhex(a["sha256_hex"]),
            "content": bytes.fromhex(a["content_hex"]),
        }
        for a in j["attachments"]
    ]
    return d


def selfcheck(vectors_dir: Path, out: Callable[[str], None] = print) -> list[str]:
    """Check encoder, decoder and signer against the vectors; return the failures."""
    v = json.loads((vectors_dir / "vectors.json").read_text(encoding="utf-8"))
    failures: list[str] = []

    def check(cond: bool, what: str) -> None:
        (out if cond else failures.append)(("ok    " if cond else "FAIL  ") + what)

    signer = v["signer"]
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(signer["seed_hex"]))
    pub_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    check(pub_raw.hex() == signer["public_key_hex"], "signer public key from seed")
    ca = x509.load_pem_x509_certificate((vectors_dir / v["ca"]["cert_file"]).read_bytes())
    cert = x509.load_pem_x509_certificate((vectors_dir / signer["cert_file"]).read_bytes())
    check(cert_id_of(cert) == signer["cert_id"], "signer cert_id = SHA-256 of DER")
    check(cert_id_of(ca) == v["ca"]["cert_id"], "CA cert_id = SHA-256 of DER")
    ca_pub = ca.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    check(ca_pub.hex() == v["ca"]["public_key_hex"], "CA public key")
    check(agency_of_cert(cert) == signer["agency_id"], "certificate UID = agency id")

    # a trust store over the vector files (root, CRL, the signer's certificate)
    store = TrustStore(
        vectors_dir / v["ca"]["cert_file"],
        vectors_dir / v["ca"]["crl_file"],
        None,
        extra_certs=[cert],
    )
    check(store.issued_by_root(cert), "certificate signed by the vector CA")

    for entry in v["documents"]:
        name = entry["name"]
        doc = document_from_vector(entry["document"])
        content = encode_document(doc)
        check(content.hex() == entry["document_hex"], f"{name}: document bytes")
        check(
            hashlib.sha256(content).hexdigest() == entry["document_sha256"],
            f"{name}: document sha256",
        )
        check(
            make_document_id(
                doc["sender"]["id"],
                doc["promulgation_date"],
                doc["code_number"],
                doc["code_notation"],
            )
            == doc["id"],
            f"{name}: id convention",
        )
        sig = sign(key, content)
        check(sig.hex() == entry["signature_hex"], f"{name}: Ed25519 signature")
        env = {
            "content": content,
            "signature": sig,
            "cert_id": signer["cert_id"],
            "trace": entry["envelope_trace"],
            "content_format": "AVRO",
        }
        raw = encode_envelope(env)
        check(raw.hex() == entry["envelope_hex"], f"{name}: envelope bytes")
        try:
            back = decode_envelope(bytes.fromhex(entry["envelope_hex"]))
            check(back == env, f"{name}: envelope decodes to the same fields")
            check(
                decode_document(back["content"]) == doc,
                f"{name}: document decodes to the same fields",
            )
            reason = store.verify(
                back["content"],
                back["signature"],
                back["cert_id"],
                doc["sender"]["id"],
                doc["send_time_us"],
            )
            check(reason is None, f"{name}: verifies at send time ({reason or 'valid'})")
        except DecodeError as e:
            check(False, f"{name}: strict decode ({e})")
    return failures


# --------------------------------------------------------------------------------------
# Kafka (CONNECTOR.md section 2)


def producer_config(bootstrap: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "partitioner": "murmur2_random",
        "message.max.bytes": 5 * MIB,
        "linger.ms": 5,
    }


def consumer_config(bootstrap: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"independent-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 10,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
    }


def produce(
    bootstrap: str,
    topic: str,
    key: str,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
) -> tuple[str, int, int]:
    """Produce one record; its (topic, partition, offset), which rejections name."""
    from confluent_kafka import Producer

    p = Producer(producer_config(bootstrap))
    errors: list[Any] = []
    where: list[tuple[str, int, int]] = []

    def delivered(err: Any, msg: Any) -> None:
        if err:
            errors.append(err)
        else:
            where.append((msg.topic(), msg.partition(), msg.offset()))

    p.produce(
        topic, key=key.encode("utf-8"), value=value, headers=headers or [], on_delivery=delivered
    )
    if p.flush(30) != 0:
        raise RuntimeError(f"{topic}: record not delivered within 30 s")
    if errors:
        raise RuntimeError(f"{topic}: {errors[0]}")
    return where[0]


def assign_all(consumer: Any, topics: list[str], since_ms: int | None) -> None:
    """Assign every partition of the topics, at a timestamp or at the beginning."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    parts: list[Any] = []
    for topic in topics:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        if md.error is not None or not md.partitions:
            raise RuntimeError(f"topic {topic}: {md.error or 'no partitions'}")
        for p in sorted(md.partitions):
            parts.append(
                TopicPartition(topic, p, since_ms if since_ms is not None else OFFSET_BEGINNING)
            )
    if since_ms is not None:
        # offset -1 (no record at/after the time) means "the end", which is right
        parts = consumer.offsets_for_times(parts, timeout=10)
    consumer.assign(parts)


# --------------------------------------------------------------------------------------
# Sending (sections 4, 5, 9, 13) and following the fate (sections 10, 11)


def build_document(
    sender: dict[str, str],
    recipients: list[dict[str, str]],
    *,
    code_number: str,
    code_notation: str,
    subject: str,
    promulgation_date: str | None = None,
    place: str = "Ha Noi",
    document_type: str = "OFFICIAL_LETTER",
    priority: str = "NORMAL",
    business_type: str = "NEW",
    signer: dict[str, str] | None = None,
    response_for: str | None = None,
    due_date: str | None = None,
    attachments: Iterable[tuple[str, str, bytes]] = (),
    send_time_us: int | None = None,
    business: dict[str, Any] | None = None,
) -> dict[str, Any]:
    date = promulgation_date or dt.datetime.now(dt.UTC).date().isoformat()
    return {
        "id": make_document_id(sender["id"], date, code_number, code_notation),
        "sender": sender,
        "recipients": recipients,
        "code_number": code_number,
        "code_notation": code_notation,
        "promulgation_place": place,
        "promulgation_date": date,
        "document_type": document_type,
        "subject": subject,
        "signer": signer
        or {"name": "Independent Connector", "position": "Integrator", "competence": ""},
        "priority": priority,
        "secrecy": "NONE",
        "business_type": business_type,
        "response_for": response_for,
        "due_date": due_date,
        "business": business,
        "attachments": [
            {"name": n, "media_type": mt, "sha256": hashlib.sha256(c).digest(), "content": c}
            for n, mt, c in attachments
        ],
        "send_time_us": send_time_us if send_time_us is not None else now_us(),
    }


def seal(doc: dict[str, Any], cred: Credential) -> tuple[bytes, bytes]:
    """Encode, sign, wrap: returns (content, envelope bytes). First hop = producer."""
    content = encode_document(doc)
    signature = sign(cred.key, content, cred.cert)
    hop_time = max(now_us(), doc["send_time_us"])
    envelope = encode_envelope(
        {
            "content": content,
            "signature": signature,
            "cert_id": cred.cert_id,
            "trace": [{"node": f"producer:{doc['sender']['id']}", "time_us": hop_time}],
        }
    )
    if len(envelope) > MAX_ENVELOPE:
        raise ValueError("envelope above the limit")
    return content, envelope


@dataclass
class Fate:
    rejected: dict[str, Any] | None = None
    not_connected: set[str] = field(default_factory=set)
    statuses: dict[str, list[str]] = field(default_factory=dict)

    def settled(self, recipients: set[str], until: str) -> bool:
        if self.rejected is not None:
            return True
        for r in recipients:
            codes = self.statuses.get(r, [])
            done = (
                "S02" in codes
                or r in self.not_connected
                or (until == "arrived" and "S01" in codes)
                or any(c in codes for c in ("S03", "S04", "S05", "S06"))
            )
            if not done:
                return False
        return True


def follow(
    bootstrap: str,
    prefix: str,
    doc: dict[str, Any],
    content: bytes,
    since_ms: int,
    timeout_s: float,
    until: str,
    out: Callable[[str], None] = print,
    envelope: bytes | None = None,
    source: tuple[str, int, int] | None = None,
) -> Fate:
    """Read rejections and status (read_committed), filter by document id.

    A rejection that names a submission (rejection schema v4: topic, partition, offset) is ours
    exactly when that is `source`, the record we produced: a forged copy under our id is
    another record. A v1 rejection (no coordinates) is ours when its content_sha256 is
    the digest of our content (or, when the envelope did not decode, of the whole record
    value: section 11) and its id is ours or "" (MALFORMED).
    """
    from confluent_kafka import Consumer

    doc_id, me = doc["id"], doc["sender"]["id"]
    digest = hashlib.sha256(content).digest()
    raw_digest = hashlib.sha256(envelope).digest() if envelope is not None else None
    recipients = {r["id"] for r in doc["recipients"]}
    fate = Fate()
    c = Consumer(consumer_config(bootstrap))
    try:
        assign_all(c, [f"{prefix}rejections", f"{prefix}status"], since_ms)
        deadline = time.monotonic() + timeout_s
        while not fate.settled(recipients, until) and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            try:
                if msg.topic().endswith("rejections"):
                    rej = decode_rejection(msg.value())
                    if rej.get("offset", -1) >= 0 and source is not None:
                        if (rej["topic"], rej["partition"], rej["offset"]) != source:
                            continue
                    # v1: a forged copy with the same id has another content digest
                    elif rej["document_id"] not in (doc_id, "") or rej["content_sha256"] not in (
                        digest,
                        raw_digest,
                    ):
                        continue
                    if rej["recipient"] is None:
                        fate.rejected = rej
                        out(f"rejected {rej['reason']} {rej['detail']}")
                    else:
                        fate.not_connected.add(rej["recipient"])
                        out(f"{rej['reason'].lower()} {rej['recipient']}")
                else:
                    st = decode_status(msg.value())
                    if st["document_id"] != doc_id or st["sender"] != me:
                        continue
                    codes = fate.statuses.setdefault(st["recipient"], [])
                    if st["code"] not in codes:
                        codes.append(st["code"])
                        out(f"status {st['code'][1:]} {st['recipient']} {st['detail']}".rstrip())
            except DecodeError as e:
                out(f"warning: undecodable record on {msg.topic()}: {e}")
    finally:
        c.close()
    return fate


# --------------------------------------------------------------------------------------
# Receiving (sections 2, 7, 10, 14 items 7-8)


def send_status(
    bootstrap: str,
    prefix: str,
    *,
    document_id: str,
    original_sender: str,
    me: str,
    code: str,
    detail: str = "",
) -> None:
    value = encode_status(
        {
            "document_id": document_id,
            "sender": original_sender,
            "recipient": me,
            "code": code,
            "time_us": now_us(),
            "detail": detail,
        }
    )
    produce(
        bootstrap,
        f"{prefix}status",
        original_sender,
        value,
        headers=[("document-id", document_id.encode()), ("code", code[1:].encode())],
    )


def statuses_already_sent(bootstrap: str, prefix: str, me: str, idle_s: float) -> set[tuple]:
    """(document id, code) pairs this agency already reported: send each code once."""
    from confluent_kafka import Consumer

    sent: set[tuple] = set()
    c = Consumer(consumer_config(bootstrap))
    try:
        assign_all(c, [f"{prefix}status"], None)
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            msg = c.poll(0.1)
            if msg is None or msg.error() is not None:
                continue
            last = time.monotonic()
            try:
                st = decode_status(msg.value())
            except DecodeError:
                continue
            if st["recipient"] == me:
                sent.add((st["document_id"], st["code"]))
    finally:
        c.close()
    return sent


@dataclass
class Received:
    document_id: str
    sender: str
    valid: bool
    reason: str
    subject: str = ""
    trace: list[dict[str, Any]] = field(default_factory=list)


def trace_problem(rec: Received) -> str | None:
    """Section 9: first hop producer:<sender>, a router hop, times not decreasing."""
    nodes = [h["node"] for h in rec.trace]
    times = [h["time_us"] for h in rec.trace]
    if not nodes or nodes[0] != f"producer:{rec.sender}":
        return "has no producer first hop"
    if not any(n.startswith("router:") for n in nodes):
        return "has no router hop"
    if any(b < a for a, b in itertools.pairwise(times)):
        return "times decrease"
    return None


def check_delivery(value: bytes, me: str, store: TrustStore) -> tuple[Received, dict | None]:
    """Strictly decode and verify one delivered envelope."""
    try:
        env = decode_envelope(value)
    except DecodeError as e:
        return Received("", "", False, f"envelope: {e.reason}"), None
    try:
        doc = decode_document(env["content"])
    except DecodeError as e:
        return Received("", "", False, f"document: {e.reason}"), None
    rec = Received(doc["id"], doc["sender"]["id"], False, "", doc["subject"], env["trace"])
    if me not in {r["id"] for r in doc["recipients"]}:
        rec.reason = "not addressed to this agency"
        return rec, doc
    if doc["secrecy"] != "NONE":
        rec.reason = "CLASSIFIED"
        return rec, doc
    reason = store.verify(
        env["content"], env["signature"], env["cert_id"], doc["sender"]["id"], doc["send_time_us"]
    )
    if reason is not None:
        rec.reason = reason
        return rec, doc
    rec.valid, rec.reason = True, "verified"
    return rec, doc


def inbox(
    bootstrap: str,
    prefix: str,
    me: str,
    tier: str,
    store: TrustStore,
    *,
    ack: list[str],
    idle_s: float | None,
    max_docs: int | None,
    timeout_s: float,
    since_ms: int | None = None,
    out: Callable[[str], None] = print,
) -> list[Received]:
    from confluent_kafka import Consumer

    done = statuses_already_sent(bootstrap, prefix, me, 1.0) if ack else set()
    received: list[Received] = []
    seen: set[str] = set()
    c = Consumer(consumer_config(bootstrap))
    try:
        assign_all(c, [f"{prefix}delivery.{tier}"], since_ms)
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline:
            if idle_s is not None and time.monotonic() - last >= idle_s:
                break
            if max_docs is not None and len(received) >= max_docs:
                break
            msg = c.poll(0.1)
            if msg is None or msg.error() is not None:
                continue
            last = time.monotonic()
            if msg.key() != me.encode("utf-8"):
                continue  # the delivery topic is shared by the whole tier
            rec, doc = check_delivery(msg.value(), me, store)
            # duplicates (redelivery) are handled once: by id when valid, else by bytes
            dedup = rec.document_id if rec.valid else hashlib.sha256(msg.value()).hexdigest()
            if dedup in seen:
                continue
            seen.add(dedup)
            received.append(rec)
            hops = " > ".join(h["node"] for h in rec.trace)
            out(
                f"{rec.document_id or '?'} {'verified' if rec.valid else 'invalid'} "
                f"{rec.subject if rec.valid else rec.reason}  [{hops}]"
            )
            if rec.valid and trace_problem(rec):
                out(f"  note: trace {trace_problem(rec)} (not signed, informational)")
            if not ack:
                continue
            if doc is None:
                # undecodable: no trustworthy document id or sender to address a 02 to
                out("  (undecodable: no status can be addressed)")
                continue
            codes = ack if rec.valid else ["S02"]
            for code in codes:
                if (rec.document_id, code) in done:
                    continue
                send_status(
                    bootstrap,
                    prefix,
                    document_id=rec.document_id,
                    original_sender=rec.sender,
                    me=me,
                    code=code,
                    detail="" if rec.valid else rec.reason,
                )
                done.add((rec.document_id, code))
                out(f"  status {code[1:]} -> {rec.sender}")
    finally:
        c.close()
    return received


# --------------------------------------------------------------------------------------
# Command line


def _names(directory: Path | None) -> dict[str, str]:
    if directory is None:
        return {}
    data = json.loads(directory.read_text(encoding="utf-8"))
    return {a["id"]: a["name"] for a in data.get("agencies", [])}


def _codes(text: str) -> list[str]:
    codes = []
    for part in text.split(","):
        c = part.strip().upper().removeprefix("S")
        if not c:
            continue
        sym = f"S{int(c):02d}"
        if sym not in STATUS_CODES:
            raise argparse.ArgumentTypeError(f"unknown status code {part}")
        codes.append(sym)
    if "S03" in codes and "S01" not in codes:
        codes.insert(0, "S01")  # 01 before 03
    return sorted(set(codes), key=STATUS_CODES.index)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    sc = sub.add_parser("selfcheck", help="check encoder and signer against the test vectors")
    sc.add_argument(
        "--vectors", type=Path, default=Path(__file__).resolve().parents[2] / "tests" / "vectors"
    )

    def kafka(p: argparse.ArgumentParser) -> None:
        p.add_argument("--bootstrap", required=True)
        p.add_argument("--topic-prefix", default="interchange.")
        p.add_argument("--as", dest="me", required=True, help="your agency id")

    sp = sub.add_parser("send", help="sign and submit one document, follow its fate")
    kafka(sp)
    sp.add_argument("--cert", type=Path, required=True)
    sp.add_argument("--key", type=Path, required=True)
    sp.add_argument("--to", required=True)
    sp.add_argument("--subject", default="Independent connector document")
    sp.add_argument("--code-number", required=True)
    sp.add_argument("--code-notation", required=True)
    sp.add_argument("--type", default="OFFICIAL_LETTER", choices=DOCUMENT_TYPES)
    sp.add_argument("--priority", type=int, default=0, choices=range(5))
    sp.add_argument("--attach", type=Path, action="append", default=[])
    sp.add_argument("--directory", type=Path, help="`interchange directory export` JSON (names)")
    sp.add_argument("--timeout", type=float, default=30.0)
    sp.add_argument("--until", choices=("arrived", "acknowledged"), default="acknowledged")

    ip = sub.add_parser("inbox", help="read, verify and acknowledge documents for your agency")
    kafka(ip)
    ip.add_argument(
        "--trust-dir",
        type=Path,
        required=True,
        help="keys directory of the axis (ca/root.pem, ca/crl.pem, certs/)",
    )
    ip.add_argument("--tier", choices=("central", "province", "district", "commune"))
    ip.add_argument(
        "--ack",
        type=_codes,
        default=_codes("01,03"),
        help="codes for valid documents (default 01,03; '' for none)",
    )
    ip.add_argument("--drain", action="store_true")
    ip.add_argument("--idle", type=float, default=2.0)
    ip.add_argument("--max", type=int)
    ip.add_argument("--timeout", type=float, default=60.0)

    a = ap.parse_args(argv)
    if a.cmd == "selfcheck":
        failures = selfcheck(a.vectors)
        for f in failures:
            print(f)
        print(f"{'FAILED' if failures else 'all vectors match'}")
        return 1 if failures else 0

    if a.cmd == "send":
        names = _names(a.directory)
        cred = Credential.load(a.cert, a.key)
        if agency_of_cert(cred.cert) != a.me:
            print(
                f"certificate belongs to {agency_of_cert(cred.cert)}, not {a.me}", file=sys.stderr
            )
            return 2
        to = list(dict.fromkeys(x.strip() for x in a.to.split(",") if x.strip()))
        attachments = [(p.name, "application/octet-stream", p.read_bytes()) for p in a.attach]
        since_ms = int(time.time() * 1000) - 5000
        doc = build_document(
            {"id": a.me, "name": names.get(a.me, a.me)},
            [{"id": r, "name": names.get(r, r)} for r in to],
            code_number=a.code_number,
            code_notation=a.code_notation,
            subject=a.subject,
            document_type=a.type,
            priority=PRIORITIES[a.priority],
            attachments=attachments,
        )
        content, envelope = seal(doc, cred)
        source = produce(
            a.bootstrap,
            f"{a.topic_prefix}submissions",
            a.me,
            envelope,
            headers=[("document-id", doc["id"].encode())],
        )
        print(doc["id"], flush=True)
        fate = follow(
            a.bootstrap,
            a.topic_prefix,
            doc,
            content,
            since_ms,
            a.timeout,
            a.until,
            out=lambda s: print(s, flush=True),
            envelope=envelope,
            source=source,
        )
        if fate.rejected is not None:
            return 1
        if not fate.settled(set(to), a.until):
            print("timeout")
            return 3
        refused = {r for r, c in fate.statuses.items() if "S02" in c}
        if fate.not_connected or refused:
            print("partial")
            return 4
        print("delivered")
        return 0

    tier = a.tier or tier_of(a.me)
    store = TrustStore.from_keys_dir(a.trust_dir)
    got = inbox(
        a.bootstrap,
        a.topic_prefix,
        a.me,
        tier,
        store,
        ack=a.ack,
        idle_s=a.idle if a.drain else None,
        max_docs=a.max,
        timeout_s=a.timeout,
        out=lambda s: print(s, flush=True),
    )
    return 1 if any(not r.valid for r in got) else 0


if __name__ == "__main__":
    sys.exit(main())
