"""The server's budget fields, as an ASGI middleware on vLLM's own OpenAI-compatible app.

Load it with ``vllm serve MODEL --middleware s1kit.serve.middleware.BudgetMiddleware`` (``s1kit
serve`` does). It reads its settings from ``--additional-config '{"s1kit": {...}}'`` (keys: the
budget defaults, ``format``, ``effort`` and ``max_thinking_tokens_limit``; see s1kit.serve.config)
and the server's signing secret from ``$S1KIT_SPEC_SECRET`` when the server starts, and loads the
model's tokenizer then; a server whose settings are unusable does not start. For every POST to
``/v1/chat/completions`` and ``/v1/completions`` (and to SageMaker's ``/invocations``, a chat
request if its body has ``messages``, a completion if it has ``prompt``, as vLLM routes it) it

- takes the budget fields out of the request (requests.prepare) and answers a bad one with an
  HTTP 400 in OpenAI's error shape, naming the field; vLLM never sees them;
- passes a forced request on with its spec, signed, in ``vllm_xargs``, for s1kit's logits processor;
- rewrites the reply (whole or streamed) from the replayed tokens: thinking, answer, counts,
  finish reason and forced spans.

On every route it removes an s1kit spec a client sent (only the server makes them); routes that
generate but that s1kit does not rewrite (GENERATING_ELSEWHERE) refuse budget fields, and refuse
every request on a server that forces a budget by default, rather than ignore the budget. With an
API key, it guards every route but OPEN_ROUTES (vLLM itself guards only ``/v1`` and a few more),
reading the Authorization header as vLLM does.

With ``$S1KIT_MARKS_DIR`` set (``s1kit serve`` sets it) the engine tells which tokens replaced an
end of thinking through a file per request in that directory (s1kit.backends.marks_file) rather
than per-token logprobs; the middleware checks the directory at start-up, deletes each request's
file when its reply is done, and removes the directory at shutdown.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import SECRET_ENV, server_secret
from s1kit.errors import S1kitError
from s1kit.serve.fields import RequestError, ServerBudget, check_near_misses, named_fields, strip_client_spec
from s1kit.serve.requests import CHAT, COMPLETIONS, Budgeted, finish_reply, prepare
from s1kit.serve.stream import StreamRewriter, rewrite_event, split_events

ENDPOINTS = {"/v1/chat/completions": CHAT, "/v1/completions": COMPLETIONS}
INVOCATIONS = "/invocations"
"""SageMaker's route, which vLLM serves too: the kind of request is in its body."""
GENERATING_ELSEWHERE = frozenset({
    "/v1/chat/completions/batch", "/v1/responses", "/v1/messages", "/v1/systemone", "/generative_scoring",
    "/inference/v1/generate", "/v1/audio/transcriptions", "/v1/audio/translations", "/v1/realtime",
})
"""Routes of the pinned vLLM that generate text but that s1kit does not rewrite (a test checks this
list against the routes vLLM serves)."""
OPEN_ROUTES = frozenset({"/health", "/ping", "/load", "/metrics", "/version"})
"""Routes a server with an API key leaves open: probes and counters, nothing that generates or
reads the model's tokenizer."""
SETTINGS_KEY = "s1kit"
"""The key of s1kit's settings in vLLM's --additional-config."""
REPLAY_FAILED = "s1kit could not rebuild this reply from the engine's tokens; the server's log says why"
"""What a client is told when its reply cannot be rewritten: the cause stays in the log."""

log = logging.getLogger("s1kit.serve")


@dataclass
class Settings:
    budget: ServerBudget
    tokenizer: object
    fmt: object
    api_keys: tuple[str, ...]
    context: int | None
    marks_dir: Path | None = None
    secret: str | None = None
    """The signing secret of the server's specs (forcing_channel.sign)."""
    known_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    """The request fields vLLM knows, per endpoint: others close to a budget field are typos."""


