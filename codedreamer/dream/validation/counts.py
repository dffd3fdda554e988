"""Rejections counted per reason: a plain value the engine can persist and the views can show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class RejectionCounts:
    """How many answers were rejected for each reason, and how many were accepted."""

    by_reason: dict[str, int] = field(default_factory=dict)
    accepted: int = 0

    def add(self, reason: str) -> None:
        """Count one verdict: "ok" counts as accepted, anything else as that rejection."""
        if reason == "ok":
            self.accepted += 1
        else:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    @property
    def rejected(self) -> int:
        return sum(self.by_reason.values())

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    def most_common(self) -> list[tuple[str, int]]:
        return sorted(self.by_reason.items(), key=lambda item: (-item[1], item[0]))

    def to_dict(self) -> dict[str, object]:
        return {"accepted": self.accepted, "rejected": dict(sorted(self.by_reason.items()))}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RejectionCounts:
        """Read what `to_dict` wrote; ValueError on anything else (never a silent zero)."""
        accepted = data.get("accepted", 0)
        rejected = data.get("rejected", {})
        if not isinstance(accepted, int) or isinstance(accepted, bool) or accepted < 0:
            raise ValueError(f"rejection counts: 'accepted' must be a count, not {accepted!r}")
        if not isinstance(rejected, Mapping):
            raise ValueError("rejection counts: 'rejected' must map reasons to counts")
        counts: dict[str, int] = {}
        for reason, count in rejected.items():
            if (
                not isinstance(reason, str)
                or not isinstance(count, int)
                or isinstance(count, bool)
                or count < 0
            ):
                raise ValueError(f"rejection counts: bad entry {reason!r}: {count!r}")
            counts[reason] = count
        return cls(counts, accepted)
