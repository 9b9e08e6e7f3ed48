"""An edXML package through the router on the real broker: delivered byte for byte, and a
tampered copy rejected with its XML reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from edxml_helpers import bad_digest, document, package_of
from router_helpers import CENTRAL, PROVINCE, Case
from test_router import read_outputs, submit

from interchange.axis.presets import build_directory
from interchange.kafka.topics import create_topics, layout_of
from interchange.pki.keystore import AlgorithmPolicy, KeyStore, TrustStore, init_pki
from interchange.routing.router import Router, RouterConfig
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import ContentFormat, Envelope, Hop, ReasonCode

pytestmark = pytest.mark.integration


def test_a_signed_package_is_delivered_byte_for_byte_and_a_tampered_one_rejected(
    settings: Settings, unique: Callable[[str], str], tmp_path: Path
) -> None:
    directory = build_directory("tiny")
    keys_dir = tmp_path / "keys"
    init_pki(keys_dir, directory.agencies, policy=AlgorithmPolicy.parse("rsa-2048-pkcs1"))
    keys, trust = KeyStore.open(keys_dir), TrustStore.open(keys_dir)
    cred = keys.credential(CENTRAL)
    cert = trust.x509_certificate(cred.cert_id)
    create_topics(settings)
    now = time.time_ns() // 1000
    good = package_of(document(CENTRAL, [PROVINCE], 91_001, now), cred.key, cert)
    tampered = bad_digest(package_of(document(CENTRAL, [PROVINCE], 91_002, now), cred.key, cert))

    def envelope(package: bytes) -> bytes:
        hop = (Hop(f"producer:{CENTRAL}", now),)
        return codec.encode_envelope(Envelope(package, b"", cred.cert_id, hop, ContentFormat.EDXML))

    submit(
        settings,
        [
            Case("good", envelope(good), CENTRAL, None),
            Case("tampered", envelope(tampered), CENTRAL, ReasonCode.BAD_SIGNATURE),
        ],
    )
    config = RouterConfig(
        router_id=unique("r"), group=unique("g"), max_records=2, idle_exit_s=20.0, static=True
    )
    router = Router(settings, directory, trust, config, echo=lambda _l: None)
    assert router.run(threading.Event()) == 2
    records = read_outputs(settings, 2, deadline_s=20)
    layout = layout_of(settings)
    deliveries = [r for r in records if r.topic != layout.rejections]
    rejections = [codec.decode_rejection(r.value) for r in records if r.topic == layout.rejections]
    assert len(deliveries) == 1
    delivered = codec.decode_envelope(deliveries[0].value)
    assert deliveries[0].key == PROVINCE.encode()
    assert delivered.content_format is ContentFormat.EDXML
    assert delivered.content == good  # the recipient gets the sender's package unchanged
    assert [(r.reason, r.detail.split(":")[0:2]) for r in rejections] == [
        (ReasonCode.BAD_SIGNATURE, ["edxml", "BAD_DIGEST"])
    ]
