"""The server's pieces without a server: request fields, the request rewrite, the reply replay
(whole and streamed), the middleware on a fake app, the chat template, and `s1kit serve --dry-run`.

Engine replies are simulated from the scripted model: its tokens, with forced ones reported at
FORCED_LOGIT, are what s1kit's processor makes vLLM return."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY
from s1kit.budget.config import BudgetConfig
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.cli import app
from s1kit.formats import FORMATS
from s1kit.serve.fields import RequestError, ServerBudget, parse_effort, request_budget, take_fields
from s1kit.serve.middleware import BudgetMiddleware, Settings
from s1kit.serve.requests import CHAT, COMPLETIONS, THINK_KWARG, finish_reply, prepare
from s1kit.serve.stream import StreamRewriter, rewrite_event, split_events
from serve_fakes import (
    PLAIN,
    QUESTION,
    TOKENIZER,
    FakeVLLM,
    call,
    channel,
    engine_marks,
    engine_run,
    entries,
    middleware_on,
    stream_events,
)

# --- request fields ---------------------------------------------------------------------------

@pytest.mark.parametrize("named, server, expected", [
    ({}, PLAIN, None),                                                   # a plain request stays plain
    ({"max_thinking_tokens": 64}, PLAIN, BudgetConfig(max_thinking_tokens=64)),
    ({"max_thinking_tokens": None, "num_ignore": 2}, PLAIN, BudgetConfig(num_ignore=2)),
    ({}, ServerBudget.from_settings("low=8", max_thinking_tokens=32), BudgetConfig(max_thinking_tokens=32)),
    ({"num_ignore": 1}, ServerBudget.from_settings("low=8", max_thinking_tokens=32),
     BudgetConfig(max_thinking_tokens=32, num_ignore=1)),                # the server's defaults under the request's
    ({"reasoning_effort": "low"}, ServerBudget.from_settings("low=8,high=99"), BudgetConfig(max_thinking_tokens=8)),
    ({"reasoning_effort": "low", "max_thinking_tokens": 5}, ServerBudget.from_settings("low=8"),
     BudgetConfig(max_thinking_tokens=5)),                               # an explicit cap wins over the effort
    ({"wait_string": "Hmm", "answer_prefix": "", "max_answer_tokens": 9}, PLAIN,
     BudgetConfig(wait_string="Hmm", answer_prefix="", max_answer_tokens=9)),
])
def test_request_budget(named, server, expected):
    assert request_budget(named, server) == expected


@pytest.mark.parametrize("named, param, message", [
    ({"max_thinking_tokens": -1}, "max_thinking_tokens", r"positive integer, got -1"),
    ({"max_thinking_tokens": 0}, "max_thinking_tokens", r"got 0"),
    ({"max_thinking_tokens": 2.5}, "max_thinking_tokens", r"got 2.5"),
    ({"max_thinking_tokens": "64"}, "max_thinking_tokens", r"got '64'"),
    ({"max_thinking_tokens": True}, "max_thinking_tokens", r"got True"),
    ({"min_thinking_tokens": -3}, "min_thinking_tokens", r"non-negative integer"),
    ({"num_ignore": 1.0}, "num_ignore", r"got 1.0"),
    ({"max_answer_tokens": 0}, "max_answer_tokens", r"positive integer"),
    ({"min_thinking_tokens": 10, "max_thinking_tokens": 5}, "min_thinking_tokens", r"\(10\) exceeds max_thinking_tokens \(5\)"),
    ({"min_thinking_tokens": 1, "wait_string": ""}, "wait_string", r"wait_string is empty"),
    ({"wait_string": 7}, "wait_string", r"must be a string"),
    ({"reasoning_effort": "extreme"}, "reasoning_effort", r"unknown reasoning_effort 'extreme'; this server knows low, medium, high"),
])
def test_bad_request_fields_name_the_field(named, param, message):
    with pytest.raises(RequestError, match=message) as info:
        request_budget(named, PLAIN)
    assert info.value.param == param


def test_fields_come_from_the_top_level_or_vllm_xargs():
    body = {"model": "m", "num_ignore": 1, "vllm_xargs": {"num_ignore": 3, "max_thinking_tokens": 9}, "temperature": 0}
    assert take_fields(body) == {"num_ignore": 1, "max_thinking_tokens": 9}  # the top level wins
    assert body == {"model": "m", "temperature": 0}                          # vLLM never sees them
    body = {"vllm_xargs": {"other": 1, "wait_string": "Hm"}}
    assert take_fields(body) == {"wait_string": "Hm"} and body == {"vllm_xargs": {"other": 1}}


@pytest.mark.parametrize("text, levels", [("low=512,medium=2048,high=8192", {"low": 512, "medium": 2048, "high": 8192}),
                                          ("fast=16", {"fast": 16}), ("", {})])
def test_parse_effort(text, levels):
    assert parse_effort(text) == levels


@pytest.mark.parametrize("text", ["low", "low=x", "low=0", "=5"])
def test_parse_effort_refuses(text):
    with pytest.raises(Exception, match=r"is not level=TOKENS"):
        parse_effort(text)


def test_a_wait_string_with_a_delimiter_is_refused():
    for wait in ("<|im_start|>", "ok <|im_end|>"):
        with pytest.raises(RequestError, match="holds an end-of-thinking or end-of-turn token") as info:
            prepare({"num_ignore": 1, "wait_string": wait}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
        assert info.value.param == "wait_string"


# --- the request rewrite ----------------------------------------------------------------------

def test_a_forced_chat_request_carries_its_spec_and_asks_for_the_replay():
    body = {"messages": [], "max_thinking_tokens": 16, "num_ignore": 1, "seed": 3, "chat_template_kwargs": {"x": 1}}
    request = prepare(body, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    spec = json.loads(body["vllm_xargs"][EXTRA_ARGS_KEY])
    assert spec["budget"]["max_thinking_tokens"] == 16 and spec["budget"]["num_ignore"] == 1 and spec["seed"] == 3
    assert body["logprobs"] is True and body["top_logprobs"] == 0 and body["return_tokens_as_token_ids"] is True
    assert body["chat_template_kwargs"] == {"x": 1, THINK_KWARG: True}
    assert "max_completion_tokens" not in body and "max_tokens" not in body  # chat runs to the end of the context
    assert not request.logprobs


def test_a_capped_completion_gets_room_for_its_whole_output():
    body = {"prompt": "p", "max_thinking_tokens": 16, "max_answer_tokens": 10}
    request = prepare(body, COMPLETIONS, PLAIN, TOKENIZER, FORMATS["s1"], context=1024)
    state = request.state()
    assert body["max_tokens"] == state.request_tokens() == 16 + len(state.tokens.cap_delimiter) + len(state.tokens.answer_prefix) + 10 + 1


MARKS = {"return_tokens_as_token_ids": True, "logprobs": True, "top_logprobs": 0}


@pytest.mark.parametrize("fields, marked, asks", [
    ({"max_thinking_tokens": 16}, False, {"return_token_ids": True}),       # a cap follows from the tokens alone
    ({"reasoning_effort": "low"}, False, {"return_token_ids": True}),
    ({"max_answer_tokens": 3}, False, {"return_token_ids": True}),
    ({"num_ignore": 1}, True, MARKS),                                         # a forced Wait looks like the model's own
    ({"min_thinking_tokens": 8, "max_thinking_tokens": 16}, True, MARKS),
    ({"max_thinking_tokens": 16, "logprobs": True}, True, MARKS),             # logprobs asked anyway carry the marks
])
def test_only_a_budget_that_extends_thinking_pays_for_marked_tokens(fields, marked, asks):
    body = {"messages": [], **fields}
    request = prepare(body, CHAT, ServerBudget.from_settings("low=8"), TOKENIZER, FORMATS["s1"])
    assert request.forced_positions.logprobs is marked
    assert {k: body[k] for k in asks} == asks
    if not marked:
        assert not {"logprobs", "top_logprobs", "return_tokens_as_token_ids"} & set(body)


@pytest.mark.parametrize("body, endpoint, file", [
    ({"messages": [], "num_ignore": 1}, CHAT, True),                         # one sequence: its own marks file
    ({"messages": [], "min_thinking_tokens": 8}, CHAT, True),
    ({"messages": [], "num_ignore": 1, "n": 1}, CHAT, True),
    ({"prompt": "p", "num_ignore": 1}, COMPLETIONS, True),
    ({"prompt": [5, 6, 7], "num_ignore": 1}, COMPLETIONS, True),             # one prompt, as token ids
    ({"prompt": ["p"], "num_ignore": 1}, COMPLETIONS, True),
    ({"messages": [], "num_ignore": 1, "n": 2}, CHAT, False),                # two sequences share the spec: logprobs
    ({"prompt": ["p", "q"], "num_ignore": 1}, COMPLETIONS, False),
    ({"prompt": [[5, 6], [7]], "num_ignore": 1}, COMPLETIONS, False),
    ({"messages": [], "num_ignore": 1, "logprobs": True}, CHAT, False),      # logprobs asked anyway carry the marks
])
def test_a_request_of_one_sequence_learns_its_marks_from_a_file(tmp_path, body, endpoint, file):
    request = prepare(body, endpoint, PLAIN, TOKENIZER, FORMATS["s1"], marks_dir=tmp_path)
    spec = json.loads(body["vllm_xargs"][EXTRA_ARGS_KEY])
    if file:
        assert request.forced_positions.path == tmp_path / spec[marks_file.SPEC_KEY] and not request.forced_positions.logprobs
        assert body["return_token_ids"] is True and not {"logprobs", "return_tokens_as_token_ids"} & set(body)
    else:
        assert request.forced_positions.path is None and marks_file.SPEC_KEY not in spec and request.forced_positions.logprobs
        assert body["return_tokens_as_token_ids"] is True
    assert prepare({"messages": [], "num_ignore": 1}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"]).forced_positions.path is None  # no directory
    capped = prepare({"messages": [], "max_thinking_tokens": 4}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"], marks_dir=tmp_path)
    assert capped.forced_positions.path is None and not capped.forced_positions.logprobs  # a cap needs no marks at all


def test_marks_are_needed_where_the_answer_opener_is_no_end_of_thinking():
    cap = BudgetConfig(max_thinking_tokens=8)
    tokens = BudgetTokens.build(FORMATS["s1"], cap, TOKENIZER)
    assert not SequenceState(cap, tokens).replay_needs_marks()
    other = dataclasses.replace(tokens, answer_opener=(7, *tokens.answer_opener))  # 7: a thinking token
    assert SequenceState(cap, other).replay_needs_marks()
    assert SequenceState(BudgetConfig(num_ignore=1), tokens).replay_needs_marks()


def test_a_plain_request_is_not_touched():
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    assert prepare(body, CHAT, PLAIN, TOKENIZER, FORMATS["s1"]) is None
    assert body == {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}


# --- replies, rebuilt from the engine's tokens ------------------------------------------------


BUDGETS = [dict(max_thinking_tokens=4), dict(num_ignore=2), dict(min_thinking_tokens=14), dict(max_thinking_tokens=12, num_ignore=1),
           dict(max_answer_tokens=2), dict()]


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
@pytest.mark.parametrize("endpoint", [CHAT, COMPLETIONS])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("marks", ["logprobs", "file"])
def test_a_whole_reply_says_what_generate_says(budget, endpoint, fmt, marks, tmp_path):
    g, ids, values = engine_run(fmt, **budget)
    body = {"prompt": "p", **budget} if budget else {"prompt": "p", "max_answer_tokens": 1024}
    request = prepare(body, endpoint, PLAIN, TOKENIZER, FORMATS[fmt], marks_dir=tmp_path if marks == "file" else None)
    engine_marks(request, ids, values)
    choice = {"index": 0, **channel(ids, values, endpoint, request.forced_positions.logprobs), "finish_reason": "stop",
              **({"message": {"role": "assistant", "content": "raw"}} if endpoint == CHAT else {"text": "raw"})}
    reply = finish_reply({"choices": [choice], "usage": {"completion_tokens": len(ids)}, "prompt_token_ids": [5, 6]},
                         request, endpoint, TOKENIZER)
    out = reply["choices"][0]
    assert "token_ids" not in out and "prompt_token_ids" not in reply  # asked by s1kit, not by the client
    assert out["s1kit"] == {"thinking_tokens": g.thinking_tokens, "answer_tokens": g.answer_tokens,
                            "waits_inserted": g.waits_inserted, "forced_end": g.forced_end,
                            "finish_reason": g.finish_reason, "forced_spans": g.forced_spans}
    assert out["finish_reason"] == g.finish_reason and out["logprobs"] is None
    assert reply["usage"]["completion_tokens_details"]["reasoning_tokens"] == g.thinking_tokens
    if endpoint == CHAT:
        assert out["message"]["reasoning_content"] == out["message"]["reasoning"] == g.thinking
        assert out["message"]["content"] == g.answer
    else:
        assert out["text"] == "raw"  # a completion's text is the engine's own


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
@pytest.mark.parametrize("per_chunk", [1, 3])
@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("marks", ["logprobs", "file"])
def test_a_streamed_reply_adds_up_to_the_whole_one(budget, per_chunk, n, fmt, marks, tmp_path):
    g, ids, values = engine_run(fmt, **budget)
    request = prepare({"messages": [], **budget, "max_answer_tokens": budget.get("max_answer_tokens", 1024), "n": n},
                      CHAT, PLAIN, TOKENIZER, FORMATS[fmt], marks_dir=tmp_path if marks == "file" else None)
    engine_marks(request, ids, values)
    rewriter = StreamRewriter(request, CHAT, TOKENIZER)
    raw = stream_events(ids, values, CHAT, per_chunk, n, request.forced_positions.logprobs)
    # Split the bytes anywhere: events are rebuilt across network chunks.
    events, rest = [], b""
    for i in range(0, len(raw), 37):
        complete, rest = split_events(rest + raw[i:i + 37])
        events += complete
    assert rest == b""
    sent = [rewrite_event(e, rewriter) for e in events]
    chunks = [json.loads(s[len(b"data: "):]) for s in sent if s is not None and s != b"data: [DONE]\n\n"]
    assert sent[-1] == b"data: [DONE]\n\n"
    for index in range(n):
        mine = [c["choices"][0] for c in chunks if c["choices"] and c["choices"][0]["index"] == index]
        assert "".join(c["delta"].get("reasoning_content", "") for c in mine) == g.thinking
        assert "".join(c["delta"].get("content", "") for c in mine) == g.answer
        assert all(c["delta"].get("reasoning") == c["delta"].get("reasoning_content") for c in mine)
        assert mine[-1]["finish_reason"] == g.finish_reason and mine[-1]["s1kit"]["forced_spans"] == g.forced_spans
        assert all(c["logprobs"] is None and "token_ids" not in c for c in mine)
    assert not any("prompt_token_ids" in c for c in chunks)
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == n * g.thinking_tokens


def test_continuous_usage_stats_count_the_thinking_so_far():
    g, ids, values = engine_run(num_ignore=1)
    request = prepare({"messages": [], "num_ignore": 1, "max_answer_tokens": 1024}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    rewriter = StreamRewriter(request, CHAT, TOKENIZER)
    seen = []
    for i in range(len(ids)):  # vLLM's chunks with stream_options.continuous_usage_stats: usage on every one
        choice = {"index": 0, "logprobs": entries(ids[i:i + 1], values[i:i + 1], CHAT), "delta": {"content": "raw"},
                  "finish_reason": "stop" if i == len(ids) - 1 else None}
        out = rewriter.event({"choices": [choice], "usage": {"completion_tokens": i + 1}})
        seen.append(out["usage"]["completion_tokens_details"]["reasoning_tokens"])
    assert seen == sorted(seen) and seen[-1] == g.thinking_tokens and seen[0] <= 1


def test_ids_the_client_asked_for_stay():
    g, ids, values = engine_run(max_thinking_tokens=4)
    request = prepare({"messages": [], "max_thinking_tokens": 4, "return_token_ids": True}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    reply = finish_reply({"choices": [{"index": 0, **channel(ids, values, CHAT, marked=False), "message": {}}],
                          "prompt_token_ids": [5, 6]}, request, CHAT, TOKENIZER)
    assert reply["prompt_token_ids"] == [5, 6] and reply["choices"][0]["token_ids"] == ids


@pytest.mark.parametrize("marked_budget", [dict(max_thinking_tokens=4), dict(num_ignore=1)], ids=str)
def test_include_reasoning_false_leaves_the_thinking_out_of_a_forced_reply(marked_budget):
    """vLLM would hide the ids and logprobs the replay needs; s1kit takes the flag and drops the
    thinking itself, streamed or not."""
    g, ids, values = engine_run(**marked_budget)
    body = {"messages": [], **marked_budget, "include_reasoning": False}
    request = prepare(body, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    assert "include_reasoning" not in body
    reply = finish_reply({"choices": [{"index": 0, **channel(ids, values, CHAT, request.forced_positions.logprobs), "message": {}}]},
                         request, CHAT, TOKENIZER)
    message = reply["choices"][0]["message"]
    assert message["content"] == g.answer and message["reasoning_content"] is None and message["reasoning"] is None
    assert reply["choices"][0]["s1kit"]["thinking_tokens"] == g.thinking_tokens
    rewriter = StreamRewriter(request, CHAT, TOKENIZER)
    sent = [rewrite_event(e, rewriter) for e in split_events(stream_events(ids, values, CHAT, 2, marked=request.forced_positions.logprobs))[0]]
    chunks = [json.loads(s[len(b"data: "):]) for s in sent if s is not None and s != b"data: [DONE]\n\n"]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content", "") for d in deltas) == g.answer
    assert not any("reasoning_content" in d or "reasoning" in d for d in deltas)


def test_logprobs_the_client_asked_for_stay_with_tokens_as_text():
    g, ids, values = engine_run(max_thinking_tokens=4)
    request = prepare({"messages": [], "max_thinking_tokens": 4, "logprobs": True}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    choice = {"index": 0, "logprobs": entries(ids, values, CHAT), "message": {}}
    out = finish_reply({"choices": [choice]}, request, CHAT, TOKENIZER)["choices"][0]
    assert [e["token"] for e in out["logprobs"]["content"]] == [TOKENIZER.decode([t]) for t in ids]


# --- the middleware, on a fake vLLM app -------------------------------------------------------


def test_the_middleware_answers_a_bad_field_with_an_openai_error():
    mw, fake = middleware_on(b"{}")
    status, body = call(mw, json.dumps({"model": "m", "messages": [], "num_ignore": -1}).encode())
    assert status == 400 and not fake.bodies
    assert json.loads(body) == {"error": {"message": "num_ignore must be a non-negative integer, got -1 (int)",
                                          "type": "invalid_request_error", "param": "num_ignore", "code": 400}}


def test_the_middleware_passes_plain_requests_byte_for_byte():
    reply = b'{"choices": [{"index": 0, "message": {"content": "hi"}}]}'
    mw, fake = middleware_on(reply)
    request = b'{"model":"m",  "messages":[{"role":"user","content":"hi"}]}'
    assert call(mw, request) == (200, reply) and fake.bodies == [request]
    assert call(mw, b"not json")[0] == 200 and fake.bodies[-1] == b"not json"  # vLLM answers that one
    assert call(mw, request, path="/v1/models")[1] == reply


def test_the_middleware_rewrites_a_forced_reply():
    g, ids, values = engine_run(num_ignore=1)
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "raw"}, "logprobs": entries(ids, values, CHAT),
                          "finish_reason": "stop"}], "usage": {"completion_tokens": len(ids)}}
    mw, fake = middleware_on(json.dumps(reply).encode())
    status, body = call(mw, json.dumps({"messages": [], "num_ignore": 1}).encode())
    assert status == 200 and "num_ignore" not in json.loads(fake.bodies[0])
    out = json.loads(body)["choices"][0]
    assert out["message"]["content"] == g.answer and out["s1kit"]["waits_inserted"] == 1


@pytest.mark.parametrize("stream", [False, True])
def test_the_middleware_removes_a_requests_marks_file_when_its_reply_is_done(tmp_path, stream):
    g, ids, values = engine_run(num_ignore=1)
    if stream:
        fake = FakeVLLM(stream_events(ids, values, CHAT, 2, marked=False), b"text/event-stream")
    else:
        fake = FakeVLLM(json.dumps({"choices": [{"index": 0, "message": {}, **channel(ids, values, CHAT, marked=False),
                                                  "finish_reason": "stop"}]}).encode())

    async def engine(scope, receive, send):
        """vLLM with s1kit's processor: the marks file is written as the engine takes the request."""
        message = await receive()
        spec = json.loads(json.loads(message["body"])["vllm_xargs"][EXTRA_ARGS_KEY])
        request = prepare({"messages": [], "num_ignore": 1}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
        engine_marks(request, ids, values, tmp_path / spec[marks_file.SPEC_KEY])

        async def again():
            return message
        await fake(scope, again, send)

    mw = BudgetMiddleware(engine)
    mw.settings = Settings(PLAIN, TOKENIZER, FORMATS["s1"], (), 1024, marks_dir=tmp_path)
    status, body = call(mw, json.dumps({"messages": [], "num_ignore": 1, "stream": stream}).encode())
    chunks = [json.loads(e[len(b"data: "):]) for e in body.split(b"\n\n") if e.startswith(b"data: {")] if stream else [json.loads(body)]
    assert status == 200
    assert [c["choices"][0]["s1kit"]["waits_inserted"] for c in chunks if c.get("choices") and "s1kit" in c["choices"][0]] == [1]
    assert list(tmp_path.iterdir()) == []  # the request's file is gone


def test_the_middleware_rewrites_a_stream():
    g, ids, values = engine_run(max_thinking_tokens=4)
    mw, _ = middleware_on(stream_events(ids, values, CHAT, 2, marked=False), b"text/event-stream")
    status, body = call(mw, json.dumps({"messages": [], "max_thinking_tokens": 4, "stream": True}).encode())
    chunks = [json.loads(e[len(b"data: "):]) for e in body.split(b"\n\n") if e.startswith(b"data: {")]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == g.answer


@pytest.mark.parametrize("endpoint", [CHAT, COMPLETIONS])
def test_sagemaker_invocations_are_forced_as_the_request_they_carry(endpoint):
    g, ids, values = engine_run(num_ignore=1)
    output = {"message": {"role": "assistant", "content": "raw"}} if endpoint == CHAT else {"text": "raw"}
    reply = {"choices": [{"index": 0, **output, "logprobs": entries(ids, values, endpoint), "finish_reason": "stop"}],
             "usage": {"completion_tokens": len(ids)}}
    mw, fake = middleware_on(json.dumps(reply).encode())
    request = {"messages": []} if endpoint == CHAT else {"prompt": "p"}
    status, body = call(mw, json.dumps({**request, "num_ignore": 1}).encode(), path="/invocations")
    assert status == 200 and "num_ignore" not in json.loads(fake.bodies[0])
    assert json.loads(body)["choices"][0]["s1kit"]["waits_inserted"] == 1
    assert call(mw, json.dumps({**request, "num_ignore": -1}).encode(), path="/invocations")[0] == 400
    other = b'{"input": "an embedding request"}'  # neither kind: vLLM's own business
    assert call(mw, other, path="/invocations")[0] == 200 and fake.bodies[-1] == other


def test_requests_without_the_key_get_a_401_before_their_fields_are_read():
    mw, fake = middleware_on(b"{}", keys=("k1",))
    body = json.dumps({"messages": [], "num_ignore": -1}).encode()
    assert call(mw, body)[0] == 401 and fake.bodies == []
    assert call(mw, body, headers=[(b"authorization", b"Bearer k1")])[0] == 400


# --- chat template and the command ------------------------------------------------------------

@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_the_thinking_template_renders_what_generate_prompts(fmt):
    from s1kit.backends.hf import tokenizer_with_generation_eos
    from s1kit.formats import render_prompt
    from s1kit.models import builtin_path
    from s1kit.serve.template import opens_thinking, thinking_template

    tok = tokenizer_with_generation_eos(str(builtin_path("s1-nano")), "s1-nano")
    assert not opens_thinking(tok.hf, FORMATS[fmt])
    template = thinking_template(tok.hf.chat_template, FORMATS[fmt].think_start)
    messages = [{"role": "user", "content": QUESTION}]
    forced = tok.hf.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=True,
                                        **{THINK_KWARG: True})
    assert forced == render_prompt(QUESTION, FORMATS[fmt], tok)
    plain = tok.hf.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=True)
    assert plain == tok.hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def test_dry_run_prints_the_vllm_command_with_every_piece(monkeypatch):
    # The line shows what differs from the caller's environment: start from one without s1kit's
    # settings (loading vLLM in this process, as the engine tests do, sets the log stream).
    for name in ("VLLM_LOGGING_STREAM", "VLLM_LOGGING_LEVEL", marks_file.ENV):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["serve", "s1-nano", "--dry-run", "--max-thinking-tokens", "64", "--api-key", "sekret",
                                      "--port", "8123"])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    for piece in ("-m vllm.entrypoints.openai.api_server", "--served-model-name s1-nano", "--port 8123",
                  "--logits-processors s1kit.backends.vllm_processor:BudgetForcingProcessor",
                  "--logprobs-mode processed_logits", "--middleware s1kit.serve.middleware.BudgetMiddleware",
                  '"max_thinking_tokens":64', "--chat-template ", "VLLM_LOGGING_STREAM=ext://sys.stderr",
                  "--reasoning-parser s1kit-s1", "serve/reasoning.py"):
        assert piece in line, piece
    assert "sekret" not in line and "VLLM_API_KEY='***'" in line
    # The per-server pieces are made when the line runs: a private directory with a random name
    # and a new signing secret, never a fixed path or value.
    assert f'{marks_file.ENV}="$(mktemp -d {marks_file.base_dir()}/{marks_file.SERVER_PREFIX}XXXXXXXXXX)"' in line
    assert "S1KIT_SPEC_SECRET=\"$(" in line and "secrets.token_hex(32)" in line


