"""Sign/verify for every algorithm: any single changed byte fails, algorithm shape checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pki_fixtures import BY_ALGORITHM, NOW, pki_dir  # noqa: F401 (fixture)

from interchange.errors import PkiError
from interchange.pki.keystore import Algorithm, AlgorithmPolicy, KeyStore, TrustStore
from interchange.pki.signing import (
    P256_HALF_ORDER,
    P256_ORDER,
    generate_key,
    load_private_key,
    low_s,
    plausible,
    private_key_pem,
)
from interchange.pki.signing import sign as raw_sign
from interchange.pki.signing import verifier as raw_verifier
from interchange.wire.model import ReasonCode

ALGORITHMS = list(Algorithm)
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def stores(pki_dir: Path) -> tuple[KeyStore, TrustStore]:  # noqa: F811
    return KeyStore.open(pki_dir), TrustStore.open(pki_dir)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_then_verify_every_algorithm(
    stores: tuple[KeyStore, TrustStore], algorithm: Algorithm
) -> None:
    keys, trust = stores
    cred = keys.credential(BY_ALGORITHM[algorithm])
    assert cred.algorithm is algorithm
    content = b"\x00document bytes" * 100
    signature = cred.sign(content)
    assert trust.verify(content, signature, cred.cert_id, cred.agency_id, NOW) is None


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@FAST
@given(content=st.binary(min_size=1, max_size=2048), data=st.data())
def test_any_changed_content_byte_fails(
    stores: tuple[KeyStore, TrustStore], algorithm: Algorithm, content: bytes, data: st.DataObject
) -> None:
    keys, trust = stores
    cred = keys.credential(BY_ALGORITHM[algorithm])
    signature = cred.sign(content)
    i = data.draw(st.integers(0, len(content) - 1), label="index")
    delta = data.draw(st.integers(1, 255), label="xor")
    changed = content[:i] + bytes([content[i] ^ delta]) + content[i + 1 :]
    assert trust.verify(content, signature, cred.cert_id, cred.agency_id, NOW) is None
    assert (
        trust.verify(changed, signature, cred.cert_id, cred.agency_id, NOW)
        is ReasonCode.BAD_SIGNATURE
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@FAST
@given(content=st.binary(max_size=512), data=st.data())
def test_any_changed_signature_byte_fails(
    stores: tuple[KeyStore, TrustStore], algorithm: Algorithm, content: bytes, data: st.DataObject
) -> None:
    keys, trust = stores
    cred = keys.credential(BY_ALGORITHM[algorithm])
    signature = cred.sign(content)
    # ECDSA signatures are randomised and vary in length: draw independently of it.
    i = data.draw(st.integers(0, 511), label="index") % len(signature)
    delta = data.draw(st.integers(1, 255), label="xor")
    changed = signature[:i] + bytes([signature[i] ^ delta]) + signature[i + 1 :]
    # A broken DER header of an ECDSA signature is a shape error; anything else a bad signature.
    assert trust.verify(content, changed, cred.cert_id, cred.agency_id, NOW) in {
        ReasonCode.BAD_SIGNATURE,
        ReasonCode.ALGORITHM_MISMATCH,
    }


@FAST
@given(content=st.binary(max_size=256), extra=st.binary(min_size=1, max_size=8))
def test_truncated_or_extended_signature_fails(
    stores: tuple[KeyStore, TrustStore], content: bytes, extra: bytes
) -> None:
    keys, trust = stores
    for algorithm in ALGORITHMS:
        cred = keys.credential(BY_ALGORITHM[algorithm])
        signature = cred.sign(content)
        for bad in (signature[:-1], signature + extra, b""):
            assert trust.verify(content, bad, cred.cert_id, cred.agency_id, NOW) is not None


@pytest.mark.parametrize(
    ("signer", "claimed"),
    [
        (Algorithm.ED25519, Algorithm.RSA_2048),
        (Algorithm.ED25519, Algorithm.RSA_3072),
        (Algorithm.RSA_2048, Algorithm.ED25519),
        (Algorithm.RSA_3072, Algorithm.RSA_2048),
        (Algorithm.ECDSA_P256, Algorithm.ED25519),
        (Algorithm.RSA_2048, Algorithm.ECDSA_P256),
        (Algorithm.ED25519, Algorithm.ECDSA_P256),
    ],
)
def test_signature_of_another_algorithm_is_a_mismatch(
    stores: tuple[KeyStore, TrustStore], signer: Algorithm, claimed: Algorithm
) -> None:
    """The algorithm comes from the certificate: a signature of another shape is rejected."""
    keys, trust = stores
    other = keys.credential(BY_ALGORITHM[signer])
    target = keys.credential(BY_ALGORITHM[claimed])
    content = b"x"
    signature = other.sign(content)
    while signer is Algorithm.ED25519 and signature[0] == 0x30:  # could pass as DER (p = 2^-16)
        content += b"x"
        signature = other.sign(content)
    reason = trust.verify(content, signature, target.cert_id, target.agency_id, NOW)
    assert reason is ReasonCode.ALGORITHM_MISMATCH


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_raw_primitives_and_shape(algorithm: Algorithm) -> None:
    key = generate_key(algorithm)
    signature = raw_sign(key, b"content", algorithm)
    assert plausible(algorithm, signature)
    check = raw_verifier(key.public_key(), algorithm)
    assert check(b"content", signature)
    assert not check(b"Content", signature)
    assert not check(b"content", b"\x30\x06\x02\x01\x01\x02\x01\x01")  # garbage DER, no raise
    again = load_private_key(private_key_pem(key))
    assert check(b"content", raw_sign(again, b"content", algorithm))


def test_credential_repr_hides_the_key(stores: tuple[KeyStore, TrustStore]) -> None:
    keys, _ = stores
    cred = keys.credential(BY_ALGORITHM[Algorithm.ED25519])
    assert "key" not in repr(cred).replace("KeyStore", "")
    assert len(cred.cert_id) == 64
    assert cred.cert_id == cred.cert_id.lower()


def test_unreadable_private_key_is_pki_error() -> None:
    with pytest.raises(PkiError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_algorithm_policy() -> None:
    policy = AlgorithmPolicy.parse("central=rsa-2048, province=ecdsa-p256,default=rsa-3072")
    assert policy.default is Algorithm.RSA_3072
    assert policy.overrides == {"central": Algorithm.RSA_2048, "province": Algorithm.ECDSA_P256}
    assert AlgorithmPolicy.parse("").default is Algorithm.ED25519
    for bad in ("central", "central=dsa", "=ed25519x"):
        with pytest.raises(PkiError):
            AlgorithmPolicy.parse(bad)


def test_ecdsa_signatures_are_low_s_and_the_high_s_twin_is_refused(
    stores: tuple[KeyStore, TrustStore],
) -> None:
    """For a valid (r, s), (r, n - s) verifies under plain ECDSA: only low-S is accepted."""
    keys, trust = stores
    cred = keys.credential(BY_ALGORITHM[Algorithm.ECDSA_P256])
    public = cred.key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    for i in range(64):  # random nonces: about half of raw signatures are high-S
        content = b"document %d" % i
        signature = cred.sign(content)
        r, s = decode_dss_signature(signature)
        assert s <= P256_HALF_ORDER  # the signer always produces low-S
        twin = encode_dss_signature(r, P256_ORDER - s)
        public.verify(twin, content, ec.ECDSA(hashes.SHA256()))  # plain ECDSA takes the twin
        assert trust.verify(content, signature, cred.cert_id, cred.agency_id, NOW) is None
        assert trust.verify(content, twin, cred.cert_id, cred.agency_id, NOW) in {
            ReasonCode.BAD_SIGNATURE,
            ReasonCode.ALGORITHM_MISMATCH,  # a twin one DER byte longer than 72 bytes
        }


def test_low_s_keeps_a_low_signature_and_folds_a_high_one() -> None:
    low = encode_dss_signature(12345, P256_HALF_ORDER)
    assert low_s(low) == low
    assert decode_dss_signature(low_s(encode_dss_signature(7, P256_HALF_ORDER + 1)))[1] == (
        P256_ORDER - P256_HALF_ORDER - 1
    )
