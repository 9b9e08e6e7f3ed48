"""The simulated national PKI: the private side (KeyStore) and the public API in one place.

    init_pki / enroll / rotate / revoke / issue_fault   CA operations   (issuance.py)
    KeyStore.open(dir).credential(agency) -> Credential  private side   (here)
    TrustStore.open(dir).verify(...) -> ReasonCode|None   public side    (truststore.py)
    Algorithm, Credential, sign/verify primitives                        (signing.py)

Key generation is eager (`init_pki` uses a process pool: ~11,000 Ed25519
agencies in seconds); fault material is created lazily on the first
`fault_credential` call for an (agency, fault) pair and persisted, so every
process sees the same certificate. See docs/PKI.md.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509

from interchange.errors import PkiError
from interchange.pki import certificates as certs
from interchange.pki.issuance import (
    AlgorithmPolicy,
    CertFault,
    InitReport,
    enroll,
    init_pki,
    issue_fault,
    issue_many,
    missing_pki,
    revoke,
    rotate,
)
from interchange.pki.keyfiles import IndexRow, Layout, read_file, read_index
from interchange.pki.signing import (
    Algorithm,
    Credential,
    algorithm_of,
    load_private_key,
    padding_of,
)
from interchange.pki.truststore import TrustStore
from interchange.wire.model import Agency

__all__ = [
    "Algorithm",
    "AlgorithmPolicy",
    "CertFault",
    "Credential",
    "InitReport",
    "KeyStore",
    "PkiError",
    "TrustStore",
    "enroll",
    "init_pki",
    "issue_fault",
    "revoke",
    "rotate",
]


class KeyStore:
    """Private keys of every agency in a keys directory, loaded on first use and cached."""

    def __init__(self, layout: Layout) -> None:
        self._layout = layout
        self._rows: dict[str, list[IndexRow]] = {}
        self._revoked: dict[int, int] = {}
        self._cache: dict[tuple[str, str], Credential] = {}
        self.reload()

    @classmethod
    def open(cls, keys_dir: Path) -> KeyStore:
        layout = Layout(Path(keys_dir))
        if not layout.root_cert.exists():
            raise PkiError(f"{layout.root} has no PKI; run 'interchange keys init' first")
        return cls(layout)

    @property
    def keys_dir(self) -> Path:
        return self._layout.root

    def reload(self) -> None:
        """Re-read the index and the CRL (after enrolments, rotations, revocations)."""
        rows: dict[str, list[IndexRow]] = defaultdict(list)
        for row in read_index(self._layout):
            rows[row.agency_id].append(row)
        self._rows = dict(rows)
        crl = x509.load_pem_x509_crl(read_file(self._layout.crl))
        self._revoked = certs.crl_entries(crl)

    def agency_ids(self) -> list[str]:
        return sorted(a for a, rows in self._rows.items() if any(r.fault is None for r in rows))

    def rows(self, agency_id: str | None = None) -> list[IndexRow]:
        """Index rows (every issued certificate), optionally of one agency, in issue order."""
        if agency_id is not None:
            return list(self._rows.get(agency_id, []))
        return [r for rows in self._rows.values() for r in rows]

    def revoked_at(self, row: IndexRow) -> int | None:
        return self._revoked.get(row.serial)

    def valid_rows(self, agency_id: str, at: int | None = None) -> list[IndexRow]:
        """Regular certificates of the agency valid and unrevoked at `at` (us), newest first."""
        t = time.time_ns() // 1000 if at is None else at
        if agency_id not in self._rows:
            self.reload()  # maybe enrolled since we opened
        good = [
            r
            for r in self._rows.get(agency_id, [])
            if r.fault is None
            and r.not_before_us <= t <= r.not_after_us
            and not (self._revoked.get(r.serial, t + 1) <= t)
        ]
        return sorted(good, key=lambda r: r.issued_us, reverse=True)

    def credential(self, agency_id: str, at: int | None = None) -> Credential:
        """The newest credential of the agency valid and not revoked at `at` (default now)."""
        good = self.valid_rows(agency_id, at)
        if not good:
            raise PkiError(
                f"agency {agency_id} has no valid, unrevoked certificate in {self._layout.root}"
            )
        return self._credential(good[0])

    def credentials(self, agency_id: str, at: int | None = None) -> list[Credential]:
        """Every valid credential of the agency (several during a rotation), newest first."""
        return [self._credential(r) for r in self.valid_rows(agency_id, at)]

    def fault_credential(self, agency_id: str, fault: CertFault) -> Credential:
        """A credential whose certificate fails verification with `fault`'s reason.

        Created and persisted on first request for the pair, reused afterwards
        (also by other processes opening the same keys directory).
        """
        existing = [r for r in self._rows.get(agency_id, []) if r.fault == fault.value]
        if not existing:
            self.reload()
            existing = [r for r in self._rows.get(agency_id, []) if r.fault == fault.value]
        if existing:
            return self._credential(existing[-1])
        regular = [r for r in self._rows.get(agency_id, []) if r.fault is None]
        if not regular:
            raise PkiError(f"agency {agency_id} is unknown to {self._layout.root}")
        row = issue_fault(
            self._layout.root, agency_id, regular[-1].tier, fault, regular[-1].algorithm
        )
        self._rows[agency_id].append(row)
        return self._credential(row)

    def _credential(self, row: IndexRow) -> Credential:
        cached = self._cache.get((row.agency_id, row.cert_id))
        if cached is not None:
            return cached
        path = self._layout.key(row.cert_id)
        key = load_private_key(read_file(path), str(path))
        if algorithm_of(key, padding_of(row.algorithm)) is not row.algorithm:
            raise PkiError(f"{path}: the key does not fit its certificate's {row.algorithm}")
        cred = Credential(row.agency_id, row.cert_id, row.algorithm, key)
        self._cache[(row.agency_id, row.cert_id)] = cred
        return cred


def ensure_keys(
    keys_dir: Path,
    agencies: Iterable[Agency],
    *,
    create: bool = True,
    policy: AlgorithmPolicy | None = None,
) -> str:
    """Create the PKI if missing, else issue keys for agencies that have none; a summary line.

    What every command that runs agencies needs before it starts (simulate, produce, bench).
    `create=False` (produce) refuses a directory without a PKI: a stage that feeds a
    separately started router must sign under the CA that router trusts, and a new
    PKI in a mistyped directory would only make every document UNKNOWN_CERTIFICATE.
    With a `decision` (bench --algorithm), an agency whose newest valid certificate has
    another algorithm gets one more that has the policy's (a rotation: older ones stay
    valid), so every agency then signs as the policy says.
    """
    wanted = list(agencies)
    if not Layout(keys_dir).root_cert.exists():
        if not create:
            raise PkiError(missing_pki(keys_dir))
        report = init_pki(keys_dir, wanted, policy=policy)
        return f"created keys for {report.certificates} agencies in {keys_dir}"
    store = KeyStore.open(keys_dir)
    known = set(store.agency_ids())
    rules = policy or AlgorithmPolicy()
    todo = []
    for agency in wanted:
        algorithm = rules.algorithm_for(agency.id, agency.tier)
        if agency.id not in known:
            todo.append((agency.id, agency.tier, algorithm))
        elif policy is not None:
            current = store.valid_rows(agency.id)
            if not current or current[0].algorithm is not algorithm:
                todo.append((agency.id, agency.tier, algorithm))
    if todo:
        issue_many(keys_dir, todo)
    return f"keys in {keys_dir}" + (f" ({len(todo)} issued)" if todo else "")


def algorithm_mix(keys_dir: Path, agency_ids: Iterable[str]) -> dict[Algorithm, int]:
    """How many of these agencies sign with each algorithm (their newest valid certificate)."""
    store = KeyStore.open(keys_dir)
    current = (store.valid_rows(a) for a in agency_ids)
    return dict(Counter(rows[0].algorithm for rows in current if rows))
