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


def assert_same(got, want):
    """Two backends produced the same generations: tokens, forced positions, spans and counts."""
    for g, w in zip(got, want, strict=True):
        assert g.token_ids == w.token_ids, f"{g.prompt!r}: tokens differ"
        assert g.forced_mask == w.forced_mask, f"{g.prompt!r}: forced positions differ"
        assert (g.thinking_tokens, g.answer_tokens, g.waits_inserted, g.forced_end, g.finish_reason) == (
            w.thinking_tokens, w.answer_tokens, w.waits_inserted, w.forced_end, w.finish_reason)
        assert g.forced_spans == w.forced_spans
