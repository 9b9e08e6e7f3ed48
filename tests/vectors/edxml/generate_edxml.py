"""Regenerate the edXML test vectors: `python tests/vectors/edxml/generate_edxml.py`.

A throwaway PKI (RSA-2048 PKCS#1 v1.5 agencies, as the real axis signs) issues the
certificates; one package signed by the sender and its broken variants are written with
the root and the certificates, and `vectors.json` says what each must give.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from edxml_helpers import (  # noqa: E402
    bad_digest,
    document,
    package_of,
    reference_not_whole,
    unsigned_element,
    wrapping,
)

from interchange.axis.presets import build_directory  # noqa: E402
from interchange.pki.keystore import AlgorithmPolicy, KeyStore, TrustStore, init_pki  # noqa: E402

SENDER, RECIPIENT, OTHER = "000.00.00.G05", "000.00.00.H01", "000.00.00.G14"
SEND_TIME_US = 1_796_083_200_000_000  # 2026-12-01T00:00:00Z


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = Path(tmp) / "keys"
        init_pki(
            keys_dir,
            build_directory("tiny").agencies,
            policy=AlgorithmPolicy.parse("rsa-2048-pkcs1"),
        )
        keys, trust = KeyStore.open(keys_dir), TrustStore.open(keys_dir)
        sender, other = keys.credential(SENDER), keys.credential(OTHER)
        cert = trust.x509_certificate(sender.cert_id)
        other_cert = trust.x509_certificate(other.cert_id)
        assert cert is not None
        assert other_cert is not None
        doc = document(SENDER, [RECIPIENT], 4242, SEND_TIME_US)
        good = package_of(doc, sender.key, cert)
        files = {
            "good.xml": (good, None),
            "bad-digest.xml": (bad_digest(good), "BAD_DIGEST"),
            "unsigned-element.xml": (unsigned_element(good), "UNSIGNED_ELEMENT"),
            "wrong-certificate.xml": (package_of(doc, other.key, cert), "BAD_SIGNATURE_VALUE"),
            "wrapping.xml": (wrapping(good), "WRAPPING"),
            "reference-not-whole.xml": (reference_not_whole(good), "REFERENCE_NOT_WHOLE"),
        }
        pem = serialization.Encoding.PEM
        (HERE / "root.pem").write_bytes(trust.root.public_bytes(pem))
        (HERE / "sender-cert.pem").write_bytes(cert.public_bytes(pem))
        (HERE / "other-cert.pem").write_bytes(other_cert.public_bytes(pem))
        for name, (data, _) in files.items():
            (HERE / name).write_bytes(data)
        manifest = {
            "sender": SENDER,
            "cert_id": sender.cert_id,
            "at_us": SEND_TIME_US,
            "packages": {name: why for name, (_, why) in files.items()},
        }
        (HERE / "vectors.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
