"""The archive seal: a CMS signature of the manifest and an RFC 3161 time-stamp of it (pure).

As X-Road keeps its message log, each archive is sealed by two parties of the simulated
PKI, both certified by the national root:

* the **archive signer** (certificate with extended key usage id-kp-documentSigning)
  signs the manifest bytes: `manifest.p7s`, a detached CMS SignedData (RFC 5652) with
  the signed attributes content-type, message-digest (SHA-256) and signing-time;
* the **time-stamping authority** (extended key usage id-kp-timeStamping, critical)
  answers an RFC 3161 TimeStampReq over the SHA-256 of `manifest.p7s` with a
  TimeStampResp: `manifest.tsr`. Its TSTInfo genTime is the trusted time of the seal;
  its SignedData carries an ESSCertIDv2 (RFC 5816) naming the TSA certificate.

All ASN.1 is built and parsed with asn1crypto; keys and signatures are `cryptography`'s.
Both files are standard, so `openssl cms -verify` and `openssl ts -verify` check them
with the root certificate alone (docs/AUDIT.md). Verification reports problems as
`SealProblem`s (a kind and one line), never raises on hostile bytes.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from interchange.pki import certificates as certs
from interchange.pki.signing import PrivateKey

# A UUID-derived OID (ITU-T X.667 arc 2.25): the simulated TSA's policy, needing no registry.
TSA_POLICY = "2.25.331333005034306888897222491563101381049"
_SKEW_US = 5 * 60 * 1_000_000  # a seal's genTime may precede the manifest's clock by this


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp. asn1crypto's `tsp.TimeStampResp` lacks the OPTIONAL on
    timeStampToken, so a rejection (status only) could neither be built nor read."""

    _fields = [  # noqa: RUF012 - asn1crypto's schema declaration
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class SealFault(enum.StrEnum):
    """What is wrong with a seal; each becomes an archive finding of the same name."""

    UNSIGNED = "MANIFEST_UNSIGNED"  # no manifest.p7s, or not a CMS signature
    SIGNATURE = "MANIFEST_SIGNATURE_INVALID"  # does not verify, or the signer is not trusted
    TIMESTAMP = "TIMESTAMP_INVALID"  # no or bad manifest.tsr, or the TSA is not trusted


@dataclass(frozen=True, slots=True)
class SealProblem:
    fault: SealFault
    detail: str


@dataclass(frozen=True, slots=True)
class SealCheck:
    """The outcome of verifying one seal; `gen_time_us` is None without a valid time-stamp."""

    problems: tuple[SealProblem, ...]
    gen_time_us: int | None
    signer: str  # subject of the signing certificate, "" if unknown


class _SealError(Exception):
    """Internal: one verification step failed (message = the detail)."""


# -- building --------------------------------------------------------------------------


def sign_detached(data: bytes, key: PrivateKey, cert: x509.Certificate, at_us: int) -> bytes:
    """A detached CMS SignedData (DER ContentInfo) over `data`, by `cert`'s key."""
    attrs = [
        _attr("content_type", cms.ContentType("data")),
        _attr("signing_time", cms.Time({"utc_time": certs.to_datetime(at_us)})),
        _attr("message_digest", core.OctetString(hashlib.sha256(data).digest())),
    ]
    return _signed_data("data", None, attrs, key, cert)


def timestamp_request(data: bytes, nonce: int | None = None) -> bytes:
    """An RFC 3161 TimeStampReq (DER) for SHA-256(`data`), asking for the TSA certificate."""
    return bytes(
        tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": _imprint(hashlib.sha256(data).digest()),
                "nonce": secrets.randbits(63) if nonce is None else nonce,
                "cert_req": True,
            }
        ).dump()
    )


