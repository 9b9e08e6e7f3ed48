"""Ed25519 edge cases: what every stage decides, through the one `verifier` (docs/PKI.md).

Each vector records three facts: what OpenSSL (`cryptography`, the library before) decides,
what libsodium's verify decides, and whether the public key is inside the profile
(`ed25519_key_sound`). The judgement of the interchange is the last two together: a
key outside the profile is refused before any signature (its certificate is untrusted,
`verifier` and `issue` raise PkiError), and a sound key's signature is libsodium's call.
The vectors that are not RFC 8032's are made with the plain arithmetic of `ed25519_math`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ed25519_math as ed
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pki_fixtures import BY_ALGORITHM, NOW, pki_copy, pki_dir  # noqa: F401 (fixtures)

from interchange.errors import PkiError
from interchange.pki import certificates as certs
from interchange.pki.keyfiles import Layout
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.pki.signing import (
    Algorithm,
    Credential,
    _ed25519_verifier,
    algorithm_of,
    ed25519_key_sound,
    load_private_key,
    sign,
    verifier,
)
from interchange.wire.model import ReasonCode, Tier

# RFC 8032, section 7.1, TEST 1 to 3: (seed, public key, message, signature).
RFC8032 = (
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
)


@dataclass(frozen=True)
class Vector:
    name: str
    public: bytes
    message: bytes
    signature: bytes
    openssl: bool  # OpenSSL's verify (the code before): accepts?
    libsodium: bool  # libsodium's verify: accepts?
    sound_key: bool  # the key is inside the profile (else refused before any signature)

    @property
    def accepted(self) -> bool:
        """The interchange's judgement now, in every stage."""
        return self.sound_key and self.libsodium


# (openssl, libsodium, sound_key) of the vectors
ACCEPTED = (True, True, True)  # RFC 8032 signatures: everyone accepts
REJECTED = (False, False, True)  # both libraries reject, the key is sound
NOW_REJECTED = (True, False, True)  # OpenSSL accepted, libsodium rejects: changed
WEAK_KEY_FORGERY = (True, False, False)  # OpenSSL accepted under a key now refused
WEAK_KEY_BOTH_ACCEPT = (True, True, False)  # both accept, the key is now refused


def _message_where(test: Callable[[bytes], bool], prefix: bytes) -> bytes:
    """The first message `prefix + n` for which `test(message)` holds (k is a hash)."""
    for n in range(10_000):
        message = prefix + str(n).encode()
        if test(message):
            return message
    raise AssertionError("no message found")  # pragma: no cover - 1 in 8 holds


