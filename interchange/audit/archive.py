"""Write topics to a sealed Avro archive (hash-chained records, signed and time-stamped
manifest, chained to the previous archive), and read one back.

Layout of an archive directory (docs/AUDIT.md, "Archive format"):

    manifest.json                  files, counts, hashes, chain link; its own SHA-256 inside
    manifest.p7s                   CMS signature of manifest.json by the archive signer
    manifest.tsr                   RFC 3161 time-stamp of manifest.p7s (audit.seal)
    0000-<topic>.avro, 0001-...    Avro object container files (schemas/archive_record.avsc),
                                   records of one topic sorted by partition then offset,
                                   at most `max_records` per file; a classified envelope
                                   keeps only its exclusion metadata (`audit.redaction`)

Reading never raises on tampering: a missing, extra, changed or unreadable file and a
changed, deleted, inserted or moved record are findings (`audit.archive_chain`), as are a
bad signature or time-stamp and a break in the chain of the archives that share the
parent directory (`audit.archive_links`). Only a missing or unparseable manifest is an
`ArchiveError`: without it nothing can be trusted.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastavro import parse_schema, reader, writer

from interchange.atomic import atomic_write_text
from interchange.audit.archive_chain import (
    ARCHIVE_FORMAT,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
    Chained,
    FileEntry,
    Manifest,
    archive_start,
    chain,
    verify_file,
    verify_manifest,
)
from interchange.audit.archive_chain import manifest_sha256 as manifest_hash
from interchange.audit.archive_links import ChainMember, next_link, verify_links
from interchange.audit.findings import Finding, Kind, RawRecord
from interchange.audit.redaction import redact
from interchange.audit.seal import (
    SealCheck,
    TimeStampAuthority,
    answers,
    sign_detached,
    timestamp_request,
    verify_seal,
)
from interchange.errors import ArchiveError
from interchange.pki.issuance import ServiceKey, archive_services
from interchange.pki.truststore import TrustStore

DEFAULT_MAX_RECORDS = 100_000


def _schema() -> dict[str, Any]:
    packaged = resources.files("interchange") / "schemas" / "archive_record.avsc"
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:  # a checkout without the schemas symlink
        text = (Path(__file__).resolve().parents[2] / "schemas" / "archive_record.avsc").read_text(
            encoding="utf-8"
        )
    parsed = parse_schema(json.loads(text))
    if not isinstance(parsed, dict):
        raise TypeError("archive_record.avsc is not a record schema")
    return parsed


ARCHIVE_SCHEMA = _schema()


@dataclass(frozen=True, slots=True)
class ArchiveRead:
    """What an archive holds, as read, and what is wrong with it."""

    manifest: Manifest
    records: list[RawRecord]
    findings: list[Finding]
    manifest_sha256: str
    seal: SealCheck
    chain_length: int  # archives found in the chain of the parent directory


@dataclass(frozen=True, slots=True)
class Sealer:
    """Who seals a new archive: the archive signer and the time-stamping authority."""

    signer: ServiceKey
    tsa: TimeStampAuthority

    @classmethod
    def from_keys(cls, keys_dir: Path) -> tuple[Sealer, bool]:
        """Both from the PKI in `keys_dir` (issued by its root on first use: True)."""
        signer, tsa, issued = archive_services(keys_dir)
        return cls(signer, TimeStampAuthority(tsa.key, tsa.cert)), issued


def write_archive(
    records: Iterable[RawRecord],
    out_dir: Path,
    *,
    topic_order: Sequence[str] = (),
    sealer: Sealer,
    source: Mapping[str, Any] | None = None,
    max_records: int = DEFAULT_MAX_RECORDS,
    codec: str = "deflate",
    envelope_topics: Collection[str] = (),
) -> Manifest:
    """Write `records` (any order) as a sealed archive, chained after the newest archive in
    the same parent directory; refuse a directory that already has one. A classified
    envelope on `envelope_topics` is kept as its exclusion metadata only
    (`audit.redaction`): no archive holds classified content."""
    out_dir = Path(out_dir)
    if (out_dir / MANIFEST_NAME).exists():
        raise ArchiveError(f"{out_dir} already holds an archive; choose an empty directory")
    link = next_link(chain_members(out_dir.parent, exclude=out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    archive_id = uuid.uuid4().hex
    entries = write_files(
        records,
        out_dir,
        archive_id,
        topic_order=topic_order,
        max_records=max_records,
        codec=codec,
        envelope_topics=envelope_topics,
    )
    created = time.time_ns() // 1000
    manifest = Manifest(archive_id, created, entries, dict(source or {}), link)
    text = manifest_text(manifest)
    # The seal goes first and the manifest last: an archive exists once its manifest does.
    signature = sign_detached(text.encode("utf-8"), sealer.signer.key, sealer.signer.cert, created)
    request = timestamp_request(signature)
    stamp = sealer.tsa.respond(request, time.time_ns() // 1000)
    problem = answers(request, stamp)
    if problem:
        raise ArchiveError(f"cannot seal the archive: {problem}")
    (out_dir / SIGNATURE_NAME).write_bytes(signature)
    (out_dir / TIMESTAMP_NAME).write_bytes(stamp)
    atomic_write_text(out_dir / MANIFEST_NAME, text)
    return manifest


def write_files(
    records: Iterable[RawRecord],
    out_dir: Path,
    archive_id: str,
    *,
    topic_order: Sequence[str] = (),
    max_records: int = DEFAULT_MAX_RECORDS,
    codec: str = "deflate",
    envelope_topics: Collection[str] = (),
) -> tuple[FileEntry, ...]:
    """The hash-chained Avro files of an archive (no manifest, no seal), one topic at a time;
    classified envelopes on `envelope_topics` redacted (`audit.redaction`)."""
    by_topic: dict[str, list[RawRecord]] = {}
    for rec in records:
        by_topic.setdefault(rec.topic, []).append(redact(rec, envelope_topics))
    order = [t for t in topic_order if t in by_topic] + sorted(set(by_topic) - set(topic_order))
    start = archive_start(archive_id)
    entries: list[FileEntry] = []
    for topic in order:
        recs = sorted(by_topic[topic], key=lambda r: (r.partition, r.offset))
        for i in range(0, len(recs), max_records):
            name = f"{len(entries):04d}-{topic}.avro"
            chained = list(chain(recs[i : i + max_records], start))
            sha = _write_file(out_dir / name, chained, archive_id, codec)
            final = chained[-1].hash if chained else start
            entries.append(FileEntry(name, topic, len(chained), start.hex(), final.hex(), sha))
            start = final
    return tuple(entries)


def manifest_text(manifest: Manifest) -> str:
    """manifest.json exactly as written (and as signed)."""
    return json.dumps(manifest.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _write_file(path: Path, chained: Sequence[Chained], archive_id: str, codec: str) -> str:
    rows = (
        {
            "seq": c.seq,
            "topic": c.record.topic,
            "partition": c.record.partition,
            "offset": c.record.offset,
            "timestamp_ms": c.record.timestamp_ms,
            "timestamp_type": c.record.timestamp_type,
            "key": c.record.key,
            "headers": [{"key": k, "value": v} for k, v in c.record.headers],
            "value": c.record.value,
            "prev_hash": c.prev_hash,
            "hash": c.hash,
            "excluded": c.record.excluded,
        }
        for c in chained
    )
    meta = {"interchange.archive": ARCHIVE_FORMAT, "interchange.archive_id": archive_id}
    with open(path, "wb") as fo:
        writer(fo, ARCHIVE_SCHEMA, rows, codec=codec, metadata=meta)
    return _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fo:
        for block in iter(lambda: fo.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_manifest(directory: Path) -> tuple[bytes, dict[str, Any], Manifest]:
    path = directory / MANIFEST_NAME
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"{directory} has no {MANIFEST_NAME}: not an archive") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveError(f"{path} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise ArchiveError(f"{path} is not a JSON object")
    return raw, data, Manifest.from_dict(data)


def _optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _seal_of(directory: Path, raw: bytes, manifest: Manifest, trust: TrustStore) -> SealCheck:
    return verify_seal(
        raw,
        _optional(directory / SIGNATURE_NAME),
        _optional(directory / TIMESTAMP_NAME),
        trust.root,
        trust.revoked_at,
        created_us=manifest.created_us,
    )


def chain_members(
    parent: Path, *, trust: TrustStore | None = None, exclude: Path | None = None
) -> list[ChainMember]:
    """The archives in `parent` (each a directory with a manifest), with their time-stamps
    verified when `trust` is given. An unreadable manifest is skipped here: it shows as a
    gap in the chain."""
    members: list[ChainMember] = []
    if not parent.is_dir():
        return members
    skip = exclude.resolve() if exclude is not None else None
    for sub in sorted(p for p in parent.iterdir() if p.is_dir() and p.resolve() != skip):
        if not (sub / MANIFEST_NAME).exists():
            continue
        try:
            raw, data, manifest = _load_manifest(sub)
        except ArchiveError:
            continue
        gen = _seal_of(sub, raw, manifest, trust).gen_time_us if trust else None
        members.append(
            ChainMember(sub.name, manifest.archive_id, manifest.chain, manifest_hash(data), gen)
        )
    return members


def read_archive(
    directory: Path, *, trust: TrustStore, expected_sha256: str | None = None
) -> ArchiveRead:
    """Every record readable from the archive, plus findings about its integrity: its seal
    (checked against `trust`'s root alone), its chain, its files and its records."""
    directory = Path(directory)
    raw, data, manifest = _load_manifest(directory)
    seal = _seal_of(directory, raw, manifest, trust)
    findings = [Finding(Kind(p.fault.value), p.detail, file=MANIFEST_NAME) for p in seal.problems]
    members = chain_members(directory.resolve().parent, trust=trust)
    findings += verify_links(members)
    present = sorted(p.name for p in directory.iterdir() if p.is_file())
    shas = {name: _sha256(directory / name) for name in present if name != MANIFEST_NAME}
    findings += verify_manifest(data, manifest, present, shas, expected_sha256)
    records: list[RawRecord] = []
    for entry in manifest.files:
        if entry.name not in shas:
            continue
        chained, error = _read_file(directory / entry.name)
        findings += verify_file(entry, chained, error)
        records += [c.record for c in chained]
    return ArchiveRead(
        manifest, records, findings, str(data.get("manifest_sha256", "")), seal, len(members)
    )


def archive_prefix(manifest: Manifest) -> str | None:
    """The topic prefix an archive holds: as recorded by `interchange archive`, else the one
    its submissions topic implies (None when neither says)."""
    recorded = manifest.source.get("topic_prefix")
    if isinstance(recorded, str) and recorded:
        return recorded
    for entry in manifest.files:
        if entry.topic.endswith("submissions"):
            return entry.topic[: -len("submissions")]
    return None


def _read_file(path: Path) -> tuple[list[Chained], str]:
    """Records up to the first unreadable point, and what stopped the read ("" if none)."""
    out: list[Chained] = []
    try:
        with open(path, "rb") as fo:
            for row in reader(fo, reader_schema=ARCHIVE_SCHEMA):
                out.append(_chained(row))
    except Exception as exc:  # fastavro raises many types on damaged files; a finding
        return out, f"{type(exc).__name__}: {exc}"
    return out, ""


def _chained(row: Any) -> Chained:
    rec = RawRecord(
        topic=row["topic"],
        partition=row["partition"],
        offset=row["offset"],
        timestamp_ms=row["timestamp_ms"],
        key=row["key"],
        value=row["value"],
        headers=tuple((h["key"], h["value"]) for h in row["headers"]),
        timestamp_type=row["timestamp_type"],
        excluded=row.get("excluded"),
    )
    return Chained(row["seq"], rec, bytes(row["prev_hash"]), bytes(row["hash"]))
