"""The chain of archives: each manifest names its predecessor's manifest hash (pure).

Archives written into the same parent directory form one chain, as X-Road links the
archives of its message log: archive `seq` n records the id and the manifest SHA-256
of archive n-1 (archive 0 records none). The manifest is signed and time-stamped
(`audit.seal`), so the link cannot be changed without the archive key, and:

* a deleted archive leaves its `seq` missing (ARCHIVE_MISSING, named by the id its
  successor recorded);
* a replaced or rewritten archive no longer has the hash its successor recorded, and
  two archives claiming one `seq` show an insertion (CHAIN_BROKEN);
* time-stamps must not run backwards along the chain (CHAIN_BROKEN).

What no chain can show is the loss of the newest archives: the chain is then only
shorter. docs/AUDIT.md ("Trust model") says what covers that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interchange.audit.findings import Finding, Kind
from interchange.errors import ArchiveError


@dataclass(frozen=True, slots=True)
class ChainLink:
    """An archive's place in the chain, as its manifest records it."""

    seq: int
    previous_archive_id: str | None = None
    previous_manifest_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "previous_archive_id": self.previous_archive_id,
            "previous_manifest_sha256": self.previous_manifest_sha256,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChainLink:
        try:
            seq = int(data["seq"])
            prev_id, prev_sha = data["previous_archive_id"], data["previous_manifest_sha256"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveError(f"malformed chain link in the manifest: {exc!r}") from exc
        if seq < 0 or (seq == 0) != (prev_id is None) or (prev_id is None) != (prev_sha is None):
            raise ArchiveError(f"inconsistent chain link in the manifest: {data!r}")
        return cls(seq, None if prev_id is None else str(prev_id), prev_sha and str(prev_sha))


@dataclass(frozen=True, slots=True)
class ChainMember:
    """One archive of the directory, as found on disk."""

    name: str  # its directory name
    archive_id: str
    link: ChainLink
    manifest_sha256: str  # recomputed from the manifest's content, never taken from it
    gen_time_us: int | None  # its verified time-stamp, None if it has none valid


def next_link(members: Sequence[ChainMember]) -> ChainLink:
    """The link a new archive gets: after the member with the highest `seq`."""
    if not members:
        return ChainLink(0)
    head = max(members, key=lambda m: m.link.seq)
    return ChainLink(head.link.seq + 1, head.archive_id, head.manifest_sha256)


def verify_links(members: Sequence[ChainMember]) -> list[Finding]:
    """Every gap, broken link, duplicate `seq` and backwards time-stamp of the chain."""
    out: list[Finding] = []
    by_seq: dict[int, list[ChainMember]] = {}
    for m in members:
        by_seq.setdefault(m.link.seq, []).append(m)
    for seq, claimants in sorted(by_seq.items()):
        if len(claimants) > 1:
            names = ", ".join(sorted(m.name for m in claimants))
            out.append(_broken(f"archives {names} all claim chain position {seq}", claimants[0]))
    top = max(by_seq, default=-1)
    successor: Mapping[int, ChainMember] = {s: ms[0] for s, ms in by_seq.items()}
    for seq in range(top + 1):
        if seq not in by_seq:
            after = successor.get(seq + 1)
            named = f" ({after.link.previous_archive_id})" if after and seq + 1 in by_seq else ""
            out.append(
                Finding(
                    Kind.ARCHIVE_MISSING,
                    f"archive {seq}{named} of the chain is missing",
                    file=after.name if after else "",
                )
            )
            continue
        for m in by_seq[seq]:
            prev = successor.get(seq - 1)
            if seq == 0 or prev is None:
                continue
            if m.link.previous_manifest_sha256 != prev.manifest_sha256:
                out.append(
                    _broken(
                        f"archive {prev.name} (position {seq - 1}) is not the one {m.name} was "
                        "chained to: replaced or rewritten",
                        prev,
                    )
                )
            elif (
                m.gen_time_us is not None
                and prev.gen_time_us is not None
                and m.gen_time_us < prev.gen_time_us
            ):
                out.append(_broken(f"{m.name} is time-stamped before its predecessor", m))
    return out


def _broken(detail: str, member: ChainMember) -> Finding:
    return Finding(Kind.CHAIN_BROKEN, detail, file=member.name)
