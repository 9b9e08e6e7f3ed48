"""A minimal agency connector, written only against docs/CONNECTOR.md.

It uses confluent-kafka (librdkafka), fastavro and cryptography directly and
imports nothing from `interchange`: it reads the Avro schemas from schemas/
and key material from files, as a connector in any language would.

    python examples/connector/connector.py send --bootstrap 127.0.0.1:9092 \
        --as 000.00.00.G22 --cert keys/certs/ID.pem --key keys/private/ID.key \
        --to 000.00.00.H01 --subject "Báo cáo" --code-number 12 --code-notation VPCP-TH
    python examples/connector/connector.py inbox --bootstrap 127.0.0.1:9092 \
        --as 000.00.00.H01 --trust-dir keys --ack 01,03

Not production code: no retries beyond librdkafka's, keys unencrypted on disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fastavro import parse_schema, schemaless_reader, schemaless_writer

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
# An RSA certificate names its one padding as a certificate policy (CONNECTOR.md section 7):
# sha256WithRSAEncryption = PKCS#1 v1.5 (what the real axis signs with), else PSS.
PKCS1_POLICY = x509.ObjectIdentifier("1.2.840.113549.1.1.11")


def schema(name: str) -> Any:
    return parse_schema(json.loads((SCHEMAS / f"{name}.avsc").read_text(encoding="utf-8")))


DOCUMENT, ENVELOPE, STATUS = schema("document"), schema("envelope"), schema("status")


def encode(sch: Any, value: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, sch, value)  # one block per array, minimal varints: canonical
    return out.getvalue()


def decode(sch: Any, data: bytes) -> dict[str, Any]:
    buf = io.BytesIO(data)
    value = schemaless_reader(buf, sch, None)
    if buf.tell() != len(data) or encode(sch, value) != data:  # contract: canonical only
        raise ValueError("not the canonical encoding")
    return value


def now_us() -> int:
    return time.time_ns() // 1000


def tier_of(agency_id: str) -> str:
    """Tier from the id shape (CONNECTOR.md, "Agency ids")."""
    m = re.fullmatch(r"000\.(\d\d)\.(\d\d)\.([GH])\d\d", agency_id)
    if m is None:
        raise ValueError(f"{agency_id} is not an agency id")
    commune, district, letter = m.groups()
    if letter == "G":
        return "central"
    if district == "00":
        return "province"
    return "district" if commune == "00" else "commune"


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def rsa_padding(cert: x509.Certificate) -> Any:
    """PKCS#1 v1.5 if the certificate names it, else PSS (for an RSA key)."""
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return PSS
    pkcs1 = any(p.policy_identifier == PKCS1_POLICY for p in policies)
    return padding.PKCS1v15() if pkcs1 else PSS


def sign(key: Any, content: bytes, rsa_pad: Any = PSS) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(content)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        # the axis accepts low-S ECDSA only (CONNECTOR.md section 7): s <= n / 2
        r, s = decode_dss_signature(key.sign(content, ec.ECDSA(hashes.SHA256())))
        return encode_dss_signature(r, min(s, P256_ORDER - s))
    return key.sign(content, rsa_pad, hashes.SHA256())


