"""The one verifier: each ordered check gives its own reason, the first failure wins.

A fake certificate source stands in for the trust store, so every check is reached with
exactly one defect (fixtures named by defect, as X-Road's verifier tests are)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from interchange.pki.certificates import CertInfo
from interchange.pki.signing import Algorithm, generate_key, sign, verifier
from interchange.pki.verification import (
    CERTIFICATE_CHECKS,
    ORDER,
    SIGNATURE_CHECKS,
    VALID,
    VERDICTS,
    Certificate,
    Check,
    SignatureVerifier,
    Verdict,
    judged_at,
)
from interchange.wire.model import ContentFormat, Envelope, Hop, ReasonCode, Tier

NOW = 1_800_000_000_000_000
AGENCY = "000.00.00.G22"
CERT = "ab" * 32
CONTENT = b"canonical document bytes"
KEY = generate_key(Algorithm.ED25519)
SIGNATURE = sign(KEY, CONTENT, Algorithm.ED25519)
INFO = CertInfo(CERT, AGENCY, Tier.CENTRAL, Algorithm.ED25519, 7, NOW - 10, NOW + 10)


@dataclass
class FakeCertificates:
    """A trust store of one certificate, its revocations, and the lookups made."""

    certificate: Certificate | None
    revoked: dict[int, int] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)

    def entry(self, cert_id: str) -> Certificate | None:
        self.looked_up.append(cert_id)
        return self.certificate if cert_id == CERT else None

    def revoked_at(self, serial: int) -> int | None:
        return self.revoked.get(serial)


def good() -> Certificate:
    return Certificate(INFO, True, verifier(KEY.public_key(), Algorithm.ED25519))


def verdict(source: FakeCertificates, **change: object) -> Verdict:
    args: dict[str, object] = {
        "content": CONTENT,
        "signature": SIGNATURE,
        "cert_id": CERT,
        "sender_id": AGENCY,
        "at_us": NOW,
    }
    args.update(change)
    return SignatureVerifier(source).verdict(**args)  # type: ignore[arg-type]


def test_a_valid_signature_is_the_one_valid_verdict() -> None:
    got = verdict(FakeCertificates(good()))
    assert got is VALID
    assert got.ok
    assert got.check is None
    assert not got.of_certificate


# One fixture per defect: (source, call changes) -> the reason and the check that gives it.
DEFECTS: dict[str, tuple[FakeCertificates, dict[str, object], ReasonCode, Check]] = {
    "unknown-cert-id": (
        FakeCertificates(good()),
        {"cert_id": "cd" * 32},
        ReasonCode.UNKNOWN_CERTIFICATE,
        Check.CERTIFICATE,
    ),
    "damaged-certificate-file": (
        FakeCertificates(Certificate(None, False, lambda c, s: True)),
        {},
        ReasonCode.UNTRUSTED_CERTIFICATE,
        Check.TRUST,
    ),
    "not-issued-by-the-root": (
        FakeCertificates(replace(good(), trusted=False)),
        {},
        ReasonCode.UNTRUSTED_CERTIFICATE,
        Check.TRUST,
    ),
    "key-outside-the-profile": (
        FakeCertificates(replace(good(), info=replace(INFO, algorithm=None))),
        {},
        ReasonCode.UNTRUSTED_CERTIFICATE,
        Check.TRUST,
    ),
    "before-not-before": (
        FakeCertificates(good()),
        {"at_us": NOW - 11},
        ReasonCode.NOT_YET_VALID,
        Check.VALIDITY,
    ),
    "after-not-after": (
        FakeCertificates(good()),
        {"at_us": NOW + 11},
        ReasonCode.EXPIRED,
        Check.VALIDITY,
    ),
    "revoked-before-receipt": (
        FakeCertificates(good(), revoked={INFO.serial: NOW - 1}),
        {},
        ReasonCode.REVOKED,
        Check.REVOCATION,
    ),
    "another-agencys-certificate": (
        FakeCertificates(good()),
        {"sender_id": "000.00.00.G05"},
        ReasonCode.SENDER_MISMATCH,
        Check.SENDER,
    ),
    "signature-of-the-wrong-shape": (
        FakeCertificates(good()),
        {"signature": b"\x01" * 7},
        ReasonCode.ALGORITHM_MISMATCH,
        Check.ALGORITHM,
    ),
    "flipped-signature-bit": (
        FakeCertificates(good()),
        {"signature": bytes([SIGNATURE[0] ^ 1]) + SIGNATURE[1:]},
        ReasonCode.BAD_SIGNATURE,
        Check.SIGNATURE,
    ),
    "changed-content": (
        FakeCertificates(good()),
        {"content": CONTENT + b"!"},
        ReasonCode.BAD_SIGNATURE,
        Check.SIGNATURE,
    ),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_check_gives_its_own_reason(defect: str) -> None:
    source, change, reason, check = DEFECTS[defect]
    got = verdict(source, **change)
    assert got.reason is reason
    assert got.check is check
    assert got is VERDICTS[reason]  # one instance per reason: nothing allocated
    assert got.of_certificate is (check in CERTIFICATE_CHECKS)


def test_revoked_after_the_receipt_time_still_verifies() -> None:
    """Revocation is judged at the time given: a document received before it stays valid."""
    source = FakeCertificates(good(), revoked={INFO.serial: NOW + 1})
    assert verdict(source) is VALID
    assert verdict(source, at_us=NOW + 1).reason is ReasonCode.REVOKED


def test_the_order_of_checks_is_the_documented_one() -> None:
    assert [check for check, _ in ORDER] == list(Check)
    assert {r for _, reasons in ORDER for r in reasons} == set(VERDICTS)


def test_the_first_failing_check_wins() -> None:
    """A certificate with every defect: each fixed in order uncovers the next reason."""
    bad_everything: dict[str, object] = {
        "signature": b"\x01" * 7,
        "sender_id": "000.00.00.G05",
        "at_us": NOW + 11,
    }
    revoked = {INFO.serial: NOW - 1}
    steps = [
        (
            FakeCertificates(replace(good(), trusted=False), revoked),
            ReasonCode.UNTRUSTED_CERTIFICATE,
        ),
        (FakeCertificates(good(), revoked), ReasonCode.EXPIRED),
    ]
    for source, reason in steps:
        assert verdict(source, **bad_everything).reason is reason
    bad_everything["at_us"] = NOW
    assert verdict(FakeCertificates(good(), revoked), **bad_everything).reason is (
        ReasonCode.REVOKED
    )
    assert verdict(FakeCertificates(good()), **bad_everything).reason is (
        ReasonCode.SENDER_MISMATCH
    )
    bad_everything["sender_id"] = AGENCY
    assert verdict(FakeCertificates(good()), **bad_everything).reason is (
        ReasonCode.ALGORITHM_MISMATCH
    )


def test_an_untrusted_certificate_never_reaches_its_key() -> None:
    """TRUST comes before SIGNATURE: the key of an untrusted certificate is never used."""
    used: list[bytes] = []

    def spy(content: bytes, signature: bytes) -> bool:
        used.append(content)
        return True

    source = FakeCertificates(Certificate(INFO, False, spy))
    assert verdict(source).reason is ReasonCode.UNTRUSTED_CERTIFICATE
    assert used == []


def test_verify_is_the_reason_of_the_verdict() -> None:
    v = SignatureVerifier(FakeCertificates(good()))
    assert v.verify(CONTENT, SIGNATURE, CERT, AGENCY, NOW) is None
    assert v.verify(CONTENT, SIGNATURE, CERT, AGENCY, NOW + 11) is ReasonCode.EXPIRED


def test_signature_only_uses_the_key_of_an_unacceptable_certificate() -> None:
    """Conformance's diagnosis: the signature apart from the certificate's defects."""
    untrusted = SignatureVerifier(FakeCertificates(replace(good(), trusted=False)))
    assert untrusted.signature_only(CONTENT, SIGNATURE, CERT) is VALID
    flipped = bytes([SIGNATURE[0] ^ 1]) + SIGNATURE[1:]
    assert untrusted.signature_only(CONTENT, flipped, CERT).reason is ReasonCode.BAD_SIGNATURE
    assert untrusted.signature_only(CONTENT, b"\x01", CERT).reason is (
        ReasonCode.ALGORITHM_MISMATCH
    )
    assert untrusted.signature_only(CONTENT, SIGNATURE, "cd" * 32).reason is (
        ReasonCode.UNKNOWN_CERTIFICATE
    )
    damaged = SignatureVerifier(FakeCertificates(Certificate(None, False, lambda c, s: True)))
    assert damaged.signature_only(CONTENT, SIGNATURE, CERT).reason is (
        ReasonCode.UNTRUSTED_CERTIFICATE
    )


def test_a_content_format_plugs_in_at_the_signature_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second format is one `SignatureCheck`; the certificate checks stay before it."""
    calls: list[tuple[bytes, bytes]] = []

    def other(certificate: Certificate, content: bytes, signature: bytes) -> Verdict:
        calls.append((content, signature))
        return VERDICTS[ReasonCode.BAD_SIGNATURE]

    fmt = ContentFormat.EDXML  # a format the verifier does not know yet plugs in
    monkeypatch.setitem(SIGNATURE_CHECKS, fmt, other)
    v = SignatureVerifier(FakeCertificates(good()))
    assert v.verdict(CONTENT, SIGNATURE, CERT, AGENCY, NOW, content_format=fmt).reason is (
        ReasonCode.BAD_SIGNATURE
    )
    assert calls == [(CONTENT, SIGNATURE)]
    assert v.verdict(CONTENT, SIGNATURE, CERT, AGENCY, NOW + 11).reason is ReasonCode.EXPIRED
    assert len(calls) == 1  # a certificate defect never reaches the format's check


def test_judged_at_is_the_last_router_hop_else_the_send_time() -> None:
    env = Envelope(CONTENT, SIGNATURE, CERT, (Hop(f"producer:{AGENCY}", 5),))
    assert judged_at(env, 3) == 3
    routed = replace(env, trace=(*env.trace, Hop("router:a", 8), Hop("router:b", 9)))
    assert judged_at(routed, 3) == 9
    assert judged_at(replace(env, trace=(*routed.trace, Hop("relay", 12))), 3) == 9
