"""The transformers backend: batched KV-cache budget forcing changes nothing but speed.

Reference: for each sequence, a plain step-by-step greedy decode that re-encodes the whole context
(no cache, no batch, no padding) at every position, feeding the same forced tokens. Every token
the backend reports as sampled must be that decode's argmax.
"""

from __future__ import annotations

import pytest

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.formats import render_prompt, resolve_format

torch = pytest.importorskip("torch", reason="the transformers backend needs the [hf] extra")

QUESTIONS = [
    "What is 2+2?",
    "Name three colors of the rainbow, and explain why the sky looks blue on a clear day.",
    "Count to three.",
    "How many r's are in the word raspberry?",
]

BUDGETS = {
    "cap": BudgetConfig(max_thinking_tokens=12, num_ignore=4, max_answer_tokens=10),
    "ignore": BudgetConfig(max_thinking_tokens=40, num_ignore=2, max_answer_tokens=10),
    "min": BudgetConfig(max_thinking_tokens=40, min_thinking_tokens=30, max_answer_tokens=10),
}

# A gap this small between the batched and the reference argmax is a floating-point tie, not a bug.
TIE_TOLERANCE = 1e-4


def reference_check(backend, question: str, gen, fmt: str) -> int:
    """Replay gen step by step without a cache; return how many sampled tokens were checked."""
    tok = backend.tokenizer
    ids = tok.encode(render_prompt(question, resolve_format(fmt, tok), tok))
    assert len(ids) == gen.prompt_tokens
    checked = 0
    with torch.inference_mode():
        for position, (token, forced) in enumerate(zip(gen.token_ids, gen.forced_mask)):
            if not forced:
                logits = backend.model(torch.tensor([ids])).logits[0, -1]
                best = int(logits.argmax())
                gap = float(logits[best] - logits[token])
                assert token == best or gap < TIE_TOLERANCE, (
                    f"{question!r}: position {position} sampled {token} but step-by-step argmax is {best} (gap {gap})"
                )
                checked += 1
            ids.append(token)
    return checked


@pytest.mark.parametrize("budget_name", sorted(BUDGETS))
@pytest.mark.parametrize("model_fixture, fmt", [("tiny_llama", "s1"), ("tiny_qwen2", "think-tags")])
def test_kv_cache_batched_greedy_equals_step_by_step(request, model_fixture, fmt, budget_name):
    backend = request.getfixturevalue(model_fixture)
    budget = BUDGETS[budget_name]
    gens = generate_with_budget(backend, QUESTIONS, budget, SamplingConfig(), fmt=fmt, batch_size=4, progress=False)
    checked = sum(reference_check(backend, q, g, fmt) for q, g in zip(QUESTIONS, gens))
    assert checked > 0
    for g in gens:
        assert g.thinking_tokens <= budget.max_thinking_tokens
    # The case must exercise what it is named for.
    if budget_name == "cap":
        assert any(g.forced_end for g in gens)
    else:
        assert any(g.waits_inserted > 0 for g in gens)
    if budget_name == "ignore":
        assert all(g.waits_inserted == 2 or g.forced_end for g in gens)
    if budget_name == "min":
        assert all(g.thinking_tokens >= 30 for g in gens)


@pytest.mark.slow
@pytest.mark.parametrize("budget_name", ["ignore"])  # caps and extends; the tiny models cover the rest
def test_smollm2_greedy_equals_step_by_step(smollm2_backend, budget_name):
    budget = BUDGETS[budget_name]
    questions = QUESTIONS[:2]
    gens = generate_with_budget(smollm2_backend, questions, budget, SamplingConfig(), fmt="s1", batch_size=2, progress=False)
    assert sum(reference_check(smollm2_backend, q, g, "s1") for q, g in zip(questions, gens)) > 0
    assert sum(g.forced_tokens for g in gens) > 0


def test_output_does_not_depend_on_batch_size(tiny_llama):
    """Rows finish at different times and are dropped from the batch; the rest must not notice."""
    budget = BUDGETS["ignore"]
    one = generate_with_budget(tiny_llama, QUESTIONS, budget, fmt="s1", batch_size=1, progress=False)
    together = generate_with_budget(tiny_llama, QUESTIONS, budget, fmt="s1", batch_size=4, progress=False)
    assert len({len(g.token_ids) for g in together}) > 1, "rows should finish at different steps"
    assert [g.token_ids for g in one] == [g.token_ids for g in together]


def test_seed_makes_sampling_reproducible(tiny_llama):
    budget = BudgetConfig(max_thinking_tokens=24, max_answer_tokens=8)

    def run(seed, batch_size=4):
        sampling = SamplingConfig(temperature=1.0, top_p=0.95, seed=seed)
        return [g.token_ids for g in generate_with_budget(tiny_llama, QUESTIONS, budget, sampling, fmt="s1", batch_size=batch_size, progress=False)]

    first = run(seed=7)
    assert run(seed=7) == first
    assert run(seed=7, batch_size=1) == first, "a row's draws must not depend on its batch"
    assert run(seed=8) != first
    greedy = [g.token_ids for g in generate_with_budget(tiny_llama, QUESTIONS, budget, fmt="s1", progress=False)]
    assert greedy != first


def test_think_tags_render_and_cap(tiny_qwen2):
    [g] = generate_with_budget(tiny_qwen2, ["What is 2+2?"], BudgetConfig(max_thinking_tokens=8, max_answer_tokens=4),
                               fmt="auto", progress=False)
    assert g.thinking_tokens <= 8
    if g.forced_end:
        assert g.text.count("</think>") == 1
        assert "\n</think>\n\nFinal Answer:" in g.text
        assert g.answer.startswith("Final Answer:")


def test_context_limit_stops_with_length(tiny_llama_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from s1kit.backends.hf import HFBackend

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    model.config.max_position_embeddings = 60
    backend = HFBackend(model="short-context", model_obj=model, tokenizer_obj=AutoTokenizer.from_pretrained(tiny_llama_dir))
    [g] = generate_with_budget(backend, ["Hi"], BudgetConfig(max_thinking_tokens=200, min_thinking_tokens=200), fmt="s1", progress=False)
    assert g.prompt_tokens + len(g.token_ids) == 60
    assert g.finish_reason == "length"
