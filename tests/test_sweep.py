"""Sweeps that share work (sweep.py): one trajectory per unit, every point equal to its own run.

Greedy decoding makes "each point keeps its distribution" checkable token for token: a point
taken from the shared trajectory must be exactly what an independent run of that point gives.
"""

from __future__ import annotations

import pytest

from cross_backend import QUESTIONS, assert_same
from s1kit.backends.scripted import ScriptedBackend
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.budget.state import Phase, SequenceState
from s1kit.budget.sweep import Point, follow, run_sweep, top_point

BASE = BudgetConfig(max_answer_tokens=6)
GRID = [Point(cap, k) for cap in (4, 10, 24, 40) for k in (0, 1, 3)]


def independent(backend, point, fmt):
    return generate_with_budget(backend, QUESTIONS, point.budget(BASE), fmt=fmt, progress=False)


@pytest.mark.parametrize("model, fmt", [("tiny_llama", "s1"), ("tiny_qwen2", "think-tags")])
def test_every_point_equals_its_own_greedy_run(request, model, fmt):
    backend = request.getfixturevalue(model)
    result = run_sweep(backend, QUESTIONS, GRID, BASE, SamplingConfig(), seeds=list(range(len(QUESTIONS))),
                       fmt=fmt, progress=False)
    assert set(result.generations) == set(GRID)
    for point in GRID:
        assert_same(result.generations[point], independent(backend, point, fmt))
    # Shorter budgets were cut from the top trajectory: far fewer tokens than independent runs.
    assert result.top_tokens <= result.decoded_tokens < result.independent_tokens
    waits = sum(g.waits_inserted for g in result.generations[top_point(GRID)])
    capped = sum(g.forced_end for g in result.generations[Point(4, 0)])
    assert waits > 0 and capped > 0, "the grid must exercise both the cap and the ignores"


def test_sampled_points_respect_their_budgets_and_are_reproducible(tiny_llama):
    sampling = SamplingConfig(temperature=1.0, seed=5)
    def run():
        return run_sweep(tiny_llama, QUESTIONS, GRID, BASE, sampling, seeds=[11, 12, 13, 14], fmt="s1", progress=False)
    first, again = run(), run()
    for point in GRID:
        gens = first.generations[point]
        assert [g.token_ids for g in gens] == [g.token_ids for g in again.generations[point]]
        for g in gens:
            assert g.thinking_tokens <= point.max_thinking_tokens
            assert g.waits_inserted <= point.num_ignore


def _trajectory(script: str, budget: BudgetConfig) -> SequenceState:
    backend = ScriptedBackend(script)
    states = []
    original = backend.run

    def keep(prompt_ids, run_states, *args, **kwargs):
        states.extend(run_states)
        return original(prompt_ids, run_states, *args, **kwargs)

    backend.run = keep
    generate_with_budget(backend, ["q"], budget, fmt="s1", progress=False)
    return states[0]


@pytest.mark.parametrize(
    "point, diverged, kind, thinking",
    [
        (Point(12, 2), False, "end", 6 + 2),  # the top point itself: nothing differs
        (Point(12, 1), True, "end", 4 + 1),  # its last ignore spent: ends at the 2nd end attempt
        (Point(12, 0), True, "end", 2),
        (Point(5, 2), True, "cap", 5),  # its cap bites inside the trajectory's second stretch
        (Point(3, 2), True, "cap", 3),  # the wait no longer fits under 3: ends like the cap
        (Point(2, 2), True, "cap", 2),
    ],
)
def test_follow_stops_where_the_point_decides_otherwise(point, diverged, kind, thinking):
    tokens_budget = BudgetConfig(max_thinking_tokens=12, num_ignore=2, max_answer_tokens=4)
    trajectory = _trajectory("a b<|im_end|> c d<|im_end|> e f<|im_end|> g", tokens_budget)
    state = SequenceState(point.budget(tokens_budget), trajectory.tokens)
    assert follow(trajectory, state) is diverged
    assert state.spans[-1].kind == kind and state.thinking_tokens == thinking
    if diverged:
        assert state.phase is Phase.ANSWER and not state.queue
        assert state.output[: len(state.output) - 1] != trajectory.output[: len(state.output) - 1] or state.forced[-1]
    else:
        assert state.output == trajectory.output and state.done


def test_top_point_takes_the_largest_cap_and_most_ignores():
    assert top_point([Point(4, 0), Point(16, 1), Point(8, 3)]) == Point(16, 3)
    assert top_point([Point(None, 0), Point(8, 2)]) == Point(None, 2)


LONG_THINKING = " ".join(f"w{i % 7}" for i in range(60))


def test_follow_takes_the_free_stretches_at_once(monkeypatch):
    """Only the positions where a point decides something are shown one by one (observe); the
    model's tokens between them are taken in one step (SequenceState.observe_all)."""
    budget = BudgetConfig(max_thinking_tokens=200, num_ignore=1, max_answer_tokens=4)
    trajectory = _trajectory(f"{LONG_THINKING}<|im_end|> {LONG_THINKING}<|im_end|> g", budget)
    calls = []
    original = SequenceState.observe

    def counted(self, token, forced):
        calls.append(token)
        return original(self, token, forced)

    monkeypatch.setattr(SequenceState, "observe", counted)
    state = SequenceState(Point(200, 1).budget(budget), trajectory.tokens)
    assert follow(trajectory, state) is False and state.output == trajectory.output
    assert len(trajectory.output) > 120 and len(calls) < 20


def test_observe_all_can_stop_where_the_state_parts_from_the_tokens():
    budget = BudgetConfig(max_thinking_tokens=12, num_ignore=2, max_answer_tokens=4)
    trajectory = _trajectory("a b<|im_end|> c d<|im_end|> e f<|im_end|> g", budget)
    state = SequenceState(Point(12, 0).budget(budget), trajectory.tokens)
    forced = [i for i, f in enumerate(trajectory.forced) if f]
    parted = state.observe_all(trajectory.output, forced, until_mismatch=True)
    assert parted is not None and trajectory.output[:parted] == state.output[:parted]
    assert state.output[parted] != trajectory.output[parted]
    assert len(state.output) == parted + 1, "nothing of the tokens after the parting is taken"
