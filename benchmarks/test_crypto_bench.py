"""Sign and verify cost per algorithm on 2 KB content, and the full TrustStore.verify path.

Run: python -m pytest benchmarks/test_crypto_bench.py --benchmark-enable
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from interchange.clock import now_us
from interchange.pki.keystore import Algorithm, AlgorithmPolicy, KeyStore, TrustStore, init_pki
from interchange.pki.signing import verifier
from interchange.wire.model import Agency, Tier

CONTENT = os.urandom(2048)
NOW = now_us()
AGENCY = {
    Algorithm.ED25519: "000.00.00.G01",
    Algorithm.ECDSA_P256: "000.00.00.G02",
    Algorithm.RSA_2048: "000.00.00.G03",
    Algorithm.RSA_3072: "000.00.00.G04",
    Algorithm.RSA_2048_PKCS1: "000.00.00.G05",
    Algorithm.RSA_3072_PKCS1: "000.00.00.G06",
}


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "keys"
    agencies = [Agency(a, a, Tier.CENTRAL, None) for a in AGENCY.values()]
    policy = AlgorithmPolicy(overrides={a: alg for alg, a in AGENCY.items()})
    init_pki(path, agencies, policy=policy, now=NOW)
    return path


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_sign(benchmark: BenchmarkFixture, keys_dir: Path, algorithm: Algorithm) -> None:
    cred = KeyStore.open(keys_dir).credential(AGENCY[algorithm])
    signature = benchmark(cred.sign, CONTENT)
    assert signature


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_verify_raw(benchmark: BenchmarkFixture, keys_dir: Path, algorithm: Algorithm) -> None:
    cred = KeyStore.open(keys_dir).credential(AGENCY[algorithm])
    check = verifier(cred.key.public_key(), algorithm)
    signature = cred.sign(CONTENT)
    assert benchmark(check, CONTENT, signature)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_truststore_verify(
    benchmark: BenchmarkFixture, keys_dir: Path, algorithm: Algorithm
) -> None:
    """The router's full path: cached cert lookup, validity, CRL, sender, shape, signature."""
    cred = KeyStore.open(keys_dir).credential(AGENCY[algorithm])
    trust = TrustStore.open(keys_dir)
    signature = cred.sign(CONTENT)
    args = (CONTENT, signature, cred.cert_id, cred.agency_id, NOW)
    assert trust.verify(*args) is None
    assert benchmark(trust.verify, *args) is None
