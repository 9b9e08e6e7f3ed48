"""Signed test submissions for the router tests (unit and integration): one per reason code."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from interchange.axis.directory import Directory
from interchange.pki.keystore import CertFault, KeyStore, init_pki
from interchange.routing.outcomes import Placement
from interchange.wire import codec
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    Document,
    DocumentType,
    Envelope,
    Hop,
    Priority,
    ReasonCode,
    Secrecy,
    Signer,
)
from interchange.wire.partitioner import partition_of

CENTRAL = "000.00.00.G05"
CENTRAL2 = "000.00.00.G14"
PROVINCE = "000.00.00.H01"
DISTRICT = "000.00.01.H01"
COMMUNE = "000.01.01.H01"
OFFLINE_COMMUNE = "000.02.01.H01"  # connected=False in the tiny preset
STRANGER = "000.00.00.G99"  # valid shape, not in the directory
SECRET_SUBJECT = "TOP-SECRET-SUBJECT-d41d8cd9"
SECRET_CONTENT = b"TOP-SECRET-ATTACHMENT-8f00b204e980"
DAY_US = 86_400_000_000


def make_pki(keys_dir: Path, directory: Directory) -> KeyStore:
    init_pki(keys_dir, directory.agencies)
    return KeyStore.open(keys_dir)


def document(
    sender: str,
    recipients: Sequence[str],
    number: int,
    *,
    secrecy: Secrecy = Secrecy.NONE,
    subject: str = "Báo cáo tình hình",
    attachment: bytes = b"body",
    send_time_us: int | None = None,
) -> Document:
    sha = codec.content_sha256(attachment)
    return Document(
        id=codec.make_document_id(sender, "2026-11-02", str(number), "UBND-VP"),
        sender=AgencyRef(sender, f"Agency {sender}"),
        recipients=tuple(AgencyRef(r, f"Agency {r}") for r in recipients),
        code_number=str(number),
        code_notation="UBND-VP",
        promulgation_place="Vị Thanh",
        promulgation_date="2026-11-02",
        document_type=DocumentType.REPORT,
        subject=subject,
        signer=Signer("Nguyễn Văn A", "Chánh Văn phòng", "TL."),
        priority=Priority.NORMAL,
        secrecy=secrecy,
        business_type=BusinessType.NEW,
        response_for=None,
        due_date=None,
        attachments=(Attachment("a.txt", "text/plain", sha, attachment),),
        send_time_us=send_time_us if send_time_us is not None else time.time_ns() // 1000,
    )


def sign(
    keys: KeyStore, doc: Document, *, signer: str | None = None, fault: CertFault | None = None
) -> Envelope:
    agency = signer or doc.sender.id
    cred = keys.fault_credential(agency, fault) if fault else keys.credential(agency)
    content = codec.encode_document(doc)
    return Envelope(
        content,
        cred.sign(content),
        cred.cert_id,
        (Hop(f"producer:{doc.sender.id}", doc.send_time_us),),
    )


@dataclass(frozen=True)
class Case:
    """One submission and the outcome the router must reach for it."""

    name: str
    value: bytes
    sender: str  # record key ("" when not decodable)
    reason: ReasonCode | None  # None: delivered
    deliveries: tuple[str, ...] = ()  # expected recipients with a delivery record
    not_connected: tuple[str, ...] = ()
    document_id: str = ""
    classified: bool = False
    other_key: str | None = None  # produced with this agency's id as key (KEY_MISMATCH)
    off_home: bool = False  # produced to the partition after its key's (WRONG_PARTITION)

    @property
    def key(self) -> bytes:
        """The record key to produce it with."""
        return (self.other_key if self.other_key is not None else self.sender).encode()

    def partition(self, partitions: int) -> int:
        """The partition to produce it to among `partitions` (>= 2 for an off-home case)."""
        home = partition_of(self.key, partitions)
        return (home + 1) % partitions if self.off_home else home

    def placement(self, partitions: int) -> Placement:
        return Placement(self.key, self.partition(partitions), partitions)


def cases(keys: KeyStore, base: int = 0) -> list[Case]:
    """Every outcome and reason code once; `base` keeps document ids unique across calls."""
    out: list[Case] = []

    def add(
        name: str,
        doc: Document,
        env: Envelope | bytes,
        reason: ReasonCode | None,
        deliveries: tuple[str, ...] = (),
        not_connected: tuple[str, ...] = (),
        *,
        other_key: str | None = None,
        off_home: bool = False,
    ) -> None:
        value = env if isinstance(env, bytes) else codec.encode_envelope(env)
        out.append(
            Case(
                name,
                value,
                doc.sender.id,
                reason,
                deliveries,
                not_connected,
                doc.id,
                doc.secrecy.classified,
                other_key,
                off_home,
            )
        )

    n = base

    def nxt() -> int:
        nonlocal n
        n += 1
        return n

    d = document(CENTRAL, [PROVINCE, DISTRICT, COMMUNE], nxt())
    add("delivered", d, sign(keys, d), None, (PROVINCE, DISTRICT, COMMUNE))
    d = document(PROVINCE, [COMMUNE, OFFLINE_COMMUNE], nxt())
    add("partly-offline", d, sign(keys, d), None, (COMMUNE,), (OFFLINE_COMMUNE,))
    d = document(CENTRAL, [PROVINCE], nxt())
    add("replay-original", d, sign(keys, d), None, (PROVINCE,))
    add("replay", d, sign(keys, d), ReasonCode.REPLAY)
    d = document(
        CENTRAL,
        [PROVINCE, COMMUNE],
        nxt(),
        secrecy=Secrecy.SECRET,
        subject=SECRET_SUBJECT,
        attachment=SECRET_CONTENT,
    )
    add("classified", d, sign(keys, d), ReasonCode.CLASSIFIED)
    d = document(CENTRAL, [PROVINCE, "000.00.00.H63"], nxt())
    add("unknown-recipient", d, sign(keys, d), ReasonCode.UNKNOWN_RECIPIENT)
    d = document(STRANGER, [PROVINCE], nxt())
    add("unknown-sender", d, sign(keys, d, signer=CENTRAL), ReasonCode.UNKNOWN_SENDER)
    d = document(CENTRAL2, [PROVINCE], nxt())
    add("sender-mismatch", d, sign(keys, d, signer=CENTRAL), ReasonCode.SENDER_MISMATCH)
    d = document(CENTRAL, [PROVINCE], nxt())
    env = sign(keys, d)
    bad = bytes([env.signature[0] ^ 1]) + env.signature[1:]
    add("bad-signature", d, replace(env, signature=bad), ReasonCode.BAD_SIGNATURE)
    d = document(CENTRAL, [PROVINCE], nxt())
    add(
        "algorithm-mismatch",
        d,
        replace(sign(keys, d), signature=b"\x01" * 7),
        ReasonCode.ALGORITHM_MISMATCH,
    )
    d = document(CENTRAL, [PROVINCE], nxt())
    add(
        "unknown-certificate",
        d,
        replace(sign(keys, d), cert_id="ab" * 32),
        ReasonCode.UNKNOWN_CERTIFICATE,
    )
    for fault, reason in (
        (CertFault.REVOKED, ReasonCode.REVOKED),
        (CertFault.EXPIRED, ReasonCode.EXPIRED),
        (CertFault.NOT_YET_VALID, ReasonCode.NOT_YET_VALID),
        (CertFault.UNTRUSTED, ReasonCode.UNTRUSTED_CERTIFICATE),
    ):
        d = document(PROVINCE, [CENTRAL], nxt())
        add(f"cert-{fault.value}", d, sign(keys, d, fault=fault), reason)
    d = document(CENTRAL, [PROVINCE], nxt())
    add("key-mismatch", d, sign(keys, d), ReasonCode.KEY_MISMATCH, other_key=PROVINCE)
    d = document(CENTRAL, [PROVINCE], nxt())
    add("wrong-partition", d, sign(keys, d), ReasonCode.WRONG_PARTITION, off_home=True)
    d = document(CENTRAL, [PROVINCE], nxt(), send_time_us=time.time_ns() // 1000 - 2 * DAY_US)
    add("send-time-skew", d, sign(keys, d), ReasonCode.SEND_TIME_SKEW)
    d = document(CENTRAL, [], nxt())
    add("no-recipients", d, sign(keys, d), ReasonCode.NO_RECIPIENTS)
    d = document(CENTRAL, [PROVINCE], nxt())
    env = sign(keys, d)
    full = tuple(Hop(f"relay:{i}", d.send_time_us) for i in range(codec.MAX_TRACE_HOPS))
    add("trace-full", d, replace(env, trace=full), ReasonCode.TOO_LARGE)
    d = document(CENTRAL, [PROVINCE], nxt())
    add("malformed-envelope", d, b"\x00garbage", ReasonCode.MALFORMED)
    d = document(CENTRAL, [PROVINCE], nxt())
    env = sign(keys, d)
    add(
        "malformed-document",
        d,
        codec.encode_envelope(replace(env, content=env.content + b"x")),
        ReasonCode.MALFORMED,
    )
    # business types 1-3 (policy check 12): a target the router delivered from this
    # sender, one it never saw, and one of another sender
    delivered = next(c.document_id for c in out if c.name == "delivered")
    d = replace(
        document(CENTRAL, [PROVINCE], nxt()),
        business_type=BusinessType.REVOKE,
        business=Business(delivered, "sent in error"),
    )
    add("revoke-delivered-target", d, sign(keys, d), None, (PROVINCE,))
    d = replace(
        document(CENTRAL, [PROVINCE], nxt()),
        business_type=BusinessType.UPDATE,
        business=Business(f"{CENTRAL},2020/01/01,1/NEVER", "no such document"),
    )
    add("update-unknown-target", d, sign(keys, d), ReasonCode.UNKNOWN_TARGET)
    d = replace(
        document(PROVINCE, [CENTRAL], nxt()),
        business_type=BusinessType.REPLACE,
        business=Business(delivered, "not mine", delivered),
    )
    add("replace-foreign-target", d, sign(keys, d), ReasonCode.UNKNOWN_TARGET)
    return out