def _vectors() -> list[Vector]:
    seed, public_hex, _message, signature_hex = RFC8032[0]
    public, signature = bytes.fromhex(public_hex), bytes.fromhex(signature_hex)
    a, prefix = ed.secret_scalar(bytes.fromhex(seed))
    big_a = ed.mul(a, ed.BASE)
    s = int.from_bytes(signature[32:], "little")
    identity = ed.encode(ed.IDENTITY)
    out = [
        Vector(
            f"RFC 8032 test {n}",
            bytes.fromhex(p),
            bytes.fromhex(m),
            bytes.fromhex(sig),
            *ACCEPTED,
        )
        for n, (_seed, p, m, sig) in enumerate(RFC8032, 1)
    ]
    out += [
        Vector("test 1, message changed", public, b"x", signature, *REJECTED),
        Vector(
            "test 1, S + L (non-canonical S)",
            public,
            b"",
            signature[:32] + (s + ed.L).to_bytes(32, "little"),
            *REJECTED,
        ),
        Vector(
            "test 1, top three bits of S set",
            public,
            b"",
            signature[:32] + (s | 7 << 253).to_bytes(32, "little"),
            *REJECTED,
        ),
        Vector("test 1, 63-byte signature", public, b"", signature[:63], *REJECTED),
        Vector("test 1, 65-byte signature", public, b"", signature + b"\0", *REJECTED),
        # the 64th byte moved to the front of the content: joined, they are test 1 again
        Vector(
            "63-byte signature + content that starts with its 64th byte",
            public,
            signature[63:],
            signature[:63],
            *REJECTED,
        ),
    ]
    # A sound key whose owner signs with R = identity (small order), S = k * a: the
    # cofactorless equation S*B = R + k*A holds; no RFC 8032 signer makes it.
    k = ed.challenge(identity, public, b"doc")
    out.append(
        Vector(
            "sound key, R = identity (small order), S = k*a",
            public,
            b"doc",
            ed.signature(identity, k * a % ed.L),
            *NOW_REJECTED,
        )
    )
    r_noncanonical = ed.encode_raw(ed.P + 1, 0)  # the identity with y + p
    k = ed.challenge(r_noncanonical, public, b"doc")
    out.append(
        Vector(
            "sound key, R = identity encoded as y + p, S = k*a",
            public,
            b"doc",
            ed.signature(r_noncanonical, k * a % ed.L),
            *REJECTED,
        )
    )
    # Keys outside the profile. Under a small-order key A, R = -k*A and S = 0 verify
    # (cofactorless) with no private key at all: under the identity for every message,
    # under a point of order 8 for about one message in eight.
    out.append(
        Vector(
            "identity key, R = identity, S = 0, any message",
            identity,
            b"any",
            ed.signature(identity, 0),
            *WEAK_KEY_FORGERY,
        )
    )
    order8 = ed.encode(ed.ORDER8)
    r8 = ed.TORSION[3]
    m8 = _message_where(
        lambda m: ed.same(
            ed.add(r8, ed.mul(ed.challenge(ed.encode(r8), order8, m), ed.ORDER8)), ed.IDENTITY
        ),
        b"forged",
    )
    out.append(
        Vector(
            "order-8 key, small-order R, S = 0",
            order8,
            m8,
            ed.signature(ed.encode(r8), 0),
            *WEAK_KEY_FORGERY,
        )
    )
    for name, key in (
        ("identity key encoded as y + p", ed.encode_raw(ed.P + 1, 0)),
        ("identity key with the sign bit set", ed.encode_raw(1, 1)),
    ):
        out.append(
            Vector(
                f"{name}, R = identity, S = 0",
                key,
                b"any",
                ed.signature(identity, 0),
                *WEAK_KEY_FORGERY,
            )
        )
    # A mixed-order key a*B + T (T of order 8), whose owner knows a.
    mixed = ed.encode(ed.add(big_a, ed.ORDER8))
    mm = _message_where(
        lambda m: ed.same(
            ed.add(r8, ed.mul(ed.challenge(ed.encode(r8), mixed, m), ed.ORDER8)), ed.IDENTITY
        ),
        b"mixed",
    )
    k = ed.challenge(ed.encode(r8), mixed, mm)
    out.append(
        Vector(
            "mixed-order key, small-order R, S = k*a",
            mixed,
            mm,
            ed.signature(ed.encode(r8), k * a % ed.L),
            *WEAK_KEY_FORGERY,
        )
    )
    r = ed.scalar(prefix + b"nonce")
    big_r = ed.encode(ed.mul(r, ed.BASE))
    mk = _message_where(
        lambda m: ed.same(ed.mul(ed.challenge(big_r, mixed, m), ed.ORDER8), ed.IDENTITY), b"mixed"
    )
    k = ed.challenge(big_r, mixed, mk)
    out.append(
        Vector(
            "mixed-order key, R = r*B, k = 0 mod 8",
            mixed,
            mk,
            ed.signature(big_r, (r + k * a) % ed.L),
            *WEAK_KEY_BOTH_ACCEPT,
        )
    )
    return out


VECTORS = _vectors()
IDS = [v.name for v in VECTORS]
# Each key outside the profile once, named by its first vector.
WEAK_KEYS = [
    pytest.param(v.public, id=v.name.split(",")[0])
    for n, v in enumerate(VECTORS)
    if not v.sound_key and v.public not in {w.public for w in VECTORS[:n]}
]


