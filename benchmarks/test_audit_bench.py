"""The audit's per-record pure work, without a broker: re-verifying a delivery value and
chaining an archive record.

Run: python -m pytest benchmarks/test_audit_bench.py --benchmark-enable
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from interchange.audit.archive_chain import archive_start, link
from interchange.audit.deliveries import verify_value
from interchange.audit.findings import RawRecord
from interchange.axis.presets import build_directory
from interchange.pki.keystore import KeyStore, TrustStore, init_pki
from interchange.wire import codec
from interchange.wire.model import Hop

N = 256


@pytest.fixture(scope="module")
def values(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], TrustStore]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from router_helpers import CENTRAL, PROVINCE, document, sign

    directory = build_directory("tiny")
    keys_dir = tmp_path_factory.mktemp("keys")
    init_pki(keys_dir, directory.agencies)
    keys = KeyStore.open(keys_dir)
    out = []
    for n in range(N):
        env = sign(keys, document(CENTRAL, [PROVINCE], n, attachment=b"x" * 2048))
        out.append(
            codec.encode_envelope(
                env.__class__(
                    env.content, env.signature, env.cert_id, (*env.trace, Hop("router:r", 1))
                )
            )
        )
    return out, TrustStore.open(keys_dir)


def test_reverify_delivery_value(
    benchmark: BenchmarkFixture, values: tuple[list[bytes], TrustStore]
) -> None:
    data, trust = values
    cycle = itertools.cycle(data)
    result = benchmark(lambda: verify_value(next(cycle), trust))
    assert result.verify is None


def test_chain_one_archive_record(benchmark: BenchmarkFixture) -> None:
    rec = RawRecord("t.delivery.province", 1, 42, 1_700_000_000_000, b"k", b"v" * 2600)
    start = archive_start("bench")
    assert len(benchmark(lambda: link(start, 7, rec))) == 32
