"""Signature algorithms, key handling and the raw sign/verify primitives.

The algorithm of a signature is always derived from the certificate's public
key (`algorithm_of`), never from anything the message says, so a forger cannot
downgrade verification. Each algorithm has one fixed parameter set:

* ``ed25519``: pure Ed25519 (RFC 8032) over the content bytes; 64-byte signature.
  Signed and verified with libsodium (PyNaCl), about half the instructions of
  OpenSSL's per call (docs/BENCHMARKS.md); keys, PEM and certificates stay
  `cryptography`'s. Its judgement is libsodium's (docs/PKI.md, "Ed25519: libsodium"):
  S must be below the group order L, R must not be of small order and must be the
  canonical encoding of the point the equation gives. A public key must be the
  canonical encoding of a point of the prime-order group other than the identity
  (`ed25519_key_sound`); any other key is outside the profile (`algorithm_of` gives
  None), so its certificate is untrusted and no verifier is ever bound to it.
* ``ecdsa-p256``: ECDSA on P-256 with SHA-256; DER-encoded (r, s), 8 to 72 bytes,
  with s in the lower half of the group order ("low-S", as Bitcoin's BIP 62 and
  most signing libraries require). For every valid (r, s), (r, n - s) verifies
  too; accepting only low-S leaves one valid encoding, so a signature cannot be
  altered into another valid one. `sign` always produces low-S.
* ``rsa-2048`` / ``rsa-3072``: RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt;
  the signature is exactly the modulus length (256 / 384 bytes).
* ``rsa-2048-pkcs1`` / ``rsa-3072-pkcs1``: RSASSA-PKCS1-v1_5 with SHA-256 (what the
  real axis's XML-DSig ``rsa-sha256`` is); deterministic, same lengths as PSS.

An RSA key can sign either way, so the key alone does not name an RSA algorithm:
the certificate does (`RsaPadding`, read by `certificates.describe`), and a
verifier is bound to that one padding, so a PSS signature never verifies under a
PKCS#1 v1.5 certificate or the other way round.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from interchange.errors import PkiError

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
_PKCS1 = padding.PKCS1v15()
_ECDSA = ec.ECDSA(hashes.SHA256())
# The order n of the P-256 group (SEC 2, secp256r1); low-S means s <= n // 2.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER // 2


class Algorithm(enum.StrEnum):
    """Signature algorithm of a certificate's key; the value is the CLI/policy spelling."""

    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa-p256"
    RSA_2048 = "rsa-2048"  # RSASSA-PSS
    RSA_3072 = "rsa-3072"  # RSASSA-PSS
    RSA_2048_PKCS1 = "rsa-2048-pkcs1"  # RSASSA-PKCS1-v1_5, the real axis's rsa-sha256
    RSA_3072_PKCS1 = "rsa-3072-pkcs1"


class RsaPadding(enum.StrEnum):
    """The one signature scheme an RSA certificate allows (named in the certificate)."""

    PSS = "pss"
    PKCS1V15 = "pkcs1v15"


DEFAULT_ALGORITHM = Algorithm.ED25519
_RSA_BITS = {
    Algorithm.RSA_2048: 2048,
    Algorithm.RSA_3072: 3072,
    Algorithm.RSA_2048_PKCS1: 2048,
    Algorithm.RSA_3072_PKCS1: 3072,
}
_RSA = {
    (2048, RsaPadding.PSS): Algorithm.RSA_2048,
    (3072, RsaPadding.PSS): Algorithm.RSA_3072,
    (2048, RsaPadding.PKCS1V15): Algorithm.RSA_2048_PKCS1,
    (3072, RsaPadding.PKCS1V15): Algorithm.RSA_3072_PKCS1,
}


