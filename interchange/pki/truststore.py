"""The public side of the PKI: the certificates and CRL every reader verifies against.

Reads only the root certificate, the CRL and certs/; never a private key.
Certificates are parsed, chain-checked and bound to a verifier on first use
and cached by cert id, so a verify after the first costs one dict lookup, a few
integer comparisons and the raw signature check. An unknown cert id is looked
up on disk at once (a new enrolment or fault certificate is visible to the next
document); the CRL is re-read when its file changes, checked at most once per
`crl_check_interval_s` and whenever a new certificate is loaded.

The checks themselves, in their order, are `pki.verification` (`SignatureVerifier`):
this store is its source of certificates and revocations, and `verify` is that
verifier bound to this store.
"""

from __future__ import annotations

import time
from pathlib import Path

from cryptography import x509

from interchange.errors import PkiError
from interchange.pki import certificates as certs
from interchange.pki.keyfiles import Layout, read_file
from interchange.pki.signing import Verifier, verifier
from interchange.pki.verification import Certificate, SignatureVerifier
from interchange.wire.model import CERT_ID, ReasonCode


def _never(_content: bytes, _signature: bytes) -> bool:
    return False


class TrustStore:
    """Trust anchor + certificates by id + CRL; `verify` is the one verifier bound to them."""

    def __init__(self, layout: Layout, root: x509.Certificate, crl_check_interval_s: float) -> None:
        self._layout = layout
        self._root = root
        self._entries: dict[str, Certificate] = {}
        self._revoked: dict[int, int] = {}
        self._crl_stamp: tuple[int, int, int] | None = None
        self._interval = crl_check_interval_s
        self._next_crl_check = 0.0
        self._verifier = SignatureVerifier(self)
        self._verdict = self._verifier.verdict

    @classmethod
    def open(cls, keys_dir: Path, *, crl_check_interval_s: float = 1.0) -> TrustStore:
        """Load the trust anchor and the CRL (certificates load lazily, by id)."""
        layout = Layout(Path(keys_dir))
        if not layout.root_cert.exists():
            raise PkiError(f"{layout.root} has no root CA; run 'interchange keys init' first")
        try:
            root = x509.load_pem_x509_certificate(read_file(layout.root_cert))
        except ValueError as exc:
            raise PkiError(f"{layout.root_cert}: not a certificate ({exc})") from exc
        store = cls(layout, root, crl_check_interval_s)
        store._check_crl()
        return store

    @property
    def root(self) -> x509.Certificate:
        """The trust anchor (also of the archive seal: signer and time-stamping authority)."""
        return self._root

    @property
    def root_cert_id(self) -> str:
        return certs.cert_id_of(self._root)

    @property
    def verifier(self) -> SignatureVerifier:
        """The ordered checks (`pki.verification`) over this store's certificates."""
        return self._verifier

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        """None if `signature` by cert `cert_id` of `sender_id` is valid at `at_us`, else
        the reason: `SignatureVerifier.verify` over this store. `at_us` is the receipt
        time, never the signer's own `send_time_us`."""
        return self._verdict(content, signature, cert_id, sender_id, at_us).reason

    def entry(self, cert_id: str) -> Certificate | None:
        """The certificate with `cert_id`, loaded on first use; None when there is none.
        Re-reads the CRL first when it is due (`crl_check_interval_s`)."""
        if time.monotonic() >= self._next_crl_check:
            self._check_crl()
        return self._entries.get(cert_id) or self._load(cert_id)

    def certificate_reason(self, cert_id: str, sender_id: str, at_us: int) -> ReasonCode | None:
        """The verifier's certificate checks alone, in its order: for a signature checked
        elsewhere (an edXML package's XML-DSig, interchange/edxml)."""
        return self._verifier.certificate_verdict(cert_id, sender_id, at_us).reason

    def x509_certificate(self, cert_id: str) -> x509.Certificate | None:
        """The certificate `cert_id` names, as filed in the keys directory (None if unknown
        or damaged); what an edXML signature is verified with, never the package's copy."""
        if not CERT_ID.fullmatch(cert_id):
            return None
        try:
            cert = x509.load_pem_x509_certificate(self._layout.cert(cert_id).read_bytes())
        except (OSError, ValueError):
            return None
        return cert if certs.cert_id_of(cert) == cert_id else None

    def certificate(self, cert_id: str) -> certs.CertInfo | None:
        """The profile fields of a known certificate (loading it if needed)."""
        entry = self._entries.get(cert_id) or self._load(cert_id)
        return entry.info if entry else None  # None also for a damaged certificate file

    def revoked_at(self, serial: int) -> int | None:
        return self._revoked.get(serial)

    def refresh(self) -> None:
        """Re-read the CRL if it changed (new certificates are found on first use anyway)."""
        self._check_crl()

    def _load(self, cert_id: str) -> Certificate | None:
        if not CERT_ID.fullmatch(cert_id):
            return None
        try:
            pem = self._layout.cert(cert_id).read_bytes()
        except OSError:
            return None
        # A damaged or misnamed file is a fact about that certificate id, not a reason
        # to stop the router: verification under it fails as UNTRUSTED_CERTIFICATE.
        try:
            cert = x509.load_pem_x509_certificate(pem)
            info = certs.describe(cert)
        except ValueError:
            return self._remember(cert_id, Certificate(None, False, _never))
        if info.cert_id != cert_id:
            return self._remember(cert_id, Certificate(None, False, _never))
        public = cert.public_key()
        algorithm = info.algorithm
        trusted = (
            algorithm is not None
            and certs.is_signing_end_entity(cert)
            and certs.issued_by(cert, self._root)
        )
        # Bound to the certificate's algorithm: for RSA, the one padding the certificate names.
        # Bound for an untrusted certificate too: the verifier's TRUST check comes before any
        # use, and conformance diagnoses its signature apart (`signature_only`).
        # `algorithm` is `algorithm_of` this certificate's key (describe): not judged twice.
        check: Verifier = _never
        if algorithm is not None:
            check = verifier(public, algorithm, judged=True)  # type: ignore[arg-type]
        entry = Certificate(info, trusted, check)
        self._entries[cert_id] = entry
        # A fault certificate's revocation is written before the certificate: pick it up now.
        self._check_crl()
        return entry

    def _remember(self, cert_id: str, entry: Certificate) -> Certificate:
        self._entries[cert_id] = entry
        return entry

    def _check_crl(self) -> None:
        self._next_crl_check = time.monotonic() + self._interval
        try:
            st = self._layout.crl.stat()
        except OSError as exc:
            raise PkiError(f"cannot read the CRL {self._layout.crl}: {exc.strerror}") from exc
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._crl_stamp:
            return
        try:
            crl = x509.load_pem_x509_crl(read_file(self._layout.crl))
        except ValueError as exc:
            raise PkiError(f"{self._layout.crl}: not a CRL ({exc})") from exc
        public = self._root.public_key()
        if crl.issuer != self._root.subject or not crl.is_signature_valid(public):  # type: ignore[arg-type]
            raise PkiError(f"{self._layout.crl}: not signed by the root CA")
        self._revoked = certs.crl_entries(crl)
        self._crl_stamp = stamp