def answers(request: bytes, response: bytes) -> str:
    """ "" when `response` grants a token for `request` (same imprint, same nonce), else why
    not: the requester's check, which a later verifier cannot make (it has no nonce)."""
    try:
        req = tsp.TimeStampReq.load(request)
        resp = TimeStampResp.load(response)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            return f"the time-stamping authority answered {status}"
        tst = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
        if tst["nonce"].native != req["nonce"].native:
            return "the time-stamp answers another request (nonce)"
        if tst["message_imprint"].dump() != req["message_imprint"].dump():
            return "the time-stamp is of other data (message imprint)"
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"not an RFC 3161 response: {exc}"
    return ""


@dataclass(frozen=True, slots=True)
class TimeStampAuthority:
    """The simulated TSA: an RFC 3161 responder, bytes in and bytes out."""

    key: PrivateKey
    cert: x509.Certificate

    def respond(self, request: bytes, now_us: int) -> bytes:
        """A TimeStampResp (DER): granted with a token, or rejected for a malformed request."""
        try:
            req = tsp.TimeStampReq.load(request)
            imprint = req["message_imprint"]
            if imprint["hash_algorithm"]["algorithm"].native != "sha256":
                return _rejection("bad_alg", "only SHA-256 message imprints are accepted")
            if len(imprint["hashed_message"].native) != 32:
                return _rejection("bad_data_format", "the imprint is not a SHA-256 digest")
            nonce = req["nonce"].native
        except (ValueError, TypeError, KeyError) as exc:
            return _rejection("bad_request", f"not a TimeStampReq: {exc}")
        asn_cert = _asn_cert(self.cert)
        info = {
            "version": "v1",
            "policy": TSA_POLICY,
            "message_imprint": _imprint(imprint["hashed_message"].native),
            "serial_number": secrets.randbits(63),
            "gen_time": _gen_time(now_us),
            "accuracy": {"seconds": 1},
            "tsa": ax509.GeneralName({"directory_name": asn_cert.subject}),
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst = tsp.TSTInfo(info)
        cert_id = tsp.ESSCertIDv2(  # hash algorithm left at its DER default, SHA-256
            {
                "cert_hash": hashlib.sha256(asn_cert.dump()).digest(),
                "issuer_serial": {
                    "issuer": [ax509.GeneralName({"directory_name": asn_cert.issuer})],
                    "serial_number": asn_cert.serial_number,
                },
            }
        )
        attrs = [
            _attr("content_type", cms.ContentType("tst_info")),
            _attr("message_digest", core.OctetString(hashlib.sha256(tst.dump()).digest())),
            _attr("signing_certificate_v2", tsp.SigningCertificateV2({"certs": [cert_id]})),
        ]
        token = _signed_data("tst_info", tst, attrs, self.key, self.cert)
        resp = TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token)}
        )
        return bytes(resp.dump())


