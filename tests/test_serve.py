"""`s1kit serve` for real: vLLM's server on loopback with s1kit's pieces, called with the official
openai SDK. Greedy budget-forced chat completions equal `s1kit generate --backend hf`; streaming
equals the whole reply; mixed requests in one engine batch do not affect each other; bad fields
get a 400 and the server goes on; the API key guards /v1 and never reaches the log."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from cross_backend import NANO_QUESTIONS
from s1kit.budget.config import BudgetConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.formats import FORMATS, render_prompt

openai = pytest.importorskip("openai", reason="the server tests call it with the [openai] extra's SDK")

BUDGETS = {
    "cap": {"max_thinking_tokens": 16, "max_answer_tokens": 8},
    "ignore": {"max_thinking_tokens": 160, "num_ignore": 2, "max_answer_tokens": 8},
    "min": {"max_thinking_tokens": 120, "min_thinking_tokens": 60, "max_answer_tokens": 8},
    "wait-string": {"num_ignore": 1, "wait_string": "Hmm", "max_answer_tokens": 8},
}


@pytest.fixture(scope="module")
def client(nano_server):
    # Retries only for the transport: a pooled keep-alive connection the server closed while idle
    # (uvicorn's 5 s) fails once with "Server disconnected without sending a response" on a loaded
    # machine. Greedy requests are idempotent; a server that really fails keeps failing.
    return openai.OpenAI(base_url=nano_server.url, api_key=nano_server.key, max_retries=2)


def chat(client, question, **extra):
    return client.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": question}],
                                          temperature=0, extra_body=extra)


def local(nano_backend, questions, budget):
    return generate_with_budget(nano_backend, list(questions), BudgetConfig(**budget), fmt="s1", progress=False)


def assert_like(choice: dict, g):
    """A reply's choice says what a local Generation says."""
    assert choice["message"]["reasoning_content"] == choice["message"]["reasoning"] == g.thinking
    assert choice["message"]["content"] == g.answer
    assert choice["finish_reason"] == g.finish_reason
    assert choice["s1kit"] == {"thinking_tokens": g.thinking_tokens, "answer_tokens": g.answer_tokens,
                               "waits_inserted": g.waits_inserted, "forced_end": g.forced_end,
                               "finish_reason": g.finish_reason, "forced_spans": g.forced_spans}


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_chat_completions_equal_generate_on_hf(client, nano_backend, name):
    budget = BUDGETS[name]
    want = local(nano_backend, NANO_QUESTIONS, budget)
    with ThreadPoolExecutor(4) as pool:  # one engine batch
        replies = list(pool.map(lambda q: chat(client, q, **budget), NANO_QUESTIONS))
    for reply, g in zip(replies, want):
        assert_like(reply.model_dump()["choices"][0], g)
        assert reply.usage.completion_tokens_details.reasoning_tokens == g.thinking_tokens
    assert sum(g.waits_inserted + g.forced_end for g in want) > 0  # the budgets did something


def test_completions_equal_generate_on_hf(client, nano_backend):
    budget = BUDGETS["ignore"]
    [g] = local(nano_backend, NANO_QUESTIONS[:1], budget)
    prompt = render_prompt(NANO_QUESTIONS[0], FORMATS["s1"], nano_backend.tokenizer)
    reply = client.completions.create(model="s1-nano", prompt=prompt, temperature=0,
                                      extra_body={"vllm_xargs": {k: v for k, v in budget.items()}})
    choice = reply.model_dump()["choices"][0]
    assert choice["s1kit"]["forced_spans"] == g.forced_spans and choice["s1kit"]["thinking_tokens"] == g.thinking_tokens
    assert choice["logprobs"] is None and reply.usage.completion_tokens_details.reasoning_tokens == g.thinking_tokens


@pytest.mark.parametrize("name", ["cap", "ignore"])
def test_streaming_gives_the_same_reply_split_the_same_way(client, name):
    whole = chat(client, NANO_QUESTIONS[2], **BUDGETS[name]).model_dump()["choices"][0]
    thinking = answer = ""
    last = usage = None
    stream = client.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": NANO_QUESTIONS[2]}],
                                            temperature=0, stream=True, stream_options={"include_usage": True},
                                            extra_body=BUDGETS[name])
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.model_dump()["choices"]:
            thinking += choice["delta"].get("reasoning_content") or ""
            answer += choice["delta"].get("content") or ""
            last = choice if choice.get("finish_reason") else last
    assert (thinking, answer) == (whole["message"]["reasoning_content"], whole["message"]["content"])
    assert last["s1kit"] == whole["s1kit"] and last["finish_reason"] == whole["finish_reason"]
    assert usage.completion_tokens_details.reasoning_tokens == whole["s1kit"]["thinking_tokens"]


@pytest.mark.parametrize("name", ["cap", "ignore"])
def test_include_reasoning_false_gives_the_same_answer_without_the_thinking(client, name):
    whole = chat(client, NANO_QUESTIONS[1], **BUDGETS[name]).model_dump()["choices"][0]
    bare = chat(client, NANO_QUESTIONS[1], **BUDGETS[name], include_reasoning=False).model_dump()["choices"][0]
    assert bare["message"]["content"] == whole["message"]["content"] and bare["s1kit"] == whole["s1kit"]
    assert bare["message"].get("reasoning_content") is None and bare["message"].get("reasoning") is None
    assert "token_ids" not in bare and whole["s1kit"]["thinking_tokens"] > 0