@pytest.mark.parametrize(("given", "expected"), [([], "--block-size 32"), (["--block-size", "64"], "--block-size 64")])
def test_a_cpu_server_shares_prefixes_in_small_blocks(given, expected, monkeypatch):
    # vLLM's CPU default block (128 tokens) would recompute up to 127 tokens of every shared prefix.
    monkeypatch.setattr("s1kit.serve.command._has_cuda", lambda: False)
    result = CliRunner().invoke(app, ["serve", "s1-nano", "--dry-run", *given])
    assert result.exit_code == 0, result.output
    assert expected in result.stdout and result.stdout.count("--block-size") == 1
    assert "--no-enable-chunked-prefill" in result.stdout  # seeded requests prefilled in chunks crash vLLM's CPU runner


def test_a_served_model_gets_its_own_marks_directory_and_a_killed_servers_is_removed(tmp_path, monkeypatch):
    from s1kit.serve.command import server_env
    from s1kit.serve.config import ServeConfig

    monkeypatch.delenv(marks_file.ENV, raising=False)
    dead = marks_file.make_server_dir(2**22 + 12345)  # above Linux's PID limit: never a live process
    env = server_env(ServeConfig(model="s1-nano"), pid=os.getpid())
    made = Path(env[marks_file.ENV])
    try:
        assert made in marks_file.server_dirs(os.getpid()) and not dead.exists()
        info = made.lstat()
        assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
        assert made != Path(server_env(ServeConfig(model="s1-nano"), pid=os.getpid())[marks_file.ENV])  # a new name each time
    finally:
        for directory in marks_file.server_dirs(os.getpid()):
            directory.rmdir()
    monkeypatch.setenv(marks_file.ENV, "")
    assert server_env(ServeConfig(model="s1-nano"), pid=os.getpid())[marks_file.ENV] == ""  # logprobs instead


