"""The one settings object, and the one place that reads the environment.

Precedence: command-line flag, then environment variable, then default.
Unknown keys are an error, whether passed in code or as `INTERCHANGE_*`
variables, so a typo never silently runs with a default.

The Kafka client values that matter on both the embedded Tansu broker and
Apache Kafka are fields here; `interchange.kafka.clients` turns them into
client configs (`client_defaults()` below holds only what every client shares:
bootstrap, client id, request timeout). Why each value, in docs/TOPICS.md:

* `fetch_max_wait_ms=10`: Tansu holds every fetch for the full wait even when
  data is ready (docs/BROKER_QUIRKS.md quirk 3); 10 ms keeps p99 latency honest and costs
  Apache Kafka only some extra fetch requests on an idle topic.
* `max_poll_interval_ms=10000`, `heartbeat_interval_ms=1000`: kafka-python
  uses the poll interval as the rebalance timeout and Tansu completes a group
  join only after that timeout; our loops poll far more often than
  every 10 s, so Apache Kafka loses nothing.
* `idle_fetch_max_wait_ms=250`: after a second without records a stage's
  consumer doubles its fetch wait on each empty poll up to this, so an idle
  axis makes a few fetches a second instead of a hundred
  (`kafka.fetchwait`); the first record after an idle spell waits at most
  this long.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from interchange.errors import ConfigError

ENV_PREFIX = "INTERCHANGE_"


@dataclass(frozen=True, slots=True)
class Settings:
    """Immutable run-wide configuration shared by every command."""

    bootstrap: str | None = None  # None: start the embedded broker
    topic_prefix: str = "interchange."
    submission_partitions: int = 8
    delivery_partitions: int = 4
    rejection_partitions: int = 4
    status_partitions: int = 4
    replication_factor: int = 1
    keys_dir: Path = Path("keys")
    out_dir: Path = Path("runs")
    client_id: str = "interchange"
    fetch_max_wait_ms: int = 10
    idle_fetch_max_wait_ms: int = 250  # the fetch wait a consumer grows to while idle
    max_poll_interval_ms: int = 10_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    linger_ms: int = 5
    # the recipients' status producer (or linger_ms when longer): five statuses per
    # delivery, none on the delivery's latency path, flushed at every offset commit
    # anyway (docs/TOPICS.md)
    status_linger_ms: int = 50
    compression_type: str | None = None
    request_timeout_ms: int = 30_000
    # retention of the submissions topic on a real Kafka (7 days): it holds every submitted
    # byte, including a classified document submitted against the rule; every other topic
    # is kept forever (docs/TOPICS.md)
    submissions_retention_ms: int = 7 * 24 * 3600 * 1000

    def __post_init__(self) -> None:
        for name in (
            "submission_partitions",
            "delivery_partitions",
            "rejection_partitions",
            "status_partitions",
            "replication_factor",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.submissions_retention_ms < 1:
            raise ConfigError(
                "submissions_retention_ms must be a positive bound, got "
                f"{self.submissions_retention_ms}"
            )
        if self.compression_type not in (None, "gzip", "lz4", "zstd", "snappy"):
            raise ConfigError(f"unknown compression_type {self.compression_type!r}")
        if self.bootstrap is not None:
            check_bootstrap(self.bootstrap)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`; None values mean "not given" and are skipped."""
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **given)

    def client_defaults(self) -> dict[str, Any]:
        """Settings common to every kafka-python client this project creates."""
        return {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `INTERCHANGE_*` variables (the only reader of the environment)."""
        env = os.environ if environ is None else environ
        by_name = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in by_name:
                raise ConfigError(
                    f"unknown environment variable {key}; known: "
                    + ", ".join(ENV_PREFIX + n.upper() for n in sorted(by_name))
                )
            values[name] = _parse(name, by_name[name].type, raw)
        return cls(**values)


def check_bootstrap(text: str) -> None:
    """Refuse anything but `HOST:PORT[,HOST:PORT...]` (IPv6 hosts in brackets), port 1-65535.

    The one check for every command, flag and environment alike: a Kafka client
    given `localhost:abc` fails deep inside with a ValueError instead.
    """
    want = "want HOST:PORT[,HOST:PORT...]"
    if not text.strip():
        raise ConfigError(f"bootstrap is empty; {want}")
    for item in text.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or host in ("[]",):
            raise ConfigError(f"bootstrap {text!r}: {item.strip()!r} has no host and port; {want}")
        if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise ConfigError(f"bootstrap {text!r}: port {port!r} is not a number 1-65535; {want}")
        if host.startswith("[") != host.endswith("]") or (":" in host and not host.startswith("[")):
            raise ConfigError(f"bootstrap {text!r}: host {host!r} (IPv6 goes in brackets); {want}")


def _parse(name: str, type_name: object, raw: str) -> Any:
    text = str(type_name)
    try:
        if text.startswith("int"):
            return int(raw)
        if "Path" in text:
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from exc
    return raw or None