def test_marks_files_are_gone_once_their_replies_are_done(nano_server, client):
    """Requests that extend thinking learn their forced Waits from a file the engine writes."""
    from s1kit.backends import marks_file

    [directory] = marks_file.server_dirs(nano_server.pid)
    reply = chat(client, NANO_QUESTIONS[2], **BUDGETS["ignore"]).model_dump()["choices"][0]
    streamed = list(client.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": NANO_QUESTIONS[2]}],
                                                   temperature=0, stream=True, extra_body=BUDGETS["ignore"]))
    assert reply["s1kit"]["waits_inserted"] >= 1 and streamed[-1].model_dump()["choices"][0]["s1kit"] == reply["s1kit"]
    deadline = time.monotonic() + 10  # a file goes once the server has sent its reply's last byte
    while list(directory.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert directory.is_dir() and list(directory.iterdir()) == []


def test_mixed_requests_in_one_batch_do_not_affect_each_other(client):
    question = NANO_QUESTIONS[3]
    kinds = {
        "capped": lambda: chat(client, question, max_thinking_tokens=12),
        "ignore": lambda: chat(client, question, num_ignore=1),
        "plain": lambda: chat(client, question),
        "effort": lambda: client.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": question}],
                                                         temperature=0, reasoning_effort="low"),
        "two": lambda: client.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": question}],
                                                      temperature=1.0, n=2, seed=11, extra_body={"max_thinking_tokens": 40}),
    }
    alone = {name: run().model_dump() for name, run in kinds.items()}
    with ThreadPoolExecutor(len(kinds) * 2) as pool:
        together = list(pool.map(lambda name: (name, kinds[name]().model_dump()), [*kinds, *kinds]))
    for name, reply in together:
        assert [c.get("s1kit") for c in reply["choices"]] == [c.get("s1kit") for c in alone[name]["choices"]], name
        assert [c["message"]["content"] for c in reply["choices"]] == [c["message"]["content"] for c in alone[name]["choices"]]
    assert alone["plain"]["choices"][0].get("s1kit") is None  # a plain request stays plain
    assert alone["effort"]["choices"][0]["s1kit"]["thinking_tokens"] <= 512
    assert len(alone["two"]["choices"]) == 2 and all(c["s1kit"]["thinking_tokens"] <= 40 for c in alone["two"]["choices"])


BAD = [
    ({"max_thinking_tokens": -5}, "max_thinking_tokens"),
    ({"max_thinking_tokens": 2.5}, "max_thinking_tokens"),
    ({"num_ignore": "two"}, "num_ignore"),
    ({"min_thinking_tokens": 50, "max_thinking_tokens": 10}, "min_thinking_tokens"),
    ({"reasoning_effort": "ultra"}, "reasoning_effort"),
    ({"min_thinking_tokens": 4, "wait_string": ""}, "wait_string"),
    ({"num_ignore": 1, "wait_string": "<|im_start|>"}, "wait_string"),
    ({"vllm_xargs": {"max_answer_tokens": 0}}, "max_answer_tokens"),
]


@pytest.mark.parametrize("fields, param", BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)])
def test_bad_fields_get_a_400_naming_them_and_the_server_goes_on(client, fields, param):
    with pytest.raises(openai.BadRequestError) as info:
        chat(client, NANO_QUESTIONS[0], **fields)
    assert info.value.status_code == 400 and info.value.body["param"] == param and param in info.value.body["message"]
    assert chat(client, NANO_QUESTIONS[0], max_thinking_tokens=4).choices[0].finish_reason in ("stop", "length")


def get(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_health_models_and_the_api_key(nano_server, client):
    root = nano_server.url.removesuffix("/v1")
    assert get(f"{root}/health") == 200
    assert get(f"{nano_server.url}/models") == 401
    assert get(f"{nano_server.url}/models", nano_server.key) == 200
    assert [m.id for m in client.models.list().data] == ["s1-nano"]
    keyless = openai.OpenAI(base_url=nano_server.url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        keyless.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": "hi"}],
                                        extra_body={"num_ignore": -1})  # refused before its fields are read
    assert nano_server.key not in nano_server.log.read_text(errors="replace")


def test_server_log_has_no_traceback_from_bad_requests(nano_server):
    assert "Traceback" not in nano_server.log.read_text(errors="replace")


def test_plain_requests_reach_vllm_unchanged(client):
    """No budget field, no server default: vLLM's own reply, with no s1kit field."""
    reply = chat(client, NANO_QUESTIONS[0], max_tokens=12).model_dump()
    assert reply["choices"][0].get("s1kit") is None and reply["usage"]["completion_tokens"] <= 12
    assert json.dumps(reply).count("reasoning_content") == 0


def test_plain_replies_are_split_by_the_formats_reasoning_parser(client, nano_backend):
    """The model thinks on its own (it writes the opener itself): vLLM's reply, split by s1kit's
    s1 parser into reasoning and content, with the thinking counted."""
    [g] = local(nano_backend, NANO_QUESTIONS[1:2], {"max_answer_tokens": 1024})
    message = chat(client, NANO_QUESTIONS[1]).model_dump()
    assert message["choices"][0]["message"]["reasoning"] == g.thinking
    assert message["choices"][0]["message"]["content"] == g.answer
    assert message["usage"]["completion_tokens_details"]["reasoning_tokens"] == g.thinking_tokens
