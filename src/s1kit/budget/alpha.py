"""AlphaOne's schedule of slow and fast thinking (Zhang et al. 2025, arXiv 2505.24863, Section 3).

Before the *alpha moment* (a number of thinking tokens: alpha times the sequence's natural thinking
length, or a count given as it is), each paragraph break the model writes is followed by the wait
string with a probability that falls linearly from ``p`` at the start of the thinking to 0 at the
moment: slow thinking first. After the moment, the next transition word the model writes (``Wait``
and the like), or an end of thinking, ends the thinking there: fast thinking after. Budget forcing
is the special case without a schedule: its Waits come only where the model tried to end.

The decisions are the sequence state's (budget.state); this module holds the schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_SALT = 0xA1FA
"""Mixed into a sequence's seed: the schedule's draws are its own, not its sampler's."""


@dataclass(frozen=True)
class AlphaPlan:
    """One sequence's schedule."""

    moment: int
    """Thinking tokens of the alpha moment."""
    p: float
    """Probability of a wait after a paragraph break at the start of the thinking."""
    breaks: frozenset[int]
    """Paragraph-break tokens."""
    transitions: frozenset[int]
    """First tokens of transition words, which end the thinking after the moment."""
    seed: int
    """Seeds the Bernoulli draws, so that every replay of the sequence draws the same."""

    def wait_probability(self, thinking_tokens: int) -> float:
        return self.p * max(0.0, 1.0 - thinking_tokens / self.moment)

    def draws(self) -> random.Random:
        return random.Random(self.seed ^ _SALT)

    def to_dict(self) -> dict:
        return {"moment": self.moment, "p": self.p, "breaks": sorted(self.breaks),
                "transitions": sorted(self.transitions), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict) -> AlphaPlan:
        return cls(data["moment"], data["p"], frozenset(data["breaks"]), frozenset(data["transitions"]), data["seed"])
