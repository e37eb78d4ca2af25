"""Server forcing: one request per sequence, budget-forced by the server itself.

With ``server_forcing=True`` (``--server-forcing``) a vLLM server started with s1kit's logits
processor,

    vllm serve MODEL --logits-processors s1kit.backends.vllm_processor:BudgetForcingProcessor \\
        --logprobs-mode processed_logits

gets the budget in ``vllm_xargs`` and marks forced tokens in the returned logprobs
(forcing_channel.py); no rounds, no re-prefill. The request carries the budget's fields beside
the spec, so that ``s1kit serve``, which makes every spec itself and drops a client's, forces it
the same way. A probe request at start-up (:func:`probe_server_forcing`) checks the server.
"""

from __future__ import annotations

import json

from s1kit.backends import forcing_channel
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import S1kitError
from s1kit.formats import resolve_format


def run_forced(backend, prompt: list[int], state: SequenceState, sampling: SamplingConfig, seed: int) -> None:
    """Drive one state to done with the one request the server forces."""
    ids, values, _ = complete_forced(backend, prompt, state, sampling, seed)
    forcing_channel.replay(state, ids, values)


def complete_forced(backend, prompt_ids: list[int], state: SequenceState, sampling: SamplingConfig, seed: int):
    """One request that the server's processor budget-forces from start to end: the ids, their
    logprobs (forced ones marked) and the finish_reason."""
    spec = json.dumps(forcing_channel.request_spec(state, seed))
    fields = {k: v for k, v in state.config.__dict__.items() if v is not None}  # s1kit serve's budget fields
    extra = {"skip_special_tokens": False, "return_token_ids": True,
             "vllm_xargs": {**fields, forcing_channel.EXTRA_ARGS_KEY: spec}}
    reply = backend.complete(prompt_ids, state.request_tokens(), extra, temperature=sampling.temperature,
                             top_p=sampling.top_p, seed=seed, logprobs=0)
    choice = reply.choices[0]
    ids = getattr(choice, "token_ids", None)
    values = getattr(choice.logprobs, "token_logprobs", None) if choice.logprobs else None
    if ids is None or values is None or len(values) != len(ids):
        raise S1kitError(f"the server at {backend.base_url} returned no token ids or logprobs; server forcing "
                         "needs a vLLM server (return_token_ids, logprobs)")
    return list(ids), list(values), choice.finish_reason


def probe_server_forcing(backend) -> None:
    """One tiny request whose second token the server must force: proves the processor is loaded
    and reports forced tokens (a server with raw logprobs would hide them and miscount Waits)."""
    tok = backend.tokenizer
    try:
        fmt = resolve_format("auto", tok)
    except S1kitError:
        return  # nothing to probe with; a wrong server still shows up as a divergence error
    budget = BudgetConfig(max_thinking_tokens=1, max_answer_tokens=1, answer_prefix="")
    state = SequenceState(budget, BudgetTokens.build(fmt, budget, tok))
    ids, values, _ = complete_forced(backend, tok.encode("Hello"), state, SamplingConfig(), seed=0)
    if not any(v is not None and v > forcing_channel.FORCED_THRESHOLD for v in values):
        raise S1kitError(
            f"the server at {backend.base_url} does not force tokens: start it with --logits-processors "
            "s1kit.backends.vllm_processor:BudgetForcingProcessor --logprobs-mode processed_logits, "
            "or drop --server-forcing to force by rounds"
        )
