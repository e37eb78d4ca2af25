"""OpenAI-compatible HTTP backend: budget forcing by rounds over ``/v1/completions``.

No server offers both the cap and the "Wait" extension, so the control loop stays here, in the same
:class:`~s1kit.budget.state.SequenceState` the local backends use. Each request goes in rounds:

1. send the prompt plus the output so far as token ids (a raw prompt, no chat template, so the
   assistant turn continues token-exactly), asking for at most the tokens left before the cap
   (thinking) or the answer limit (answer), and stopping at the end-of-thinking (thinking) or
   end-of-turn (answer) ids;
2. feed the returned ids to ``state.advance``; a stop id goes through it too, so the state decides
   exactly as it does locally (queue the wait string, the answer opener, or finish);
3. apply queued forced tokens locally, with no server call, and start the next round.

Servers that return no token ids, or a run without the model's tokenizer, go by text rounds
instead (openai_text.py); a one-token probe before the first run finds out which.

Forced spans are therefore known exactly, and greedy output equals the ``hf`` backend's as long as
the server's logits do (tests/test_openai_backend.py). Token ids, stop ids and special tokens use
vLLM's extensions (``return_token_ids``, ``stop_token_ids``, ``skip_special_tokens``); other
servers ignore unknown fields, and the loop stays correct when they return extra tokens after a
stop (dropped) or leave the stop id out of the ids (taken from ``stop_reason``).

With ``server_forcing=True`` (``--server-forcing``) the server does the forcing itself, in one
request per sequence: a vLLM server started with s1kit's logits processor,

    vllm serve MODEL --logits-processors s1kit.backends.vllm_processor:BudgetForcingProcessor \
        --logprobs-mode processed_logits

gets the budget in ``vllm_xargs`` and marks forced tokens in the returned logprobs
(forcing_channel.py); no rounds, no re-prefill. The request carries the budget's fields beside
the spec, so that ``s1kit serve``, which makes every spec itself and drops a client's, forces it
the same way. A probe request at start-up checks the server.

Ids at or beyond the tokenizer's size (padded embedding rows; the s1 reference crashed with
"token id out of vocabulary" when re-feeding them) are kept as the model chose them, as the local
backends do: vLLM >= 0.32 accepts any id below the model's vocabulary size in a prompt, and the
tokenizer decodes them to nothing. A server that still refuses them gets a one-line error naming
the id instead of a traceback.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
import urllib.parse
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed

from s1kit.backends import forcing_channel
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.state import BudgetTokens, Phase, SequenceState
from s1kit.errors import S1kitError, one_line, require, shown
from s1kit.formats import resolve_format
from s1kit.models import ModelLoadError, resolve_model


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


class OpenAIBackend:
    """A model served by any OpenAI-compatible server (vLLM, SGLang, llama.cpp, a hosted API)."""

    name = "openai"

    def __init__(self, model: str = "smollm2-135m", base_url: str = "http://127.0.0.1:8000/v1",
                 api_key: str | None = None, concurrency: int = 8, timeout: float = 600.0,
                 max_retries: int = 3, tokenizer: str | None = None, server_forcing: bool = False,
                 chat_template: str | None = None):
        self.openai = openai = require("openai", "openai")
        for name, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise S1kitError(f"{name} must be an integer >= {low}, got {shown(value)}; pass --{name.replace('_', '-')} N")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise S1kitError(f"timeout must be a positive number of seconds, got {shown(timeout)}; pass --timeout S")
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
        self.context_length = self._check_server()
        self.tokenizer = None if tokenizer == "none" else self._load_tokenizer(tokenizer or model, explicit=tokenizer is not None)
        self.chat_template = chat_template
        self.server_forcing = server_forcing
        self.extensions = True
        """Whether the server takes vLLM's extra request fields (skip_special_tokens, ...)."""
        self._text_mode: bool | None = None
        if server_forcing:
            if self.tokenizer is None:
                raise S1kitError("--server-forcing needs the model's tokenizer locally; pass --tokenizer with it")
            self._probe_server_forcing()
            self._text_mode = False

    def text_mode(self) -> bool:
        """True when budget forcing goes by text rounds (openai_text.py): no local tokenizer, or a
        server that returns no token ids. Found out once, with a one-token request."""
        if self._text_mode is None:
            has_ids = self._probe_token_ids()
            self._text_mode = self.tokenizer is None or not has_ids
            if self.tokenizer is not None and not has_ids:
                warnings.warn(
                    f"the server at {self.base_url} returns no token ids: budget forcing goes by text rounds, "
                    "with tokens counted by the local tokenizer (token_count_source: local-tokenizer)", stacklevel=2)
        return self._text_mode

    def close(self) -> None:
        """Close the HTTP connections; the server keeps running."""
        self.client.close()

    def _probe_token_ids(self) -> bool:
        extra = {"return_token_ids": True, "skip_special_tokens": False}
        try:
            reply = self.completion(prompt="Hi", max_tokens=1, temperature=0, extra_body=extra)
        except (self.openai.BadRequestError, self.openai.UnprocessableEntityError):
            self.extensions = False  # a server that refuses unknown fields (hosted APIs)
            return False
        except self.openai.APIError as exc:
            raise self.error(exc, f"POST /completions (model '{self.model}')") from None
        return getattr(reply.choices[0], "token_ids", None) is not None

    def generate_text(self, questions, budget, sampling, fmt: str, system_prompt: str | None, progress: bool = True,
                      seeds=None):
        """Budget forcing by text rounds; see openai_text.py."""
        from s1kit.backends.openai_text import TextRounds

        return TextRounds(self, self.chat_template).run(questions, budget, sampling, fmt, system_prompt, progress,
                                                              seeds=seeds)

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

    def _check_server(self) -> int | None:
        """One cheap GET /models: reachable, key accepted, model served. Returns max_model_len."""
        try:
            page = self.client.models.list()
        except self.openai.NotFoundError:
            return None  # no model list here; the first completion request will tell
        except self.openai.APIError as exc:
            raise self.error(exc, "GET /models") from None
        if not isinstance(getattr(page, "data", None), list):
            raise S1kitError(f"the server at {self.base_url} answered GET /models without a list of models (data); "
                             "check that it serves the OpenAI API at this URL")
        served = [getattr(m, "id", None) for m in page.data]
        if self.model not in served:
            raise ModelLoadError(
                f"the server at {self.base_url} does not serve model '{self.model}'; it serves: "
                f"{', '.join(served) or '(nothing)'}; pass one of them as {ModelLoadError.SETTING}"
            )
        entry = next(m for m in page.data if m.id == self.model)
        length = getattr(entry, "max_model_len", None)  # vLLM's extension of the model card
        return length if isinstance(length, int) and length > 0 else None

    def _load_tokenizer(self, name: str, explicit: bool):
        """The model's tokenizer, loaded here: thinking tokens are counted and forced text encoded with it."""
        require("transformers", "hf")
        from s1kit.backends.hf import tokenizer_with_generation_eos

        try:
            return tokenizer_with_generation_eos(resolve_model(name), name)
        except (OSError, ValueError) as exc:
            if not explicit:
                warnings.warn(
                    f"no local tokenizer for '{name}' ({type(exc).__name__}: {one_line(exc, 300)}): budget forcing "
                    "goes by text rounds, with tokens counted from the server's usage figures (token_count_source: "
                    "server-usage); pass --tokenizer to count them exactly", stacklevel=3)
                return None
            raise S1kitError(
                f"--tokenizer {name} did not load ({type(exc).__name__}: {one_line(exc, 300)}); pass a local "
                "tokenizer directory or a reachable hub id, or --tokenizer none to count tokens from the server's usage"
            ) from None

    def _probe_server_forcing(self) -> None:
        """One tiny request whose second token the server must force: proves the processor is loaded
        and reports forced tokens (a server with raw logprobs would hide them and miscount Waits)."""
        tok = self.tokenizer
        try:
            fmt = resolve_format("auto", tok)
        except S1kitError:
            return  # nothing to probe with; a wrong server still shows up as a divergence error
        budget = BudgetConfig(max_thinking_tokens=1, max_answer_tokens=1, answer_prefix="")
        state = SequenceState(budget, BudgetTokens.build(fmt, budget, tok))
        ids, values, _ = self._complete_forced(tok.encode("Hello"), state, SamplingConfig(), seed=0)
        if not any(v is not None and v > forcing_channel.FORCED_THRESHOLD for v in values):
            raise S1kitError(
                f"the server at {self.base_url} does not force tokens: start it with --logits-processors "
                "s1kit.backends.vllm_processor:BudgetForcingProcessor --logprobs-mode processed_logits, "
                "or drop --server-forcing to force by rounds"
            )

    def _complete_forced(self, prompt_ids: list[int], state: SequenceState, sampling: SamplingConfig, seed: int):
        """One request that the server's processor budget-forces from start to end."""
        spec = json.dumps(forcing_channel.request_spec(state, seed))
        wanted = state.request_tokens()
        fields = {k: v for k, v in state.config.__dict__.items() if v is not None}  # s1kit serve's budget fields
        extra = {"skip_special_tokens": False, "return_token_ids": True,
                 "vllm_xargs": {**fields, forcing_channel.EXTRA_ARGS_KEY: spec}}
        if wanted is None:
            extra["max_tokens"] = None
        try:
            reply = self.completion(
                prompt=prompt_ids, max_tokens=wanted if wanted is not None else self.openai.NOT_GIVEN,
                temperature=sampling.temperature, top_p=sampling.top_p, seed=seed, logprobs=0, extra_body=extra,
            )
        except self.openai.APIError as exc:
            raise self.error(exc, f"POST /completions (model '{self.model}')") from None
        choice = reply.choices[0]
        ids = getattr(choice, "token_ids", None)
        values = getattr(choice.logprobs, "token_logprobs", None) if choice.logprobs else None
        if ids is None or values is None or len(values) != len(ids):
            raise S1kitError(f"the server at {self.base_url} returned no token ids or logprobs; server forcing "
                             "needs a vLLM server (return_token_ids, logprobs)")
        return list(ids), list(values), choice.finish_reason

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

    def run(self, prompt_ids, states, sampling: SamplingConfig, seeds, batch_size: int = 16, progress: bool = True) -> None:
        """Drive every state to done, ``concurrency`` requests in flight.

        ``batch_size`` is unused: the server batches what is in flight. Each sequence's rounds run
        in order and depend only on its own prompt and seed, so results do not depend on concurrency.
        """
        from s1kit.progress import progress as counter

        failed = threading.Event()  # stops the other workers between rounds after an error
        bar = counter(len(prompt_ids), "generating", "seq", enabled=progress)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self._run_one, list(ids), state, sampling, seed, failed)
                       for ids, state, seed in zip(prompt_ids, states, seeds)]
            try:
                for future in as_completed(futures):
                    future.result()
                    bar.update(1)
            except BaseException:
                failed.set()
                for future in futures:
                    future.cancel()
                raise
            finally:
                bar.close()

    def _run_one(self, prompt: list[int], state: SequenceState, sampling: SamplingConfig, seed: int, failed) -> None:
        if self.server_forcing and not state.output:
            ids, values, finish = self._complete_forced(prompt, state, sampling, seed)
            forcing_channel.replay(state, ids, values)
            return
        # A continued sequence (a sweep's shorter budget) comes with its output already in the prompt.
        start = len(state.output)
        for round_index in itertools.count():
            while state.next_is_forced() and not state.done:
                state.advance(state.peek_forced())  # forced text needs no server call
            if state.done or failed.is_set():
                return
            before = len(state.output)
            ids, finish, stop_reason = self._complete(prompt + state.output[start:], state, sampling, seed, round_index)
            self._consume(state, ids, finish, stop_reason)
            if len(state.output) == before:
                raise S1kitError(f"the server at {self.base_url} returned no tokens (finish_reason {finish!r}) "
                                 f"after {before} output tokens; check its logs and max_model_len")

    def _complete(self, prompt_ids: list[int], state: SequenceState, sampling: SamplingConfig, seed: int, round_index: int):
        stop = state.tokens.end_of_thinking if state.phase is Phase.THINKING else state.tokens.stop
        wanted = state.round_tokens()  # the state must see the cap before the model goes on
        extra = {"stop_token_ids": sorted(stop), "skip_special_tokens": False, "return_token_ids": True}
        if wanted is None:
            extra["max_tokens"] = None  # vLLM reads null as "up to the context"; the SDK would omit None
        try:
            reply = self.completion(
                prompt=prompt_ids, max_tokens=wanted if wanted is not None else self.openai.NOT_GIVEN,
                temperature=sampling.temperature, top_p=sampling.top_p,
                # A fresh seed per round: one round's draws must not repeat the previous round's.
                seed=(seed * 65_536 + round_index) % 2**63, extra_body=extra,
            )
        except self.openai.APIError as exc:
            raise self.error(exc, f"POST /completions (model '{self.model}')") from None
        choice = reply.choices[0]
        ids = getattr(choice, "token_ids", None)
        if ids is None:
            raise S1kitError(
                f"the server at {self.base_url} returned no token ids; budget forcing over HTTP needs them "
                "token-exactly (vLLM's return_token_ids); serve the model with vLLM"
            )
        return list(ids), choice.finish_reason, getattr(choice, "stop_reason", None)

    @staticmethod
    def _consume(state: SequenceState, ids: list[int], finish: str | None, stop_reason) -> None:
        """Feed one round's tokens to the state, as the local decode loop would, one per position."""
        if finish == "stop" and isinstance(stop_reason, int) and (not ids or ids[-1] != stop_reason):
            ids = [*ids, stop_reason]  # a server that leaves the stop token out of the ids
        for token in ids:
            if state.done:
                return
            state.advance(token)
            if state.forced[-1]:
                # The state replaced the model's token (an end became Wait or the answer opener):
                # whatever the server generated after it continues a sequence that does not exist.
                return
