"""How a request's budget travels into vLLM's engine and how forced tokens come back out.

Shared by the in-process vLLM backend and the HTTP backend talking to a vLLM server that loads
:class:`s1kit.backends.vllm_processor.BudgetForcingProcessor`; no vLLM import here.

- In: ``SamplingParams.extra_args["s1kit"]`` (offline engine: a dict; HTTP: ``vllm_xargs``, which
  only carries strings and numbers, so the same dict as JSON text).
- Out: the processor gives a forced token the logit ``FORCED_LOGIT``; an engine run with
  ``logprobs_mode="processed_logits"`` reports it as the token's "logprob" when the request asks
  for ``logprobs=0``. The client then replays the same SequenceState over the returned tokens.
"""

from __future__ import annotations

import json

from s1kit.budget.state import SequenceState
from s1kit.errors import S1kitError

EXTRA_ARGS_KEY = "s1kit"
FORCED_LOGIT = 1.0e9
FORCED_THRESHOLD = 1.0e8
"""Reported values above this mark forced tokens; real logits stay far below it."""


def request_spec(state: SequenceState, seed: int | None) -> dict:
    """Everything the engine-side processor needs to rebuild this request's state (a fresh one).
    ``seed`` seeds its end-of-thinking draws when the request has no seed of its own (None: random)."""
    if state.output:
        raise ValueError("only fresh sequences are forced in the engine; continue answers as plain requests")
    return {"budget": state.config.__dict__.copy(), "tokens": state.tokens.to_dict(),
            "max_new_tokens": state.max_new_tokens, "seed": seed}


def parse_spec(value) -> dict | None:
    """The spec from extra_args: a dict (offline engine) or JSON text (vllm_xargs over HTTP)."""
    if value is None or isinstance(value, dict):
        return value
    return json.loads(value)


def replay(state: SequenceState, token_ids, reported) -> None:
    """Advance state over what the engine produced; `reported` holds each token's reported value."""
    forced = [position for position, value in enumerate(reported) if value is not None and value > FORCED_THRESHOLD]
    position = state.observe_all(token_ids, forced)
    if position is not None:
        raise S1kitError(
            f"the engine's output diverged from the budget-forcing state at output position {position} "
            f"(token {token_ids[position]}); is the server running s1kit's logits processor with "
            "--logprobs-mode processed_logits? Otherwise please report this as a bug"
        )
