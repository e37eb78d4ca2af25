"""How fast grading is, and how often it agrees with itself.

Workload: the 500 MATH-500 reference solutions graded against their own answers (``solution`` as
the response, ``answer`` as gold, kind math). A reference solution has no thinking section, so the
answer comes from its last ``\\boxed{}``; every row should be correct, and a mismatch points at an
extraction or equivalence bug. Two passes:

- grade:        ``s1kit.grading.rules.grade`` as ``s1kit grade`` runs it (string shortcut, then math-verify);
- math-verify:  the same pairs sent to math-verify on every row (no shortcut), the cost of answers
                spelled differently from gold (0.5 for \\frac{1}{2}).

Measured on the project's 2-core CPU machine (math-verify 0.9.0, sympy 1.14): accuracy 500/500,
0 mismatches, 0 timeouts; grade 0.01 s (every reference answer is spelled as its gold answer, so
the string shortcut decides), math-verify on every row 1.8 s (500 equal), import 0.3 s.
Last line: ``graded 500 in X.XX s`` (target < 10 s).

    python bench/grade_math500.py [--data-dir ../shared/data] [--show 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from s1kit.grading.rules import _math_equal, _parse, extract_answer, grade
from s1kit.grading.time_limit import TIMED_OUT, call_with_timer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("S1KIT_DATA_DIR") or ROOT.parent / "shared" / "data"),
        help="folder holding math500.jsonl (default: $S1KIT_DATA_DIR or ../shared/data)",
    )
    parser.add_argument("--show", type=int, default=5, help="how many mismatches to list")
    args = parser.parse_args()

    path = args.data_dir / "math500.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found; pass --data-dir or set S1KIT_DATA_DIR")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    start = time.perf_counter()
    import math_verify  # noqa: F401  (imported once per process; timed apart from grading)

    print(f"import math-verify: {time.perf_counter() - start:.2f} s")

    start = time.perf_counter()
    grades = [grade(row["solution"], row["answer"], "math") for row in rows]
    seconds = time.perf_counter() - start
    mismatches = [(row, g) for row, g in zip(rows, grades) if not g.correct]
    correct = len(rows) - len(mismatches)
    print(f"accuracy: {correct}/{len(rows)} = {correct / len(rows):.1%}")
    print(f"mismatches: {len(mismatches)}; timeouts: {sum(g.timed_out for g in grades)}")
    for row, g in mismatches[: args.show]:
        print(f"  {row['unique_id']}: extracted {g.extracted!r}, gold {row['answer']!r}")

    # A trailing space makes each prediction a new string for s1kit's parse cache.
    _parse.cache_clear()
    start = time.perf_counter()
    verdicts = [
        call_with_timer(_math_equal, 5.0, extract_answer(row["solution"], "math") + " ", row["answer"])
        for row in rows
    ]
    print(
        f"math-verify on every row: {time.perf_counter() - start:.2f} s, "
        f"{sum(v is True for v in verdicts)} equal, {sum(v is TIMED_OUT for v in verdicts)} timeouts"
    )
    print(f"graded {len(rows)} in {seconds:.2f} s")


if __name__ == "__main__":
    main()
