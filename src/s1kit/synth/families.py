"""Procedural reasoning problems with verifiable integer answers, and the step-by-step work that solves them.

Three families, two kinds of reasoning, one set of skills (find a tagged item, add, compare):

- **scan** (``sum``, ``count``): one pass over the items; every line updates a running result.
  More thinking means more of the computation done.
- **search** (``find``): candidates are tried in order until one checks out. A solver that stops
  early has to guess; more thinking means more candidates tried.

Every item the work needs is written right next to where it is used: the question tags its items
(``A7 B1 C5``), each line starts by copying the tag and item it works on, and a line that compares
repeats what it compares with (``vs 11``). Every question starts with its items, so item k sits at the
same place in every family and one way of finding it serves all. A small model trained from scratch
learns a one-hop copy easily, and fetching an operand from far away hardly at all. Sizes stay small
(at most 9 items) for the same reason: each extra item is one more lookup to get right.

``work(problem)`` is the complete, correct work; s1kit.synth.teacher turns it into a trace the way
an impatient teacher writes it (with give-ups and "Wait"s).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TAGS = "ABCDEFGHIJKL"
"""Item tags. No other character of a question or a trace is one of these (the words are lowercase),
so finding a tag finds its item and nothing else."""


@dataclass(frozen=True)
class Problem:
    family: str
    """Which family made it (also its curation domain)."""
    question: str
    answer: int
    lines: tuple[str, ...]
    """The correct work, one step a line; for search, one candidate a line and the last one checks out."""
    kind: str
    """scan or search."""
    candidates: tuple[int, ...] = ()
    """search: every value that could be the answer, in the order tried (guesses come from here)."""
    level: int = 0
    """Size of the problem (items, or the solution's position among the candidates)."""
    meta: dict = field(default_factory=dict, compare=False)


def tagged(values) -> str:
    return " ".join(f"{TAGS[i]}{v}" for i, v in enumerate(values))


def sum_problem(rng: random.Random) -> Problem:
    """Add K single digits: ``A7 B1 C5 D9: sum them.`` -> ``B1+7=8`` / ``C5+8=13`` / ``D9+13=22``."""
    k = rng.randint(2, 7)
    digits = [rng.randint(1, 9) for _ in range(k)]
    total, lines = digits[0], []
    for i, digit in enumerate(digits[1:], start=1):
        lines.append(f"{TAGS[i]}{digit}+{total}={total + digit}")
        total += digit
    return Problem("sum", f"{tagged(digits)}: sum them.", total, tuple(lines), "scan", level=k, meta={"digits": digits})


def count_problem(rng: random.Random) -> Problem:
    """Count one digit among several: ``A3 B7 C3: count the 3s.`` -> ``A3 vs 3 yes 1`` / ``B7 vs 3 no 1`` / ...

    Every line repeats the digit it counts, so each comparison is between neighbours."""
    n = rng.randint(3, 8)
    target = rng.randint(1, 9)
    share = rng.choice((0.2, 0.35, 0.5))
    digits = [target if rng.random() < share else rng.choice([d for d in range(1, 10) if d != target]) for _ in range(n)]
    count, lines = 0, []
    for i, digit in enumerate(digits):
        hit = digit == target
        count += hit
        lines.append(f"{TAGS[i]}{digit} vs {target} {'yes' if hit else 'no'} {count}")
    return Problem("count", f"{tagged(digits)}: count the {target}s.", count, tuple(lines), "scan", level=n,
                   meta={"digits": digits, "target": target})


def find_problem(rng: random.Random) -> Problem:
    """Which item plus n makes t: ``A3 B8 C5: which plus 6 makes 11?`` -> ``A3+6=9 vs 11 no`` / ... /
    ``C5+6=11 vs 11 yes`` (the target repeated on every line, next to what it is compared with)."""
    n_items = rng.randint(4, 9)
    addend = rng.randint(1, 9)
    position = rng.randrange(n_items)
    answer = rng.randint(1, 9)
    others = [d for d in range(1, 10) if d != answer]
    items = [answer if i == position else rng.choice(others) for i in range(n_items)]
    target = answer + addend
    lines = []
    for i, item in enumerate(items[: position + 1]):
        lines.append(f"{TAGS[i]}{item}+{addend}={item + addend} vs {target} {'yes' if item + addend == target else 'no'}")
    return Problem("find", f"{tagged(items)}: which plus {addend} makes {target}?", answer, tuple(lines), "search",
                   candidates=tuple(items), level=position + 1, meta={"items": items, "addend": addend})


FAMILIES = {"sum": sum_problem, "count": count_problem, "find": find_problem}
