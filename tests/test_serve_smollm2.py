"""`s1kit serve` on SmolLM2-135M-Instruct, a real chat model that was never trained to think: greedy
budget-forced chat completions (a cap, Wait extensions, a minimum) equal `s1kit generate --backend hf`
token for token, through the official openai SDK, and a stream adds up to the whole reply."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

from cross_backend import BUDGETS, QUESTIONS
from s1kit.budget.forcing import generate_with_budget

openai = pytest.importorskip("openai", reason="the server tests call it with the [openai] extra's SDK")


@pytest.fixture(scope="module")
def client(smollm2_server):
    # Transport retries only (a keep-alive connection the server closed while idle); greedy is idempotent.
    return openai.OpenAI(base_url=smollm2_server.url, api_key=smollm2_server.key, max_retries=2)


def chat(client, question: str, budget: dict, **extra):
    return client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": question}],
                                          temperature=0, extra_body=budget, **extra)


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_smollm2_chat_equals_generate_on_hf(client, smollm2_backend, name):
    budget = BUDGETS[name]
    want = generate_with_budget(smollm2_backend, QUESTIONS, budget, fmt="s1", progress=False)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:  # one engine batch
        replies = list(pool.map(lambda q: chat(client, q, dataclasses.asdict(budget)), QUESTIONS))
    for reply, g in zip(replies, want):
        choice = reply.model_dump()["choices"][0]
        assert choice["message"]["reasoning_content"] == g.thinking and choice["message"]["content"] == g.answer
        assert choice["s1kit"]["forced_spans"] == g.forced_spans
        assert (choice["s1kit"]["thinking_tokens"], choice["s1kit"]["waits_inserted"], choice["s1kit"]["forced_end"]) == (
            g.thinking_tokens, g.waits_inserted, g.forced_end)
        assert reply.usage.completion_tokens_details.reasoning_tokens == g.thinking_tokens
    assert any(g.waits_inserted for g in want) or name == "cap"


def test_smollm2_stream_adds_up_to_the_whole_reply(client):
    budget = dataclasses.asdict(BUDGETS["ignore"])
    whole = chat(client, QUESTIONS[1], budget).choices[0].message
    thinking = answer = ""
    for chunk in chat(client, QUESTIONS[1], budget, stream=True):
        if chunk.choices:
            delta = chunk.choices[0].delta.model_dump()
            thinking += delta.get("reasoning_content") or ""
            answer += delta.get("content") or ""
    assert (thinking, answer) == (whole.model_dump()["reasoning_content"], whole.content)