def _attr(kind: str, value: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": kind, "values": [value]})


def _imprint(digest: bytes) -> tsp.MessageImprint:
    return tsp.MessageImprint({"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest})


def _gen_time(at_us: int) -> dt.datetime:
    return certs.to_datetime(at_us)


def _rejection(failure: str, text: str) -> bytes:
    status = {"status": "rejection", "status_string": [text], "fail_info": {failure}}
    return bytes(TimeStampResp({"status": status}).dump())


def _asn_cert(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _signed_data(
    content_type: str,
    content: object | None,
    attrs: list[cms.CMSAttribute],
    key: PrivateKey,
    cert: x509.Certificate,
) -> bytes:
    asn_cert = _asn_cert(cert)
    signed_attrs = cms.CMSAttributes(attrs)
    signature, algorithm = _sign(key, signed_attrs.dump())
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": asn_cert.issuer,
                        "serial_number": asn_cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": signature,
        }
    )
    encap: dict[str, object] = {"content_type": content_type}
    if content is not None:
        encap["content"] = content
    data = cms.SignedData(
        {
            "version": "v1" if content_type == "data" else "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": encap,
            "certificates": [asn_cert],
            "signer_infos": [signer],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": data}).dump())


def _sign(key: PrivateKey, data: bytes) -> tuple[bytes, str]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data), "ed25519"
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "sha256_rsa"


# -- verifying -------------------------------------------------------------------------

Revoked = Callable[[int], int | None]  # serial -> revocation time (us) or None


def verify_seal(
    manifest: bytes,
    p7s: bytes | None,
    tsr: bytes | None,
    root: x509.Certificate,
    revoked_at: Revoked,
    *,
    created_us: int,
) -> SealCheck:
    """Check the manifest's signature and time-stamp against the root alone.

    Steps, in order (the first failure of each part is reported): the time-stamp
    (TSA certificate issued by the root, time-stamping its only and critical usage,
    valid and unrevoked at genTime, ESSCertIDv2 matches, CMS signature verifies,
    imprint = SHA-256 of manifest.p7s, genTime not before the manifest was written);
    then the signature (signer certificate issued by the root with document-signing
    usage, valid and unrevoked at genTime, message digest = SHA-256 of the manifest,
    CMS signature verifies).
    """
    problems: list[SealProblem] = []
    if p7s is None:
        problems.append(SealProblem(SealFault.UNSIGNED, "manifest.p7s is missing"))
    gen_us: int | None = None
    if tsr is None:
        problems.append(SealProblem(SealFault.TIMESTAMP, "manifest.tsr is missing"))
    elif p7s is not None:
        try:
            gen_us = _check_timestamp(tsr, p7s, root, revoked_at)
            if gen_us + _SKEW_US < created_us:
                raise _SealError("the time-stamp is older than the manifest it seals")
        except _SealError as exc:
            problems.append(SealProblem(SealFault.TIMESTAMP, str(exc)))
            gen_us = None
    signer = ""
    if p7s is not None:
        try:
            signer = _check_signature(manifest, p7s, root, revoked_at, gen_us)
        except _UnsignedError as exc:
            problems.append(SealProblem(SealFault.UNSIGNED, str(exc)))
        except _SealError as exc:
            problems.append(SealProblem(SealFault.SIGNATURE, str(exc)))
    return SealCheck(tuple(problems), gen_us, signer)


class _UnsignedError(_SealError):
    pass


def _check_timestamp(tsr: bytes, sealed: bytes, root: x509.Certificate, revoked_at: Revoked) -> int:
    try:
        resp = TimeStampResp.load(tsr)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
        if status not in ("granted", "granted_with_mods") or token.native is None:
            raise _SealError(f"the time-stamping authority did not grant it ({status})")
        signed = token["content"]
        encap = signed["encap_content_info"]
        if (
            token["content_type"].native != "signed_data"
            or encap["content_type"].native != "tst_info"
        ):
            raise _SealError("manifest.tsr holds no time-stamp token")
        tst = encap["content"].parsed
        imprint = tst["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        gen_time = tst["gen_time"].native
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _SealError(f"manifest.tsr is not an RFC 3161 response: {exc}") from None
    if algorithm != "sha256" or hashed != hashlib.sha256(sealed).digest():
        raise _SealError("the time-stamp is of other data than manifest.p7s")
    gen_us = certs.to_us(gen_time)
    signer_cert, attrs = _check_cms(signed, tst.dump())
    if attrs.get("content_type") != "tst_info":
        raise _SealError("the token's signed content type is not TSTInfo")
    _check_cert(
        signer_cert, root, revoked_at, gen_us, purpose=certs.TIME_STAMPING, what="time-stamping"
    )
    ids = attrs.get("signing_certificate_v2")
    want = hashlib.sha256(signer_cert.public_bytes(serialization.Encoding.DER)).digest()
    if not isinstance(ids, tsp.SigningCertificateV2) or ids["certs"][0]["cert_hash"].native != want:
        raise _SealError("the token's ESSCertIDv2 does not name its signing certificate")
    return gen_us


def _check_signature(
    manifest: bytes, p7s: bytes, root: x509.Certificate, revoked_at: Revoked, at_us: int | None
) -> str:
    try:
        info = cms.ContentInfo.load(p7s)
        if info["content_type"].native != "signed_data":
            raise _UnsignedError("manifest.p7s is not a CMS SignedData")
        signed = info["content"]
        if signed["encap_content_info"]["content"].native is not None:
            raise _SealError("manifest.p7s is not a detached signature")
    except (ValueError, TypeError, KeyError) as exc:
        raise _UnsignedError(f"manifest.p7s is not a CMS signature: {exc}") from None
    signer_cert, attrs = _check_cms(signed, manifest)
    if at_us is None:  # no trusted time: the signer's own claim, checked all the same
        claimed = attrs.get("signing_time")
        at_us = certs.to_us(claimed) if isinstance(claimed, dt.datetime) else 0
    _check_cert(
        signer_cert, root, revoked_at, at_us, purpose=certs.DOCUMENT_SIGNING, what="archive-signing"
    )
    return signer_cert.subject.rfc4514_string()


def _check_cms(
    signed: cms.SignedData, content: bytes
) -> tuple[x509.Certificate, dict[str, object]]:
    """The one signer's certificate and signed attributes, once its signature verifies."""
    try:
        signers = signed["signer_infos"]
        if len(signers) != 1:
            raise _SealError(f"{len(signers)} signers, want exactly one")
        si = signers[0]
        sid = si["sid"]
        if sid.name != "issuer_and_serial_number":
            raise _SealError("signer not identified by issuer and serial number")
        serial = sid.chosen["serial_number"].native
        issuer = sid.chosen["issuer"]
        match = [
            c.chosen
            for c in signed["certificates"] or []
            if c.name == "certificate"
            and c.chosen.serial_number == serial
            and c.chosen.issuer == issuer
        ]
        if not match:
            raise _SealError("the signing certificate is not in the signature")
        cert = x509.load_der_x509_certificate(match[0].dump())
        signed_attrs = si["signed_attrs"]
        attrs = {a["type"].native: a["values"][0] for a in signed_attrs}
        digest_alg = si["digest_algorithm"]["algorithm"].native
        sig_alg = si["signature_algorithm"].signature_algo
        signature = si["signature"].native
        to_verify = signed_attrs.untag().dump(force=True)
    except _SealError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _SealError(f"malformed CMS signer: {exc}") from None
    if digest_alg != "sha256":
        raise _SealError(f"digest algorithm {digest_alg}, want sha256")
    digest = attrs.get("message_digest")
    if digest is None or digest.native != hashlib.sha256(content).digest():
        raise _SealError("the signed message digest is not that of the content")
    if not _verifies(cert, signature, to_verify, sig_alg):
        raise _SealError("the CMS signature does not verify")
    return cert, {k: (v if k == "signing_certificate_v2" else v.native) for k, v in attrs.items()}


def _verifies(cert: x509.Certificate, signature: bytes, data: bytes, algorithm: str) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey) and algorithm == "ecdsa":
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, ed25519.Ed25519PublicKey) and algorithm == "ed25519":
            public.verify(signature, data)
        elif isinstance(public, rsa.RSAPublicKey) and algorithm == "rsassa_pkcs1v15":
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def _check_cert(
    cert: x509.Certificate,
    root: x509.Certificate,
    revoked_at: Revoked,
    at_us: int,
    *,
    purpose: x509.ObjectIdentifier,
    what: str,
) -> None:
    if not certs.issued_by(cert, root):
        raise _SealError(f"the {what} certificate is not issued by the national root")
    usages, critical = certs.purposes(cert)
    if purpose not in usages or (
        purpose == certs.TIME_STAMPING and (usages != (purpose,) or not critical)
    ):
        raise _SealError(f"the certificate is not an {what} certificate (extended key usage)")
    if not certs.to_us(cert.not_valid_before_utc) <= at_us <= certs.to_us(cert.not_valid_after_utc):
        raise _SealError(
            f"the {what} certificate was not valid at {certs.to_datetime(at_us):%Y-%m-%dT%H:%M:%SZ}"
        )
    revoked = revoked_at(cert.serial_number)
    if revoked is not None and revoked <= at_us:
        raise _SealError(f"the {what} certificate was revoked before the seal")