def signature_ok(public: Any, content: bytes, signature: bytes, rsa_pad: Any = PSS) -> bool:
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, content)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            if decode_dss_signature(signature)[1] > P256_ORDER // 2:
                return False  # high-S twin: refused like the router does
            public.verify(signature, content, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, content, rsa_pad, hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


class Connector:
    """One agency: sends signed documents, reads its inbox, answers with status codes."""

    def __init__(
        self,
        bootstrap: str,
        agency_id: str,
        *,
        cert: Path | None = None,
        key: Path | None = None,
        trust_dir: Path | None = None,
        prefix: str = "interchange.",
    ) -> None:
        self.bootstrap, self.agency_id, self.prefix = bootstrap, agency_id, prefix
        self.trust_dir = trust_dir
        self.key = serialization.load_pem_private_key(key.read_bytes(), None) if key else None
        self.cert_id = ""
        self.rsa_pad: Any = PSS
        if cert is not None:
            own = x509.load_pem_x509_certificate(cert.read_bytes())
            self.cert_id = hashlib.sha256(own.public_bytes(serialization.Encoding.DER)).hexdigest()
            self.rsa_pad = rsa_padding(own)
        self._producer: Producer | None = None

    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "enable.idempotence": True,  # acks=all, no duplicates on retry
                    "partitioner": "murmur2_random",  # the Java client's: same partition per key
                    "linger.ms": 5,
                    "message.max.bytes": 5 * 1024 * 1024,
                }
            )
        return self._producer

    def envelope(
        self,
        recipients: list[str],
        subject: str,
        code_number: str,
        code_notation: str,
        attachments: list[tuple[str, str, bytes]] | None = None,
    ) -> tuple[str, bytes]:
        """(document id, envelope bytes): the document encoded, signed and wrapped."""
        sent = now_us()
        date = dt.datetime.fromtimestamp(sent / 1e6, tz=dt.UTC).date().isoformat()
        doc_id = f"{self.agency_id},{date.replace('-', '/')},{code_number}/{code_notation}"
        document = {
            "id": doc_id,
            "sender": {"id": self.agency_id, "name": self.agency_id},
            "recipients": [{"id": r, "name": r} for r in recipients],
            "code_number": code_number,
            "code_notation": code_notation,
            "promulgation_place": "Hà Nội",
            "promulgation_date": date,
            "document_type": "OFFICIAL_LETTER",
            "subject": subject,
            "signer": {"name": "Example Connector", "position": "Văn thư", "competence": ""},
            "priority": "NORMAL",
            "secrecy": "NONE",
            "business_type": "NEW",
            "response_for": None,
            "due_date": None,
            "attachments": [
                {"name": n, "media_type": t, "sha256": hashlib.sha256(c).digest(), "content": c}
                for n, t, c in attachments or []
            ],
            "send_time_us": sent,
        }
        content = encode(DOCUMENT, document)  # exactly these bytes are signed
        envelope = {
            "content": content,
            "signature": sign(self.key, content, self.rsa_pad),
            "cert_id": self.cert_id,
            "trace": [{"node": f"producer:{self.agency_id}", "time_us": now_us()}],
        }
        return doc_id, encode(ENVELOPE, envelope)

    def send(
        self,
        recipients: list[str],
        subject: str,
        code_number: str,
        code_notation: str,
        attachments: list[tuple[str, str, bytes]] | None = None,
    ) -> str:
        """Sign and submit one document; returns its id once the broker has it."""
        doc_id, value = self.envelope(recipients, subject, code_number, code_notation, attachments)
        errors: list[Any] = []
        self.producer().produce(
            f"{self.prefix}submissions",
            value=value,
            key=self.agency_id.encode(),
            headers=[("document-id", doc_id.encode())],
            on_delivery=lambda err, _msg: errors.append(err) if err else None,
        )
        self.producer().flush(30)
        if errors:
            raise RuntimeError(f"submission failed: {errors[0]}")
        return doc_id

    def verify(self, envelope: dict[str, Any], document: dict[str, Any]) -> str:
        """'' if valid, else the reason (chain, validity at send time, CRL, agency, signature)."""
        if self.trust_dir is None:
            return "no trust dir"
        root = x509.load_pem_x509_certificate((self.trust_dir / "ca/root.pem").read_bytes())
        path = self.trust_dir / "certs" / f"{envelope['cert_id']}.pem"
        if not re.fullmatch(r"[0-9a-f]{64}", envelope["cert_id"]) or not path.exists():
            return "UNKNOWN_CERTIFICATE"
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        try:
            cert.verify_directly_issued_by(root)
        except (InvalidSignature, ValueError, TypeError):
            return "UNTRUSTED_CERTIFICATE"
        send = dt.datetime.fromtimestamp(document["send_time_us"] // 1_000_000, tz=dt.UTC)
        if send < cert.not_valid_before_utc:
            return "NOT_YET_VALID"
        if send > cert.not_valid_after_utc:
            return "EXPIRED"
        crl = x509.load_pem_x509_crl((self.trust_dir / "ca/crl.pem").read_bytes())
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and entry.revocation_date_utc <= send:
            return "REVOKED"
        uid = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
        if not uid or uid[0].value != document["sender"]["id"]:
            return "SENDER_MISMATCH"
        content, signature = envelope["content"], envelope["signature"]
        if not signature_ok(cert.public_key(), content, signature, rsa_padding(cert)):
            return "BAD_SIGNATURE"
        return ""

    def inbox(
        self, *, timeout_s: float, want: int, acks: tuple[str, ...] = ("01", "03")
    ) -> list[dict[str, Any]]:
        """Documents for this agency (verified or not), acknowledged; stops at `want` or timeout."""
        topic = f"{self.prefix}delivery.{tier_of(self.agency_id)}"
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"example-connector-{uuid.uuid4().hex}",  # never committed
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,  # the embedded broker holds fetches for the full wait
            }
        )
        out: list[dict[str, Any]] = []
        try:
            parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
            deadline = time.monotonic() + timeout_s
            while len(out) < want and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is None or msg.error() or msg.key() != self.agency_id.encode():
                    continue
                envelope = decode(ENVELOPE, msg.value())
                document = decode(DOCUMENT, envelope["content"])
                problem = self.verify(envelope, document)
                out.append({"document": document, "problem": problem, "trace": envelope["trace"]})
                self.ack(document, ("02",) if problem else acks, problem)
        finally:
            consumer.close()
        return out

    def ack(self, document: dict[str, Any], codes: tuple[str, ...], detail: str = "") -> None:
        for code in codes:
            status = {
                "document_id": document["id"],
                "sender": document["sender"]["id"],
                "recipient": self.agency_id,
                "code": f"S{code}",
                "time_us": now_us(),
                "detail": detail,
            }
            self.producer().produce(
                f"{self.prefix}status",
                value=encode(STATUS, status),
                key=document["sender"]["id"].encode(),
                headers=[("document-id", document["id"].encode())],
            )
        self.producer().flush(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["send", "inbox"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--as", dest="agency", required=True)
    parser.add_argument("--cert", type=Path, help="send: the certificate from keys enroll")
    parser.add_argument("--key", type=Path, help="send: its private key")
    parser.add_argument("--trust-dir", type=Path, help="inbox: keys dir (root, CRL, certs/)")
    parser.add_argument("--prefix", default="interchange.")
    parser.add_argument("--to", default="")
    parser.add_argument("--subject", default="Example connector document")
    parser.add_argument("--code-number", default="1")
    parser.add_argument("--code-notation", default="EX")
    parser.add_argument("--want", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    conn = Connector(
        args.bootstrap, args.agency, cert=args.cert, key=args.key, trust_dir=args.trust_dir,
        prefix=args.prefix,
    )  # fmt: skip
    if args.action == "send":
        print(conn.send(args.to.split(","), args.subject, args.code_number, args.code_notation))
        return 0
    docs = conn.inbox(timeout_s=args.timeout, want=args.want)
    for item in docs:
        print(item["document"]["id"], item["problem"] or "verified", item["document"]["subject"])
    return 0 if docs and not any(d["problem"] for d in docs) else 1


if __name__ == "__main__":
    sys.exit(main())
