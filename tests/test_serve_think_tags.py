"""`s1kit serve` on a think-tags model (a tiny random Qwen2 with <think> and </think>): greedy
budget-forced chat completions equal `s1kit generate --backend hf`, streamed or not."""

from __future__ import annotations

import dataclasses

import pytest

from cross_backend import BUDGETS, QUESTIONS
from s1kit.budget.forcing import generate_with_budget

openai = pytest.importorskip("openai", reason="the server tests call it with the [openai] extra's SDK")


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_think_tags_chat_equals_generate_on_hf(tiny_qwen2_server, tiny_qwen2, name):
    client = openai.OpenAI(base_url=tiny_qwen2_server.url, api_key=tiny_qwen2_server.key, max_retries=0)
    budget = BUDGETS[name]
    want = generate_with_budget(tiny_qwen2, QUESTIONS, budget, fmt="think-tags", progress=False)
    for question, g in zip(QUESTIONS, want):
        reply = client.chat.completions.create(model="tiny-qwen2", messages=[{"role": "user", "content": question}],
                                               temperature=0, extra_body=dataclasses.asdict(budget))
        choice = reply.model_dump()["choices"][0]
        assert choice["message"]["reasoning_content"] == g.thinking and choice["message"]["content"] == g.answer
        assert choice["s1kit"]["forced_spans"] == g.forced_spans
        assert (choice["s1kit"]["thinking_tokens"], choice["s1kit"]["waits_inserted"], choice["s1kit"]["forced_end"]) == (
            g.thinking_tokens, g.waits_inserted, g.forced_end)
    assert any(g.forced_spans for g in want)


def test_think_tags_stream_equals_the_whole_reply(tiny_qwen2_server):
    client = openai.OpenAI(base_url=tiny_qwen2_server.url, api_key=tiny_qwen2_server.key, max_retries=0)
    budget = dataclasses.asdict(BUDGETS["ignore"])
    messages = [{"role": "user", "content": QUESTIONS[1]}]
    whole = client.chat.completions.create(model="tiny-qwen2", messages=messages, temperature=0, extra_body=budget)
    thinking = answer = ""
    for chunk in client.chat.completions.create(model="tiny-qwen2", messages=messages, temperature=0, stream=True,
                                                extra_body=budget):
        for choice in chunk.model_dump()["choices"]:
            thinking += choice["delta"].get("reasoning_content") or ""
            answer += choice["delta"].get("content") or ""
    message = whole.model_dump()["choices"][0]["message"]
    assert (thinking, answer) == (message["reasoning_content"], message["content"])
