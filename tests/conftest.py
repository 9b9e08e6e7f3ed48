"""Shared fixtures: one real broker per session, uuid-named topics and groups.

The broker is the embedded Tansu unless INTERCHANGE_BOOTSTRAP names an external
cluster (for example the docker-compose one), so the same suite runs on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import hypothesis
import pytest

from interchange.settings import Settings

# No per-example deadline: speed is measured in benchmarks/, never asserted in tests, and
# a shared 2-core machine can stretch one example past Hypothesis's default 200 ms.
hypothesis.settings.register_profile("interchange", deadline=None)
hypothesis.settings.load_profile("interchange")


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("INTERCHANGE_BOOTSTRAP")
    if external:
        yield external
        return
    from interchange.kafka.broker import EmbeddedBroker

    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap


@pytest.fixture
def dedicated_bootstrap(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own (or the external cluster when INTERCHANGE_BOOTSTRAP is set).

    For timing-sensitive tests: the embedded Tansu slows down as its in-memory log
    grows (docs/BENCHMARKS.md), and the session broker has served the whole suite.
    """
    external = os.environ.get("INTERCHANGE_BOOTSTRAP")
    if external:
        yield external
        return
    from interchange.kafka.broker import EmbeddedBroker

    with EmbeddedBroker(log_path=tmp_path / "dedicated-broker.log") as broker:
        yield broker.bootstrap


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Factory of uuid-suffixed names for topics, groups and prefixes."""

    def make(stem: str) -> str:
        return f"{stem}-{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
def settings(bootstrap: str, unique: Callable[[str], str], tmp_path: Path) -> Settings:
    """Settings on the session broker with a fresh topic prefix, so tests never share topics."""
    # from_env keeps an external cluster's INTERCHANGE_REPLICATION_FACTOR and tuning.
    return Settings.from_env().replace(
        bootstrap=bootstrap,
        topic_prefix=unique("t") + ".",
        keys_dir=tmp_path / "keys",
        out_dir=tmp_path / "out",
    )
