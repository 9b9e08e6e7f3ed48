"""Every tamper class is detected by `audit --archive` with no anchor kept elsewhere.

The archive of a real run (from the test_audit run fixture) is tampered with as an
attacker with write access to the archive store, but without the archive signer's or
the time-stamping authority's key, would: each case must fail the audit (exit 1)
with the finding that names it. No case passes --manifest-sha256.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_audit import Run, _cli_audit, read_archive, write
from test_audit import run as run  # noqa: PLC0414 - the fixture, shared with test_audit

from interchange.audit.archive import Sealer, manifest_text, write_files
from interchange.audit.archive_chain import Manifest
from interchange.audit.findings import RawRecord
from interchange.cli.main import main
from interchange.errors import DecodeError
from interchange.kafka.topics import layout_of
from interchange.pki.issuance import init_pki
from interchange.wire import codec

pytestmark = pytest.mark.integration

Change = Callable[[list[RawRecord]], list[RawRecord]]


def audit_kinds(run: Run, archive: Path, out: Path) -> tuple[int, set[str]]:
    code = main(_cli_audit(run, "--archive", str(archive), out=out))
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    return code, {f["kind"] for f in report["findings"]}


def _rows(path: Path) -> list[dict[str, Any]]:
    from fastavro import reader

    with open(path, "rb") as fo:
        return [dict(row) for row in reader(fo) if isinstance(row, dict)]


def _put(path: Path, rows: list[dict[str, Any]]) -> None:
    from fastavro import writer

    from interchange.audit.archive import ARCHIVE_SCHEMA

    with open(path, "wb") as fo:
        writer(fo, ARCHIVE_SCHEMA, rows, codec="deflate")


def _status_file(run: Run, archive: Path) -> Path:
    return next(archive.glob(f"*-{layout_of(run.settings).status}.avro"))


def reseal(run: Run, archive: Path, change: Change) -> None:
    """Rewrite the records and recompute every hash: record chain, file SHA-256s, manifest
    totals and manifest_sha256, keeping the archive id and chain link. The attacker has
    no archive key, so manifest.p7s and manifest.tsr stay as they were."""
    records = read_archive(archive).records
    data = json.loads((archive / "manifest.json").read_text(encoding="utf-8"))
    old = Manifest.from_dict(data)
    for path in archive.glob("*.avro"):
        path.unlink()
    entries = write_files(
        change(records),
        archive,
        old.archive_id,
        topic_order=layout_of(run.settings).all,
        max_records=200,
    )
    new = Manifest(old.archive_id, old.created_us, entries, old.source, old.chain)
    (archive / "manifest.json").write_text(manifest_text(new), encoding="utf-8")


def _document_id(rec: RawRecord, run: Run) -> str | None:
    layout = layout_of(run.settings)
    try:
        if rec.topic == layout.status:
            return codec.decode_status(rec.value or b"").document_id
        if rec.topic == layout.rejections:
            return codec.decode_rejection(rec.value or b"").document_id
        if rec.topic == layout.router_state:
            return (rec.key or b"").decode()
        return codec.decode_document(codec.decode_envelope(rec.value or b"").content).id
    except (DecodeError, UnicodeDecodeError):
        return None


def rewrite_a_delivery(records: list[RawRecord]) -> list[RawRecord]:
    i = next(i for i, r in enumerate(records) if ".delivery." in r.topic)
    records[i] = dataclasses.replace(records[i], key=b"000.00.00.H63")
    return records


def move_a_status_time(records: list[RawRecord]) -> list[RawRecord]:
    i = next(i for i, r in enumerate(records) if r.topic.endswith("status"))
    msg = codec.decode_status(records[i].value or b"")
    moved = codec.encode_status(dataclasses.replace(msg, time_us=msg.time_us + 90_000_000))
    records[i] = dataclasses.replace(records[i], value=moved)
    return records


def erase_a_document(run: Run) -> Change:
    def change(records: list[RawRecord]) -> list[RawRecord]:
        victim = next(_document_id(r, run) for r in records if ".delivery." in r.topic)
        kept = [r for r in records if _document_id(r, run) != victim]
        assert len(records) - len(kept) >= 3  # submission, delivery, status at least
        return kept

    return change


def swap(i: int, j: int) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def change(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[i], rows[j] = rows[j], rows[i]
        return rows

    return change


ROW_TAMPERS: dict[str, tuple[Callable[[list[dict[str, Any]]], list[dict[str, Any]]], str]] = {
    "modified": (
        lambda rows: [rows[0] | {"value": b"forged"}, *rows[1:]],
        "RECORD_MODIFIED",
    ),
    "deleted": (lambda rows: rows[:1] + rows[2:], "RECORD_DELETED"),
    "reordered": (swap(1, 2), "RECORD_REORDERED"),
    "inserted": (lambda rows: [*rows[:2], rows[1] | {"seq": 1}, *rows[2:]], "RECORD_INSERTED"),
}


@pytest.mark.parametrize("case", sorted(ROW_TAMPERS))
def test_a_record_tamper_is_named(run: Run, case: str, tmp_path: Path) -> None:
    archive = write(run, run.records, tmp_path / "store" / "a")
    change, kind = ROW_TAMPERS[case]
    path = _status_file(run, archive)
    _put(path, change(_rows(path)))
    code, kinds = audit_kinds(run, archive, tmp_path / "out")
    assert code == 1
    assert kind in kinds
    assert "FILE_MODIFIED" in kinds


@pytest.mark.parametrize("case", ["rewritten", "status time moved", "document erased"])
def test_a_consistent_rewrite_breaks_the_signature(run: Run, case: str, tmp_path: Path) -> None:
    """All hashes recomputed: the chain inside the archive is whole again, but the
    manifest is no longer the one the archive signer signed."""
    archive = write(run, run.records, tmp_path / "store" / "a")
    change = {
        "rewritten": rewrite_a_delivery,
        "status time moved": move_a_status_time,
        "document erased": erase_a_document(run),
    }[case]
    reseal(run, archive, change)
    got = read_archive(archive)
    assert {f.kind.value for f in got.findings} == {"MANIFEST_SIGNATURE_INVALID"}
    code, kinds = audit_kinds(run, archive, tmp_path / "out")
    assert code == 1
    assert "MANIFEST_SIGNATURE_INVALID" in kinds


def test_a_replaced_manifest_signed_by_another_ca_is_refused(run: Run, tmp_path: Path) -> None:
    """The attacker re-seals with a CA of their own that copies the root's name."""
    from interchange.axis.presets import build_directory

    archive = write(run, run.records, tmp_path / "store" / "a")
    reseal(run, archive, rewrite_a_delivery)
    rogue_keys = tmp_path / "rogue-keys"
    init_pki(rogue_keys, list(build_directory("tiny"))[:1])
    rogue = Sealer.from_keys(rogue_keys)[0]
    text = (archive / "manifest.json").read_bytes()
    from interchange.audit.seal import sign_detached, timestamp_request

    created = Manifest.from_dict(json.loads(text)).created_us
    p7s = sign_detached(text, rogue.signer.key, rogue.signer.cert, created)
    (archive / "manifest.p7s").write_bytes(p7s)
    (archive / "manifest.tsr").write_bytes(rogue.tsa.respond(timestamp_request(p7s), created))
    code, kinds = audit_kinds(run, archive, tmp_path / "out")
    assert code == 1
    assert {"MANIFEST_SIGNATURE_INVALID", "TIMESTAMP_INVALID"} <= kinds


