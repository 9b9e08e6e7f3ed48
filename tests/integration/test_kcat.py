"""A client nobody here wrote reads what interchange writes: kcat on the embedded broker.

Debian's kcat links librdkafka 2.0, whose ApiVersions parsing fails against
Tansu ("Read underflow"); with the current librdkafka that the confluent-kafka
wheel bundles it works (README, "Plain Kafka"). The test is skipped only when
the kcat program itself is absent (`apt-get install kcat`); .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from interchange.kafka.clients import make_producer
from interchange.settings import Settings
from interchange.wire import codec

pytestmark = pytest.mark.integration

KCAT = shutil.which("kcat")


def current_librdkafka(tmp_path: Path) -> dict[str, str]:
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    found = sorted(libs.glob("librdkafka-*.so.1"))
    assert found, f"no bundled librdkafka in {libs}"
    (tmp_path / "librdkafka.so.1").symlink_to(found[0])
    return {**os.environ, "LD_LIBRARY_PATH": str(tmp_path)}


@pytest.mark.skipif(KCAT is None, reason="kcat is not installed (apt-get install kcat)")
def test_kcat_lists_and_reads_a_topic_interchange_wrote(settings: Settings, tmp_path: Path) -> None:
    assert KCAT is not None
    topic = f"{settings.topic_prefix}kcat"
    producer = make_producer(settings)
    values = [codec.content_sha256(str(i).encode()).hex().encode() for i in range(5)]
    for value in values:
        producer.send(topic, key=b"000.00.00.G22", value=value)
    producer.flush()
    producer.close()

    env = current_librdkafka(tmp_path)
    listing = subprocess.run(
        [KCAT, "-b", str(settings.bootstrap), "-L", "-t", topic],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listing.returncode == 0, listing.stderr
    assert f'topic "{topic}"' in listing.stdout
    read = subprocess.run(
        [KCAT, "-b", str(settings.bootstrap), "-C", "-t", topic, "-e", "-f", "%k %s\n"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert read.returncode == 0, read.stderr
    lines = sorted(read.stdout.split("\n")[:-1])
    assert lines == sorted(f"000.00.00.G22 {v.decode()}" for v in values)
