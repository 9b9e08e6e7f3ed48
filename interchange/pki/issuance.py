"""The CA side of the simulated PKI: init, enroll, rotate, revoke, fault material.

Every writer holds the keys directory's lock, writes a private key before its
certificate and a CRL entry before the certificate it revokes, so a reader that
sees a certificate always finds its key and, for fault material, its revocation.
Times are microseconds since the epoch (UTC), stored in certificates to the second.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from interchange.clock import now_us
from interchange.errors import PkiError
from interchange.pki import certificates as certs
from interchange.pki.ca import (
    BACKDATE_US,
    DAY_US,
    DEFAULT_VALIDITY_DAYS,
    FAULT_MARGIN_US,
    ROOT_VALIDITY_DAYS,
    check_agency_id,
    load_ca,
    make_cert,
    revoked_entries,
    rogue_key,
    store_cert,
    store_key,
    write_crl,
)
from interchange.pki.keyfiles import IndexRow, Layout, append_index, read_index, write_file
from interchange.pki.signing import (
    DEFAULT_ALGORITHM,
    Algorithm,
    PrivateKey,
    generate_key,
    load_private_key,
    private_key_pem,
)
from interchange.wire.model import Agency, Tier

_COST_MS = {  # measured per certificate, one core: decides whether a process pool pays off
    Algorithm.ED25519: 0.3,
    Algorithm.ECDSA_P256: 0.3,
    Algorithm.RSA_2048: 30.0,
    Algorithm.RSA_3072: 200.0,
    Algorithm.RSA_2048_PKCS1: 30.0,
    Algorithm.RSA_3072_PKCS1: 200.0,
}
# The realistic mix: the government CA issues RSA certificates and the real axis
# signs with rsa-sha256 (PKCS#1 v1.5). Not the default: see docs/PKI.md, "Algorithms".
REALISTIC_POLICY = "rsa-2048-pkcs1"


def missing_pki(keys_dir: Path) -> str:
    """The one-line error for a keys directory without a PKI, saying how to make one."""
    return (
        f"{keys_dir} holds no PKI (no ca/root.pem); create one with "
        f"'interchange keys init --dir {keys_dir} --preset PRESET' or point --keys-dir "
        "at the directory the router uses"
    )


class CertFault(enum.StrEnum):
    """Deliberately bad credentials for fault injection; each maps to one ReasonCode."""

    REVOKED = "revoked"  # issued, then revoked as of its not-before
    EXPIRED = "expired"  # validity ended 30 days before issuance
    NOT_YET_VALID = "not-yet-valid"  # validity starts 30 days after issuance
    UNTRUSTED = "untrusted"  # issued by a rogue CA (same name as the root, other key)


@dataclass(frozen=True, slots=True)
class AlgorithmPolicy:
    """Which algorithm each agency's key uses: by agency id, else by tier, else the default."""

    default: Algorithm = DEFAULT_ALGORITHM
    overrides: Mapping[str, Algorithm] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> AlgorithmPolicy:
        """Parse `central=rsa-2048,province=ecdsa-p256,default=ed25519` (tier/agency id/default).

        A bare algorithm name is `default=` that name: `rsa-2048-pkcs1` signs everything so."""
        default = DEFAULT_ALGORITHM
        overrides: dict[str, Algorithm] = {}
        for part in filter(None, (part.strip() for part in text.split(","))):
            item = f"default={part}" if part in Algorithm._value2member_map_ else part
            name, sep, value = item.partition("=")
            if not sep or value.strip() not in Algorithm._value2member_map_:
                raise PkiError(
                    f"bad algorithm policy item {item!r}: want ALG or NAME=ALG with ALG one of "
                    + ", ".join(a.value for a in Algorithm)
                )
            if name.strip() == "default":
                default = Algorithm(value.strip())
            else:
                overrides[name.strip()] = Algorithm(value.strip())
        return cls(default, overrides)

    def algorithm_for(self, agency_id: str, tier: Tier) -> Algorithm:
        return self.overrides.get(agency_id) or self.overrides.get(tier.value) or self.default


