"""Running a method's points: per point one generation per unit, points that share a prompt in one sweep."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from s1kit.budget.config import SamplingConfig
from s1kit.budget.result import Generation
from s1kit.methods.points import MethodPoint


@dataclass
class PointRun:
    """A point's results for a chunk of units, in unit order."""

    point: MethodPoint
    generations: list[Generation]
    decoded: list[int]
    """Tokens the backend produced for each unit at this point (see sweep.SweepResult.decoded)."""
    extras: list[dict] = field(default_factory=list)
    """Method-specific row fields per unit (rejection: tries, accepted); empty: none."""


def run_prepared(backend, questions: Sequence[str], budget, sampling: SamplingConfig, seeds: Sequence[int], fmt: str,
                 system_prompt: str | None, batch_size: int, prepare) -> tuple[list, list[Generation]]:
    """One generation per unit at ``budget``, each unit's state set up by ``prepare(state)`` before it
    runs (a method's start: the thinking ended, scores asked for); the states and their generations."""
    from s1kit.budget.forcing import context_room, render_ids
    from s1kit.budget.state import BudgetTokens, SequenceState

    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    tokens = BudgetTokens.build(chat_format, budget, tok)
    states = []
    for room in context_room(backend, prompt_ids):
        state = SequenceState(budget, tokens, max_new_tokens=room)
        prepare(state)
        states.append(state)
    backend.run(prompt_ids, states, sampling, seeds, batch_size=batch_size, progress=False)
    return states, [Generation.from_state(q, len(ids), st, tok, seed)
                    for q, ids, st, seed in zip(questions, prompt_ids, states, seeds)]


def with_instruction(question: str, instruction: str) -> str:
    return f"{question}\n\n{instruction}" if instruction else question


def run_grouped(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int) -> list[PointRun]:
    """Points that share a prompt share one sweep (sweep.py); each other prompt is its own sweep."""

    from s1kit.budget.sweep import Point, run_sweep

    groups: dict[tuple, list[MethodPoint]] = {}
    for point in points:
        groups.setdefault((point.instruction, point.wait_string), []).append(point)
    runs = []
    for (instruction, wait), members in groups.items():
        prompts = [with_instruction(q, instruction) for q in questions]
        budget = base if wait is None else dataclasses.replace(base, wait_string=wait)
        result = run_sweep(backend, prompts, [Point(p.cap, p.num_ignore) for p in members], budget, sampling,
                           seeds=seeds, fmt=fmt, system_prompt=system_prompt, batch_size=batch_size, progress=False)
        for p in members:
            sweep_point = Point(p.cap, p.num_ignore)
            runs.append(PointRun(p, result.generations[sweep_point], result.decoded[sweep_point]))
    return runs
