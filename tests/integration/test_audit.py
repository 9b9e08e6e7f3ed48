"""The audit on the real broker: a clean simulate run passes with the live figures; each
seeded violation (on Kafka or in an archive) is detected and named."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from router_helpers import PROVINCE, SECRET_SUBJECT, document, sign
from sim_helpers import brisk_scenario

from interchange.audit.archive import ArchiveRead, Sealer, write_archive
from interchange.audit.archive import read_archive as read_archive_with
from interchange.audit.compare import coverage_of
from interchange.audit.findings import Kind, RawRecord
from interchange.audit.replay import ReplayConfig, replay
from interchange.audit.stage import AuditConfig, AuditOutcome, run_audit
from interchange.axis.directory import Directory
from interchange.cli.main import main
from interchange.errors import DecodeError
from interchange.kafka.clients import make_producer
from interchange.kafka.topics import layout_of
from interchange.pki.keystore import KeyStore
from interchange.pki.truststore import TrustStore
from interchange.settings import Settings
from interchange.simulate.run import run_simulation
from interchange.simulate.values import SimulationOptions
from interchange.wire import codec
from interchange.wire.model import Secrecy, Tier

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Run:
    settings: Settings
    directory: Directory
    report: dict[str, Any]
    report_path: Path
    records: list[RawRecord]  # everything, replayed once right after the run


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    import uuid

    base = tmp_path_factory.mktemp("audit")
    settings = Settings.from_env().replace(
        bootstrap=bootstrap,
        topic_prefix=f"audit-{uuid.uuid4().hex[:8]}.",
        keys_dir=base / "keys",
        out_dir=base / "out",
    )
    options = SimulationOptions(preset="tiny", count=150, rate=300.0, seed=7, out=base / "run")
    # the default directory, work records handled ten times faster (tests/sim_helpers.py)
    scenario = brisk_scenario(base / "scenario.json", options.span_s)
    options = dataclasses.replace(options, scenario=scenario)
    result = run_simulation(settings, options)
    assert result.exit_code == 0, result.problems
    directory = Directory.load(base / "run" / "directory.json")
    records, _stats = replay(settings, ReplayConfig(layout_of(settings).all, idle_s=1.5))
    report = json.loads(result.report_json.read_text(encoding="utf-8"))
    return Run(settings, directory, report, result.report_json, records)


def sealer(run: Run) -> Sealer:
    return Sealer.from_keys(run.settings.keys_dir)[0]


def read_archive(path: Path) -> ArchiveRead:
    """Read back with the run's trust anchor (the root certificate) and nothing else."""
    return read_archive_with(path, trust=TrustStore.open(run_keys(path)))


_KEYS: dict[Path, Path] = {}  # archive parent directory -> keys dir of the run


def run_keys(path: Path) -> Path:
    return _KEYS[path.resolve().parent]


def write(run: Run, records: list[RawRecord], out: Path, **kw: Any) -> Path:
    _KEYS[out.resolve().parent] = run.settings.keys_dir
    write_archive(records, out, sealer=sealer(run), topic_order=layout_of(run.settings).all, **kw)
    return out


def audit(run: Run, records: list[RawRecord], **kw: Any) -> AuditOutcome:
    config = AuditConfig(run.directory, run.settings.keys_dir, layout_of(run.settings), workers=2)
    return run_audit(records, config, **kw)


def test_clean_run_passes_with_the_live_figures(run: Run) -> None:
    outcome = audit(run, run.records, live_report=run.report)
    assert outcome.findings == []
    judged = [c for c in outcome.comparison if c.agrees is not None]
    assert judged
    assert all(c.agrees for c in judged)
    live_total = coverage_of(run.report)["total"]
    assert outcome.coverage.total.delivered == live_total["delivered"]
    assert outcome.coverage.total.addressed == live_total["addressed"]
    # the workload's updates are answered 15/16 without a 13, and the audit takes them
    answers = [c for c in judged if c.figure in ("work update_agreed", "work update_refused")]
    assert sum(c.live for c in answers if c.tier == "all") > 0


