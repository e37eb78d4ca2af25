"""Budget forcing over any backend, the entry point of generation: :func:`generate_with_budget`
renders the prompts, checks them, decodes under each sequence's budget and collects the results."""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import S1kitError, check_positive_int
from s1kit.formats import render_prompt, resolve_format


def request_seed(base_seed: int, index: int) -> int:
    """Seed of request `index` in a call: distinct per request, fixed by the base seed."""
    return base_seed * 1_000_003 + index


def check_questions(questions: Sequence[str]) -> None:
    """Cheap checks, so that callers can fail before loading a model."""
    if not questions:
        raise S1kitError("no prompts given; pass PROMPT arguments or --file questions.jsonl")
    for i, question in enumerate(questions):
        if not isinstance(question, str) or not question.strip():
            raise S1kitError(f"empty prompt (number {i + 1}); every prompt needs some text")


def generate_with_budget(
    backend,
    questions: Sequence[str],
    budget: BudgetConfig | None = None,
    sampling: SamplingConfig | None = None,
    fmt: str = "auto",
    batch_size: int = 16,
    system_prompt: str | None = None,
    progress: bool = True,
) -> list[Generation]:
    """Answer each question with budget forcing; results come back in input order."""
    budget = budget or BudgetConfig()
    sampling = sampling or SamplingConfig()
    check_questions(questions)
    check_positive_int("batch_size", batch_size)
    if backend.text_mode():
        # A server without token ids, or no local tokenizer: the same control loop on text.
        return backend.generate_text(questions, budget, sampling, fmt, system_prompt, progress)
    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    tokens = BudgetTokens.build(chat_format, budget, tok)
    states = [SequenceState(budget, tokens, max_new_tokens=room) for room in context_room(backend, prompt_ids)]
    seeds = [request_seed(sampling.seed, i) for i in range(len(questions))]
    backend.run(prompt_ids, states, sampling, seeds, batch_size=batch_size, progress=progress)
    return [
        Generation.from_state(q, len(ids), st, tok, seed)
        for q, ids, st, seed in zip(questions, prompt_ids, states, seeds)
    ]


def render_ids(backend, questions: Sequence[str], fmt: str, system_prompt: str | None):
    """The chat format and each question's prompt token ids."""
    tok = backend.tokenizer
    chat_format = resolve_format(fmt, tok)
    return chat_format, [tok.encode(render_prompt(q, chat_format, tok, system_prompt)) for q in questions]


def context_room(backend, prompt_ids: Sequence[list[int]]) -> list[int | None]:
    """Output tokens each prompt leaves in the backend's context (None: unknown)."""
    limit = backend.context_length
    if limit is None:
        return [None] * len(prompt_ids)
    setting = getattr(backend, "context_setting", None)  # a flag that set the context (--max-model-len)
    for i, ids in enumerate(prompt_ids):
        if len(ids) >= limit:
            if setting:
                raise S1kitError(f"prompt {i + 1} is {len(ids)} tokens, but {setting} is {limit}; raise {setting} "
                                 "(up to the model's context) or shorten the prompt")
            raise S1kitError(
                f"prompt {i + 1} is {len(ids)} tokens, but the context of '{backend.tokenizer.name}' holds {limit}; "
                "shorten the prompt or use a model with a longer context"
            )
    return [limit - len(ids) for ids in prompt_ids]
