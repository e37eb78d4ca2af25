"""What a process reward model is to s1kit, and the checks every score passes through.

A PRM reads a question and the steps of a (partial or whole) trace and gives one finite score per
step. Search (methods/search.py) reads the last step's score as a node's reward; voting reads a
whole trace's score (metrics.trace_score). Every PRM is called through :class:`CheckedPRM`, which counts
the calls and turns a failure, a non-finite score or a wrong number of scores into one line naming
``--prm``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from s1kit.errors import S1kitError


@runtime_checkable
class ProcessRewardModel(Protocol):
    name: str
    """What --prm named, for messages."""

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        """One score per step of ``steps`` (the question's trace so far, split into steps)."""


class CheckedPRM:
    """A PRM whose every answer is checked, and whose calls are counted (``calls``: how many
    traces it scored)."""

    def __init__(self, prm: ProcessRewardModel, spec: str):
        self.prm = prm
        self.spec = spec
        self.calls = 0

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_many([(question, list(steps))])[0]

    def score_many(self, items: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        """Scores of several traces at once (a PRM with ``score_many`` of its own gets them batched)."""
        if not items:
            return []
        try:
            many = getattr(self.prm, "score_many", None)
            results = many(list(items)) if many is not None else [self.prm.score(q, s) for q, s in items]
        except S1kitError:
            raise
        except Exception as exc:  # the user's model or code: any failure is reported, naming it
            raise S1kitError(f"--prm {self.spec} failed: {type(exc).__name__}: {str(exc)[:200]}") from None
        results = list(results)
        if len(results) != len(items):
            raise S1kitError(f"--prm {self.spec} returned {len(results)} score lists for {len(items)} traces; "
                             "it must return one list per trace")
        checked = [_check_scores(self.spec, steps, scores) for (_, steps), scores in zip(items, results)]
        self.calls += len(items)
        return checked


def _check_scores(spec: str, steps: Sequence[str], scores) -> list[float]:
    try:
        values = [float(s) for s in scores]
    except (TypeError, ValueError):
        raise S1kitError(f"--prm {spec} returned {str(scores)[:80]!r}; a PRM returns one number per step") from None
    if len(values) != len(steps):
        raise S1kitError(f"--prm {spec} scored {len(values)} steps of a trace of {len(steps)}; a PRM returns one "
                         "score per step")
    bad = next((v for v in values if not math.isfinite(v)), None)
    if bad is not None:
        raise S1kitError(f"--prm {spec} returned the score {bad!r}; scores must be finite numbers")
    return values
