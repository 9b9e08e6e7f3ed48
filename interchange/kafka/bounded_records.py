"""Bounded decompression of fetched record batches: no input inflates a reader's memory.

kafka-python decompresses a compressed record batch whole, as soon as the fetcher
iterates it (`DefaultRecordBatch._maybe_uncompress`, `LegacyRecordBatch._decompress`),
before any record reaches our code: a 261 KB gzip batch that inflates to 256 MiB
raised the router's RSS by 470-730 MiB, and a batch in a codec whose package is not
installed (lz4, zstd, snappy) raised from `poll` on every retry. The broker does not
help: the embedded broker enforces no `max.message.bytes`, and Apache Kafka applies it
to the compressed size.

`install()` replaces those two methods, process-wide and once, with versions that
inflate at most `MAX_INFLATED_BATCH_BYTES` (gzip always; lz4 and zstd when their
packages are installed, with the same bound). A batch that would inflate beyond it,
that does not inflate, or whose codec cannot be bounded (snappy, or a missing package)
is *refused*: the reader gets one stand-in record at the batch's last offset, with a
null value and a key that says why (`refusal()` reads it). So the consumer moves past
the batch, the router writes one MALFORMED rejection for it, and memory stays bounded
whatever was produced. `kafka.clients.make_consumer` installs it for every reader.
"""

from __future__ import annotations

import importlib
import io
import struct
import zlib
from typing import Any

MAX_INFLATED_BATCH_BYTES = 8 * 1024 * 1024  # the 5 MiB record cap plus room for a full batch
REFUSED_KEY_PREFIX = b"interchange-refused:"

_CODEC_NAMES = {1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
_INSTALLED: list[bool] = []  # non-empty once installed


class RefusedBatchError(Exception):
    """Why a batch is not inflated (the detail of its stand-in record)."""


def inflate(codec: int, data: bytes | memoryview, limit: int = MAX_INFLATED_BATCH_BYTES) -> bytes:
    """`data` inflated with Kafka codec `codec`, at most `limit` bytes; else RefusedBatchError."""
    name = _CODEC_NAMES.get(codec, f"codec {codec}")
    try:
        if codec == 1:
            out = _gunzip(data, limit)
        elif codec == 3:
            out = _lz4(bytes(data), limit)
        elif codec == 4:
            out = _zstd(bytes(data), limit)
        else:
            raise RefusedBatchError(
                f"{name} batch: codec refused (its inflated size cannot be bounded)"
            )
    except RefusedBatchError:
        raise
    except Exception as exc:  # a corrupt stream of any codec: refused, never raised to poll
        raise RefusedBatchError(f"{name} batch does not inflate ({type(exc).__name__})") from exc
    if len(out) > limit:
        raise RefusedBatchError(f"{name} batch inflates beyond {limit} bytes")
    return out


def _gunzip(data: bytes | memoryview, limit: int) -> bytes:
    """gzip (one or more members, as `gzip.GzipFile` reads them), at most limit + 1 bytes."""
    out = bytearray()
    rest = bytes(data)
    while rest and len(out) <= limit:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out += d.decompress(rest, limit + 1 - len(out))
        if not d.eof:
            if d.unconsumed_tail and len(out) > limit:
                break  # more to inflate than allowed
            raise RefusedBatchError("gzip batch is truncated")
        rest = d.unused_data.lstrip(b"\0")  # gzip allows zero padding between members
    return bytes(out)


def _lz4(data: bytes, limit: int) -> bytes:
    try:
        frame = importlib.import_module("lz4.frame")
    except ImportError as exc:
        raise RefusedBatchError("lz4 batch: codec refused (package lz4 not installed)") from exc
    out: bytes = frame.LZ4FrameDecompressor().decompress(data, max_length=limit + 1)
    return out


def _zstd(data: bytes, limit: int) -> bytes:
    try:
        zstandard = importlib.import_module("zstandard")
    except ImportError as exc:
        raise RefusedBatchError(
            "zstd batch: codec refused (package zstandard not installed)"
        ) from exc
    out = bytearray()
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        while len(out) <= limit:
            chunk = reader.read(limit + 1 - len(out))
            if not chunk:
                break
            out += chunk
    return bytes(out)


def refusal(key: bytes | None, value: bytes | None) -> str | None:
    """The reason a record is the stand-in of a refused batch, else None."""
    if value is None and key is not None and key.startswith(REFUSED_KEY_PREFIX):
        return key[len(REFUSED_KEY_PREFIX) :].decode("utf-8", "replace")
    return None


def _varint(value: int) -> bytes:
    """Kafka's zigzag varint."""
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _standin_v2(offset_delta: int, reason: str) -> bytes:
    """One v2 record: no timestamp delta, key = the refusal, null value, no headers."""
    key = REFUSED_KEY_PREFIX + reason.encode()
    body = b"\0" + _varint(0) + _varint(offset_delta) + _varint(len(key)) + key
    body += _varint(-1) + _varint(0)
    return _varint(len(body)) + body


def _standin_legacy(magic: int, offset: int, timestamp: int | None, reason: str) -> bytes:
    """One uncompressed v0/v1 message (a valid CRC-32), key = the refusal, null value."""
    key = REFUSED_KEY_PREFIX + reason.encode()
    head = struct.pack(">bb", magic, 0)
    if magic == 1:
        head += struct.pack(">q", timestamp or 0)
    payload = head + struct.pack(">i", len(key)) + key + struct.pack(">i", -1)
    message = struct.pack(">I", zlib.crc32(payload)) + payload
    return struct.pack(">qi", offset, len(message)) + message


def _bounded_v2(self: Any) -> None:
    """`DefaultRecordBatch._maybe_uncompress`, bounded; a refused batch -> one stand-in."""
    if self._decompressed:
        return
    codec = self.compression_type
    if codec != self.CODEC_NONE:
        try:
            self._buffer = bytearray(inflate(codec, memoryview(self._buffer)[self._pos :]))
        except RefusedBatchError as refused:
            reason = f"{refused} (records {self.base_offset}-{self.last_offset})"
            self._buffer = bytearray(_standin_v2(self.last_offset_delta, reason))
            self._num_records = 1
        self._pos = 0
    self._decompressed = True


def _bounded_legacy(self: Any, key_offset: int) -> bytes:
    """`LegacyRecordBatch._decompress`, bounded; a refused wrapper -> one stand-in message."""
    pos = key_offset
    (key_size,) = struct.unpack_from(">i", self._buffer, pos)
    pos += 4 + max(key_size, 0)
    (value_size,) = struct.unpack_from(">i", self._buffer, pos)
    pos += 4
    data = self._buffer[pos : pos + max(value_size, 0)]
    try:
        if value_size < 0:
            raise RefusedBatchError("compressed message without a value")
        return inflate(self.compression_type, data)
    except RefusedBatchError as refused:
        relative = 0 if self._magic == 1 else self._offset  # v1 offsets are relative
        reason = f"{refused} (message {self._offset})"
        return _standin_legacy(self._magic, relative, self._timestamp, reason)


def install() -> None:
    """Bound decompression in every kafka-python reader of this process (idempotent)."""
    if _INSTALLED:
        return
    from kafka.record.default_records import DefaultRecordBatch
    from kafka.record.legacy_records import LegacyRecordBatch

    DefaultRecordBatch._maybe_uncompress = _bounded_v2
    LegacyRecordBatch._decompress = _bounded_legacy
    _INSTALLED.append(True)
