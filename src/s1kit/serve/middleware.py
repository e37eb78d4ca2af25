"""The server's budget fields, as an ASGI middleware on vLLM's own OpenAI-compatible app.

Load it with ``vllm serve MODEL --middleware s1kit.serve.middleware.BudgetMiddleware`` (``s1kit
serve`` does). It reads its settings from ``--additional-config '{"s1kit": {...}}'`` (keys: the
budget defaults, ``format`` and ``effort``; see s1kit.serve.config) when the server starts, and
loads the model's tokenizer then. For every POST to ``/v1/chat/completions`` and
``/v1/completions`` (and to SageMaker's ``/invocations``, a chat request if its body has
``messages``, a completion if it has ``prompt``, as vLLM routes it) it

- takes the budget fields out of the request (requests.prepare) and answers a bad one with an
  HTTP 400 in OpenAI's error shape, naming the field; vLLM never sees them;
- passes a forced request on with its spec in ``vllm_xargs``, for s1kit's logits processor;
- rewrites the reply (whole or streamed) from the replayed tokens: thinking, answer, counts,
  finish reason and forced spans.

With ``$S1KIT_MARKS_DIR`` set (``s1kit serve`` sets it) the engine tells which tokens replaced an
end of thinking through a file per request in that directory (s1kit.backends.marks_file) rather
than per-token logprobs; the middleware makes the directory at start-up, deletes each request's
file when its reply is done, and removes the directory at shutdown.

Requests without budget fields, on a server without budget defaults, pass through untouched, and so
does everything else (other routes, requests the api-key check will refuse).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from s1kit.backends import marks_file
from s1kit.errors import S1kitError
from s1kit.serve.fields import RequestError, ServerBudget
from s1kit.serve.requests import CHAT, COMPLETIONS, Budgeted, finish_reply, prepare
from s1kit.serve.stream import StreamRewriter, rewrite_event, split_events

ENDPOINTS = {"/v1/chat/completions": CHAT, "/v1/completions": COMPLETIONS}
INVOCATIONS = "/invocations"
"""SageMaker's route, which vLLM serves too: the kind of request is in its body."""
SETTINGS_KEY = "s1kit"
"""The key of s1kit's settings in vLLM's --additional-config."""

log = logging.getLogger("s1kit.serve")


@dataclass
class Settings:
    budget: ServerBudget
    tokenizer: object
    fmt: object
    api_keys: tuple[str, ...]
    context: int | None
    marks_dir: Path | None = None


def load_settings(args) -> Settings:
    """The middleware's settings from vLLM's parsed arguments; one line if they are unusable."""
    from s1kit.backends.hf import tokenizer_with_generation_eos
    from s1kit.formats import resolve_format
    from s1kit.serve.config import budget_settings

    given = dict((getattr(args, "additional_config", None) or {}).get(SETTINGS_KEY) or {})
    fmt_name = given.pop("format", "auto")
    budget = budget_settings(given, f"--additional-config {SETTINGS_KEY}")
    path = getattr(args, "tokenizer", None) or args.model
    try:
        tokenizer = tokenizer_with_generation_eos(path, str(getattr(args, "served_model_name", None) or args.model))
    except (OSError, ValueError) as exc:
        raise S1kitError(f"s1kit's budget fields need the model's tokenizer, and {path} has none ({type(exc).__name__})") from None
    keys = getattr(args, "api_key", None) or os.environ.get("VLLM_API_KEY")
    keys = (keys,) if isinstance(keys, str) else tuple(keys or ())
    marks_dir = marks_file.configured_dir()
    if marks_dir is not None:
        try:
            marks_file.prepare_dir(marks_dir)
        except OSError as exc:
            raise S1kitError(f"${marks_file.ENV}={marks_dir} cannot be made ({exc.strerror}); name a writable "
                             f"directory or unset it") from None
    return Settings(budget, tokenizer, resolve_format(fmt_name, tokenizer), keys, getattr(args, "max_model_len", None),
                    marks_dir)


