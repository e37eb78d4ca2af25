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

All randomness comes from the ``rng`` argument: the same seed gives the same traces.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from s1kit.errors import S1kitError, check_positive_int
from s1kit.synth.families import Problem


@dataclass(frozen=True)
class TeacherConfig:
    patience: int = 4
    """Failed candidates between two moments where the teacher considers giving up."""
    give_up: float = 0.7
    """Chance that it stops and guesses at such a moment (else it writes the wait string and goes on)."""
    check: float = 0.2
    """Chance that a finished trace gets a wait string and a repeat of its last line (and again)."""
    wait_string: str = "Wait"
    """Written where the teacher chose not to stop; the same string budget forcing inserts."""

    def __post_init__(self) -> None:
        check_positive_int("teacher patience", self.patience)
        for name in ("give_up", "check"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise S1kitError(f"teacher {name} must be a probability in [0, 1), got {value!r}")


@dataclass(frozen=True)
class Trace:
    thinking: str
    attempt: str
    """The teacher's answer as text."""
    correct: bool
    gave_up: bool
    waits: int


def teach(problem: Problem, rng: random.Random, config: TeacherConfig = TeacherConfig()) -> Trace:
    """One trace of ``problem`` by the teacher, drawing its choices from ``rng``."""
    lines: list[str] = []
    waits = 0
    if problem.kind == "search":
        failed = 0
        for line in problem.lines[:-1]:
            lines.append(line)
            failed += 1
            if failed % config.patience == 0:
                if rng.random() < config.give_up:
                    untried = list(problem.candidates[failed:]) or list(problem.candidates)
                    guess = rng.choice(untried)
                    return Trace("\n".join(lines), str(guess), guess == problem.answer, True, waits)
                lines.append(config.wait_string)
                waits += 1
    else:
        lines.extend(problem.lines[:-1])
    lines.append(problem.lines[-1])
    while rng.random() < config.check:
        lines += [config.wait_string, problem.lines[-1]]
        waits += 1
    return Trace("\n".join(lines), str(problem.answer), True, False, waits)
