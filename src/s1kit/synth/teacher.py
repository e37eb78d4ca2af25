"""The program teacher: turns a problem's correct work into a reasoning trace, the way a hurried
human writes one.

- **It is impatient.** On a search, after every ``patience`` failed candidates it stops with
  probability ``give_up`` and answers a guess (one of the candidates it has not tried); otherwise
  it writes the wait string and searches on. A student trained on these traces learns to stop
  early too, and learns what a "Wait" after a failed candidate leads to: more candidates.
- **It sometimes re-checks.** Having finished (a scan, or a search that found its answer), it
  writes the wait string and its last line once more with probability ``check``, and again with
  the same probability. A "Wait" after a finished piece of work therefore leads to a check that
  confirms it, never to a different answer.
- **It never makes arithmetic mistakes.** Every line it writes is correct, so a trace's answer is
  wrong only when it gave up.
- **Some of its traces are budget-forced** (``forced``): up to ``max_forced_waits`` of the times it
  wants to stop (to guess, or to answer), the wait string is written in its place, as s1's budget
  forcing does at inference, and the teacher goes on as after its own "Wait". Those wait strings
  are marked in ``Trace.forced_spans``: training gives them no loss (the student should not learn
  to write them), but it learns from what follows them, however many came before.

All randomness comes from the ``rng`` argument: the same seed gives the same traces.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from s1kit.budget.config import BudgetConfig
from s1kit.errors import S1kitError, check_non_negative_int, check_positive_int, shown
from s1kit.settings import group
from s1kit.synth.families import Problem


@dataclass(frozen=True)
class TeacherConfig:
    patience: int = 4
    """Failed candidates between two moments where the teacher considers giving up."""
    give_up: float = 0.7
    """Chance that it stops and guesses at such a moment (else it writes the wait string and goes on)."""
    check: float = 0.2
    """Chance that a finished trace gets a wait string and a repeat of its last line (and again)."""
    budget: BudgetConfig = group(BudgetConfig, only=("wait_string",))
    """Its wait string: written where the teacher chose not to stop, the same string budget forcing inserts."""
    forced: float = 0.0
    """Share of traces that are budget-forced: the teacher's first 1 to max_forced_waits stops become
    the wait string (marked as forced, so training gives them no loss)."""
    max_forced_waits: int = 4
    """Most stops suppressed in a budget-forced trace (the number is drawn uniformly from 1 to this)."""

    def __post_init__(self) -> None:
        check_positive_int("teacher patience", self.patience)
        check_non_negative_int("teacher max_forced_waits", self.max_forced_waits)
        for name in ("give_up", "check", "forced"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise S1kitError(f"teacher {name} must be a probability in [0, 1), got {shown(value)}")
        if self.forced > 0 and self.max_forced_waits == 0:
            raise S1kitError("teacher forced is above 0 but max_forced_waits is 0; set max_forced_waits to 1 or more")


@dataclass(frozen=True)
class Trace:
    thinking: str
    attempt: str
    """The teacher's answer as text."""
    correct: bool
    gave_up: bool
    waits: int
    """Wait strings the teacher chose to write."""
    forced_spans: tuple[tuple[int, int], ...] = ()
    """Character spans [start, end) of ``thinking`` that budget forcing wrote (the forced wait strings)."""


class _Writer:
    """The lines of a trace, with the forced ones remembered."""

    def __init__(self, wait_string: str, forced_left: int) -> None:
        self.lines: list[str] = []
        self.forced_lines: list[int] = []
        self.wait_string = wait_string
        self.forced_left = forced_left
        self.waits = 0

    def wait(self) -> None:
        self.lines.append(self.wait_string)
        self.waits += 1

    def suppress_stop(self) -> bool:
        """Budget forcing's move where the teacher wants to stop: the wait string instead, while any is left."""
        if self.forced_left == 0:
            return False
        self.forced_left -= 1
        self.forced_lines.append(len(self.lines))
        self.lines.append(self.wait_string)
        return True

    def trace(self, attempt: str, correct: bool, gave_up: bool) -> Trace:
        starts, position = [], 0
        for line in self.lines:
            starts.append(position)
            position += len(line) + 1
        spans = tuple((starts[i], starts[i] + len(self.wait_string)) for i in self.forced_lines)
        return Trace("\n".join(self.lines), attempt, correct, gave_up, self.waits, spans)


def teach(problem: Problem, rng: random.Random, config: TeacherConfig = TeacherConfig()) -> Trace:
    """One trace of ``problem`` by the teacher, drawing its choices from ``rng``."""
    # Drawn only when some traces are forced, so that pools without forced traces keep their streams.
    forced = rng.randint(1, config.max_forced_waits) if config.forced > 0 and rng.random() < config.forced else 0
    out = _Writer(config.budget.wait_string, forced)
    if problem.kind == "search":
        failed = 0
        for line in problem.lines[:-1]:
            out.lines.append(line)
            failed += 1
            if failed % config.patience == 0:
                if rng.random() < config.give_up:
                    if out.suppress_stop():
                        continue
                    untried = list(problem.candidates[failed:]) or list(problem.candidates)
                    guess = rng.choice(untried)
                    return out.trace(str(guess), guess == problem.answer, True)
                out.wait()
    else:
        out.lines.extend(problem.lines[:-1])
    out.lines.append(problem.lines[-1])
    while True:
        if rng.random() < config.check:
            out.wait()
        elif not out.suppress_stop():
            break
        out.lines.append(problem.lines[-1])
    return out.trace(str(problem.answer), True, False)
