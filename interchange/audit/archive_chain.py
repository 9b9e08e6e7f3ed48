"""The archive's hash chain and manifest: build it, and verify what was read back (pure).

Scheme (docs/AUDIT.md, "Archive format"), simple enough to re-implement in any language:

    start(file 0)      = SHA-256("interchange-archive/1" 0x00 archive_id)
    start(file i)      = final(file i-1)
    hash(record)       = SHA-256(prev_hash || canonical_bytes(seq, record))
    prev_hash(seq 0)   = start(file); prev_hash(seq n) = hash(seq n-1)
    final(file)        = hash of its last record (= start when the file is empty)
    manifest_sha256    = SHA-256 of the manifest JSON without that key
                         (sorted keys, separators "," and ":", UTF-8)

Every archived record stores `seq`, `prev_hash` and `hash`, so a record can be
checked on its own and a break names the record: a changed record fails its own
hash, a deleted one leaves its seq missing, an inserted one has a seq that is
taken or out of range, a moved one appears out of order. The manifest pins each
file's start, final hash, record count and file SHA-256, so a missing or extra
file and a rewritten tail show too. A rewrite of everything, hashes recomputed, is
caught by the seal: the manifest is signed and time-stamped (`audit.seal`), and each
archive names its predecessor's manifest hash (`audit.archive_links`).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from interchange.audit.archive_links import ChainLink
from interchange.audit.findings import Finding, Kind, RawRecord
from interchange.errors import ArchiveError

ARCHIVE_FORMAT = "interchange-archive/2"  # /2: signed, time-stamped and chained
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.p7s"  # CMS signature of manifest.json by the archive signer
TIMESTAMP_NAME = "manifest.tsr"  # RFC 3161 time-stamp response over manifest.p7s
SEAL_FILES = frozenset({MANIFEST_NAME, SIGNATURE_NAME, TIMESTAMP_NAME})
_MAGIC = b"ICAR1"
_ABSENT = 0xFFFFFFFF  # length marker of a null key, header value or value


def canonical_bytes(seq: int, rec: RawRecord) -> bytes:
    """The bytes a record's hash covers (big-endian, length-prefixed; see module docstring).

    "ICAR1" | u64 seq | str topic | u32 partition | u64 offset | i64 timestamp_ms |
    i8 timestamp_type | opt key | u32 header count | (str name, opt value)* | opt value
    [| "X" | opt excluded, only for a redacted record], where str = u32 length + UTF-8
    and opt = u32 length + bytes, or 0xFFFFFFFF for null.
    """
    out = [
        _MAGIC,
        struct.pack(">Q", seq),
        _str(rec.topic),
        struct.pack(">IQqb", rec.partition, rec.offset, rec.timestamp_ms, rec.timestamp_type),
        _opt(rec.key),
        struct.pack(">I", len(rec.headers)),
    ]
    for name, value in rec.headers:
        out += [_str(name), _opt(value)]
    out.append(_opt(rec.value))
    if rec.excluded is not None:  # absent from records without it: their hashes are unchanged
        out += [b"X", _opt(rec.excluded)]
    return b"".join(out)


def _str(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def _opt(data: bytes | None) -> bytes:
    if data is None:
        return struct.pack(">I", _ABSENT)
    return struct.pack(">I", len(data)) + data


def link(prev_hash: bytes, seq: int, rec: RawRecord) -> bytes:
    return hashlib.sha256(prev_hash + canonical_bytes(seq, rec)).digest()


def archive_start(archive_id: str) -> bytes:
    """Start hash of the first file."""
    return hashlib.sha256(ARCHIVE_FORMAT.encode() + b"\x00" + archive_id.encode()).digest()


@dataclass(frozen=True, slots=True)
class Chained:
    """A record with its place in the chain, as stored in (or read from) an archive file."""

    seq: int
    record: RawRecord
    prev_hash: bytes
    hash: bytes

    @property
    def self_consistent(self) -> bool:
        return link(self.prev_hash, self.seq, self.record) == self.hash


def chain(records: Iterable[RawRecord], start: bytes) -> Iterator[Chained]:
    """Chain `records` in the given order from `start`."""
    prev = start
    for seq, rec in enumerate(records):
        h = link(prev, seq, rec)
        yield Chained(seq, rec, prev, h)
        prev = h


@dataclass(frozen=True, slots=True)
class FileEntry:
    """What the manifest pins about one archive file."""

    name: str
    topic: str
    records: int
    start_hash: str  # hex
    final_hash: str  # hex
    sha256: str  # hex SHA-256 of the file's bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "topic": self.topic,
            "records": self.records,
            "start_hash": self.start_hash,
            "final_hash": self.final_hash,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    archive_id: str
    created_us: int
    files: tuple[FileEntry, ...]
    source: Mapping[str, Any] = field(default_factory=dict)
    chain: ChainLink = field(default_factory=lambda: ChainLink(0))

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def final_hash(self) -> str:
        return self.files[-1].final_hash if self.files else archive_start(self.archive_id).hex()

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": ARCHIVE_FORMAT,
            "archive_id": self.archive_id,
            "created_us": self.created_us,
            "source": dict(self.source),
            "chain": self.chain.to_dict(),
            "files": [f.to_dict() for f in self.files],
            "records": self.records,
            "final_hash": self.final_hash,
        }
        body["manifest_sha256"] = manifest_sha256(body)
        return body

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """Parse a manifest; ArchiveError when it is not one (its hash is checked separately)."""
        try:
            if data.get("format") != ARCHIVE_FORMAT:
                raise ArchiveError(
                    f"not an {ARCHIVE_FORMAT} manifest: {data.get('format')!r} (an archive "
                    "written before archives were signed: re-archive it from the topics)"
                )
            files = tuple(
                FileEntry(
                    str(f["name"]),
                    str(f["topic"]),
                    int(f["records"]),
                    str(f["start_hash"]),
                    str(f["final_hash"]),
                    str(f["sha256"]),
                )
                for f in data["files"]
            )
            return cls(
                str(data["archive_id"]),
                int(data["created_us"]),
                files,
                data["source"],
                ChainLink.from_dict(data["chain"]),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ArchiveError(f"malformed archive manifest: {exc!r}") from exc


def manifest_sha256(data: Mapping[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- verification ------------------------------------------------------------------------


def verify_manifest(
    data: Mapping[str, Any],
    manifest: Manifest,
    present: Iterable[str],
    file_sha256: Mapping[str, str],
    expected_sha256: str | None = None,
) -> list[Finding]:
    """Manifest hash, chain across files, and missing, extra or changed files."""
    out: list[Finding] = []
    own = manifest_sha256(data)
    if data.get("manifest_sha256") != own:
        out.append(Finding(Kind.MANIFEST_INVALID, "manifest_sha256 does not match its content"))
    if expected_sha256 is not None and own != expected_sha256.lower():
        out.append(Finding(Kind.MANIFEST_INVALID, f"manifest hash {own} is not the anchored one"))
    if data.get("records") != manifest.records or data.get("final_hash") != manifest.final_hash:
        out.append(
            Finding(Kind.MANIFEST_INVALID, "record total or final hash disagrees with files")
        )
    start = archive_start(manifest.archive_id).hex()
    for entry in manifest.files:
        if entry.start_hash != start:
            out.append(
                Finding(Kind.MANIFEST_INVALID, "file chain broken: start hash", file=entry.name)
            )
        start = entry.final_hash
    listed = {f.name for f in manifest.files}
    present = set(present)
    for entry in manifest.files:
        if entry.name not in present:
            out.append(
                Finding(
                    Kind.FILE_MISSING,
                    f"{entry.records} record(s) of {entry.topic} missing with the file",
                    topic=entry.topic,
                    file=entry.name,
                )
            )
        elif file_sha256.get(entry.name) != entry.sha256:
            out.append(
                Finding(Kind.FILE_MODIFIED, "file bytes differ from the manifest", file=entry.name)
            )
    out += [
        Finding(Kind.FILE_EXTRA, "file not listed in the manifest", file=name)
        for name in sorted(present - listed - SEAL_FILES)
    ]
    return out


def verify_file(entry: FileEntry, read: Sequence[Chained], read_error: str = "") -> list[Finding]:
    """Check the records read from one file against its manifest entry (see module docstring)."""
    out: list[Finding] = []
    if read_error:
        out.append(
            Finding(
                Kind.FILE_UNREADABLE,
                f"unreadable after {len(read)} record(s): {read_error}",
                topic=entry.topic,
                file=entry.name,
            )
        )
    slots: dict[int, list[int]] = {}
    for pos, c in enumerate(read):
        slots.setdefault(c.seq, []).append(pos)
    forward = {c.prev_hash for c in read} | {bytes.fromhex(entry.final_hash)}
    genuine: dict[int, int] = {}  # seq -> position in `read`
    h: bytes | None = bytes.fromhex(entry.start_hash)
    for seq in range(entry.records):
        choice = _pick(read, slots.get(seq, []), h, forward)
        if choice is None:
            h = None
            continue
        genuine[seq] = choice
        h = read[choice].hash
    last_read = max((c.seq for c in read), default=-1)
    out += _deleted(entry, read, genuine, last_read if read_error else entry.records - 1)
    out += _modified(entry, read, genuine)
    chosen = set(genuine.values())
    for pos, c in enumerate(read):
        if pos not in chosen:
            what = "a copy of a record" if c.seq in genuine else "not part of the chain"
            out.append(_at(Kind.RECORD_INSERTED, entry, c, f"inserted record ({what})"))
    prev_pos = -1
    for seq in sorted(genuine):
        pos = genuine[seq]
        if pos < prev_pos:
            out.append(
                _at(Kind.RECORD_REORDERED, entry, read[pos], "appears before its predecessor")
            )
        prev_pos = max(prev_pos, pos)
    return out


def _pick(
    read: Sequence[Chained], candidates: list[int], h: bytes | None, forward: set[bytes]
) -> int | None:
    """The genuine record of a slot: linked from behind, else linked forward, else the first."""
    if not candidates:
        return None
    for pos in candidates:
        if h is not None and read[pos].prev_hash == h and read[pos].hash in forward:
            return pos
    for pos in candidates:
        if h is not None and read[pos].prev_hash == h:
            return pos
    for pos in candidates:
        if read[pos].hash in forward:
            return pos
    return candidates[0]


def _deleted(
    entry: FileEntry, read: Sequence[Chained], genuine: Mapping[int, int], upto: int
) -> list[Finding]:
    """Runs of missing seqs, one finding per run, naming the record before the gap."""
    out: list[Finding] = []
    seq = 0
    while seq <= upto:
        if seq in genuine:
            seq += 1
            continue
        end = seq
        while end + 1 <= upto and end + 1 not in genuine:
            end += 1
        before = read[genuine[seq - 1]].record if seq - 1 in genuine else None
        after = f" after {before.topic}[{before.partition}]@{before.offset}" if before else ""
        count = end - seq + 1
        span = f"seq {seq}" if count == 1 else f"seq {seq}..{end} ({count} records)"
        out.append(
            Finding(
                Kind.RECORD_DELETED,
                f"record {span} deleted{after}",
                topic=before.topic if before else entry.topic,
                partition=before.partition if before else None,
                offset=before.offset if before else None,
                file=entry.name,
                seq=seq,
            )
        )
        seq = end + 1
    return out


def _modified(
    entry: FileEntry, read: Sequence[Chained], genuine: Mapping[int, int]
) -> list[Finding]:
    out: list[Finding] = []
    for seq, pos in sorted(genuine.items()):
        c = read[pos]
        nxt = genuine.get(seq + 1)
        if not c.self_consistent:
            out.append(_at(Kind.RECORD_MODIFIED, entry, c, "record bytes do not match its hash"))
        elif nxt is not None and read[nxt].prev_hash != c.hash:
            out.append(
                _at(Kind.RECORD_MODIFIED, entry, c, "hash rewritten: the chain breaks after it")
            )
        elif seq == entry.records - 1 and c.hash.hex() != entry.final_hash:
            out.append(_at(Kind.RECORD_MODIFIED, entry, c, "last hash is not the manifest's"))
    return out


def _at(kind: Kind, entry: FileEntry, c: Chained, detail: str) -> Finding:
    r = c.record
    return Finding(kind, detail, r.topic, r.partition, r.offset, entry.name, c.seq)