@dataclass(frozen=True, slots=True)
class InitReport:
    root_cert_id: str
    certificates: int
    by_algorithm: Mapping[Algorithm, int]
    seconds: float
    workers: int


def _issue_batch(
    root: str,
    ca_key_pem: bytes,
    jobs: list[tuple[str, Tier, Algorithm]],
    times: tuple[int, int, int],
    fresh: bool = True,
) -> list[IndexRow]:
    """Worker: issue and store one batch of agency certificates (runs in a pool process).

    `fresh`: init's new directories (in-place writes); else atomic writes, which a
    running verifier may read at any moment."""
    layout = Layout(Path(root))
    ca_key = load_private_key(ca_key_pem)
    ca_name = certs.root_name()
    rows = []
    for job in jobs:
        key, cert, row = make_cert(ca_key, ca_name, job, times)
        store_key(layout, row, key, fresh=fresh)
        store_cert(layout, row, cert, fresh=fresh)
        rows.append(row)
    return rows


def init_pki(
    keys_dir: Path,
    agencies: Iterable[Agency],
    *,
    policy: AlgorithmPolicy | None = None,
    now: int | None = None,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    root_algorithm: Algorithm = Algorithm.ED25519,
    workers: int | None = None,
    force: bool = False,
) -> InitReport:
    """Create the root CA, an empty CRL and one key + certificate per agency.

    `now` (us) defaults to the current time; certificates are valid from a day
    before it for `validity_days`. Batches run in a process pool when the
    estimated work exceeds half a second (RSA keys dominate). Existing material
    is an error unless `force`, which deletes it first (README/.gitignore stay).
    """
    started = time.perf_counter()
    layout = Layout(Path(keys_dir))
    policy = policy or AlgorithmPolicy()
    t0 = now_us() if now is None else now
    todo = []
    for agency in agencies:
        check_agency_id(agency.id)
        todo.append((agency.id, agency.tier, policy.algorithm_for(agency.id, agency.tier)))
    if len({a for a, _, _ in todo}) != len(todo):
        raise PkiError("duplicate agency ids")
    with layout.locked():
        if layout.root_cert.exists() or layout.index.exists():
            if not force:
                raise PkiError(f"{layout.root} already holds a PKI; use --force to replace it")
            for d in (layout.ca_dir, layout.certs_dir, layout.private_dir):
                shutil.rmtree(d, ignore_errors=True)
            layout.index.unlink(missing_ok=True)
        layout.make_dirs()
        ca_key = generate_key(root_algorithm)
        root = certs.build_root(
            ca_key,
            serial=x509.random_serial_number(),
            not_before_us=t0 - 2 * 365 * DAY_US,
            not_after_us=t0 + ROOT_VALIDITY_DAYS * DAY_US,
            name=certs.root_name(),
        )
        write_file(layout.root_key, private_key_pem(ca_key), private=True)
        write_file(layout.root_cert, root.public_bytes(serialization.Encoding.PEM))
        write_crl(layout, ca_key, {}, t0)
        times = (t0 - BACKDATE_US, t0 + validity_days * DAY_US, t0)
        rows, used = _issue_all(layout, private_key_pem(ca_key), todo, times, workers)
        append_index(layout, rows)
    return InitReport(
        root_cert_id=certs.cert_id_of(root),
        certificates=len(rows),
        by_algorithm=dict(Counter(r.algorithm for r in rows)),
        seconds=time.perf_counter() - started,
        workers=used,
    )


def _issue_all(
    layout: Layout,
    ca_pem: bytes,
    todo: list[tuple[str, Tier, Algorithm]],
    times: tuple[int, int, int],
    workers: int | None,
    *,
    fresh: bool = True,
) -> tuple[list[IndexRow], int]:
    cost_s = sum(_COST_MS[alg] for _, _, alg in todo) / 1000
    n = workers or os.cpu_count() or 1
    if n <= 1 or cost_s < 0.5:
        return _issue_batch(str(layout.root), ca_pem, todo, times, fresh), 1
    # Interleave so RSA-heavy tiers spread over all batches; ~4 batches per worker.
    batches = [todo[i :: n * 4] for i in range(n * 4)]
    # fork is cheap and needs no importable __main__; a threaded parent must not fork.
    single = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if single else "spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        futures = [
            pool.submit(_issue_batch, str(layout.root), ca_pem, b, times, fresh)
            for b in batches
            if b
        ]
        rows = [row for f in futures for row in f.result()]
    return rows, n