def test_the_full_edxml_header_comes_through_producer_router_recipients_and_audit(
    run: Run,
) -> None:
    """Every generated document states the edXML header (schema v6); the router forwards
    its signed bytes unchanged, the recipients acknowledge it (status 03) and the audit
    re-verifies those bytes against the producer's signature without a finding."""
    layout = layout_of(run.settings)
    submitted: dict[str, bytes] = {}
    for rec in run.records:
        if rec.topic == layout.submissions and rec.value:
            try:
                env = codec.decode_envelope(rec.value)
                submitted[codec.decode_document(env.content).id] = env.content
            except DecodeError:
                continue  # the workload's malformed fault
    delivered = [
        codec.decode_envelope(rec.value)
        for rec in run.records
        if rec.topic in layout.deliveries and rec.value
    ]
    acknowledged = {
        codec.decode_status(rec.value).document_id
        for rec in run.records
        if rec.topic == layout.status and rec.value
    }
    full = []
    for env in delivered:
        doc = codec.decode_document(env.content)
        assert env.content == submitted[doc.id]  # the router forwards the signed bytes
        if (
            doc.sender.detail.stated
            and doc.document_kind is not None
            and doc.to_places
            and doc.other_info.page_amount > 0
            and all(a.content_id for a in doc.attachments)
        ):
            full.append(doc)
    assert full, "no delivered document states the edXML header"
    with_attachments = [d for d in full if d.attachments]
    assert with_attachments
    assert {d.id for d in full} <= acknowledged
    outcome = audit(run, run.records, live_report=run.report)
    assert outcome.findings == []


def test_cli_audit_exit_code_and_files(run: Run, tmp_path: Path) -> None:
    argv = [
        "audit",
        "--bootstrap",
        run.settings.bootstrap or "",
        "--topic-prefix",
        run.settings.topic_prefix,
        "--keys-dir",
        str(run.settings.keys_dir),
        "--directory",
        str(run.report_path.parent / "directory.json"),
        "--compare",
        str(run.report_path),
        "--out",
        str(tmp_path),
        "--idle",
        "1",
    ]
    assert main(argv) == 0
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert (report["kind"], report["passed"]) == ("audit", True)
    assert report["replay"]["records"] == len(run.records)
    layout = layout_of(run.settings)
    submissions = sum(1 for r in run.records if r.topic == layout.submissions)
    assert report["judged"]["per_topic"][layout.submissions] == submissions > 0
    router_state = sum(1 for r in run.records if r.topic == layout.router_state)
    assert report["judged"]["records"] == len(run.records) - router_state
    html = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert html.startswith("<!")
    assert "Records read and judged per topic" in html
    # both policy measures recomputed from the records alone equal the live report's
    live = json.loads(run.report_path.read_text(encoding="utf-8"))
    assert report["coverage"]["exchange"] == live["exchange"]
    assert report["coverage"]["processing"] == live["processing"]
    assert live["processing"]["total"]["work"]["records"] == live["total"]["delivered"]


def _cli_audit(run: Run, *source: str, out: Path) -> list[str]:
    return [
        "audit",
        *source,
        "--keys-dir",
        str(run.settings.keys_dir),
        "--directory",
        str(run.report_path.parent / "directory.json"),
        "--out",
        str(out),
        "--idle",
        "1",
        "--workers",
        "1",
    ]


