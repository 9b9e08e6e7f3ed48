"""RSA PKCS#1 v1.5 (the real axis's rsa-sha256) through the router on the real broker."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from router_helpers import CENTRAL, COMMUNE, PROVINCE, Case, document, sign
from test_router import observed, read_outputs, submit

from interchange.axis.presets import build_directory
from interchange.kafka.topics import create_topics
from interchange.pki.keystore import Algorithm, AlgorithmPolicy, KeyStore, TrustStore, init_pki
from interchange.routing.router import Router, RouterConfig
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import ReasonCode

pytestmark = pytest.mark.integration


def test_an_rsa_pkcs1_document_is_delivered_and_tampered_or_pss_ones_are_rejected(
    settings: Settings, unique: Callable[[str], str], tmp_path: Path
) -> None:
    directory = build_directory("tiny")
    keys_dir = tmp_path / "keys"
    init_pki(keys_dir, directory.agencies, policy=AlgorithmPolicy.parse("rsa-2048-pkcs1"))
    keys = KeyStore.open(keys_dir)
    cred = keys.credential(CENTRAL)
    assert cred.algorithm is Algorithm.RSA_2048_PKCS1
    create_topics(settings)

    good = document(CENTRAL, [PROVINCE, COMMUNE], 71_001)
    tampered_doc = document(CENTRAL, [PROVINCE], 71_002)
    env = sign(keys, tampered_doc)
    altered = replace(tampered_doc, subject="Báo cáo tình hình (sửa)")
    tampered = replace(env, content=codec.encode_document(altered))  # signature of the original
    pss_doc = document(CENTRAL, [PROVINCE], 71_003)
    pss_env = sign(keys, pss_doc)
    assert isinstance(cred.key, rsa.RSAPrivateKey)
    pss_signature = cred.key.sign(  # the same key, the other padding: same length, valid PSS
        pss_env.content,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    stream = [
        Case("delivered", codec.encode_envelope(sign(keys, good)), CENTRAL, None),
        Case("tampered", codec.encode_envelope(tampered), CENTRAL, ReasonCode.BAD_SIGNATURE),
        Case(
            "pss-under-pkcs1",
            codec.encode_envelope(replace(pss_env, signature=pss_signature)),
            CENTRAL,
            ReasonCode.BAD_SIGNATURE,
        ),
    ]
    submit(settings, stream)
    config = RouterConfig(
        router_id=unique("r"), group=unique("g"), max_records=3, idle_exit_s=20.0, static=True
    )
    router = Router(settings, directory, TrustStore.open(keys_dir), config, echo=lambda _l: None)
    assert router.run(threading.Event()) == 3
    got = observed(settings, read_outputs(settings, 4, deadline_s=20))
    assert got == Counter(
        {
            ("delivery", good.id, PROVINCE, "province"): 1,
            ("delivery", good.id, COMMUNE, "commune"): 1,
            ("rejection", altered.id, ReasonCode.BAD_SIGNATURE.value, ""): 1,
            ("rejection", pss_doc.id, ReasonCode.BAD_SIGNATURE.value, ""): 1,
        }
    )
