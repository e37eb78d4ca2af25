"""Rejection sampling (s1, Section 3.1 and Figure 6): sample until the thinking fits the budget.

Each try is an ordinary sample (temperature above 0; s1 used 1). A try *fits* budget N when the
model ends its thinking by itself within N tokens. The accepted sample for N is the first try that
fits: a draw from the model's distribution conditioned on thinking at most N tokens.

One stream of tries serves every budget: tries are i.i.d., so for each budget the first fitting
try of a shared stream is exactly that budget's rejection sample (budgets are coupled, as in a
sweep, but each is exact). The stream stops when every budget has its sample or after
``max_tries``; a budget left without one keeps the last try, marked ``accepted: false`` (it
counts against Control). Tries are capped at the largest budget + 1 thinking tokens: a try that
reaches that many fits no budget, so thinking further would be wasted.

s1 reports 655, 97, 8, 3 and 2 tries per sample on average for its budgets from 3,500 to 16,000
tokens, and an inverse scaling trend: shorter accepted samples are more often right.
"""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.budget.config import SamplingConfig
from s1kit.budget.forcing import request_seed
from s1kit.methods.point_run import PointRun
from s1kit.methods.points import MethodPoint


def fits(generation, budget: int) -> bool:
    """The model ended its thinking by itself within the budget."""
    return not generation.forced_end and generation.thinking_tokens <= budget


def run_rejection(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                  seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int,
                  max_tries: int) -> list[PointRun]:
    """Every point's accepted sample for every unit, from one stream of tries per unit."""
    from s1kit.budget.sweep import Point, run_sweep

    budgets = sorted(p.budget for p in points)
    stream_cap = Point(max(budgets) + 1, 0)
    accepted: list[dict[int, tuple]] = [{} for _ in questions]  # unit -> budget -> (generation, tries)
    last: list = [None] * len(questions)
    decoded = [0] * len(questions)
    tries = 0
    pending = list(range(len(questions)))
    while pending and tries < max_tries:
        # Try t of unit i has its own seed, whatever happened to other units.
        result = run_sweep(backend, [questions[i] for i in pending], [stream_cap], base, sampling,
                           seeds=[request_seed(seeds[i], tries) for i in pending], fmt=fmt,
                           system_prompt=system_prompt, batch_size=batch_size, progress=False)
        tries += 1
        for j, i in enumerate(pending):
            generation = result.generations[stream_cap][j]
            last[i] = generation
            decoded[i] += result.decoded[stream_cap][j]
            for budget in budgets:
                if budget not in accepted[i] and fits(generation, budget):
                    accepted[i][budget] = (generation, tries)
        pending = [i for i in pending if len(accepted[i]) < len(budgets)]
    runs = []
    for point in sorted(points, key=lambda p: p.budget):
        generations, extras = [], []
        for i in range(len(questions)):
            # A budget without a fitting try belongs to a unit that made every try.
            generation, used = accepted[i].get(point.budget, (last[i], tries))
            generations.append(generation)
            extras.append({"tries": used, "accepted": point.budget in accepted[i]})
        runs.append(PointRun(point, generations, [0] * len(questions), extras))
    # The stream's tokens, once per unit: on the point that needed the most tries (the smallest).
    for i in range(len(questions)):
        runs[0].decoded[i] = decoded[i]
    return runs

