"""`s1kit synth`: a pool of procedural problems with teacher traces, or a dev/test set of the same families.

- ``pool``: s1K's columns (``question``, ``solution``, ``thinking_trajectories``, ``attempt``,
  ``cot_type``, ``source_type``, ``metadata``) plus ``domain`` (the family), ``answer`` and ``id``;
  the families in the proportions of ``mix`` (uneven by default, as real pools are). With budget-forced
  traces (teacher ``forced`` > 0) also ``thinking_forced_spans``: the [start, end) character spans of
  the thinking that budget forcing wrote, which ``s1kit train`` gives no loss.
- ``steps``: labelled steps to train a process reward model on (``s1kit train --objective prm``):
  the teacher's trace of each problem, one step a line and its answer (``Final Answer: N``) a step
  of its own, in ``steps``, and in ``labels`` whether each step is right, as the nano-checker
  (synth/checker.py) judges it. A share of the traces (``perturb``) has one digit of one work line
  changed, so wrong steps are there to learn from; a guess after giving up is a wrong answer step.
  Problems whose question is one of the shipped ``nano`` or ``nano-dev`` questions are left out.
- ``dev`` and ``test``: ``id``, ``question``, ``answer``, ``domain`` and ``level``, the families in
  turn, so that any prefix (``--limit``) is balanced. ``test`` is the held-out set shipped as the
  task ``nano`` and ``dev`` as ``nano-dev``; choices about recipes are made on ``dev`` only.

Each split draws from its own generator seeded with (split, seed), so the splits never share a
random stream; overlaps between them (small problems repeat) are what ``s1kit curate`` removes.

Rows are made one at a time and streamed to the file (whole or not at all), with progress on
stderr, so memory stays flat whatever the size; a size whose file would not fit on the disk is
refused before anything is written.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from s1kit.errors import S1kitError, check_non_negative_int, check_positive_int, shown
from s1kit.settings import group
from s1kit.synth.families import FAMILIES, Problem
from s1kit.synth.teacher import TeacherConfig, teach

SPLITS = ("pool", "steps", "dev", "test")
POOL_MIX = {"sum": 0.45, "count": 0.35, "find": 0.2}
"""Share of each family in a pool: uneven, so that curation's domain-uniform draw has work to do."""
MAX_SIZE = 100_000_000
"""Most rows a split may have: about 100 GB of pool, and 1,700 times the 59,029 questions s1 curated from."""


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
    teacher: TeacherConfig = group(TeacherConfig)
    """How the teacher writes traces (pool and steps)."""
    perturb: float = 0.5
    """steps: share of traces with one digit of one work line changed (wrong steps to learn from)."""
    out: str | None = None
    """JSONL file to write (s1kit synth needs it)."""

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise S1kitError(f"unknown split {self.split!r}; choose from {', '.join(SPLITS)}")
        check_positive_int("size", self.size)
        if self.size > MAX_SIZE:
            raise S1kitError(f"size must be at most {MAX_SIZE:,} rows, got {shown(self.size)}; s1 curated its "
                             "1,000 questions from 59,029")
        check_non_negative_int("seed", self.seed)
        unknown = sorted(set(self.mix) - set(FAMILIES))
        if unknown:
            raise S1kitError(f"mix names unknown families {unknown}; choose from {', '.join(FAMILIES)}")
        if any(not isinstance(v, (int, float)) or v < 0 for v in self.mix.values()) or not sum(self.mix.values()) > 0:
            raise S1kitError(f"mix shares must be non-negative numbers with a positive sum, got {shown(self.mix)}")
        if isinstance(self.perturb, bool) or not isinstance(self.perturb, (int, float)) or not 0 <= self.perturb <= 1:
            raise S1kitError(f"perturb must be a share in [0, 1], got {shown(self.perturb)}")


def problems(config: SynthConfig) -> Iterator[tuple[Problem, random.Random]]:
    """The split's problems one at a time, each with the generator its teacher trace draws from.

    The traces draw after every problem was drawn, as when the problems were made as one list
    first (the pool s1-nano was trained on): a copy of the generator makes the problems as they
    are handed out, while the generator itself first makes them all once, unkept."""
    rng = random.Random(f"s1kit-synth:{config.split}:{config.seed}")
    start = rng.getstate()
    families = _families(config, rng)
    made = random.Random()
    made.setstate(rng.getstate())
    again = random.Random()
    again.setstate(start)
    for name in _families(config, again):
        FAMILIES[name](rng)
    for name in families:
        yield FAMILIES[name](made), rng


def _families(config: SynthConfig, rng: random.Random) -> Iterator[str]:
    """The family of each problem in turn: drawn by the mix in a pool, in turn in a held-out split."""
    if config.split in ("pool", "steps"):
        names = [name for name in FAMILIES if config.mix.get(name, 0) > 0]
        return drawn_families(rng, names, [config.mix[name] for name in names], config.size)
    return (list(FAMILIES)[i % len(FAMILIES)] for i in range(config.size))


def drawn_families(rng: random.Random, names: list[str], weights: list[float], size: int) -> Iterator[str]:
    """The families ``rng.choices(names, weights, k=size)`` draws, one at a time, with ``rng`` left
    where that call leaves it, so that pools come out as they did when the list was drawn whole: a
    copy of ``rng`` draws them (choices takes one random() per draw), and ``rng`` skips as many
    draws (one random() is 64 bits of the Mersenne Twister's stream, as getrandbits takes them)."""
    draws = random.Random()
    draws.setstate(rng.getstate())
    left = size
    while left:
        chunk = min(left, 1 << 20)
        rng.getrandbits(64 * chunk)
        left -= chunk
    return (draws.choices(names, weights)[0] for _ in range(size))