class BudgetMiddleware:
    """Pure ASGI, so that streamed replies go out chunk by chunk."""

    def __init__(self, app):
        self.app = app
        self.settings: Settings | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, self._on_startup(scope, receive), send)
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or (path not in ENDPOINTS and path != INVOCATIONS):
            return await self.app(scope, receive, send)
        settings = self._settings(scope)
        if not authorized(scope, settings.api_keys):
            return await self.app(scope, receive, send)  # vLLM answers 401
        body = await read_body(receive)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        endpoint = ENDPOINTS.get(path) or (CHAT if "messages" in data else COMPLETIONS if "prompt" in data else None) \
            if isinstance(data, dict) else None
        if endpoint is None:
            return await self.app(scope, replay_body(body, receive), send)  # vLLM's own 400, or not a generation
        try:
            request = prepare(data, endpoint, settings.budget, settings.tokenizer, settings.fmt, settings.context,
                              settings.marks_dir)
        except RequestError as exc:
            return await send_json(send, 400, error_body(str(exc), exc.param))
        if request is None:
            return await self.app(scope, replay_body(body, receive), send)
        body = json.dumps(data).encode()
        try:
            await self.app(with_length(scope, len(body)), replay_body(body, receive),
                           ReplyRewriter(send, request, endpoint, settings.tokenizer))
        finally:
            if request.marks is not None:
                request.marks.unlink(missing_ok=True)

    def _settings(self, scope) -> Settings:
        if self.settings is None:
            self.settings = load_settings(scope["app"].state.args)
        return self.settings

    def _on_startup(self, scope, receive):
        """Load the settings (and the tokenizer) when the server starts, so bad ones stop it; remove
        the marks directory when it stops."""
        async def wrapped():
            message = await receive()
            if message["type"] == "lifespan.startup" and "app" in scope:
                try:
                    self._settings(scope)
                except S1kitError as exc:
                    log.error("s1kit: %s", exc)
                    raise SystemExit(2) from None
            elif message["type"] == "lifespan.shutdown" and self.settings is not None and self.settings.marks_dir:
                marks_file.remove_dir(self.settings.marks_dir)
            return message
        return wrapped


def authorized(scope, keys: tuple[str, ...]) -> bool:
    """Whether the request carries one of the server's API keys (always, without keys)."""
    if not keys:
        return True
    header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and any(hmac.compare_digest(token.encode(), k.encode()) for k in keys)


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def replay_body(body: bytes, receive):
    """A receive that gives ``body`` once, then what the client sends next (its disconnect)."""
    sent = False

    async def wrapped():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return wrapped


def with_length(scope, length: int):
    headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def error_body(message: str, param: str | None, kind: str = "invalid_request_error", code: int = 400) -> dict:
    """OpenAI's error shape, which its SDK reads into the exception's message."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


async def send_json(send, status: int, data: dict, headers=()) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [*[(k, v) for k, v in headers if k.lower() != b"content-length"],
                            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class ReplyRewriter:
    """The send of one forced request: its reply rewritten from the replayed tokens."""

    def __init__(self, send, request: Budgeted, endpoint: str, tokenizer):
        self.send, self.request, self.endpoint, self.tokenizer = send, request, endpoint, tokenizer
        self.start = None
        self.mode = "pass"
        self.buffer = b""
        self.stream = StreamRewriter(request, endpoint, tokenizer)

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers") or [])
            kind = headers.get(b"content-type", b"").decode("latin-1")
            self.mode = "pass" if message["status"] != 200 else "stream" if kind.startswith("text/event-stream") else "whole"
            self.start = message
            if self.mode == "stream":  # the rewritten events have other lengths
                message = {**message, "headers": [(k, v) for k, v in message.get("headers") or [] if k.lower() != b"content-length"]}
            if self.mode != "whole":
                await self.send(message)
            return
        if message["type"] != "http.response.body" or self.mode == "pass":
            return await self.send(message)
        more = message.get("more_body", False)
        self.buffer += message.get("body", b"")
        if self.mode == "stream":
            return await self._stream(more)
        if not more:
            await self._whole()

    async def _stream(self, more: bool) -> None:
        events, self.buffer = split_events(self.buffer)
        out = []
        for raw in events:
            try:
                rewritten = rewrite_event(raw, self.stream)
            except S1kitError as exc:
                rewritten = b"data: " + json.dumps(error_body(str(exc), None, "internal_error", 500)).encode() + b"\n\n"
            if rewritten is not None:
                out.append(rewritten)
        if not more:
            out.append(self.buffer)
        if out or not more:
            await self.send({"type": "http.response.body", "body": b"".join(out), "more_body": more})

    async def _whole(self) -> None:
        headers = [(k, v) for k, v in self.start.get("headers") or []]
        try:
            reply = finish_reply(json.loads(self.buffer), self.request, self.endpoint, self.tokenizer)
        except (S1kitError, ValueError) as exc:
            return await send_json(self.send, 500, error_body(str(exc), None, "internal_error", 500), headers)
        await send_json(self.send, 200, reply, headers)
