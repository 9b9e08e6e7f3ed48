"""The router's replay window: a bounded memory of accepted document ids per partition.

Check 9 (REPLAY) and check 12 (UNKNOWN_TARGET) of the decision (`routing.decision`) ask it;
the router writes what it remembers to its changelog and restores a guard from there.
"""

from __future__ import annotations

from collections.abc import Iterable

from interchange.routing.recent import RecentKeys

DEFAULT_REPLAY_CAPACITY = 100_000  # document ids remembered per submissions partition


class ReplayGuard:
    """Bounded memory of accepted document ids: the last `capacity` ids, oldest forgotten first.

    One guard per submissions partition: a submission is accepted only when its
    key is its sender id and it sits on that key's partition (checks 4 and 5), so
    every accepted copy of a document (same id, same sender) is on the same
    partition and a per-partition guard sees all of them. A replay older than
    the last `capacity` accepted documents of its partition is not detected:
    that is the documented window. `pending()` returns ids remembered since the
    last call so the router can write them to its changelog in the same
    transaction; `restore()` rebuilds a guard from that changelog.
    """

    def __init__(self, capacity: int = DEFAULT_REPLAY_CAPACITY) -> None:
        self._ids: RecentKeys[str] = RecentKeys(capacity, "replay capacity")
        self._pending: list[str] = []
        # accepted ids that reached no recipient (excluded, rejected after check 9, or
        # every recipient not connected): never a target (check 12). Not in the changelog,
        # so a restarted router forgets them (docs/ROUTER.md).
        self._undelivered: RecentKeys[str] = RecentKeys(capacity, "replay capacity")

    @property
    def capacity(self) -> int:
        return self._ids.capacity

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, document_id: str) -> None:
        self._ids.add(document_id)
        self._pending.append(document_id)

    def undelivered(self, document_id: str) -> None:
        """Note an accepted id that was delivered to no recipient."""
        self._undelivered.add(document_id)

    def delivered(self, document_id: str) -> bool:
        """Accepted within the window and delivered to at least one recipient."""
        return document_id in self._ids and document_id not in self._undelivered

    def pending(self) -> list[str]:
        """Ids remembered since the last call (to be written to the changelog)."""
        out, self._pending = self._pending, []
        return out

    def discard_pending(self, ids: Iterable[str]) -> None:
        """Forget ids whose transaction was aborted (they will be decided again)."""
        for document_id in ids:
            self._ids.discard(document_id)

    @classmethod
    def restore(cls, ids: Iterable[str], capacity: int = DEFAULT_REPLAY_CAPACITY) -> ReplayGuard:
        """A guard holding the last `capacity` of `ids` (changelog order), nothing pending."""
        guard = cls(capacity)
        for document_id in ids:
            guard._ids.add(document_id)
        return guard
