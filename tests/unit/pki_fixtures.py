"""A small PKI generated once per session, with one agency per algorithm."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interchange.clock import now_us
from interchange.pki.keystore import Algorithm, AlgorithmPolicy, init_pki
from interchange.wire.model import Agency, Tier

AGENCIES = (
    Agency("000.00.00.G22", "Văn phòng Chính phủ", Tier.CENTRAL, None),
    Agency("000.00.00.H30", "UBND tỉnh Hậu Giang", Tier.PROVINCE, None),
    Agency("000.00.01.H30", "UBND huyện Châu Thành", Tier.DISTRICT, "000.00.00.H30"),
    Agency("000.01.01.H30", "UBND xã Đông Thạnh", Tier.COMMUNE, "000.00.01.H30"),
    Agency("000.02.01.H30", "UBND xã Phú Hữu", Tier.COMMUNE, "000.00.01.H30"),
    Agency("000.00.00.G05", "Bộ Tài chính", Tier.CENTRAL, None),
    Agency("000.00.02.H30", "UBND huyện Phụng Hiệp", Tier.DISTRICT, "000.00.00.H30"),
)
BY_ALGORITHM = {
    Algorithm.RSA_2048: "000.00.00.G22",
    Algorithm.ECDSA_P256: "000.00.00.H30",
    Algorithm.RSA_3072: "000.00.01.H30",
    Algorithm.ED25519: "000.01.01.H30",
    Algorithm.RSA_2048_PKCS1: "000.00.00.G05",
    Algorithm.RSA_3072_PKCS1: "000.00.02.H30",
}
POLICY = AlgorithmPolicy.parse(
    "central=rsa-2048,province=ecdsa-p256,district=rsa-3072,"
    "000.00.00.G05=rsa-2048-pkcs1,000.00.02.H30=rsa-3072-pkcs1"
)
NOW = now_us()


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only session PKI: never mutate it (use `pki_copy`)."""
    keys = tmp_path_factory.mktemp("pki") / "keys"
    init_pki(keys, AGENCIES, policy=POLICY, now=NOW)
    return keys


@pytest.fixture
def pki_copy(pki_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session PKI for tests that revoke, rotate or enroll."""
    target = tmp_path / "keys"
    shutil.copytree(pki_dir, target)
    return target