def _openssl(vector: Vector) -> bool:
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(vector.public)
        key.verify(vector.signature, vector.message)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_the_vectors_are_what_they_claim() -> None:
    """The forged vectors hold the cofactorless equation S*B = R + k*A with the bytes as
    given, so a library that accepts them judges by that equation alone."""
    for vector in VECTORS:
        if not vector.openssl and not vector.libsodium:
            continue
        r, s = vector.signature[:32], int.from_bytes(vector.signature[32:], "little")
        big_r, big_a = ed.decode_lenient(r), ed.decode_lenient(vector.public)
        assert big_r is not None
        assert big_a is not None
        k = ed.challenge(r, vector.public, vector.message)
        assert ed.same(ed.mul(s, ed.BASE), ed.add(big_r, ed.mul(k, big_a))), vector.name
    assert ed.same(ed.mul(8, ed.ORDER8), ed.IDENTITY)
    assert not ed.same(ed.mul(4, ed.ORDER8), ed.IDENTITY)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_openssl_column_is_what_the_code_before_decided(vector: Vector) -> None:
    assert _openssl(vector) is vector.openssl


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_libsodium_column(vector: Vector) -> None:
    assert _ed25519_verifier(vector.public)(vector.message, vector.signature) is vector.libsodium


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_key_column(vector: Vector) -> None:
    assert ed25519_key_sound(vector.public) is vector.sound_key


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_verifier_judgement(vector: Vector) -> None:
    """What every stage decides (they all bind `verifier`): a key outside the profile is
    refused, a sound key's signature is judged by libsodium. Before, OpenSSL accepted a
    small-order R under a sound key and every forgery under a small-order key."""
    key = ed25519.Ed25519PublicKey.from_public_bytes(vector.public)
    if not vector.sound_key:
        assert algorithm_of(key) is None
        with pytest.raises(PkiError, match="cannot verify as ed25519"):
            verifier(key, Algorithm.ED25519)
        return
    check = verifier(key, Algorithm.ED25519)
    assert check(vector.message, vector.signature) is vector.accepted


def test_not_a_key_of_32_bytes() -> None:
    assert not ed25519_key_sound(bytes.fromhex(RFC8032[0][1])[:31])
    with pytest.raises(ValueError, match="32 bytes"):
        ed25519.Ed25519PublicKey.from_public_bytes(bytes(31))


def test_a_non_canonical_encoding_of_a_large_order_point_is_not_a_sound_key() -> None:
    """No signature can be forged for it (its discrete log is unknown), but libraries
    disagree on reading it: refused as a key."""
    y = next(y for y in range(2, 19) if ed.x_of(y, 0) is not None)
    canonical, noncanonical = ed.encode_raw(y, 0), ed.encode_raw(y + ed.P, 0)
    assert not ed.same(ed.mul(8, ed.point(ed.x_of(y, 0) or 0, y)), ed.IDENTITY)
    assert not ed25519_key_sound(noncanonical)
    assert not ed25519_key_sound(canonical)  # not in the prime-order group either


@pytest.mark.parametrize("index", [0, 1, 2])
def test_rfc8032_signatures_are_made_byte_for_byte(index: int) -> None:
    seed, public, message, signature = (bytes.fromhex(h) for h in RFC8032[index])
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    assert key.public_key().public_bytes_raw() == public
    assert sign(key, message, Algorithm.ED25519) == signature
    credential = Credential("000.00.00.G22", "ab" * 32, Algorithm.ED25519, key)
    assert credential.sign(message) == signature


@pytest.mark.parametrize("size", [0, 1, 64, 2048, 65_536])
def test_libsodium_signatures_equal_openssls(size: int) -> None:
    """RFC 8032 signing is deterministic: the same key and content give the same bytes
    whichever library signs (a signature made before the change is the same one now)."""
    for n in range(5):
        key = ed25519.Ed25519PrivateKey.generate()
        content = hashlib.shake_256(bytes([n, size % 256])).digest(size) if size else b""
        credential = Credential("000.00.00.G22", "ab" * 32, Algorithm.ED25519, key)
        assert credential.sign(content) == key.sign(content)
        assert sign(key, content, Algorithm.ED25519) == key.sign(content)