def load_settings(app) -> Settings:
    """The middleware's settings from vLLM's app (its parsed arguments and engine config); one line
    if they are unusable."""
    from s1kit.backends.hf import tokenizer_with_generation_eos
    from s1kit.formats import resolve_format
    from s1kit.serve.config import budget_settings

    state = app.state
    args = state.args
    given = dict((getattr(args, "additional_config", None) or {}).get(SETTINGS_KEY) or {})
    fmt_name = given.pop("format", "auto")
    budget = budget_settings(given, f"--additional-config {SETTINGS_KEY}")
    secret = server_secret()
    if secret is None:
        raise S1kitError(f"${SECRET_ENV} is not set: s1kit's middleware signs the budgets it passes to the engine with "
                         "it; s1kit serve sets it, and s1kit serve --dry-run prints a line that does")
    path = getattr(args, "tokenizer", None) or args.model
    try:
        tokenizer = tokenizer_with_generation_eos(path, str(getattr(args, "served_model_name", None) or args.model))
    except (OSError, ValueError) as exc:
        raise S1kitError(f"s1kit's budget fields need the model's tokenizer, and {path} has none ({type(exc).__name__})") from None
    marks_dir = marks_file.configured_dir()
    if marks_dir is not None:
        try:
            marks_file.check_dir(marks_dir)
        except OSError as exc:
            raise S1kitError(f"${marks_file.ENV}={marks_dir} cannot be made ({exc.strerror}); name a writable "
                             f"directory or unset it") from None
    vllm_config = getattr(state, "vllm_config", None)
    context = vllm_config.model_config.max_model_len if vllm_config is not None else getattr(args, "max_model_len", None)
    return Settings(budget, tokenizer, resolve_format(fmt_name, tokenizer), api_keys(args), context, marks_dir, secret,
                    vllm_request_fields())


def api_keys(args) -> tuple[str, ...]:
    """The keys vLLM takes, as vLLM reads them: --api-key, else $VLLM_API_KEY; empty ones are none."""
    given = getattr(args, "api_key", None) or [os.environ.get("VLLM_API_KEY")]
    return tuple(k for k in ([given] if isinstance(given, str) else given) if k)


def vllm_request_fields() -> dict[str, frozenset[str]]:
    """The fields of vLLM's chat and completions requests (empty where vLLM is not importable)."""
    try:
        from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest
        from vllm.entrypoints.openai.completion.protocol import CompletionRequest
    except ImportError:
        return {}
    return {CHAT: frozenset(ChatCompletionRequest.model_fields), COMPLETIONS: frozenset(CompletionRequest.model_fields)}


class BudgetMiddleware:
    """Pure ASGI, so that streamed replies go out chunk by chunk."""

    def __init__(self, app):
        self.app = app
        self.settings: Settings | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(scope, receive, send)
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        settings = self._settings(scope)
        path = route(scope)
        if settings.api_keys and scope.get("method") != "OPTIONS" and path not in OPEN_ROUTES \
                and not authorized(scope, settings.api_keys):
            return await unauthorized(scope, send)
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        try:
            data = json.loads(body)
        except RecursionError:
            return await send_json(send, 400, error_body("the request's JSON nests too deeply", None))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return await self.app(scope, replay_body(body, receive), send)  # vLLM's own 400, or not JSON
        try:
            changed = strip_client_spec(data)
            endpoint = ENDPOINTS.get(path) or (CHAT if "messages" in data else COMPLETIONS if "prompt" in data else None) \
                if path in ENDPOINTS or path == INVOCATIONS else None
            if endpoint is None:
                refuse_elsewhere(path, data, settings.budget)
                request = None
            else:
                check_near_misses(data, settings.known_fields.get(endpoint, frozenset()))
                request = prepare(data, endpoint, settings.budget, settings.tokenizer, settings.fmt, settings.context,
                                  settings.marks_dir, settings.secret)
            if request is not None or changed:
                body = json.dumps(data).encode()
        except RequestError as exc:
            return await send_json(send, 400, error_body(str(exc), exc.param))
        except RecursionError:
            return await send_json(send, 400, error_body("the request's JSON nests too deeply", None))
        if request is None:
            return await self.app(with_length(scope, len(body)) if changed else scope, replay_body(body, receive), send)
        try:
            await self.app(with_length(scope, len(body)), replay_body(body, receive),
                           ReplyRewriter(send, request, endpoint, settings.tokenizer))
        finally:
            request.forced_positions.done()

    def _settings(self, scope) -> Settings:
        if self.settings is None:
            self.settings = load_settings(scope["app"])
        return self.settings

    async def _lifespan(self, scope, receive, send):
        """Load the settings (and the tokenizer) when the server starts: unusable ones make the
        start fail (uvicorn then exits), before vLLM's app says it is up. Remove the marks
        directory when the server stops."""
        message = await receive()
        if message["type"] == "lifespan.startup" and "app" in scope:
            try:
                settings = self._settings(scope)
            except S1kitError as exc:
                log.error("s1kit: %s", exc)
                return await send({"type": "lifespan.startup.failed", "message": f"s1kit: {exc}"})
            if settings.api_keys:
                log.warning("s1kit: the API key guards every route but %s", ", ".join(sorted(OPEN_ROUTES)))
        first = message

        async def wrapped():
            nonlocal first
            if first is not None:
                taken, first = first, None
                return taken
            taken = await receive()
            if taken["type"] == "lifespan.shutdown" and self.settings is not None and self.settings.marks_dir:
                marks_file.remove_dir(self.settings.marks_dir)
            return taken
        return await self.app(scope, wrapped, send)


