"""Help texts of the integrator commands carry an example; flags parse without a broker."""

from __future__ import annotations

import pytest

from interchange.cli.agency import _acks
from interchange.cli.main import main
from interchange.core.model import StatusCode
from interchange.errors import ConfigError
from interchange.pipeline.agency_inbox import safe_name
from interchange.pipeline.send import parse_recipients


@pytest.mark.parametrize("command", ["send", "inbox", "conformance"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"Example:\n  interchange {command} " in capsys.readouterr().out


def test_ack_codes_parse_with_or_without_leading_zero() -> None:
    assert _acks("01, 3") == (StatusCode.ARRIVED, StatusCode.ACCEPTED)


def test_unknown_ack_code_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        _acks("07")


def test_recipients_from_repeated_and_comma_separated_flags() -> None:
    assert parse_recipients(["A,B", " C ", ","]) == ("A", "B", "C")


def test_saved_names_cannot_escape_the_folder() -> None:
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("000.00.00.G22,2026/11/02,1/VP") == "000.00.00.G22_2026_11_02_1_VP"
