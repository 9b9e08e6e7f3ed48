"""The chain of archives: gaps, replacements, insertions and backwards time-stamps (pure)."""

from __future__ import annotations

import pytest

from interchange.audit.archive_links import ChainLink, ChainMember, next_link, verify_links
from interchange.audit.findings import Kind
from interchange.errors import ArchiveError


def chain_of(n: int) -> list[ChainMember]:
    members: list[ChainMember] = []
    for i in range(n):
        link = next_link(members)
        members.append(ChainMember(f"a{i}", f"id{i}", link, f"{i:064x}", 1_000 + i))
    return members


def kinds(members: list[ChainMember]) -> list[Kind]:
    return [f.kind for f in verify_links(members)]


def test_a_whole_chain_has_no_finding() -> None:
    members = chain_of(4)
    assert [m.link.seq for m in members] == [0, 1, 2, 3]
    assert members[2].link == ChainLink(2, "id1", f"{1:064x}")
    assert verify_links(members) == []


def test_a_deleted_archive_is_named_by_its_successor() -> None:
    members = chain_of(4)
    del members[1]
    found = verify_links(members)
    assert [(f.kind, f.file) for f in found] == [(Kind.ARCHIVE_MISSING, "a2")]
    assert "id1" in found[0].detail


def test_a_replaced_archive_breaks_the_next_link() -> None:
    members = chain_of(3)
    old = members[1]
    members[1] = ChainMember("a1", "other", old.link, "f" * 64, old.gen_time_us)
    assert [(f.kind, f.file) for f in verify_links(members)] == [(Kind.CHAIN_BROKEN, "a1")]


def test_an_inserted_archive_claims_a_taken_position() -> None:
    members = chain_of(3)
    members.append(ChainMember("x", "idx", members[1].link, "e" * 64, 1_001))
    assert Kind.CHAIN_BROKEN in kinds(members)


def test_time_stamps_must_not_run_backwards() -> None:
    members = chain_of(3)
    m = members[2]
    members[2] = ChainMember(m.name, m.archive_id, m.link, m.manifest_sha256, 10)
    assert kinds(members) == [Kind.CHAIN_BROKEN]


def test_an_inconsistent_link_is_refused() -> None:
    with pytest.raises(ArchiveError):
        ChainLink.from_dict(
            {"seq": 1, "previous_archive_id": None, "previous_manifest_sha256": None}
        )
    with pytest.raises(ArchiveError):
        ChainLink.from_dict({"seq": 0, "previous_archive_id": "x", "previous_manifest_sha256": "y"})