def test_a_removed_seal_is_named(run: Run, tmp_path: Path) -> None:
    archive = write(run, run.records, tmp_path / "store" / "a")
    (archive / "manifest.p7s").unlink()
    (archive / "manifest.tsr").unlink()
    code, kinds = audit_kinds(run, archive, tmp_path / "out")
    assert code == 1
    assert {"MANIFEST_UNSIGNED", "TIMESTAMP_INVALID"} <= kinds


def test_a_deleted_or_replaced_archive_breaks_the_chain(run: Run, tmp_path: Path) -> None:
    store = tmp_path / "store"
    half = len(run.records) // 2
    for name, part in (("a0", run.records[:half]), ("a1", run.records[half:]), ("a2", [])):
        write(run, part, store / name)
    manifests = [json.loads((store / n / "manifest.json").read_text()) for n in ("a0", "a1", "a2")]
    assert [Manifest.from_dict(m).chain.seq for m in manifests] == [0, 1, 2]
    assert read_archive(store / "a2").findings == []
    moved = tmp_path / "kept-aside"
    shutil.move(store / "a1", moved)
    code, kinds = audit_kinds(run, store / "a2", tmp_path / "out1")
    assert code == 1
    assert "ARCHIVE_MISSING" in kinds
    shutil.move(moved, store / "a1")
    assert read_archive(store / "a2").findings == []
    # replaced by another genuinely sealed archive at the same position of another chain
    elsewhere = tmp_path / "elsewhere"
    write(run, [], elsewhere / "x0")
    write(run, run.records[half + 1 :], elsewhere / "x1")
    shutil.rmtree(store / "a1")
    shutil.copytree(elsewhere / "x1", store / "a1")
    assert read_archive(store / "a1").seal.problems == ()  # its own seal is genuine
    code, kinds = audit_kinds(run, store / "a2", tmp_path / "out2")
    assert code == 1
    assert "CHAIN_BROKEN" in kinds
    assert "ARCHIVE_MISSING" not in kinds


def test_archive_and_audit_commands_seal_and_chain(
    run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented commands: two archives of the run in one directory, the second
    chained to the first; the audit needs no --topic-prefix and no anchor."""
    store = tmp_path / "archives"
    for name in ("first", "second"):
        argv = ["archive", "--bootstrap", run.settings.bootstrap or ""]
        argv += ["--topic-prefix", run.settings.topic_prefix]
        argv += ["--keys-dir", str(run.settings.keys_dir), "--out", str(store / name)]
        assert main([*argv, "--idle", "1"]) == 0
    out = capsys.readouterr().out
    assert "archive 1 of the chain" in out
    second = json.loads((store / "second" / "manifest.json").read_text(encoding="utf-8"))
    first = json.loads((store / "first" / "manifest.json").read_text(encoding="utf-8"))
    assert second["chain"]["previous_manifest_sha256"] == first["manifest_sha256"]
    assert second["source"]["topic_prefix"] == run.settings.topic_prefix
    code = main(_cli_audit(run, "--archive", str(store / "second"), out=tmp_path / "a"))
    assert code == 0, capsys.readouterr()
    report = json.loads((tmp_path / "a" / "audit.json").read_text(encoding="utf-8"))
    assert report["replay"]["chain_position"].startswith("1 (2 in the chain)")
    assert report["replay"]["signed_by"].startswith("CN=Interchange Archive Signer")
    assert report["judged"]["records"] > 0
