"""Low-level CA operations shared by init, enrolment, rotation, revocation and faults.

Callers hold the keys directory's lock (`Layout.locked`). Order of writes: a private
key before its certificate, a CRL entry before the certificate it revokes.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from interchange.errors import PkiError
from interchange.pki import certificates as certs
from interchange.pki.keyfiles import IndexRow, Layout, write_file
from interchange.pki.signing import (
    Algorithm,
    PrivateKey,
    generate_key,
    load_private_key,
    private_key_pem,
)
from interchange.wire.model import Tier

DAY_US = 86_400 * 1_000_000
DEFAULT_VALIDITY_DAYS = 730
BACKDATE_US = DAY_US  # certificates start a day early: tolerates skew and slightly old send times
ROOT_VALIDITY_DAYS = 20 * 365
FAULT_MARGIN_US = 30 * DAY_US  # fault certificates are wrong for send times within +-30 days


def check_agency_id(agency_id: str) -> None:
    if not agency_id or len(agency_id) > 64 or not agency_id.isprintable() or "," in agency_id:
        raise PkiError(f"agency id {agency_id!r} cannot go into a certificate subject")


def load_ca(layout: Layout) -> tuple[PrivateKey, x509.Certificate]:
    if not layout.root_cert.exists():
        raise PkiError(f"{layout.root} has no root CA; run 'interchange keys init' first")
    key = load_private_key(layout.root_key.read_bytes(), str(layout.root_key))
    return key, x509.load_pem_x509_certificate(layout.root_cert.read_bytes())


def make_cert(
    ca_key: PrivateKey,
    ca_name: x509.Name,
    agency: tuple[str, Tier, Algorithm],
    times: tuple[int, int, int],
    *,
    fault: str | None = None,
    enrolled: bool = False,
) -> tuple[PrivateKey, x509.Certificate, IndexRow]:
    agency_id, tier, algorithm = agency
    not_before_us, not_after_us, issued_us = times
    key = generate_key(algorithm)
    serial = x509.random_serial_number()
    cert = certs.issue(
        ca_key,
        ca_name,
        key.public_key(),
        agency_id=agency_id,
        tier=tier,
        serial=serial,
        not_before_us=not_before_us,
        not_after_us=not_after_us,
        algorithm=algorithm,
    )
    info = certs.describe(cert)
    row = IndexRow(
        info.cert_id,
        agency_id,
        tier,
        algorithm,
        serial,
        info.not_before_us,
        info.not_after_us,
        issued_us,
        fault,
        enrolled,
    )
    return key, cert, row


def store_key(layout: Layout, row: IndexRow, key: PrivateKey, *, fresh: bool = False) -> None:
    write_file(layout.key(row.cert_id), private_key_pem(key), private=True, fresh=fresh)


def store_cert(
    layout: Layout, row: IndexRow, cert: x509.Certificate, *, fresh: bool = False
) -> None:
    pem = cert.public_bytes(serialization.Encoding.PEM)
    write_file(layout.cert(row.cert_id), pem, fresh=fresh)


def write_crl(layout: Layout, ca_key: PrivateKey, revoked: Mapping[int, int], at_us: int) -> None:
    crl = certs.build_crl(
        ca_key,
        certs.root_name(),
        revoked.items(),
        this_update_us=at_us,
        next_update_us=at_us + ROOT_VALIDITY_DAYS * DAY_US,
    )
    write_file(layout.crl, crl.public_bytes(serialization.Encoding.PEM))


def revoked_entries(layout: Layout) -> dict[int, int]:
    crl = x509.load_pem_x509_crl(layout.crl.read_bytes())
    return certs.crl_entries(crl)


def rogue_key(layout: Layout, t0: int) -> PrivateKey:
    """A CA key nobody trusts, with the root's very name: only the signature tells them apart."""
    if layout.rogue_key.exists():
        return load_private_key(layout.rogue_key.read_bytes(), str(layout.rogue_key))
    key = generate_key(Algorithm.ED25519)
    cert = certs.build_root(
        key,
        serial=x509.random_serial_number(),
        not_before_us=t0 - 2 * 365 * DAY_US,
        not_after_us=t0 + ROOT_VALIDITY_DAYS * DAY_US,
        name=certs.root_name(),
    )
    write_file(layout.rogue_key, private_key_pem(key), private=True)
    write_file(layout.rogue_cert, cert.public_bytes(serialization.Encoding.PEM))
    return key
