"""The committed test vectors: reproducible from the code, and checked by independent code.

Ed25519 signatures are verified with PyNaCl's own API (libsodium) and with OpenSSL
(`cryptography`, the library the product signed with before it moved to libsodium), the RSA
PKCS#1 v1.5 ones with OpenSSL's command line (not the `cryptography` package),
and the document and envelope bytes decoded with the official `avro` package
(not fastavro).
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import nacl.exceptions
import nacl.signing
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from interchange.pki.keyfiles import Layout
from interchange.pki.keystore import TrustStore
from interchange.wire import codec

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
MANIFEST: dict[str, Any] = json.loads((VECTORS / "vectors.json").read_text(encoding="utf-8"))
DOCS = MANIFEST["documents"]
NAMES = [d["name"] for d in DOCS]
RSA: dict[str, Any] = json.loads((VECTORS / "rsa-pkcs1.json").read_text(encoding="utf-8"))
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="the independent RSA verifier is OpenSSL's command line: not installed"
)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("vector_generate", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _avro_read(schema_name: str, data: bytes) -> Any:
    schema = avro.schema.parse((REPO / "schemas" / f"{schema_name}.avsc").read_text("utf-8"))
    buffer = io.BytesIO(data)
    value = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buffer))
    assert buffer.tell() == len(data), "trailing bytes"
    return value


def test_committed_vectors_equal_what_the_code_produces_now() -> None:
    built = _generator().build()
    assert set(built) == {
        "vectors.json",
        "ca.pem",
        "cert.pem",
        "crl.pem",
        "rsa-pkcs1.json",
        "rsa-cert.pem",
    }
    for name, data in built.items():
        assert (VECTORS / name).read_bytes() == data, f"{name} is stale: run generate.py"


def test_vectors_cover_the_promised_cases() -> None:
    assert NAMES == ["plain", "multi-recipient", "attachment", "unicode-vietnamese"]
    by_name = {d["name"]: d["document"] for d in DOCS}
    assert len(by_name["multi-recipient"]["recipients"]) == 3
    assert by_name["attachment"]["attachments"]
    assert "Về việc" in by_name["unicode-vietnamese"]["subject"]


@pytest.mark.parametrize("vector", DOCS, ids=NAMES)
def test_signature_verifies_with_libsodium_and_openssl(vector: dict[str, Any]) -> None:
    signer = MANIFEST["signer"]
    content = bytes.fromhex(vector["document_hex"])
    signature = bytes.fromhex(vector["signature_hex"])
    verify_key = nacl.signing.VerifyKey(bytes.fromhex(signer["public_key_hex"]))
    assert verify_key.verify(content, signature) == content
    # Ed25519 is deterministic: libsodium re-derives the very same signature from the seed.
    signing_key = nacl.signing.SigningKey(bytes.fromhex(signer["seed_hex"]))
    assert bytes(signing_key.verify_key) == bytes(verify_key)
    assert signing_key.sign(content).signature == signature
    with pytest.raises(nacl.exceptions.BadSignatureError):
        verify_key.verify(content + b"\x00", signature)
    # and with OpenSSL: the two libraries agree on every signature an RFC 8032 signer makes
    openssl_key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(verify_key))
    openssl_key.verify(signature, content)


def test_certificate_chain_verifies_with_libsodium() -> None:
    """The CA's Ed25519 signature over the certificate's TBS bytes, checked outside OpenSSL."""
    cert = x509.load_pem_x509_certificate((VECTORS / "cert.pem").read_bytes())
    ca_key = nacl.signing.VerifyKey(bytes.fromhex(MANIFEST["ca"]["public_key_hex"]))
    ca_key.verify(cert.tbs_certificate_bytes, cert.signature)
    raw = cert.public_key().public_bytes_raw()  # type: ignore[union-attr]
    assert raw.hex() == MANIFEST["signer"]["public_key_hex"]


def _expected_avro(doc: dict[str, Any]) -> dict[str, Any]:
    value = dict(doc)
    value["attachments"] = [
        {
            "name": a["name"],
            "media_type": a["media_type"],
            "sha256": bytes.fromhex(a["sha256_hex"]),
            "content": bytes.fromhex(a["content_hex"]),
        }
        for a in doc["attachments"]
    ]
    return value


@pytest.mark.parametrize("vector", DOCS, ids=NAMES)
def test_document_bytes_decode_with_the_official_avro_package(vector: dict[str, Any]) -> None:
    content = bytes.fromhex(vector["document_hex"])
    assert _avro_read("document", content) == _expected_avro(vector["document"])
    envelope = _avro_read("envelope", bytes.fromhex(vector["envelope_hex"]))
    assert envelope == {
        "content": content,
        "signature": bytes.fromhex(vector["signature_hex"]),
        "cert_id": MANIFEST["signer"]["cert_id"],
        "trace": vector["envelope_trace"],
        "content_format": "AVRO",
    }


@pytest.mark.parametrize("vector", DOCS, ids=NAMES)
def test_our_codec_and_trust_store_agree(vector: dict[str, Any], tmp_path: Path) -> None:
    content = bytes.fromhex(vector["document_hex"])
    doc = codec.decode_document(content)
    assert codec.encode_document(doc) == content
    assert codec.content_sha256(content).hex() == vector["document_sha256"]
    env = codec.decode_envelope(bytes.fromhex(vector["envelope_hex"]))
    layout = Layout(tmp_path / "keys")
    layout.make_dirs()
    shutil.copy(VECTORS / "ca.pem", layout.root_cert)
    shutil.copy(VECTORS / "crl.pem", layout.crl)
    shutil.copy(VECTORS / "cert.pem", layout.cert(MANIFEST["signer"]["cert_id"]))
    trust = TrustStore.open(layout.root)
    assert trust.root_cert_id == MANIFEST["ca"]["cert_id"]
    sender = doc.sender.id
    assert trust.verify(env.content, env.signature, env.cert_id, sender, doc.send_time_us) is None


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, timeout=30, check=False)


@needs_openssl
def test_an_rsa_pkcs1_document_verifies_with_openssl_command_line(tmp_path: Path) -> None:
    """Every RSA vector: OpenSSL verifies it as PKCS#1 v1.5 / SHA-256 with the key it takes
    from the certificate itself, re-derives the very same signature from the test key
    (PKCS#1 v1.5 is deterministic), and refuses it over one changed byte."""
    cert = VECTORS / RSA["signer"]["cert_file"]
    pub = tmp_path / "pub.pem"
    extracted = _openssl("x509", "-in", cert, "-pubkey", "-noout")
    assert extracted.returncode == 0, extracted.stderr
    pub.write_bytes(extracted.stdout)
    assert _openssl("verify", "-CAfile", VECTORS / "ca.pem", cert).returncode == 0
    text = _openssl("x509", "-in", cert, "-noout", "-text").stdout.decode()
    assert "Policy: sha256WithRSAEncryption" in text  # the scheme, named under the CA's signature
    for vector in RSA["documents"]:
        data, sig = tmp_path / "data.bin", tmp_path / "sig.bin"
        data.write_bytes(bytes.fromhex(vector["document_hex"]))
        sig.write_bytes(bytes.fromhex(vector["signature_hex"]))
        ok = _openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, data)
        assert ok.returncode == 0, (vector["name"], ok.stdout, ok.stderr)
        assert b"Verified OK" in ok.stdout
        again = _openssl("dgst", "-sha256", "-sign", VECTORS / RSA["signer"]["key_file"], data)
        assert again.stdout.hex() == vector["signature_hex"], vector["name"]
        data.write_bytes(bytes.fromhex(vector["document_hex"])[:-1] + b"\xff")
        bad = _openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, data)
        assert bad.returncode != 0
        assert b"Verified OK" not in bad.stdout


def test_rsa_vectors_are_the_same_documents_and_our_trust_store_accepts_them(
    tmp_path: Path,
) -> None:
    assert [d["name"] for d in RSA["documents"]] == NAMES
    layout = Layout(tmp_path / "keys")
    layout.make_dirs()
    shutil.copy(VECTORS / "ca.pem", layout.root_cert)
    shutil.copy(VECTORS / "crl.pem", layout.crl)
    shutil.copy(VECTORS / "rsa-cert.pem", layout.cert(RSA["signer"]["cert_id"]))
    trust = TrustStore.open(layout.root)
    for vector, ed in zip(RSA["documents"], DOCS, strict=True):
        assert vector["document_hex"] == ed["document_hex"]
        env = codec.decode_envelope(bytes.fromhex(vector["envelope_hex"]))
        assert env.signature.hex() == vector["signature_hex"]
        doc = codec.decode_document(env.content)
        at = doc.send_time_us
        assert trust.verify(env.content, env.signature, env.cert_id, doc.sender.id, at) is None
        info = trust.certificate(env.cert_id)
        assert info is not None
        assert info.algorithm == "rsa-2048-pkcs1"
