"""A simulated vLLM for the server's unit tests: what s1kit's processor makes the engine return for
a budget on the scripted model (its tokens, forced ones at FORCED_LOGIT, and its marks file), the
replies and event streams vLLM's app sends, and the middleware on a fake app."""

from __future__ import annotations

import asyncio
import json

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import FORCED_LOGIT, FORCED_THRESHOLD
from s1kit.backends.scripted import ScriptedBackend, ToyTokenizer
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.formats import FORMATS
from s1kit.serve.fields import ServerBudget
from s1kit.serve.middleware import BudgetMiddleware, Settings
from s1kit.serve.requests import CHAT

TOKENIZER = ToyTokenizer()
QUESTION = "What is six times seven?"
SCRIPT = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9<|im_end|> and so 42<|im_end|>"
PLAIN = ServerBudget()


def engine_run(fmt="s1", **budget):
    """What `s1kit generate` gives for QUESTION on the scripted model, and the tokens an engine
    forcing the same budget returns (forced ones at FORCED_LOGIT)."""
    [g] = generate_with_budget(ScriptedBackend(SCRIPT, tokenizer=TOKENIZER), [QUESTION], BudgetConfig(**budget),
                               SamplingConfig(), fmt=fmt, progress=False)
    eos = min(TOKENIZER.eos_token_ids)
    ids, values = list(g.token_ids), [FORCED_LOGIT if f else -0.5 for f in g.forced_mask]
    if g.finish_reason == "length" and g.answer_tokens:  # the processor ends a full answer with end-of-turn
        ids, values = ids + [eos], values + [FORCED_LOGIT]
    return g, ids, values


def engine_marks(request, ids, values, path=None) -> None:
    """Write the marks file s1kit's processor would write for this output (at ``path``, default the
    request's own): the positions where a forced token replaced an end of thinking, after a
    tentative mark it took back (a redone pass)."""
    path = path or request.forced_positions.path
    if path is None:
        return
    writer, state = marks_file.MarksWriter(path), request.state()
    writer.note(1, True)
    writer.note(1, False)
    for position, (token, value) in enumerate(zip(ids, values)):
        if state.done:
            break
        forced = value > FORCED_THRESHOLD
        if forced and not state.next_is_forced():
            writer.note(position, True)
        state.observe(token, forced)


def channel(ids, values, endpoint, marked=True):
    """A choice's fields that carry its tokens: logprobs with the marks, or the ids alone."""
    return {"logprobs": entries(ids, values, endpoint)} if marked else {"logprobs": None, "token_ids": list(ids)}


def entries(ids, values, endpoint):
    tokens = [f"token_id:{t}" for t in ids]
    if endpoint == CHAT:
        return {"content": [{"token": t, "logprob": v, "bytes": None, "top_logprobs": []} for t, v in zip(tokens, values)]}
    return {"tokens": tokens, "token_logprobs": values, "top_logprobs": None, "text_offset": []}


def stream_events(ids, values, endpoint, per_chunk, n=1, marked=True):
    """vLLM's event stream for one reply: a role chunk (chat), token chunks, a usage chunk, [DONE]."""
    events = []
    for index in range(n):
        if endpoint == CHAT:
            events.append({"choices": [{"index": index, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                        "finish_reason": None}], **({} if marked else {"prompt_token_ids": [5, 6]})})
    for start in range(0, len(ids), per_chunk):
        for index in range(n):
            piece, vals = ids[start:start + per_chunk], values[start:start + per_chunk]
            last = start + per_chunk >= len(ids)
            choice = {"index": index, **channel(piece, vals, endpoint, marked), "finish_reason": "stop" if last else None}
            choice.update({"delta": {"content": "raw"}} if endpoint == CHAT else {"text": "raw"})
            events.append({"choices": [choice]})
    events.append({"choices": [], "usage": {"completion_tokens": n * len(ids)}})
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


class FakeVLLM:
    """Records the body it gets and answers with a canned reply."""

    def __init__(self, reply: bytes, content_type=b"application/json"):
        self.reply, self.content_type, self.bodies = reply, content_type, []

    async def __call__(self, scope, receive, send):
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", self.content_type), (b"content-length", str(len(self.reply)).encode())]})
        await send({"type": "http.response.body", "body": self.reply, "more_body": False})


def call(middleware, body: bytes, path="/v1/chat/completions", headers=(), method="POST", root_path=""):
    """One request through ``middleware``: (status, body)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": root_path + path, "root_path": root_path,
             "headers": [(b"content-type", b"application/json"), *headers]}
    asyncio.run(middleware(scope, receive, send))
    status = sent[0]["status"]
    length = dict(sent[0]["headers"]).get(b"content-length")
    body = b"".join(m.get("body", b"") for m in sent[1:])
    if length is not None:
        assert int(length) == len(body)
    return status, body


def middleware_on(reply: bytes, content_type=b"application/json", keys=(), budget=PLAIN, **settings):
    """The middleware on a fake vLLM that answers ``reply``; ``settings``: more of its Settings."""
    fake = FakeVLLM(reply, content_type)
    mw = BudgetMiddleware(fake)
    mw.settings = Settings(budget, TOKENIZER, FORMATS["s1"], tuple(keys), 1024, **settings)
    return mw, fake
