"""A router running in a thread on the session broker, for the integrator-kit tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from interchange.axis.directory import Directory
from interchange.kafka.topics import create_topics
from interchange.pki.keystore import TrustStore, init_pki
from interchange.routing.router import Router, RouterConfig
from interchange.settings import Settings


def module_settings(bootstrap: str, tmp: Path, directory: Directory) -> Settings:
    """Settings with a fresh topic prefix and a PKI for `directory` under `tmp`."""
    settings = Settings.from_env().replace(
        bootstrap=bootstrap,
        topic_prefix=f"kit-{uuid.uuid4().hex[:10]}.",
        keys_dir=tmp / "keys",
        out_dir=tmp / "out",
        # Tansu completes a group join after this (docs/BROKER_QUIRKS.md quirk 1)
        max_poll_interval_ms=3_000,
    )
    init_pki(settings.keys_dir, list(directory))
    create_topics(settings)
    return settings


@contextmanager
def running_router(settings: Settings, directory: Directory) -> Iterator[Router]:
    router = Router(
        settings,
        directory,
        TrustStore.open(settings.keys_dir),
        # the topics' only router: every partition at once, no group join (the group's
        # rebalances have their own tests in test_router.py)
        RouterConfig(
            router_id=uuid.uuid4().hex[:8], group=f"router-{uuid.uuid4().hex[:8]}", static=True
        ),
        echo=lambda _line: None,
    )
    stop = threading.Event()
    thread = threading.Thread(target=router.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield router
    finally:
        stop.set()
        thread.join(timeout=30)