def issue_one(
    keys_dir: Path,
    agency_id: str,
    tier: Tier,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
    *,
    now: int | None = None,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    enrolled: bool = False,
) -> IndexRow:
    """Issue one more regular certificate + key for an agency (rotation and enrolment)."""
    check_agency_id(agency_id)
    layout = Layout(Path(keys_dir))
    t0 = now_us() if now is None else now
    with layout.locked():
        ca_key, root = load_ca(layout)
        key, cert, row = make_cert(
            ca_key,
            root.subject,
            (agency_id, tier, algorithm),
            (t0 - BACKDATE_US, t0 + validity_days * DAY_US, t0),
            enrolled=enrolled,
        )
        store_key(layout, row, key)
        store_cert(layout, row, cert)
        append_index(layout, [row])
    return row


def enroll(
    keys_dir: Path,
    agency_id: str,
    tier: Tier,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
    *,
    now: int | None = None,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
) -> IndexRow:
    """Issue a certificate for an external connector of `agency_id`; key in private/ (0600)."""
    return issue_one(
        keys_dir, agency_id, tier, algorithm, now=now, validity_days=validity_days, enrolled=True
    )


def rotate(
    keys_dir: Path,
    agency_id: str,
    algorithm: Algorithm | None = None,
    *,
    now: int | None = None,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
) -> IndexRow:
    """Add a new certificate for a known agency; older ones stay valid until revoked or expired."""
    rows = [r for r in read_index(Layout(Path(keys_dir))) if r.agency_id == agency_id]
    regular = [r for r in rows if r.fault is None]
    if not regular:
        raise PkiError(f"agency {agency_id} has no certificate to rotate")
    latest = max(regular, key=lambda r: r.issued_us)
    return issue_one(
        keys_dir,
        agency_id,
        latest.tier,
        algorithm or latest.algorithm,
        now=now,
        validity_days=validity_days,
    )


def revoke(
    keys_dir: Path,
    *,
    cert_id: str | None = None,
    agency_id: str | None = None,
    at: int | None = None,
) -> list[str]:
    """Revoke one certificate, or every regular one of an agency, as of `at` (us; default now).

    Documents sent at or after `at` are then REVOKED; earlier ones still verify.
    Returns the cert ids newly added to the CRL.
    """
    if (cert_id is None) == (agency_id is None):
        raise PkiError("revoke needs exactly one of cert_id or agency_id")
    layout = Layout(Path(keys_dir))
    at_us = now_us() if at is None else at
    with layout.locked():
        ca_key, _ = load_ca(layout)
        if cert_id is not None:
            path = layout.cert(cert_id)
            if not path.exists():
                raise PkiError(f"no certificate {cert_id} in {layout.certs_dir}")
            targets = {cert_id: x509.load_pem_x509_certificate(path.read_bytes()).serial_number}
        else:
            targets = {
                r.cert_id: r.serial
                for r in read_index(layout)
                if r.agency_id == agency_id and r.fault is None
            }
            if not targets:
                raise PkiError(f"agency {agency_id} has no certificate")
        revoked = revoked_entries(layout)
        new = {cid: serial for cid, serial in targets.items() if serial not in revoked}
        revoked.update(dict.fromkeys(new.values(), at_us))
        if new:
            write_crl(layout, ca_key, revoked, max(at_us, now_us()))
    return sorted(new)


