"""What every method produces: points, and per point one generation per unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from s1kit.budget.config import SamplingConfig
from s1kit.budget.result import Generation


@dataclass(frozen=True)
class MethodPoint:
    """One point of a method's curve."""

    budget: int | None
    """The thinking budget the point aims at; Control is measured against it (None: no budget)."""
    cap: int | None
    """The cap budget forcing applies (None: the model thinks as long as it likes)."""
    num_ignore: int = 0
    """Ends of thinking suppressed with the wait string (budget forcing's extension)."""
    variant: str = ""
    """Class-conditional: short, long, or default (no instruction)."""
    instruction: str = ""
    """Added to the question after a blank line, as the s1 evaluation does ("{question}\\n\\nThink for up to N tokens.")."""

    def key(self) -> tuple:
        return (self.budget or 0, self.num_ignore, self.variant)

    @property
    def label(self) -> str:
        if self.variant:
            return self.variant
        name = "none" if self.budget is None else str(self.budget)
        return name if not self.num_ignore else f"{name}, {self.num_ignore} ignores"


@dataclass
class PointRun:
    """A point's results for a chunk of units, in unit order."""

    point: MethodPoint
    generations: list[Generation]
    decoded: list[int]
    """Tokens the backend produced for each unit at this point (see sweep.SweepResult.decoded)."""
    extras: list[dict] = field(default_factory=list)
    """Method-specific row fields per unit (rejection: tries, accepted); empty: none."""


def with_instruction(question: str, instruction: str) -> str:
    return f"{question}\n\n{instruction}" if instruction else question


def run_grouped(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int) -> list[PointRun]:
    """Points that share a prompt share one sweep (sweep.py); each other prompt is its own sweep."""
    from s1kit.sweep import Point, run_sweep

    groups: dict[str, list[MethodPoint]] = {}
    for point in points:
        groups.setdefault(point.instruction, []).append(point)
    runs = []
    for instruction, members in groups.items():
        prompts = [with_instruction(q, instruction) for q in questions]
        result = run_sweep(backend, prompts, [Point(p.cap, p.num_ignore) for p in members], base, sampling,
                           seeds=seeds, fmt=fmt, system_prompt=system_prompt, batch_size=batch_size, progress=False)
        for p in members:
            sweep_point = Point(p.cap, p.num_ignore)
            runs.append(PointRun(p, result.generations[sweep_point], result.decoded[sweep_point]))
    return runs
