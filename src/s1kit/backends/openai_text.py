"""Budget forcing by text rounds, for OpenAI-compatible servers that return no token ids.

SGLang, llama.cpp and hosted APIs return text and usage figures, not ids. The loop then works on
text (:class:`s1kit.budget.text_state.TextState`): each round sends the prompt plus the output so
far as a raw text prompt, stops at the end-of-thinking strings, and appends the forced text itself.

Token counts come from the model's tokenizer when it loads locally (``local-tokenizer``: the
returned text re-encoded), else from the server (``server-usage``): a round's count is its
``usage.completion_tokens`` less the stop token the server counts when it stopped, and each forced
piece is measured once per run as the growth of ``usage.prompt_tokens`` when it is appended after
a special token (no merges across one). Either way the server re-tokenizes the text each round,
so counts can differ from the ids the model sampled by a token at a boundary; every generation
records which counting it used (``token_count_source``).

Without a local tokenizer the prompt is rendered with ``--chat-template FILE`` (Jinja, as in
tokenizer_config.json) or with built-in ChatML (Qwen2.5, s1, s1.1, QwQ, Qwen3); for the s1 format
ChatML uses Qwen2.5's default system prompt, as s1's own template does.
"""

from __future__ import annotations

from pathlib import Path

from s1kit.backends.openai_rounds import round_seed, run_concurrently
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import request_seed
from s1kit.budget.result import Generation
from s1kit.budget.text_state import PieceCounts, TextPieces, TextState
from s1kit.errors import S1kitError, require
from s1kit.formats import FORMATS, render_chatml, render_prompt, resolve_format

QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


class ChatTemplate:
    """Chat prompts without a tokenizer: a Jinja template file, or ChatML."""

    def __init__(self, name: str, path: str | Path | None = None, default_system: str | None = None):
        self.name = name
        self.default_system = default_system
        self.template = None
        if path is not None:
            jinja = require("jinja2", "openai")
            sandbox = require("jinja2.sandbox", "openai")
            try:
                source = Path(path).read_text()
            except OSError as exc:
                raise S1kitError(f"cannot read --chat-template {path} ({exc.strerror}); pass a Jinja template file") from None
            try:
                self.template = sandbox.ImmutableSandboxedEnvironment().from_string(source)
            except jinja.TemplateSyntaxError as exc:
                raise S1kitError(f"--chat-template {path} is not a valid Jinja template (line {exc.lineno}: {exc.message})") from None

    def has_chat_template(self) -> bool:
        return True

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if self.template is not None:
            return self.template.render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")
        if self.default_system and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.default_system}, *messages]
        return render_chatml(messages)


