"""`interchange inbox` answers 02 NOT_ADDRESSED to a verified document that does not name it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from router_helpers import CENTRAL, COMMUNE, PROVINCE, document, make_pki, sign

from interchange.axis.presets import build_directory
from interchange.delivery.inbox import AgencyInbox, InboxConfig
from interchange.pki.keystore import TrustStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import NOT_ADDRESSED, StatusCode, Tier


def test_a_document_keyed_to_me_but_not_naming_me_is_refused_with_not_addressed(
    tmp_path: Path,
) -> None:
    directory = build_directory("tiny")
    keys = make_pki(tmp_path / "keys", directory)
    config = InboxConfig(PROVINCE, Tier.PROVINCE, acks=(StatusCode.ARRIVED,))
    inbox = AgencyInbox(Settings.from_env({}), TrustStore.open(keys.keys_dir), config)

    def received(recipients: tuple[str, ...]) -> str:
        value = codec.encode_envelope(sign(keys, document(CENTRAL, recipients, 1)))
        record = SimpleNamespace(value=value, offset=0, timestamp=0)
        return inbox._receive(0, record).problem

    assert received((PROVINCE, COMMUNE)) == ""
    assert received((COMMUNE,)) == NOT_ADDRESSED