def test_an_audit_of_missing_topics_fails(
    run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ("--bootstrap", run.settings.bootstrap or "", "--topic-prefix", "nope.")
    assert main(_cli_audit(run, *source, out=tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "nope.submissions" in err
    assert "8 of 8 topics do not exist" in err


def test_an_audit_of_empty_topics_fails_with_nothing_to_judge(
    settings: Settings, run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from interchange.kafka.topics import create_topics

    create_topics(settings)  # every topic exists, none holds a record
    source = ("--bootstrap", settings.bootstrap or "", "--topic-prefix", settings.topic_prefix)
    assert main(_cli_audit(run, *source, out=tmp_path)) == 1
    assert "nothing to judge" in capsys.readouterr().err
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert [f["kind"] for f in report["findings"]] == ["NOTHING_JUDGED"]
    assert report["judged"]["records"] == 0


def test_audit_without_a_source_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--preset", "tiny"]) == 2
    assert "--bootstrap" in capsys.readouterr().err


@pytest.fixture
def archive(run: Run, tmp_path: Path) -> Path:
    layout = layout_of(run.settings)
    envelope_topics = (layout.submissions, *layout.deliveries)
    return write(
        run, run.records, tmp_path / "archive", max_records=200, envelope_topics=envelope_topics
    )


def test_archive_audit_passes_after_the_broker(run: Run, archive: Path) -> None:
    got = read_archive(archive)
    assert got.findings == []
    assert sorted((r.topic, r.partition, r.offset) for r in got.records) == sorted(
        (r.topic, r.partition, r.offset) for r in run.records
    )
    assert audit(run, got.records, prior=got.findings, live_report=run.report).findings == []


def _rewrite(path: Path, change: Any) -> None:
    from fastavro import reader, writer

    from interchange.audit.archive import ARCHIVE_SCHEMA

    with open(path, "rb") as fo:
        rows = list(reader(fo))
    with open(path, "wb") as fo:
        writer(fo, ARCHIVE_SCHEMA, change(rows), codec="deflate")


def _delivery_file(archive: Path, run: Run) -> Path:
    topic = layout_of(run.settings).delivery(Tier.PROVINCE)
    return next(archive.glob(f"*-{topic}.avro"))


def test_deleted_archive_record_is_named(run: Run, archive: Path) -> None:
    path = _delivery_file(archive, run)
    victim: dict[str, Any] = {}

    def drop(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        victim.update(rows[1])
        return rows[:1] + rows[2:]

    _rewrite(path, drop)
    got = read_archive(archive)
    deleted = [f for f in got.findings if f.kind is Kind.RECORD_DELETED]
    assert [(f.file, f.seq) for f in deleted] == [(path.name, 1)]
    outcome = audit(run, got.records, prior=got.findings)
    missing = [f for f in outcome.findings if f.kind is Kind.MISSING_DELIVERY]
    assert len(missing) == 1  # and the lost delivery itself is named by the audit


def test_edited_archive_record_is_named(run: Run, archive: Path) -> None:
    path = _delivery_file(archive, run)

    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0]["key"] = b"000.00.00.H63"  # re-address a delivery to another province
        return rows

    _rewrite(path, edit)
    got = read_archive(archive)
    kinds = {(f.kind, f.file, f.seq) for f in got.findings}
    assert (Kind.RECORD_MODIFIED, path.name, 0) in kinds
    assert (Kind.FILE_MODIFIED, path.name, None) in kinds


def test_removed_archive_file_is_named(run: Run, archive: Path) -> None:
    path = _delivery_file(archive, run)
    path.unlink()
    got = read_archive(archive)
    assert [(f.kind, f.file) for f in got.findings] == [(Kind.FILE_MISSING, path.name)]
    extra = archive / "notes.txt"
    extra.write_text("x", encoding="utf-8")
    assert Kind.FILE_EXTRA in {f.kind for f in read_archive(archive).findings}


def test_truncated_archive_file_is_a_finding_not_a_crash(run: Run, archive: Path) -> None:
    path = _delivery_file(archive, run)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    kinds = {f.kind for f in read_archive(archive).findings}
    assert Kind.FILE_UNREADABLE in kinds or Kind.RECORD_DELETED in kinds
    assert Kind.FILE_MODIFIED in kinds


def test_cli_audits_an_archive(run: Run, archive: Path, tmp_path: Path) -> None:
    shutil.copy(run.report_path.parent / "directory.json", tmp_path / "directory.json")
    argv = [
        "audit",
        "--archive",
        str(archive),
        "--topic-prefix",
        run.settings.topic_prefix,
        "--keys-dir",
        str(run.settings.keys_dir),
        "--directory",
        str(tmp_path / "directory.json"),
        "--out",
        str(tmp_path / "a"),
        "--workers",
        "1",
    ]
    assert main(argv) == 0
    (archive / "manifest.json").write_text(
        (archive / "manifest.json")
        .read_text(encoding="utf-8")
        .replace('"records": ', '"records": 1'),
        encoding="utf-8",
    )
    assert main(argv) == 1


def test_seeded_violations_on_kafka_are_named(run: Run) -> None:
    """Runs last: it writes to the run's topics (the fixture's replay was taken before)."""
    layout = layout_of(run.settings)
    keys = KeyStore.open(run.settings.keys_dir)
    first = next(r for r in run.records if r.topic == layout.delivery(Tier.PROVINCE))
    forged_doc = document(PROVINCE, ["000.00.00.G05"], 990_001)
    secret_doc = document(
        "000.00.00.G05", [PROVINCE], 990_002, secrecy=Secrecy.SECRET, subject=SECRET_SUBJECT
    )
    producer = make_producer(run.settings)
    try:
        sent = {
            "forged": producer.send(
                layout.delivery(Tier.CENTRAL),
                codec.encode_envelope(sign(keys, forged_doc)),
                key=b"000.00.00.G05",
            ).get(timeout=30),
            "duplicate": producer.send(first.topic, first.value, key=first.key).get(timeout=30),
            "classified": producer.send(
                layout.delivery(Tier.PROVINCE),
                codec.encode_envelope(sign(keys, secret_doc)),
                key=PROVINCE.encode(),
            ).get(timeout=30),
        }
    finally:
        producer.close()
    records, stats = replay(run.settings, ReplayConfig(layout.all, idle_s=1.5))
    assert stats.records == len(run.records) + 3
    found = {(f.kind, f.topic, f.partition, f.offset) for f in audit(run, records).findings}
    for kind, meta in (
        (Kind.FORGED_DELIVERY, sent["forged"]),
        (Kind.DUPLICATE_DELIVERY, sent["duplicate"]),
        (Kind.CLASSIFIED_DELIVERED, sent["classified"]),
    ):
        assert (kind, meta.topic, meta.partition, meta.offset) in found


def test_replay_from_offsets_and_time_range(settings: Settings) -> None:
    """Offsets and time ranges select exactly the records meant; nothing is committed."""
    from interchange.kafka.topics import create_topics

    create_topics(settings)
    topic = layout_of(settings).rejections
    base_ms = 1_800_000_000_000
    producer = make_producer(settings)
    try:
        for i in range(10):
            producer.send(topic, b"v%d" % i, partition=0, timestamp_ms=base_ms + i * 1000)
        producer.flush()
    finally:
        producer.close()
    everything, stats = replay(settings, ReplayConfig((topic,), idle_s=1.0))
    assert [r.value for r in everything] == [b"v%d" % i for i in range(10)]
    assert stats.per_topic[topic] == 10
    first = everything[0].offset
    tail, _ = replay(settings, ReplayConfig((topic,), {(topic, 0): first + 7}, idle_s=1.0))
    assert [r.value for r in tail] == [b"v7", b"v8", b"v9"]
    window = ReplayConfig((topic,), since_ms=base_ms + 3000, until_ms=base_ms + 5000, idle_s=1.0)
    middle, _ = replay(settings, window)
    assert [r.value for r in middle] == [b"v3", b"v4", b"v5"]
    assert window.partial


def _forged_delivery(run: Run) -> RawRecord:
    keys = KeyStore.open(run.settings.keys_dir)
    forged = document(PROVINCE, ["000.00.00.G05"], 990_101)
    topic = layout_of(run.settings).delivery(Tier.CENTRAL)
    value = codec.encode_envelope(sign(keys, forged))
    return RawRecord(topic, 0, 10**9, 1_800_000_000_000, b"000.00.00.G05", value)


def test_archive_audit_takes_the_manifests_topic_prefix(
    run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Documented usage, no --topic-prefix: the manifest's prefix is audited, and a forged
    delivery in the archive fails the audit (it used to pass, judging nothing)."""
    out = write(
        run,
        [*run.records, _forged_delivery(run)],
        tmp_path / "archive",
        source={"topic_prefix": run.settings.topic_prefix},
    )
    assert run.settings.topic_prefix != "interchange."
    assert main(_cli_audit(run, "--archive", str(out), out=tmp_path / "a")) == 1
    report = json.loads((tmp_path / "a" / "audit.json").read_text(encoding="utf-8"))
    assert "FORGED_DELIVERY" in {f["kind"] for f in report["findings"]}
    assert report["judged"]["records"] > len(run.records) // 2
    capsys.readouterr()
    wrong = ("--archive", str(out), "--topic-prefix", "interchange.")
    assert main(_cli_audit(run, *wrong, out=tmp_path / "b")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "disagrees with the archive" in err


def test_archive_audit_with_a_missing_keys_dir_is_one_clean_line(
    run: Run, archive: Path, tmp_path: Path
) -> None:
    """With the default worker pool too (it used to end in a BrokenProcessPool traceback)."""
    import subprocess
    import sys

    argv = _cli_audit(run, "--archive", str(archive), out=tmp_path)
    argv[argv.index("--keys-dir") + 1] = str(tmp_path / "missing")
    argv[-2:] = ["--workers", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "interchange", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(tmp_path / "missing") in lines[0]
    assert "keys init" in lines[0]


def test_compare_names_the_records_behind_a_differing_figure(run: Run) -> None:
    """A redelivered record and a status time moved by 90 s: each differing figure names
    the very record that makes it differ."""
    import dataclasses

    from interchange.wire.model import StatusCode

    layout = layout_of(run.settings)
    topic = layout.delivery(Tier.PROVINCE)
    first = next(r for r in run.records if r.topic == topic)
    again = dataclasses.replace(first, offset=10**9)
    status_at = next(
        i
        for i, r in enumerate(run.records)
        if r.topic == layout.status
        and codec.decode_status(r.value or b"").code is StatusCode.ARRIVED
        and codec.decode_status(r.value or b"").recipient == PROVINCE
    )
    msg = codec.decode_status(run.records[status_at].value or b"")
    late = dataclasses.replace(msg, time_us=msg.time_us + 90_000_000)
    records = list(run.records)
    records[status_at] = dataclasses.replace(records[status_at], value=codec.encode_status(late))
    delivery = next(
        r
        for r in run.records
        if r.topic == topic
        and r.key == PROVINCE.encode()
        and codec.decode_document(codec.decode_envelope(r.value or b"").content).id
        == msg.document_id
    )
    outcome = audit(run, [*records, again], live_report=run.report)
    differing = {
        f.detail.split(":")[0]: f for f in outcome.findings if f.kind is Kind.FIGURE_DIFFERS
    }
    dup = differing["province duplicates"]
    assert (dup.topic, dup.partition, dup.offset) == (topic, first.partition, 10**9)
    assert f"{topic}[{first.partition}]@{10**9}" in dup.detail
    slow = differing["province latency max_us"]
    assert (slow.topic, slow.partition, slow.offset) == (topic, delivery.partition, delivery.offset)
