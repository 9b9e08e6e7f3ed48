"""Option groups and helpers shared by subcommands (flag, then environment, then default)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from interchange.axis.presets import DEFAULT_PRESET, PRESET_NAMES
from interchange.settings import Settings

if TYPE_CHECKING:
    from interchange.axis.directory import Directory

EXAMPLE_HEADER = "Example:"


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its name, user group, one-line help, example and registration."""

    name: str
    group: str
    help: str
    example: str


def add_kafka_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Kafka")
    group.add_argument(
        "--bootstrap",
        metavar="HOST:PORT[,...]",
        help="Kafka bootstrap servers (env INTERCHANGE_BOOTSTRAP); "
        "default: start the embedded broker for this command",
    )
    group.add_argument(
        "--topic-prefix",
        metavar="PREFIX",
        help="prefix of every topic name (env INTERCHANGE_TOPIC_PREFIX; default 'interchange.')",
    )


def add_keys_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keys-dir",
        type=Path,
        metavar="DIR",
        help="key material directory (env INTERCHANGE_KEYS_DIR; default keys/)",
    )


def add_directory_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    whose: str = "the axis",
    default: str | None = DEFAULT_PRESET,
    scenario: bool = False,
) -> None:
    """--preset or --directory (and --scenario): which agency directory a command uses."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        help=f"directory preset of {whose}" + (f" (default {default})" if default else ""),
    )
    where.add_argument(
        "--directory",
        type=Path,
        metavar="FILE",
        help=f"directory JSON of {whose} (from 'interchange directory export' or a run dir)",
    )
    if scenario:
        parser.add_argument(
            "--scenario", type=Path, metavar="FILE", help="scenario JSON applied to the --preset"
        )


def directory_from_args(args: argparse.Namespace) -> Directory:
    """The directory named by --directory, else the --preset (default province) under --scenario."""
    from interchange.axis.directory import Directory
    from interchange.axis.presets import Scenario, build_directory

    if getattr(args, "directory", None):
        return Directory.load(args.directory)
    scenario_file = getattr(args, "scenario", None)
    scenario = Scenario.load(scenario_file) if scenario_file else None
    return build_directory(getattr(args, "preset", None) or DEFAULT_PRESET, scenario)


def configure_logging(verbose: bool, *, quiet_kafka: int) -> None:
    """Stage logging: INFO with -v; otherwise kafka-python only at `quiet_kafka` and above.

    Unless asked, kafka-python's own reconnect and slow-callback warnings would drown
    the stage's messages whenever the broker restarts or the CPU is busy.
    """
    import logging

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not verbose:
        logging.getLogger("kafka").setLevel(quiet_kafka)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment first, then whichever flags this subcommand defines and the user gave."""
    base = Settings.from_env()
    names = ("bootstrap", "topic_prefix", "keys_dir", "out_dir")
    return base.replace(**{n: getattr(args, n, None) for n in names})


@contextlib.contextmanager
def kafka_settings(settings: Settings, *, quiet: bool = False) -> Iterator[Settings]:
    """Yield settings with a bootstrap address, starting the embedded broker if none was given."""
    with kafka_broker(settings, quiet=quiet) as (live, _pid):
        yield live


@contextlib.contextmanager
def kafka_broker(
    settings: Settings, *, quiet: bool = False
) -> Iterator[tuple[Settings, int | None]]:
    """As `kafka_settings`, with the embedded broker's process id (None for a cluster given
    by address): a load test samples that process's CPU and memory beside the stages'."""
    if settings.bootstrap is not None:
        yield settings, None
        return
    from interchange.kafka.broker import EmbeddedBroker

    with EmbeddedBroker(log_path=settings.out_dir / "broker.log") as broker:
        if not quiet:
            print(
                f"embedded broker on {broker.bootstrap} (in memory; log {broker.log_path})",
                file=sys.stderr,
            )
        yield settings.replace(bootstrap=broker.bootstrap), broker.pid


class StopFlag:
    """Set by SIGINT/SIGTERM so long-running loops can finish cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""

    def install(self) -> StopFlag:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def watch_parent(self, parent_pid: int | None) -> StopFlag:
        """Also stop when process `parent_pid` is no longer this one's parent (`--parent-pid`:
        an orchestrator that was killed outright cannot send its SIGTERM)."""
        if parent_pid is not None:
            from interchange.stages.lifeline import watch_parent

            watch_parent(parent_pid, self._parent_gone)
        return self

    def _parent_gone(self) -> None:
        self.signal_name = "orchestrator gone"
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def __bool__(self) -> bool:
        return self._event.is_set()


def add_parent_pid_option(parser: argparse.ArgumentParser) -> None:
    """`--parent-pid`, which `simulate` and `bench` pass to the stages they start."""
    parser.add_argument(
        "--parent-pid",
        type=int,
        metavar="PID",
        help="stop, as on SIGTERM, once process PID is no longer this process's parent "
        "(checked every second); simulate and bench pass their own, so a killed "
        "orchestrator leaves no stage running",
    )


def add_static_assignment_option(group: argparse._ArgumentGroup) -> None:
    """`--static-assignment`, shared by the stages that read in a consumer group."""
    group.add_argument(
        "--static-assignment",
        action="store_true",
        help="take every partition at once, without a group join (ready in about a second "
        "instead of several on the embedded broker); only for the one process of its stage: "
        "a second process in the same group would read the same partitions",
    )