def _forged_certificate(keys_dir: Path, public: bytes, agency_id: str) -> str:
    """A certificate for `agency_id` with the raw key `public`, signed by the root
    (as `issue` would, had it not refused the key); returns its cert id."""
    layout = Layout(keys_dir)
    root_key = load_private_key(layout.root_key.read_bytes())
    root = x509.load_pem_x509_certificate(layout.root_cert.read_bytes())
    key = ed25519.Ed25519PublicKey.from_public_bytes(public)
    genuine = KeyStore.open(keys_dir).credential(agency_id)
    template = x509.load_pem_x509_certificate(layout.cert(genuine.cert_id).read_bytes())
    builder = (
        x509.CertificateBuilder()
        .subject_name(template.subject)
        .issuer_name(root.subject)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(template.not_valid_before_utc)
        .not_valid_after(template.not_valid_after_utc)
    )
    for ext in template.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.sign(root_key, None)
    cert_id = certs.cert_id_of(cert)
    layout.cert(cert_id).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_id


@pytest.mark.parametrize("public", WEAK_KEYS)
def test_the_trust_store_refuses_a_certificate_with_a_key_outside_the_profile(
    pki_copy: Path,  # noqa: F811
    public: bytes,
) -> None:
    """Root-signed, in its validity, the right agency: still UNTRUSTED_CERTIFICATE, so the
    forgery its key allows is refused by the certificate check, never silently."""
    agency = BY_ALGORITHM[Algorithm.ED25519]
    cert_id = _forged_certificate(pki_copy, public, agency)
    trust = TrustStore.open(pki_copy)
    for vector in (v for v in VECTORS if v.public == public):
        reason = trust.verify(vector.message, vector.signature, cert_id, agency, NOW)
        assert reason is ReasonCode.UNTRUSTED_CERTIFICATE, vector.name
    info = trust.certificate(cert_id)
    assert info is not None
    assert info.algorithm is None


def test_a_sound_keys_small_order_r_is_a_bad_signature_in_the_trust_store(
    pki_copy: Path,  # noqa: F811
) -> None:
    """The one judgement that changed for a key of the profile: its owner's S*B = R + k*A
    with R the identity passed OpenSSL and is BAD_SIGNATURE now, for the router, the
    recipients, the naive reference and the audit alike (all TrustStore.verify)."""
    agency = BY_ALGORITHM[Algorithm.ED25519]
    credential = KeyStore.open(pki_copy).credential(agency)
    assert isinstance(credential.key, ed25519.Ed25519PrivateKey)
    a, _prefix = ed.secret_scalar(credential.key.private_bytes_raw())
    public = credential.key.public_key().public_bytes_raw()
    identity = ed.encode(ed.IDENTITY)
    content = b"canonical document bytes"
    odd = ed.signature(identity, ed.challenge(identity, public, content) * a % ed.L)
    trust = TrustStore.open(pki_copy)
    assert trust.verify(content, credential.sign(content), credential.cert_id, agency, NOW) is None
    assert credential.key.public_key().verify(odd, content) is None  # OpenSSL: valid
    reason = trust.verify(content, odd, credential.cert_id, agency, NOW)
    assert reason is ReasonCode.BAD_SIGNATURE


@pytest.mark.parametrize("public", WEAK_KEYS)
def test_issue_refuses_a_key_outside_the_profile(pki_dir: Path, public: bytes) -> None:  # noqa: F811
    layout = Layout(pki_dir)
    root_key = load_private_key(layout.root_key.read_bytes())
    root = x509.load_pem_x509_certificate(layout.root_cert.read_bytes())
    with pytest.raises(PkiError, match="small or mixed order or not canonically encoded"):
        certs.issue(
            root_key,
            root.subject,
            ed25519.Ed25519PublicKey.from_public_bytes(public),
            agency_id="000.00.00.G22",
            tier=Tier.CENTRAL,
            serial=7,
            not_before_us=NOW,
            not_after_us=NOW + 1,
        )
