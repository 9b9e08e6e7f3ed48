"""`produce --instances N` in the pipeline: shard argv from the stage builder, one shared
start, a stop passed on to every shard, manifests merged (stand-in shard processes)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from test_produce_cli import _part

from interchange.cli.produce import register_produce
from interchange.settings import Settings
from interchange.stages.commands import Stage
from interchange.stages.producer_shards import run_shards, shard_manifest, shard_stages


def settings(tmp_path: Path) -> Settings:
    return Settings(bootstrap="127.0.0.1:9", keys_dir=tmp_path / "keys", out_dir=tmp_path / "out")


def test_each_shard_is_a_produce_command_with_its_shard_and_the_shared_start(
    tmp_path: Path,
) -> None:
    stages = shard_stages(
        settings(tmp_path),
        tmp_path / "directory.json",
        tmp_path,
        instances=3,
        rate=50.0,
        count=None,
        duration=12.0,
        seed=4,
        faults="none",
        start_file=None,
        start_at_us=123,
    )
    parser = argparse.ArgumentParser()
    register_produce(parser)
    for i, stage in enumerate(stages):
        assert stage.argv[1:4] == ["-m", "interchange", "produce"]
        args = parser.parse_args(stage.argv[4:])
        assert args.shard == f"{i}/3"
        assert args.start_at == 123
        assert args.start_file is None
        assert (args.rate, args.duration, args.count, args.seed) == (50.0, 12.0, None, 4)
        assert args.manifest == shard_manifest(tmp_path, i, 3)
        assert args.bootstrap == "127.0.0.1:9"
        assert stage.log_path is None  # the shards write to the parent's terminal


# Writes its shard's manifest (given as JSON in argv[1] to path argv[2]) on SIGTERM.
ON_TERM = (
    "import signal, sys, time, pathlib\n"
    "def done(*_):\n"
    "    pathlib.Path(sys.argv[2]).write_text(sys.argv[1])\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, done)\n"
    "time.sleep(60)\n"
)


def test_a_stop_reaches_every_shard_and_their_manifests_are_merged(tmp_path: Path) -> None:
    n = 2
    stages = [
        Stage(
            f"producer {i}/{n}",
            [
                sys.executable,
                "-c",
                ON_TERM,
                json.dumps(_part(i, 3 + i, [100])),
                str(shard_manifest(tmp_path, i, n)),
            ],
            None,
        )
        for i in range(n)
    ]
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    merged = tmp_path / "manifest.json"

    result = run_shards(stages, tmp_path, merged, stop)

    assert not any(st.running for st in stages)
    assert result.codes == (0, 0)
    assert result.ok
    assert result.manifest["sent"]["documents"] == 7
    assert json.loads(merged.read_text())["shards"] == [[0, 2], [1, 2]]
