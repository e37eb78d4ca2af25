"""s1's "benchmark-quality" picks: questions kept before the diversity draw (``select: s1k``).

s1 took 384 of its 1,000 questions from sources it trusted. Its released selection script
(simplescaling/s1) picks, among the questions that survived the quality and difficulty filters
and whose teacher (Gemini) attempt was graded correct: every GPQA and AIME question, and the MATH
questions whose trace is longer than 5,600 tokens. They count toward ``--size``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from s1kit.curate.config import BenchmarkConfig


def source_match(record: dict, sources: Sequence[str]) -> str | None:
    """The first of ``sources`` that occurs in the record's ``source_type`` (any case), or None."""
    source = str(record.get("source_type") or "").lower()
    return next((s for s in sources if s.lower() in source), None)


def eligible(record: dict, config: BenchmarkConfig) -> str | None:
    """Why the record would be a pick if its attempt is correct ("aime", "long openaimath"), or None."""
    source = source_match(record, config.correct_sources)
    if source:
        return source
    source = source_match(record, config.long_sources)
    if source and (record.get("trace_tokens") or 0) > config.long_min_tokens:
        return f"long {source}"
    return None


def needs_teacher_grade(records: Sequence[dict], config: BenchmarkConfig) -> list[dict]:
    """The records that are picks if their teacher attempt is graded correct."""
    return [r for r in records if eligible(r, config)]


def benchmark_picks(records: Sequence[dict], config: BenchmarkConfig,
                    attempt_correct: dict[int, bool]) -> tuple[list[dict], dict]:
    """The picked records (in pool order) and how many per reason.

    ``attempt_correct`` maps ``id(record)`` to whether its teacher attempt was graded correct, for
    the records of :func:`needs_teacher_grade`.
    """
    picked, reasons = [], Counter()
    for record in records:
        reason = eligible(record, config)
        if reason is None or not attempt_correct.get(id(record)):
            continue
        record["pick"] = f"benchmark-quality: {reason}"
        picked.append(record)
        reasons[reason] += 1
    return picked, dict(sorted(reasons.items()))