class TextRounds:
    """Runs budget forcing for one :class:`~s1kit.backends.openai_http.OpenAIBackend` over text."""

    def __init__(self, backend, chat_template: str | None = None):
        self.backend = backend
        self.tokenizer = backend.tokenizer
        self.chat_template = chat_template
        self.source = "server-usage" if self.tokenizer is None else "local-tokenizer"

    def _format(self, fmt: str):
        if self.tokenizer is not None:
            return resolve_format(fmt, self.tokenizer)
        if fmt == "auto":
            raise S1kitError(
                "without the model's tokenizer s1kit cannot tell its chat format; pass --format s1 or "
                "--format think-tags (or --tokenizer with a local tokenizer directory)"
            )
        return FORMATS[fmt]

    def _template(self, fmt):
        if self.tokenizer is not None and self.chat_template is None:
            return self.tokenizer
        return ChatTemplate(self.backend.model, self.chat_template, QWEN_SYSTEM if fmt.name == "s1" else None)

    def _counts(self, pieces: TextPieces) -> PieceCounts:
        names = ("wait", "answer_opener", "cap_delimiter", "answer_prefix")
        if self.tokenizer is not None:
            return PieceCounts(**{n: len(self.tokenizer.encode(getattr(pieces, n))) for n in names})
        # A special token first: no tokenizer merges across it, so the growth is the piece's own count.
        base = pieces.end_of_thinking[0]
        empty = self._prompt_tokens(base)
        return PieceCounts(**{n: self._prompt_tokens(base + getattr(pieces, n)) - empty if getattr(pieces, n) else 0
                              for n in names})

    def _prompt_tokens(self, text: str) -> int:
        reply = self._request(text, 1, (), SamplingConfig(), seed=0)
        return self._usage(reply).prompt_tokens

    def _usage(self, reply):
        usage = getattr(reply, "usage", None)
        if usage is None or usage.completion_tokens is None or usage.prompt_tokens is None:
            raise S1kitError(
                f"the server at {self.backend.base_url} reports no usage figures, and no local tokenizer was "
                "loaded to count tokens with; pass --tokenizer with the model's tokenizer"
            )
        return usage

    def _request(self, prompt: str, max_tokens: int | None, stop: tuple[str, ...], sampling: SamplingConfig, seed: int):
        backend = self.backend  # max_tokens None: up to the context (vLLM and llama.cpp read it so)
        return backend.complete(
            prompt, max_tokens, {"skip_special_tokens": False} if backend.extensions else {},
            temperature=sampling.temperature, top_p=sampling.top_p, stop=list(stop) or backend.openai.NOT_GIVEN,
            seed=seed,
        )

    def run(self, questions, budget: BudgetConfig, sampling: SamplingConfig, fmt: str,
            system_prompt: str | None, progress: bool, seeds=None) -> list[Generation]:
        chat_format = self._format(fmt)
        template = self._template(chat_format)
        prompts = [render_prompt(q, chat_format, template, system_prompt) for q in questions]
        pieces = TextPieces.build(chat_format, budget)
        counts = self._counts(pieces)
        if (budget.num_ignore or budget.min_thinking_tokens) and counts.wait < 1:
            raise S1kitError(f"wait_string {budget.wait_string!r} counts as no tokens; pass another --wait-string")
        if seeds is None:
            seeds = [request_seed(sampling.seed, i) for i in range(len(questions))]

        def one(i: int, failed) -> Generation:
            state = TextState(budget, pieces, counts)
            prompt_tokens = self._run_one(prompts[i], state, sampling, seeds[i], failed)
            return Generation.from_text_state(questions[i], prompt_tokens, state, seeds[i], self.source)

        return run_concurrently(one, len(questions), self.backend.concurrency, progress)

    def _run_one(self, prompt: str, state: TextState, sampling: SamplingConfig, seed: int, failed) -> int:
        prompt_tokens = None
        round_index = 0
        while not state.done and not failed.is_set():
            wanted, stop = state.next_request()
            reply = self._request(prompt + state.output, wanted, stop, sampling, round_seed(seed, round_index))
            round_index += 1
            choice = reply.choices[0]
            text = choice.text or ""
            if self.tokenizer is not None:
                tokens = len(self.tokenizer.encode(text))
                usage = getattr(reply, "usage", None)
                produced = usage.completion_tokens if usage is not None else tokens
                prompt_tokens = prompt_tokens or len(self.tokenizer.encode(prompt))
            else:
                usage = self._usage(reply)
                produced = usage.completion_tokens
                # The server counts the token that matched the stop; the text leaves it out.
                tokens = produced - 1 if choice.finish_reason == "stop" and produced > 0 else produced
                prompt_tokens = prompt_tokens or usage.prompt_tokens
            if choice.finish_reason == "stop":
                finish = "stop"
            elif wanted is not None and produced >= wanted:
                finish = "length"
            else:
                finish = "context"  # stopped short of what was asked for: the context is full
            if finish != "stop" and produced == 0:
                raise S1kitError(f"the server at {self.backend.base_url} returned no tokens (finish_reason "
                                 f"{choice.finish_reason!r}); check its logs and max_model_len")
            state.consume(text, tokens, finish)
        return prompt_tokens
