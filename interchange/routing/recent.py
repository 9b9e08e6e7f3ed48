"""A bounded membership window: the last N keys seen, oldest forgotten first.

Why one class: the router's replay guard (document ids per submissions partition)
and the recipients' duplicate window ((document, recipient) pairs per tier) are the
same structure with different keys, and both must stay bounded over any run.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class RecentKeys(Generic[K]):
    """The last `capacity` keys added; adding a present key makes it the newest."""

    __slots__ = ("_keys", "capacity")

    def __init__(self, capacity: int, what: str = "window") -> None:
        if capacity < 1:
            raise ValueError(f"{what} must be at least 1, got {capacity}")
        self.capacity = capacity
        self._keys: OrderedDict[K, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K) -> None:
        keys = self._keys
        keys[key] = None
        keys.move_to_end(key)
        if len(keys) > self.capacity:
            keys.popitem(last=False)

    def discard(self, key: K) -> None:
        self._keys.pop(key, None)
