"""Every command has help text and an example, and `interchange --help` lists it by group."""

from __future__ import annotations

import pytest

from interchange.cli.main import COMMANDS, GROUP_TITLES, main

NAMES = [command.name for command, _ in COMMANDS]


def test_top_level_help_lists_every_command_once_under_its_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command, _ in COMMANDS:
        assert command.group in GROUP_TITLES, command.name
        lines = [line for line in out.splitlines() if line.split()[:1] == [command.name]]
        assert len(lines) == 1, f"{command.name} listed {len(lines)} times"


@pytest.mark.parametrize("name", NAMES)
def test_command_help_has_description_and_example(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Example:" in out
    example = out.split("Example:", 1)[1].strip().splitlines()[0]
    assert example.startswith("interchange "), example


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "The main job" in capsys.readouterr().out