@pytest.mark.parametrize("args, message", [
    (["s1-nano", "--format", "think-tags"], r"cannot express format 'think-tags'"),
    (["s1-nano", "--port", "0"], r"port must be in 1..65535"),
    (["s1-nano", "--effort", "low"], r"is not level=TOKENS"),
    (["s1-nano", "--min-thinking-tokens", "9", "--max-thinking-tokens", "4"], r"min_thinking_tokens"),
    (["/no/such/model"], r"unknown model '/no/such/model'"),
])
def test_serve_refuses_at_start_up_in_one_line(args, message, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(app, ["serve", *args, "--dry-run"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and __import__("re").search(message, lines[0]), result.output


def test_settings_come_from_vllms_additional_config(monkeypatch):
    from s1kit.backends.forcing_channel import SECRET_ENV
    from s1kit.models import builtin_path
    from s1kit.serve.middleware import load_settings

    monkeypatch.setenv(SECRET_ENV, "s" * 64)
    args = SimpleNamespace(model=str(builtin_path("s1-nano")), tokenizer=None, served_model_name=["s1-nano"],
                           api_key=["k"], max_model_len=512,
                           additional_config={"s1kit": {"format": "s1", "max_thinking_tokens": 32, "effort": "low=4"}})
    app = SimpleNamespace(state=SimpleNamespace(args=args))
    settings = load_settings(app)
    assert settings.budget.forced_by_default and settings.budget.defaults.max_thinking_tokens == 32
    assert settings.budget.levels == {"low": 4} and settings.fmt.name == "s1" and settings.api_keys == ("k",)
    assert settings.context == 512 and settings.secret == "s" * 64
    # The engine's own context length, where vLLM's app has it, over the flag.
    app.state.vllm_config = SimpleNamespace(model_config=SimpleNamespace(max_model_len=1024))
    assert load_settings(app).context == 1024
    args.additional_config = {"s1kit": {"max_thinking_tokns": 3}}
    with pytest.raises(Exception, match=r"did you mean 'max_thinking_tokens'"):
        load_settings(app)
    args.additional_config = {}
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(Exception, match=rf"\${SECRET_ENV} is not set.*s1kit serve --dry-run"):
        load_settings(app)


def test_a_template_that_already_opens_thinking_is_kept(tmp_path, monkeypatch):
    from s1kit.serve.command import write_template

    class R1Like:  # an R1-distill template: the assistant turn ends with <think>\n
        chat_template = "{{ messages[0]['content'] }}<|Assistant|><think>\n"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            return messages[0]["content"] + "<|Assistant|><think>\n"

    monkeypatch.setenv("S1KIT_CACHE", str(tmp_path))
    path = write_template(SimpleNamespace(hf=R1Like()), FORMATS["think-tags"])
    assert open(path).read() == R1Like.chat_template
    assert write_template(SimpleNamespace(hf=SimpleNamespace(chat_template=None)), FORMATS["s1"]) is None


def test_a_streamed_section_decodes_in_linear_time_and_adds_up_to_the_whole(smollm2_tokenizer):
    """A long thought streamed token by token: every delta is whole characters (emoji and CJK are cut
    between byte-level tokens), the deltas add up to the unstreamed text, and each step decodes a few
    tokens, not the whole section again."""
    from s1kit.serve.stream import INCOMPLETE, SectionText

    class Counting:
        decoded = 0

        def decode(self, ids):
            Counting.decoded += len(ids)
            return smollm2_tokenizer.decode(ids)

    ids = smollm2_tokenizer.encode("Wait — 7×6 = 42 ✓ 数学 🙂 done.\n" * 40, add_special_tokens=False)
    section = SectionText(Counting())
    deltas = [section.take(ids[:i], final=False) for i in range(1, len(ids) + 1)]
    deltas.append(section.take(ids, final=True))
    assert "".join(deltas) == smollm2_tokenizer.decode(ids)
    assert not any(INCOMPLETE in d for d in deltas[:-1])
    assert Counting.decoded < 8 * len(ids)  # decoding the whole section at every step: about len(ids)² / 2


@pytest.mark.parametrize("ids, good", [([5, 7, 9], True), ([], True), ([5, 7.0], False), ([5, "7"], False),
                                       ([5, True], False), ("5 7", False), ({"0": 5}, False), ([[5]], False)])
def test_the_token_ids_of_a_reply_are_a_list_of_integers(ids, good):
    from s1kit.errors import S1kitError
    from s1kit.serve.forced import FromTokens

    if good:
        assert FromTokens().entries({"token_ids": ids}, CHAT) == (ids, [None] * len(ids))
    else:
        with pytest.raises(S1kitError, match="where a list of ids was asked for"):
            FromTokens().entries({"token_ids": ids}, CHAT)


def test_an_empty_wait_string_extends_only_greedy_requests():
    """The engine cannot say where a drawn end was suppressed with nothing appended: sampled, a 400."""
    assert prepare({"messages": [], "num_ignore": 2, "wait_string": "", "temperature": 0}, CHAT, PLAIN, TOKENIZER,
                   FORMATS["s1"]) is not None
    with pytest.raises(RequestError, match="empty wait_string extends thinking only with temperature 0") as info:
        prepare({"messages": [], "num_ignore": 2, "wait_string": ""}, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    assert info.value.param == "wait_string"
