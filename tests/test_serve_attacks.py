"""`s1kit serve s1-nano` against requests an adversary or a careless client sends, over HTTP: none
may stop the server, get past its key, force a budget the server did not make, or make a budget
silently not apply; after each the server still answers a forced request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY
from test_serve_trust import BAD_SPECS

pytest.importorskip("openai", reason="the server tests call it with the [openai] extra's SDK")

QUESTION = "a3b4<think>"
"""A nano question whose forced replies are short."""


def post(server, path: str, body, key: str | None = "server", headers=()) -> tuple[int, dict | str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(server.url.removesuffix("/v1") + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **dict(headers)})
    if key is not None:
        request.add_header("Authorization", f"Bearer {server.key if key == 'server' else key}")
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            status, text = reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def chat(**extra) -> dict:
    return {"model": "s1-nano", "messages": [{"role": "user", "content": "a3b4"}], "temperature": 0, **extra}


def still_serves(server) -> None:
    status, reply = post(server, "/v1/chat/completions", chat(max_thinking_tokens=4, max_answer_tokens=4))
    assert status == 200 and reply["choices"][0]["s1kit"]["thinking_tokens"] <= 4, reply


def test_the_spec_that_killed_the_server_does_not_reach_its_engine(nano_server):
    crash = {"budget": {}, "tokens": {}, "max_new_tokens": None}
    without_key = {"prompt": "hi", "max_tokens": 2, "vllm_xargs": {EXTRA_ARGS_KEY: json.dumps(crash)}}
    assert post(nano_server, "/invocations", without_key, key=None)[0] == 401
    status, reply = post(nano_server, "/invocations", {**without_key, "model": "s1-nano"})
    assert status == 200 and "s1kit" not in reply["choices"][0]  # the client's spec was dropped: a plain request
    still_serves(nano_server)


@pytest.mark.parametrize("name", ["the crash of record", "an id past the vocabulary", "a list", "nested too deep",
                                  "a seed past 64 bits", "no end of turn", "a marks key that is a path"])
def test_no_client_spec_stops_the_server(nano_server, name):
    spec = BAD_SPECS[name]
    text = spec if isinstance(spec, str) else json.dumps(spec)
    for path, body in (("/v1/completions", {"prompt": "hi", "max_tokens": 2}), ("/v1/chat/completions", chat(max_tokens=2)),
                       ("/v1/completions", {"prompt": "hi", "max_tokens": 2, "max_thinking_tokens": 1})):
        status, reply = post(nano_server, path, {"model": "s1-nano", **body, "vllm_xargs": {EXTRA_ARGS_KEY: text}})
        assert status == 200, reply
    still_serves(nano_server)


def test_a_well_formed_spec_the_server_did_not_make_forces_nothing_and_leaves_no_file(nano_server):
    from s1kit.backends import marks_file
    from s1kit.backends.forcing_channel import request_spec
    from s1kit.backends.hf import tokenizer_with_generation_eos
    from s1kit.budget.config import BudgetConfig
    from s1kit.budget.state import BudgetTokens, SequenceState
    from s1kit.formats import FORMATS
    from s1kit.models import builtin_path

    tokenizer = tokenizer_with_generation_eos(str(builtin_path("s1-nano")), "s1-nano")
    budget = BudgetConfig(num_ignore=50)
    spec = {**request_spec(SequenceState(budget, BudgetTokens.build(FORMATS["s1"], budget, tokenizer)), 0),
            marks_file.SPEC_KEY: marks_file.new_key()}
    status, reply = post(nano_server, "/v1/completions", {"model": "s1-nano", "prompt": QUESTION, "max_tokens": 40,
                                                          "temperature": 0, "vllm_xargs": {EXTRA_ARGS_KEY: json.dumps(spec)}})
    assert status == 200 and "s1kit" not in reply["choices"][0] and "Wait" not in reply["choices"][0]["text"]
    [directory] = marks_file.server_dirs(nano_server.pid)
    assert not (directory / spec[marks_file.SPEC_KEY]).exists()


@pytest.mark.parametrize("path, body", [
    ("/v1/responses", {"model": "s1-nano", "input": "a3b4", "max_thinking_tokens": 4}),
    ("/v1/messages", {"model": "s1-nano", "max_tokens": 4, "messages": [{"role": "user", "content": "a3b4"}],
                      "num_ignore": 1}),
    ("/v1/chat/completions/batch", {"model": "s1-nano", "messages": [[{"role": "user", "content": "a3b4"}]],
                                    "max_thinking_tokens": 4}),
])
def test_routes_that_cannot_be_forced_refuse_budgets(nano_server, path, body):
    status, reply = post(nano_server, path, body)
    assert status == 400 and path in reply["error"]["message"], reply
    still_serves(nano_server)


@pytest.mark.parametrize("path", ["/invocations", "/tokenize", "/v1/responses", "/inference/v1/generate"])
def test_the_key_guards_routes_vllm_leaves_open(nano_server, path):
    assert post(nano_server, path, {"model": "s1-nano", "prompt": "hi", "max_tokens": 2}, key=None)[0] == 401
    assert post(nano_server, path, {"model": "s1-nano", "prompt": "hi"}, key="wrong")[0] == 401


def test_two_authorization_headers_are_read_as_vllm_reads_them(nano_server):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", nano_server.port, timeout=60)
    body = json.dumps(chat(max_thinking_tokens=4, max_answer_tokens=2))
    connection.putrequest("POST", "/v1/chat/completions")
    for value in ("Bearer wrong", f"Bearer {nano_server.key}"):
        connection.putheader("Authorization", value)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body.encode())
    assert connection.getresponse().status == 401  # the first header decides, for vLLM and for s1kit


@pytest.mark.parametrize("stream", [False, True])
def test_a_forced_reply_ends_at_its_stop_string(nano_server, stream):
    import openai

    client = openai.OpenAI(base_url=nano_server.url, api_key=nano_server.key)
    budget = {"max_thinking_tokens": 64, "max_answer_tokens": 8}
    plain = client.chat.completions.create(model="s1-nano", messages=[{"role": "user", "content": "a3b4"}],
                                           temperature=0, extra_body=budget)
    thinking = plain.choices[0].message.model_dump()["reasoning_content"]
    stop = thinking[len(thinking) // 2:][:3]  # a piece of the thinking the model writes
    kwargs = dict(model="s1-nano", messages=[{"role": "user", "content": "a3b4"}], temperature=0, stop=[stop],
                  extra_body=budget)
    if stream:
        chunks = list(client.chat.completions.create(stream=True, **kwargs))
        text = "".join(c.choices[0].delta.model_dump().get("reasoning_content") or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        reply = client.chat.completions.create(**kwargs).choices[0]
        text, finish = reply.message.model_dump()["reasoning_content"], reply.finish_reason
    assert finish == "stop" and stop not in text and thinking.startswith(text) and len(text) < len(thinking)


def test_a_forced_completion_without_max_tokens_runs_to_the_context(nano_server):
    status, reply = post(nano_server, "/v1/completions", {"model": "s1-nano", "prompt": QUESTION, "num_ignore": 1,
                                                          "temperature": 0})
    assert status == 200, reply
    assert reply["choices"][0]["s1kit"]["waits_inserted"] == 1 and reply["choices"][0]["finish_reason"] == "stop"


def test_a_completion_prompt_that_closed_its_thinking_is_all_answer(nano_server):
    prompt = "<|im_start|>user\na3b4<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\nb4+3=7\n<|im_start|>answer\n"
    status, reply = post(nano_server, "/v1/completions", {"model": "s1-nano", "prompt": prompt, "max_thinking_tokens": 4,
                                                          "temperature": 0, "max_tokens": 8})
    assert status == 200, reply
    extension = reply["choices"][0]["s1kit"]
    assert extension["thinking_tokens"] == 0 and extension["answer_tokens"] > 0 and extension["forced_spans"] == []


@pytest.mark.parametrize("body, param", [
    (chat(max_thinking_tokens=4, response_format={"type": "json_object"}), "response_format"),
    (chat(max_thinking_tokens=4, use_beam_search=True), "use_beam_search"),
    (chat(max_thinking_tokenz=4), "max_thinking_tokenz"),
    (chat(reasoning_effort=["low"]), "reasoning_effort"),
])
def test_a_field_that_would_be_ignored_or_break_the_budget_is_a_400(nano_server, body, param):
    status, reply = post(nano_server, "/v1/chat/completions", body)
    assert status == 400 and reply["error"]["param"] == param, reply
    still_serves(nano_server)


def test_a_body_nested_too_deep_is_a_400(nano_server):
    body = b'{"model": "s1-nano", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, reply = post(nano_server, "/v1/chat/completions", body)
    assert status == 400 and "nests too deeply" in reply["error"]["message"]
    still_serves(nano_server)