def route(scope) -> str:
    """The request's route, as vLLM's own checks see it (without the app's root path)."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def refuse_elsewhere(path: str, data: dict, budget: ServerBudget) -> None:
    """A route that generates but that s1kit does not force: a request there may not rely on a
    budget (its fields, or the server's defaults), which it would silently go without."""
    if path not in GENERATING_ELSEWHERE:
        return
    named = named_fields(data)
    if named:
        raise RequestError(named[0], f"{path} is not budget-forced by s1kit; send {named[0]} to /v1/chat/completions "
                                     "or /v1/completions")
    if budget.forced_by_default:
        raise RequestError(None, f"this server forces a thinking budget on every request, which {path} cannot "
                                 "carry; use /v1/chat/completions or /v1/completions")


def authorized(scope, keys: tuple[str, ...]) -> bool:
    """Whether the request carries one of the server's API keys (always, without keys), read as
    vLLM reads it: the first Authorization header, ``Bearer KEY``."""
    if not keys:
        return True
    header = next((v for k, v in scope.get("headers") or [] if k.lower() == b"authorization"), b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    given = hashlib.sha256(token.encode("utf-8")).digest()
    matches = [hmac.compare_digest(given, hashlib.sha256(k.encode()).digest()) for k in keys]
    return scheme.lower() == "bearer" and any(matches)


async def unauthorized(scope, send) -> None:
    """vLLM's answer to a request without the key: 401 (a WebSocket is closed before it opens)."""
    if scope["type"] == "websocket":
        return await send({"type": "websocket.close", "code": 1008})
    await send_json(send, 401, {"error": "Unauthorized"})


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
        if self.mode == "failed":
            return  # the client's stream already ended with an error; the rest of vLLM's is dropped
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
            except Exception:  # noqa: BLE001 - whatever broke, the client gets an error event, not a cut connection
                log.exception("s1kit: a streamed reply could not be rewritten")
                self.mode = "failed"
                failed = json.dumps(error_body(REPLAY_FAILED, None, "internal_error", 500)).encode()
                return await self.send({"type": "http.response.body", "body": b"".join(out) + b"data: " + failed
                                        + b"\n\ndata: [DONE]\n\n", "more_body": False})
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
        except Exception:  # noqa: BLE001 - the cause goes to the log, never into a client's reply
            log.exception("s1kit: a reply could not be rewritten")
            return await send_json(self.send, 500, error_body(REPLAY_FAILED, None, "internal_error", 500), headers)
        await send_json(self.send, 200, reply, headers)
