"""Vietnamese personal names for the people a run invents: signers and handlers.

Shared by the workload (who signs a document, who is the contact in its header) and
the work records (who handles it), so all draw from one list. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

_T = TypeVar("_T")


class Chooser(Protocol):
    """What a name is drawn with: a `random.Random`, or a work record's own draws."""

    def choice(self, seq: Sequence[_T], /) -> _T: ...


SURNAMES: tuple[str, ...] = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
)  # fmt: skip
MIDDLE_NAMES: tuple[str, ...] = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Quốc", "Ngọc")
GIVEN_NAMES: tuple[str, ...] = (
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Long", "Mai",
    "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Thảo", "Trung", "Tuấn", "Vy",
)  # fmt: skip


def person_name(rng: Chooser) -> str:
    """A full name, surname first, drawn from `rng` (three draws, in this order)."""
    return " ".join((rng.choice(SURNAMES), rng.choice(MIDDLE_NAMES), rng.choice(GIVEN_NAMES)))
