"""s1's "benchmark-quality" picks: questions kept before the diversity draw (``select: s1k``).

s1 took 384 of its 1,000 questions straight from sources it trusted (the released notebook):
AIME and GPQA questions whose teacher attempt was graded correct against the reference, and MATH
questions whose trace is longer than 5,600 tokens. They skip the difficulty stage, as in s1, and
count toward ``--size``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from s1kit.curate.config import BenchmarkConfig


def source_match(record: dict, sources: Sequence[str]) -> str | None:
    """The first of ``sources`` that occurs in the record's ``source_type`` (any case), or None."""
    source = str(record.get("source_type") or "").lower()
    return next((s for s in sources if s.lower() in source), None)


def needs_teacher_grade(records: Sequence[dict], config: BenchmarkConfig) -> list[dict]:
    """The records whose pick depends on whether their teacher attempt is correct."""
    return [r for r in records if source_match(r, config.correct_sources)]


def benchmark_picks(records: Sequence[dict], config: BenchmarkConfig,
                    attempt_correct: dict[int, bool]) -> tuple[list[dict], dict]:
    """The picked records (in pool order) and how many per reason.

    ``attempt_correct`` maps ``id(record)`` to whether its teacher attempt was graded correct, for
    the records of :func:`needs_teacher_grade`.
    """
    picked, reasons = [], Counter()
    for record in records:
        correct_source = source_match(record, config.correct_sources)
        long_source = source_match(record, config.long_sources)
        if correct_source and attempt_correct.get(id(record)):
            reason = f"correct {correct_source}"
        elif long_source and (record.get("trace_tokens") or 0) > config.long_min_tokens:
            reason = f"long {long_source}"
        else:
            continue
        record["pick"] = f"benchmark-quality: {reason}"
        picked.append(record)
        reasons[reason] += 1
    return picked, dict(sorted(reasons.items()))
