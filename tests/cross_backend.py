"""Cases shared by the tests that compare backends with the `hf` reference (vllm, openai)."""

from s1kit.budget.config import BudgetConfig

QUESTIONS = [
    "What is 2+2?",
    "How many r's are in the word raspberry?",
    "Describe the water cycle.",
    "Count to three.",
]
BUDGETS = {
    "cap": BudgetConfig(max_thinking_tokens=24, num_ignore=4, max_answer_tokens=10),
    "ignore": BudgetConfig(max_thinking_tokens=40, num_ignore=2, max_answer_tokens=10),
    "min": BudgetConfig(max_thinking_tokens=40, min_thinking_tokens=30, max_answer_tokens=10),
}
NANO_QUESTIONS = [
    "A3 B8 C5 D1 E9 F2: which plus 6 makes 15?",
    "A7 B2 C9 D4 E6: sum them.",
    "A4 B2 C4 D9 E4 F1 G4: count the 4s.",
    "A1 B6 C2 D8 E3 F5 G7 H9 I4: which plus 2 makes 11?",
]
"""Held-out-style problems for s1-nano: a search that stops early, and two scans."""
NANO_BUDGETS = {
    "cap": BudgetConfig(max_thinking_tokens=16, max_answer_tokens=8),
    "ignore": BudgetConfig(max_thinking_tokens=160, num_ignore=2, max_answer_tokens=8),
    "min": BudgetConfig(max_thinking_tokens=120, min_thinking_tokens=60, max_answer_tokens=8),
}
SEEDED_BUDGET = BudgetConfig(max_thinking_tokens=32, num_ignore=1, max_answer_tokens=8)
"""Budget of the seeded-sampling checks."""


def assert_same(got, want):
    """Two backends produced the same generations: tokens, forced positions, spans and counts."""
    for g, w in zip(got, want, strict=True):
        assert g.token_ids == w.token_ids, f"{g.prompt!r}: tokens differ"
        assert g.forced_mask == w.forced_mask, f"{g.prompt!r}: forced positions differ"
        assert (g.thinking_tokens, g.answer_tokens, g.waits_inserted, g.forced_end, g.finish_reason) == (
            w.thinking_tokens, w.answer_tokens, w.waits_inserted, w.forced_end, w.finish_reason)
        assert g.forced_spans == w.forced_spans


def seeded_runs_agree(backend):
    """Sample twice with seed 3 and once with seed 4 (temperature 1); same seed must give the same
    tokens, another seed other tokens. Returns the first run, for budget checks."""
    from s1kit.budget.config import SamplingConfig
    from s1kit.budget.forcing import generate_with_budget

    budget = SEEDED_BUDGET
    first = generate_with_budget(backend, NANO_QUESTIONS, budget, SamplingConfig(temperature=1.0, seed=3), fmt="s1", progress=False)
    again = generate_with_budget(backend, NANO_QUESTIONS, budget, SamplingConfig(temperature=1.0, seed=3), fmt="s1", progress=False)
    assert [g.token_ids for g in first] == [g.token_ids for g in again]
    other = generate_with_budget(backend, NANO_QUESTIONS, budget, SamplingConfig(temperature=1.0, seed=4), fmt="s1", progress=False)
    assert [g.token_ids for g in other] != [g.token_ids for g in first]
    return first



def assert_sweep_matches(backend, reference, questions=NANO_QUESTIONS):
    """A sweep over caps and ignores gives the reference backend's generations and token counts,
    and some points continued an answer (the path the sweep adds to each backend)."""
    from s1kit.budget.config import SamplingConfig
    from s1kit.budget.sweep import Point, run_sweep

    grid = [Point(cap, k) for cap in (6, 12, 40) for k in (0, 2)]
    base = BudgetConfig(max_answer_tokens=8)
    seeds = list(range(len(questions)))
    got = run_sweep(backend, questions, grid, base, SamplingConfig(), seeds, fmt="s1", progress=False)
    want = run_sweep(reference, questions, grid, base, SamplingConfig(), seeds, fmt="s1", progress=False)
    for point in grid:
        assert_same(got.generations[point], want.generations[point])
    assert got.decoded == want.decoded
    assert got.decoded_tokens > got.top_tokens