def padding_of(algorithm: Algorithm) -> RsaPadding | None:
    """The RSA padding of `algorithm`, None for a non-RSA algorithm."""
    if algorithm not in _RSA_BITS:
        return None
    pkcs1 = algorithm in (Algorithm.RSA_2048_PKCS1, Algorithm.RSA_3072_PKCS1)
    return RsaPadding.PKCS1V15 if pkcs1 else RsaPadding.PSS


def generate_key(algorithm: Algorithm) -> PrivateKey:
    """A fresh private key for `algorithm` (RSA-2048 ~30 ms, RSA-3072 ~200 ms, others ~50 us)."""
    if algorithm is Algorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm is Algorithm.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[algorithm])


def algorithm_of(key: object, rsa_padding: RsaPadding | None = None) -> Algorithm | None:
    """The algorithm a key is used with, or None if it is outside the profile.

    For an RSA key the padding comes from its certificate (`rsa_padding`); None
    means PSS, the only RSA scheme of certificates that name none. A padding given
    for a non-RSA key is outside the profile.
    """
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return _RSA.get((key.key_size, rsa_padding or RsaPadding.PSS))
    if rsa_padding is not None:
        return None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Algorithm.ED25519
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Algorithm.ED25519 if ed25519_key_sound(key.public_bytes_raw()) else None
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return Algorithm.ECDSA_P256 if isinstance(key.curve, ec.SECP256R1) else None
    return None


WEAK_ED25519_KEY = (
    "the Ed25519 public key is of small or mixed order or not canonically encoded, "
    "which no RFC 8032 key generation gives (docs/PKI.md, 'Ed25519: libsodium')"
)


def ed25519_key_sound(raw: bytes) -> bool:
    """Whether 32 bytes are an Ed25519 public key an RFC 8032 key pair can have.

    That is the canonical encoding of a point of the prime-order subgroup other than
    the identity (libsodium's crypto_core_ed25519_is_valid_point). A small-order key
    would let anyone forge its signatures (OpenSSL accepts them, libsodium refuses
    them all: it would silently verify nothing); a mixed-order or non-canonical one
    is judged differently by different libraries. Checked once per certificate.
    """
    return len(raw) == 32 and bool(nacl.bindings.crypto_core_ed25519_is_valid_point(raw))


Signer = Callable[[bytes], bytes]


def signer(key: PrivateKey, algorithm: Algorithm) -> Signer:
    """A `content -> signature` function bound to `key` and `algorithm` (which must be the
    key's), built once per credential. Ed25519 signs with libsodium, over the same seed:
    RFC 8032 signatures are deterministic, so they are byte for byte OpenSSL's."""
    if algorithm_of(key, padding_of(algorithm)) is not algorithm:
        raise PkiError(f"a {type(key).__name__} cannot sign as {algorithm}")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        # libsodium's secret key is the seed followed by the public key (no scalar
        # multiplication here: OpenSSL keeps the public key it derived)
        secret = key.private_bytes_raw() + key.public_key().public_bytes_raw()
        combined = nacl.bindings.crypto_sign  # signature || content: the first 64 bytes

        def ed25519_sign(content: bytes) -> bytes:
            return combined(content, secret)[:64]

        return ed25519_sign
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_key = key

        def ecdsa_sign(content: bytes) -> bytes:
            return low_s(ec_key.sign(content, _ECDSA))

        return ecdsa_sign
    rsa_key: rsa.RSAPrivateKey = key
    pad = _PKCS1 if padding_of(algorithm) is RsaPadding.PKCS1V15 else _PSS

    def rsa_sign(content: bytes) -> bytes:
        return rsa_key.sign(content, pad, hashes.SHA256())

    return rsa_sign


def sign(key: PrivateKey, content: bytes, algorithm: Algorithm) -> bytes:
    """Sign the exact `content` bytes with `algorithm` (which must be the key's); a
    one-off `signer` (a `Credential` keeps its own)."""
    return signer(key, algorithm)(content)


