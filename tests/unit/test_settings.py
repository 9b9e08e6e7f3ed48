from __future__ import annotations

from pathlib import Path

import pytest

from interchange.errors import ConfigError
from interchange.settings import Settings


def test_environment_is_parsed_with_types() -> None:
    s = Settings.from_env(
        {
            "INTERCHANGE_BOOTSTRAP": "h:1",
            "INTERCHANGE_DELIVERY_PARTITIONS": "6",
            "INTERCHANGE_KEYS_DIR": "/k",
            "PATH": "/bin",
        }
    )
    assert (s.bootstrap, s.delivery_partitions, s.keys_dir) == ("h:1", 6, Path("/k"))


def test_unknown_environment_variable_is_an_error() -> None:
    with pytest.raises(ConfigError, match="INTERCHANGE_BOOTSTRAPP"):
        Settings.from_env({"INTERCHANGE_BOOTSTRAPP": "h:1"})


def test_flags_override_environment_and_none_means_not_given() -> None:
    s = Settings.from_env({"INTERCHANGE_TOPIC_PREFIX": "env."})
    assert s.replace(topic_prefix=None).topic_prefix == "env."
    assert s.replace(topic_prefix="flag.").topic_prefix == "flag."


def test_unknown_setting_and_bad_values_are_errors() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings().replace(partitons=3)
    with pytest.raises(ConfigError, match="at least 1"):
        Settings(delivery_partitions=0)
    with pytest.raises(ConfigError, match="not a number"):
        Settings.from_env({"INTERCHANGE_STATUS_PARTITIONS": "four"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, max(Settings().linger_ms, Settings().status_linger_ms)),
        ({"INTERCHANGE_STATUS_LINGER_MS": "40"}, 40),
        # a soak's linger for every producer still reaches the statuses
        ({"INTERCHANGE_STATUS_LINGER_MS": "40", "INTERCHANGE_LINGER_MS": "500"}, 500),
    ],
)
def test_the_recipients_status_producer_lingers_its_own_time(
    env: dict[str, str], expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interchange.axis.presets import build
    from interchange.delivery import recipient
    from interchange.kafka.clients import producer_config

    made: list[dict[str, object]] = []

    def make_producer(settings: Settings, **kwargs: object) -> object:
        made.append(producer_config(settings, **kwargs))  # type: ignore[arg-type]
        return object()

    monkeypatch.setattr(recipient, "make_producer", make_producer)
    settings = Settings.from_env(env)
    owner = recipient.Recipients(settings, build("tiny"), recipient.RecipientConfig())
    owner._status_producer()
    assert made[0]["linger_ms"] == expected
    assert producer_config(settings)["linger_ms"] == settings.linger_ms  # other producers
