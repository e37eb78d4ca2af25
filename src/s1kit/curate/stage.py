"""What a curation stage returns: the records kept and the reason each other one was dropped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StageResult:
    name: str
    """The stage, as the manifest names it (quality, decontamination, difficulty, diversity)."""
    kept: list[dict]
    dropped: list[tuple[dict, str]] = field(default_factory=list)
    """Each dropped record with its reason (a short fixed phrase, e.g. "asy figure")."""

    def counts(self) -> dict:
        """The manifest entry: how many were kept, and how many dropped per reason."""
        return {"kept": len(self.kept), "dropped": len(self.dropped),
                "reasons": dict(sorted(Counter(reason for _, reason in self.dropped).items()))}
