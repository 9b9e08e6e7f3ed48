"""The topic layout as `topics describe` prints it (no broker needed)."""

from __future__ import annotations

from interchange.pipeline.topics import layout_of, topic_specs
from interchange.settings import Settings


def test_the_router_state_key_is_the_router_transaction_id() -> None:
    settings = Settings.from_env()
    spec = next(s for s in topic_specs(settings) if s.name == layout_of(settings).router_state)
    assert spec.key.startswith("router transaction id")
    assert "document id" not in spec.key
