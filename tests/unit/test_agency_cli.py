"""Help texts of the integrator commands carry an example; flags parse without a broker."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from interchange.cli.agency import _acks
from interchange.cli.main import main
from interchange.delivery.inbox import Received, document_file_name, safe_name, save
from interchange.delivery.send import parse_recipients
from interchange.errors import ConfigError
from interchange.wire.model import StatusCode


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


SEND = ["send", "--as", "000.00.00.G22", "--to", "000.00.00.H01", "--subject", "Thu hồi",
        "--code-number", "13", "--code-notation", "VPCP-TH"]  # fmt: skip


def _parsed(*extra: str) -> argparse.Namespace:
    from interchange.cli.main import build_parser

    return build_parser().parse_args([*SEND, *extra])


def test_recall_update_and_replace_name_their_target() -> None:
    from interchange.cli.agency import _business
    from interchange.wire.model import Business, BusinessType

    target, by = "000.00.00.G22,2025/09/01,12/VPCP-TH", "000.00.00.G22,2025/09/02,14/VPCP-TH"
    assert _business(_parsed("--recall", target, "--reason", "sai")) == (
        BusinessType.REVOKE,
        Business(target, "sai", None),
    )
    assert _business(_parsed("--update", target)) == (BusinessType.UPDATE, Business(target, ""))
    assert _business(_parsed("--replace", target, "--by", by)) == (
        BusinessType.REPLACE,
        Business(target, "", by),
    )
    assert _business(_parsed()) == (BusinessType.NEW, None)


@pytest.mark.parametrize(
    "extra",
    [("--replace", "X"), ("--by", "Y"), ("--recall", "X", "--by", "Y"), ("--reason", "why")],
)
def test_incomplete_business_flags_exit_2_with_one_line(
    extra: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SEND, *extra]) == 2  # refused before any broker is started
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_recall_and_update_together_are_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main([*SEND, "--recall", "X", "--update", "Y"])
    assert exc.value.code == 2


GOOD_ID = "000.00.00.G22,2025/09/01,12/VPCP-TH"


@pytest.mark.parametrize(
    ("extra", "bad"),
    [
        (("--recall", "notanid"), "notanid"),
        (("--update", "000.00.00.G22,2025/13/01,12/VPCP-TH"), "2025/13/01"),
        (("--replace", "000.00.00.G22,2025/09/01,12", "--by", GOOD_ID), "2025/09/01,12'"),
        (("--replace", GOOD_ID, "--by", "000.00.00.G22,2025-09-02,14/VPCP-TH"), "2025-09-02"),
    ],
)
def test_a_target_that_is_not_a_document_id_is_refused_before_sending(
    extra: tuple[str, ...], bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # an unreachable broker: were the id not refused first, the send would fail otherwise
    assert main([*SEND, "--bootstrap", "127.0.0.1:1", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert bad in err
    assert "not a document id" in err


def test_directory_show_states_the_2025_counts_and_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "show", "--preset", "two-level-2025"]) == 0
    out = capsys.readouterr().out
    assert "2025-07-01" in out
    assert "3,321 (2,621 communes (xã), 687 wards (phường), 13 special zones" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert rows["central"].split("│")[2].strip() == "22"  # bodies: 14 + 3 + 5
    assert rows["province"].split("│")[2].strip() == "34"
    assert "district" not in rows


def test_a_department_is_an_agency_of_its_body_tier() -> None:
    """`send --as` and `inbox --agency` take a unit's id: it has the tier of its body."""
    from interchange.axis.directory import tier_of_id
    from interchange.axis.presets import build_directory
    from interchange.wire.model import Tier

    names = {a.id: a.name for a in build_directory("tiny")}
    assert names["016.00.00.H01"] == "Sở Y tế tỉnh An Giang"
    assert tier_of_id("016.00.00.H01") is Tier.PROVINCE
    assert tier_of_id("101.01.01.H01") is Tier.COMMUNE


def test_two_ids_that_map_to_one_safe_name_are_saved_apart(tmp_path: Path) -> None:
    """`1/VP` and `1,VP` both become `1_VP`: the second save used to overwrite the first."""
    from dataclasses import replace

    from edxml_helpers import document

    first = document("000.00.00.G22", ["000.00.00.H01"], 1, 1_700_000_000_000_000)
    second = replace(first, id=first.id.replace("1/VPCP-TH", "1,VPCP-TH"))
    assert safe_name(first.id) == safe_name(second.id)
    folders = {
        save(Received(0, n, 0, b"value", None, doc, ""), tmp_path)
        for n, doc in enumerate([first, second])
    }
    assert len(folders) == 2
    saved = sorted(json.loads((f / "document.json").read_text())["document"]["id"] for f in folders)
    assert saved == sorted([first.id, second.id])


def test_a_document_file_name_is_safe_and_plain_when_nothing_is_lost() -> None:
    assert document_file_name("plain-id.1") == "plain-id.1"
    long_id = "x" * 5_000
    assert document_file_name(long_id) != document_file_name(long_id + "y")
    assert all("/" not in document_file_name(i) for i in ["../../etc/passwd", "a/b", "a,b"])
    assert len(document_file_name(long_id)) <= 200
