"""`s1kit synth`: a pool of procedural problems with teacher traces, or a dev/test set of the same families.

- ``pool``: s1K's columns (``question``, ``solution``, ``thinking_trajectories``, ``attempt``,
  ``cot_type``, ``source_type``, ``metadata``) plus ``domain`` (the family), ``answer`` and ``id``;
  the families in the proportions of ``mix`` (uneven by default, as real pools are). With budget-forced
  traces (teacher ``forced`` > 0) also ``thinking_forced_spans``: the [start, end) character spans of
  the thinking that budget forcing wrote, which ``s1kit train`` gives no loss.
- ``dev`` and ``test``: ``id``, ``question``, ``answer``, ``domain`` and ``level``, the families in
  turn, so that any prefix (``--limit``) is balanced. ``test`` is the held-out set shipped as the
  task ``nano`` and ``dev`` as ``nano-dev``; choices about recipes are made on ``dev`` only.

Each split draws from its own generator seeded with (split, seed), so the splits never share a
random stream; overlaps between them (small problems repeat) are what ``s1kit curate`` removes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.errors import S1kitError, check_non_negative_int, check_positive_int
from s1kit.synth.families import FAMILIES, Problem
from s1kit.synth.teacher import TeacherConfig, teach

SPLITS = ("pool", "dev", "test")
POOL_MIX = {"sum": 0.45, "count": 0.35, "find": 0.2}
"""Share of each family in a pool: uneven, so that curation's domain-uniform draw has work to do."""


@dataclass
class SynthConfig:
    split: str = "pool"
    """pool (with teacher traces), dev or test (questions and answers only)."""
    size: int = 8000
    """Rows to write."""
    seed: int = 0
    """With the split, seeds every problem and every teacher choice."""
    mix: dict = field(default_factory=lambda: dict(POOL_MIX))
    """pool: family -> share (normalized); dev and test are balanced whatever this says."""
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    """How the teacher writes traces (pool only)."""

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise S1kitError(f"unknown split {self.split!r}; choose from {', '.join(SPLITS)}")
        check_positive_int("size", self.size)
        check_non_negative_int("seed", self.seed)
        unknown = sorted(set(self.mix) - set(FAMILIES))
        if unknown:
            raise S1kitError(f"mix names unknown families {unknown}; choose from {', '.join(FAMILIES)}")
        if any(not isinstance(v, (int, float)) or v < 0 for v in self.mix.values()) or not sum(self.mix.values()) > 0:
            raise S1kitError(f"mix shares must be non-negative numbers with a positive sum, got {self.mix}")


def problems(config: SynthConfig) -> list[tuple[Problem, random.Random]]:
    """The split's problems, each with the generator its teacher trace draws from."""
    rng = random.Random(f"s1kit-synth:{config.split}:{config.seed}")
    if config.split == "pool":
        names = [name for name in FAMILIES if config.mix.get(name, 0) > 0]
        weights = [config.mix[name] for name in names]
        families = rng.choices(names, weights=weights, k=config.size)
    else:
        families = [list(FAMILIES)[i % len(FAMILIES)] for i in range(config.size)]
    return [(FAMILIES[name](rng), rng) for name in families]


def rows(config: SynthConfig) -> list[dict]:
    """The rows of the split, in order."""
    out = []
    for index, (problem, rng) in enumerate(problems(config)):
        row = {"id": f"{config.split}-{index:05d}", "question": problem.question, "answer": str(problem.answer),
               "domain": problem.family, "level": problem.level}
        if config.split == "pool":
            trace = teach(problem, rng, config.teacher)
            row.update({
                "solution": "\n".join(problem.lines) + f"\n\\boxed{{{problem.answer}}}",
                "thinking_trajectories": [trace.thinking],
                "attempt": trace.attempt,
                "cot_type": "math",
                "source_type": f"s1kit/synth-{problem.family}",
                "metadata": json.dumps({"level": problem.level, "teacher_correct": trace.correct,
                                        "gave_up": trace.gave_up, "waits": trace.waits,
                                        **({"forced_waits": len(trace.forced_spans)} if config.teacher.forced else {})}),
            })
            if config.teacher.forced:
                # Where budget forcing wrote the wait string: training gives those characters no loss.
                row["thinking_forced_spans"] = [list(span) for span in trace.forced_spans]
        out.append(row)
    return out


def main(config: SynthConfig, out: str | Path) -> dict:
    """Write the split to ``out`` (JSONL, atomically) and return counts per family."""
    from s1kit.errors import check_output_file
    from s1kit.jsonl import write_atomic

    path = check_output_file(out, example="pool.jsonl")
    data = rows(config)
    write_atomic(path, data)
    counts: dict = {}
    for row in data:
        counts[row["domain"]] = counts.get(row["domain"], 0) + 1
    summary = {"rows": len(data), "families": counts}
    if config.split == "pool":
        meta = [json.loads(row["metadata"]) for row in data]
        summary.update({"teacher_correct": sum(m["teacher_correct"] for m in meta),
                        "gave_up": sum(m["gave_up"] for m in meta), "waits": sum(m["waits"] for m in meta)})
    return summary
