"""OpenAI-compatible HTTP backend: the client users build, handing each way of forcing to its module.

:class:`OpenAIBackend` holds the connection: the SDK's client with its bounded retries, a reply
without text retried the same way (:meth:`~OpenAIBackend.completion`), and a failed request told
in one line (:meth:`~OpenAIBackend.error`). Budget forcing goes one of three ways:

- token rounds (openai_rounds.py): rounds of ``/v1/completions`` with token ids, the control loop
  in the same :class:`~s1kit.budget.state.SequenceState` the local backends use;
- server forcing (openai_server_forcing.py, ``--server-forcing``): one request per sequence that
  the server's logits processor forces;
- text rounds (openai_text.py): servers that return no token ids, or a run without the model's
  tokenizer.

What the server supports (the model it serves, token ids, vLLM's extra fields) and the local
tokenizer are found out once (openai_checks.py): at start-up, and with a one-token probe before
the first run.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
import warnings

from s1kit.backends.openai_checks import load_tokenizer, probe_token_ids, served_context_length
from s1kit.backends.openai_rounds import run_concurrently, run_rounds
from s1kit.backends.openai_server_forcing import probe_server_forcing, run_forced
from s1kit.budget.config import SamplingConfig
from s1kit.errors import S1kitError, one_line, require, shown


def _missing_in(reply) -> str | None:
    """What a completions reply lacks that every round reads: None when it has it all."""
    choices = getattr(reply, "choices", None)
    if not isinstance(choices, list) or not choices:
        return "choices"
    if not isinstance(getattr(choices[0], "text", None), str):
        return "choices[0].text"
    return None


def _normalize_url(base_url: str) -> str:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise S1kitError(f"base_url '{base_url}' is not an http(s) URL; pass --base-url like http://127.0.0.1:8000/v1")
    # A bare host means the usual OpenAI layout; other paths (/api/v1, ...) are kept as given.
    if parts.path in ("", "/"):
        return base_url.rstrip("/") + "/v1"
    return base_url.rstrip("/")


def _check_options(concurrency, max_retries, timeout) -> None:
    for name, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise S1kitError(f"{name} must be an integer >= {low}, got {shown(value)}; pass --{name.replace('_', '-')} N")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise S1kitError(f"timeout must be a positive number of seconds, got {shown(timeout)}; pass --timeout S")


class OpenAIBackend:
    """A model served by any OpenAI-compatible server (vLLM, SGLang, llama.cpp, a hosted API)."""

    name = "openai"

    def __init__(self, model: str = "smollm2-135m", base_url: str = "http://127.0.0.1:8000/v1",
                 api_key: str | None = None, concurrency: int = 8, timeout: float = 600.0,
                 max_retries: int = 3, tokenizer: str | None = None, server_forcing: bool = False,
                 chat_template: str | None = None):
        self.openai = openai = require("openai", "openai")
        _check_options(concurrency, max_retries, timeout)
        self.model = model
        self.base_url = _normalize_url(base_url)
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = float(timeout)
        # The SDK retries connection errors, 408, 409, 429 and 5xx with exponential backoff
        # (0.5 s doubling, capped at 8 s), max_retries times: bounded, so a dead server fails fast.
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
            timeout=float(timeout), max_retries=max_retries,
        )
        self.context_length = served_context_length(self)
        self.tokenizer = None if tokenizer == "none" else load_tokenizer(tokenizer or model, explicit=tokenizer is not None)
        self.chat_template = chat_template
        self.server_forcing = server_forcing
        self.extensions = True
        """Whether the server takes vLLM's extra request fields (skip_special_tokens, ...)."""
        self._text_mode: bool | None = None
        if server_forcing:
            if self.tokenizer is None:
                raise S1kitError("--server-forcing needs the model's tokenizer locally; pass --tokenizer with it")
            probe_server_forcing(self)
            self._text_mode = False

    def text_mode(self) -> bool:
        """True when budget forcing goes by text rounds (openai_text.py): no local tokenizer, or a
        server that returns no token ids. Found out once, with a one-token request."""
        if self._text_mode is None:
            self.extensions, has_ids = probe_token_ids(self)
            self._text_mode = self.tokenizer is None or not has_ids
            if self.tokenizer is not None and not has_ids:
                warnings.warn(
                    f"the server at {self.base_url} returns no token ids: budget forcing goes by text rounds, "
                    "with tokens counted by the local tokenizer (token_count_source: local-tokenizer)", stacklevel=2)
        return self._text_mode

    def close(self) -> None:
        """Close the HTTP connections; the server keeps running."""
        self.client.close()

    def generate_text(self, questions, budget, sampling, fmt: str, system_prompt: str | None, progress: bool = True,
                      seeds=None):
        """Budget forcing by text rounds; see openai_text.py."""
        from s1kit.backends.openai_text import TextRounds

        return TextRounds(self, self.chat_template).run(questions, budget, sampling, fmt, system_prompt, progress,
                                                        seeds=seeds)

    def run(self, prompt_ids, states, sampling: SamplingConfig, seeds, batch_size: int = 16, progress: bool = True) -> None:
        """Drive every state to done, ``concurrency`` requests in flight: by token rounds, or with one
        request each that the server forces (a continued sequence, with output already, by rounds).

        ``batch_size`` is unused: the server batches what is in flight. Each sequence's rounds run
        in order and depend only on its own prompt and seed, so results do not depend on concurrency.
        """
        jobs = list(zip(prompt_ids, states, seeds))

        def one(i: int, failed) -> None:
            ids, state, seed = jobs[i]
            if self.server_forcing and not state.output:
                run_forced(self, list(ids), state, sampling, seed)
            else:
                run_rounds(self, list(ids), state, sampling, seed, failed)

        run_concurrently(one, len(jobs), self.concurrency, progress)

    def completion(self, **request):
        """POST /completions for this model. A reply without a choice that has text (a proxy's
        error page, a server of another API) is retried like a 5xx, ``max_retries`` times with
        backoff, then reported in one line naming the server and what was missing."""
        for attempt in range(self.max_retries + 1):
            reply = self.client.completions.create(model=self.model, **request)
            missing = _missing_in(reply)
            if missing is None:
                return reply
            if attempt < self.max_retries:
                time.sleep(min(0.5 * 2**attempt, 8.0))
        raise S1kitError(f"the server at {self.base_url} answered POST /completions {self.max_retries + 1} time(s) without "
                         f"{missing}; check that it serves the OpenAI completions API (model '{self.model}')")

    def complete(self, prompt, max_tokens: int | None, extra: dict, **fields):
        """:meth:`completion` of ``prompt`` (ids or text) with vLLM's ``extra`` fields; ``max_tokens``
        None asks for up to the context. A failed request is one line (:meth:`error`)."""
        if max_tokens is None:
            extra = {**extra, "max_tokens": None}  # vLLM reads null as "up to the context"; the SDK would omit None
        try:
            return self.completion(prompt=prompt, max_tokens=self.openai.NOT_GIVEN if max_tokens is None else max_tokens,
                                   extra_body=extra, **fields)
        except self.openai.APIError as exc:
            raise self.error(exc, f"POST /completions (model '{self.model}')") from None

    def error(self, exc, what: str) -> S1kitError:
        """One line for a failed request, after the SDK's bounded retries."""
        openai, url = self.openai, self.base_url
        if isinstance(exc, openai.APITimeoutError):  # it answers, but slower than asked
            return S1kitError(
                f"the server at {url} did not answer {what} within --timeout {self.timeout:g} s "
                f"({self.max_retries + 1} tries); raise --timeout, or check the server's load"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return S1kitError(
                f"the server at {url} is unreachable after {self.max_retries} retries "
                f"({type(cause).__name__}: {one_line(cause, 300)}); start it, or fix --base-url"
            )
        status = getattr(exc, "status_code", None)
        # The SDK prefixes "Error code: N - "; the status is printed below already.
        message = re.sub(r"^Error code: \d+ - ", "", one_line(getattr(exc, "message", exc), 300))
        if status in (401, 403):
            return S1kitError(f"the server at {url} rejected the API key (HTTP {status} on {what}: {message}); "
                              "pass the right one with --api-key or OPENAI_API_KEY")
        if status == 404 and what.startswith("POST /completions"):
            return S1kitError(
                f"the server at {url} has no completions endpoint (HTTP 404 on {what}: {message}); budget forcing "
                "needs /v1/completions with a raw prompt: use a server that offers it (vLLM, SGLang, llama.cpp)"
            )
        if "out of vocabulary" in message:
            return S1kitError(
                f"the server at {url} refused a token id the model itself sampled ({message}); its tokenizer is "
                "smaller than the model's vocabulary: serve the model with vLLM >= 0.32, which accepts such ids"
            )
        return S1kitError(f"the server at {url} refused {what} (HTTP {status}: {message})")