def low_s(signature: bytes) -> bytes:
    """The low-S form of a DER ECDSA P-256 signature (itself when already low-S)."""
    r, s = decode_dss_signature(signature)
    return signature if s <= P256_HALF_ORDER else encode_dss_signature(r, P256_ORDER - s)


def plausible(algorithm: Algorithm, signature: bytes) -> bool:
    """Whether `signature` has a shape `algorithm` can produce (else: ALGORITHM_MISMATCH)."""
    n = len(signature)
    if algorithm is Algorithm.ED25519:
        return n == 64
    if algorithm is Algorithm.ECDSA_P256:
        # DER SEQUENCE of two INTEGERs, short-form length: 0x30 len ...
        return 8 <= n <= 72 and signature[0] == 0x30 and signature[1] == n - 2
    return n == _RSA_BITS[algorithm] // 8


Verifier = Callable[[bytes, bytes], bool]


def verifier(key: PublicKey, algorithm: Algorithm, *, judged: bool = False) -> Verifier:
    """A `(content, signature) -> valid` function bound to `key` and `algorithm` (its
    certificate's), built once per certificate. An RSA verifier accepts its one padding.

    `judged`: `algorithm` is what `algorithm_of` gave for this very key a moment ago (the
    trust store's `certificates.describe`), so it is not judged again: for Ed25519 that
    is a curve-point validation, ~0.13 ms, half of the key checks of a certificate load."""
    if not judged and algorithm_of(key, padding_of(algorithm)) is not algorithm:
        raise PkiError(f"a {type(key).__name__} cannot verify as {algorithm}")
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _ed25519_verifier(key.public_bytes_raw())
    if isinstance(key, ec.EllipticCurvePublicKey):

        def check(content: bytes, signature: bytes) -> bool:
            _r, s = decode_dss_signature(signature)  # ValueError on anything but DER (r, s)
            if s > P256_HALF_ORDER:
                return False  # the high-S twin of a signature: refused (module docstring)
            key.verify(signature, content, _ECDSA)
            return True

    else:
        pad = _PKCS1 if padding_of(algorithm) is RsaPadding.PKCS1V15 else _PSS

        def check(content: bytes, signature: bytes) -> bool:
            key.verify(signature, content, pad, hashes.SHA256())
            return True

    def safe(content: bytes, signature: bytes) -> bool:
        try:
            return check(content, signature)
        except (InvalidSignature, ValueError):
            return False

    return safe


def _ed25519_verifier(raw: bytes) -> Verifier:
    """libsodium's verify bound to a sound key's 32 raw bytes (see the module docstring).

    VerifyKey.verify refuses a signature that is not exactly 64 bytes before joining it
    to the content (libsodium's combined form): a 63-byte signature can never borrow the
    content's first byte."""
    verify = nacl.signing.VerifyKey(raw).verify

    def ed25519_check(content: bytes, signature: bytes) -> bool:
        try:
            verify(content, signature)
        except nacl.exceptions.CryptoError:  # bad signature, wrong length or type
            return False
        return True

    return ed25519_check


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (simulated keys; protected by file mode 0600 only)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes, origin: str = "key") -> PrivateKey:
    """Parse a PKCS#8 PEM private key of a supported algorithm; PkiError otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise PkiError(f"{origin}: not a readable private key ({exc})") from exc
    if not isinstance(key, PrivateKey) or algorithm_of(key) is None:
        raise PkiError(f"{origin}: key type outside the profile")
    return key


@dataclass(frozen=True, slots=True)
class Credential:
    """A private key bound to one certificate of one agency: what a producer signs with."""

    agency_id: str
    cert_id: str  # lowercase hex SHA-256 of the certificate DER
    algorithm: Algorithm
    key: PrivateKey = field(repr=False, compare=False)

    _signer: Signer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_signer", signer(self.key, self.algorithm))

    def sign(self, content: bytes) -> bytes:
        """Signature over the exact `content` bytes (the canonical document encoding)."""
        return self._signer(content)