def issue_fault(
    keys_dir: Path,
    agency_id: str,
    tier: Tier,
    fault: CertFault,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
    *,
    now: int | None = None,
    reuse: bool = True,
) -> IndexRow:
    """Issue (and persist) one fault certificate for `agency_id`; see CertFault.

    With `reuse`, an existing one for the same (agency, fault) is returned instead,
    checked under the lock so concurrent producers end up sharing one certificate.
    """
    check_agency_id(agency_id)
    layout = Layout(Path(keys_dir))
    t0 = now_us() if now is None else now
    normal = (t0 - BACKDATE_US, t0 + DEFAULT_VALIDITY_DAYS * DAY_US)
    validity = {
        CertFault.EXPIRED: (t0 - 400 * DAY_US, t0 - FAULT_MARGIN_US),
        CertFault.NOT_YET_VALID: (t0 + FAULT_MARGIN_US, t0 + 400 * DAY_US),
    }.get(fault, normal)
    with layout.locked():
        if reuse:
            for existing in read_index(layout):
                if existing.agency_id == agency_id and existing.fault == fault.value:
                    return existing
        ca_key, root = load_ca(layout)
        if fault is CertFault.UNTRUSTED:
            ca_key = rogue_key(layout, t0)
        key, cert, row = make_cert(
            ca_key, root.subject, (agency_id, tier, algorithm), (*validity, t0), fault=fault.value
        )
        store_key(layout, row, key)
        if fault is CertFault.REVOKED:
            revoked = revoked_entries(layout)
            revoked[row.serial] = row.not_before_us
            write_crl(layout, ca_key, revoked, t0)
        store_cert(layout, row, cert)
        append_index(layout, [row])
    return row


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """A service's private key and certificate (archive signer, time-stamping authority)."""

    key: PrivateKey
    cert: x509.Certificate


def archive_services(
    keys_dir: Path, *, now: int | None = None
) -> tuple[ServiceKey, ServiceKey, bool]:
    """The archive signer and the TSA of this PKI, issued by its root on first use.

    Returns (archive signer, TSA, issued now?). Both use ECDSA P-256 with SHA-256,
    the algorithm time-stamping authorities commonly use, so any CMS tool checks them.
    """
    layout = Layout(Path(keys_dir))
    t0 = now_us() if now is None else now
    issued = False
    with layout.locked():
        ca_key, root = load_ca(layout)
        out = []
        for cert_path, key_path, name, purpose in (
            (
                layout.archive_cert,
                layout.archive_key,
                certs.ARCHIVE_SIGNER_NAME,
                certs.DOCUMENT_SIGNING,
            ),
            (layout.tsa_cert, layout.tsa_key, certs.TSA_NAME, certs.TIME_STAMPING),
        ):
            if not cert_path.exists():
                key = generate_key(Algorithm.ECDSA_P256)
                cert = certs.issue_service(
                    ca_key,
                    root.subject,
                    key.public_key(),
                    common_name=name,
                    purpose=purpose,
                    serial=x509.random_serial_number(),
                    not_before_us=t0 - BACKDATE_US,
                    # never past the root: a chain is only as valid as its anchor
                    not_after_us=min(
                        t0 + ROOT_VALIDITY_DAYS * DAY_US, certs.to_us(root.not_valid_after_utc)
                    ),
                )
                write_file(key_path, private_key_pem(key), private=True)
                write_file(cert_path, cert.public_bytes(serialization.Encoding.PEM))
                issued = True
            key = load_private_key(key_path.read_bytes(), str(key_path))
            out.append(ServiceKey(key, x509.load_pem_x509_certificate(cert_path.read_bytes())))
    return out[0], out[1], issued


def issue_many(
    keys_dir: Path,
    todo: list[tuple[str, Tier, Algorithm]],
    *,
    now: int | None = None,
    workers: int | None = None,
) -> list[IndexRow]:
    """Issue one more certificate per (agency id, tier, algorithm), in a pool when RSA
    makes it worth it; written atomically, so a running router may read them at once."""
    for agency_id, _tier, _alg in todo:
        check_agency_id(agency_id)
    layout = Layout(Path(keys_dir))
    t0 = now_us() if now is None else now
    times = (t0 - BACKDATE_US, t0 + DEFAULT_VALIDITY_DAYS * DAY_US, t0)
    with layout.locked():
        ca_key, _root = load_ca(layout)
        rows, _ = _issue_all(layout, private_key_pem(ca_key), todo, times, workers, fresh=False)
        append_index(layout, rows)
    return rows