def rows(config: SynthConfig) -> list[dict]:
    """The rows of the split, in order."""
    return list(iter_rows(config))


def iter_rows(config: SynthConfig) -> Iterator[dict]:
    """The rows of the split, in order, made one at a time."""
    held_out = _held_out_questions() if config.split == "steps" else frozenset()
    for index, (problem, rng) in enumerate(problems(config)):
        row = {"id": f"{config.split}-{index:05d}", "question": problem.question, "answer": str(problem.answer),
               "domain": problem.family, "level": problem.level}
        if config.split == "steps":
            row.update(labelled_steps(problem, rng, config))
            if problem.question in held_out:
                continue  # drawn all the same, so the rows after it do not depend on the held-out sets
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
        yield row


def labelled_steps(problem: Problem, rng: random.Random, config: SynthConfig) -> dict:
    """A steps row's fields: the teacher's trace as steps (perturbed with the share ``perturb``), the
    nano-checker's label of each, and whether a line was changed."""
    from s1kit.budget.config import BudgetConfig
    from s1kit.synth.checker import NanoChecker

    trace = teach(problem, rng, config.teacher)
    steps = [line for line in trace.thinking.split("\n") if line.strip()]
    steps.append(f"{BudgetConfig.answer_prefix} {trace.attempt}")
    work = [i for i, step in enumerate(steps[:-1]) if any(c.isdigit() for c in step)]
    perturbed = bool(work) and rng.random() < config.perturb
    if perturbed:
        line = rng.choice(work)
        digits = [i for i, c in enumerate(steps[line]) if c.isdigit()]
        at = rng.choice(digits)
        new = rng.choice([d for d in "0123456789" if d != steps[line][at]])
        steps[line] = steps[line][:at] + new + steps[line][at + 1:]
    labels = [score >= 0.5 for score in NanoChecker().score(problem.question, steps)]
    return {"steps": steps, "labels": labels, "perturbed": perturbed, "gave_up": trace.gave_up}


def _held_out_questions() -> frozenset[str]:
    """The questions of the shipped held-out tasks (nano, nano-dev), which a steps split leaves out."""
    data = Path(__file__).resolve().parents[1] / "tasks" / "data"
    return frozenset(json.loads(line)["question"] for name in ("nano.jsonl", "nano-dev.jsonl")
                     for line in (data / name).read_text(encoding="utf-8").splitlines() if line.strip())


SAMPLE_ROWS = 200
"""Rows made first to estimate the file's size from (the others are about as long)."""


def main(config: SynthConfig, out: str | Path | None = None) -> dict:
    """Write the split to ``out`` (default: the config's; JSONL, whole or not at all, rows streamed
    with progress on stderr) and return counts per family."""
    from s1kit.errors import check_output_file
    from s1kit.jsonl import json_line, write_atomic
    from s1kit.progress import progress

    out = out if out is not None else config.out
    if out is None:
        raise S1kitError("no output file given; pass --out FILE")
    path = check_output_file(out, example="pool.jsonl")
    made = iter_rows(config)
    sample = list(islice(made, SAMPLE_ROWS))
    check_fits(path, config.size, sum(len(json_line(row).encode()) for row in sample) / len(sample))
    summary = {"rows": 0, "families": {}}
    if config.split == "pool":
        summary.update({"teacher_correct": 0, "gave_up": 0, "waits": 0})
    if config.split == "steps":
        summary.update({"steps": 0, "wrong_steps": 0, "perturbed": 0})
    bar = progress(config.size, f"synth {config.split}", unit="rows")
    try:
        write_atomic(path, counted(chain(sample, made), summary, bar))
    finally:
        bar.close()
    return summary


def check_fits(path: Path, size: int, row_bytes: float) -> None:
    """Refuse a size whose file, at ``row_bytes`` a row, would not fit in the free space of ``path``'s
    disk (with the old file's space, which the new one replaces, counted as free)."""
    needed = size * row_bytes
    free = shutil.disk_usage(path.parent).free + (path.stat().st_size if path.is_file() else 0)
    if needed > free:
        raise S1kitError(f"--size {size} would write about {_bytes(needed)} ({row_bytes:.0f} bytes a row) to {path}, "
                         f"and its disk has {_bytes(free)} free; lower --size to at most {int(free // row_bytes)}")


def _bytes(count: float) -> str:
    """``count`` bytes in decimal units: 850 bytes, 12.3 MB, 1.2 TB."""
    units, power = ("bytes", "KB", "MB", "GB", "TB"), 0
    while count >= 1000 and power < len(units) - 1:
        count, power = count / 1000, power + 1
    return f"{count:.0f} bytes" if power == 0 else f"{count:.1f} {units[power]}"


def counted(made: Iterator[dict], summary: dict, bar) -> Iterator[dict]:
    """The rows of ``made``, each added to ``summary`` and to the progress ``bar`` as it passes."""
    for row in made:
        summary["rows"] += 1
        summary["families"][row["domain"]] = summary["families"].get(row["domain"], 0) + 1
        if "teacher_correct" in summary:
            meta = json.loads(row["metadata"])
            for key in ("teacher_correct", "gave_up", "waits"):
                summary[key] += meta[key]
        if "wrong_steps" in summary:
            summary["steps"] += len(row["labels"])
            summary["wrong_steps"] += row["labels"].count(False)
            summary["perturbed"] += row["perturbed"]
        bar.update(1)
        yield row
