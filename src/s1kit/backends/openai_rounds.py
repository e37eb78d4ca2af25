"""Budget forcing by token rounds over ``/v1/completions``.

No server offers both the cap and the "Wait" extension, so the control loop stays on the client,
in the same :class:`~s1kit.budget.state.SequenceState` the local backends use. Each sequence goes
in rounds:

1. send the prompt plus the output so far as token ids (a raw prompt, no chat template, so the
   assistant turn continues token-exactly), asking for at most the tokens left before the cap
   (thinking) or the answer limit (answer), and stopping at the end-of-thinking (thinking) or
   end-of-turn (answer) ids;
2. feed the returned ids to ``state.advance``; a stop id goes through it too, so the state decides
   exactly as it does locally (queue the wait string, the answer opener, or finish);
3. apply queued forced tokens locally, with no server call, and start the next round.

Forced spans are therefore known exactly, and greedy output equals the ``hf`` backend's as long as
the server's logits do (tests/test_openai_backend.py). Token ids, stop ids and special tokens use
vLLM's extensions (``return_token_ids``, ``stop_token_ids``, ``skip_special_tokens``); other
servers ignore unknown fields, and the loop stays correct when they return extra tokens after a
stop (dropped) or leave the stop id out of the ids (taken from ``stop_reason``).

Ids at or beyond the tokenizer's size (padded embedding rows; the s1 reference crashed with
"token id out of vocabulary" when re-feeding them) are kept as the model chose them, as the local
backends do: vLLM >= 0.32 accepts any id below the model's vocabulary size in a prompt, and the
tokenizer decodes them to nothing. A server that still refuses them gets a one-line error naming
the id instead of a traceback (:meth:`~s1kit.backends.openai_http.OpenAIBackend.error`).

The text rounds (openai_text.py) share this module's seed per round and its way of running many
sequences at once.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

from s1kit.budget.config import SamplingConfig
from s1kit.budget.state import Phase, SequenceState
from s1kit.errors import S1kitError


def run_concurrently(work, count: int, concurrency: int, progress: bool) -> list:
    """``[work(i, failed) for i in range(count)]``, ``concurrency`` at a time. After an error the
    other sequences stop between rounds (``failed``, a threading.Event, is set) and it is raised."""
    from s1kit.progress import progress as counter

    failed = threading.Event()
    bar = counter(count, "generating", "seq", enabled=progress)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(work, i, failed) for i in range(count)]
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
    return [future.result() for future in futures]


def round_seed(seed: int, round_index: int) -> int:
    """A fresh seed per round: one round's draws must not repeat the previous round's."""
    return (seed * 65_536 + round_index) % 2**63


def run_rounds(backend, prompt: list[int], state: SequenceState, sampling: SamplingConfig, seed: int, failed) -> None:
    """Drive one state to done by rounds; stop early when ``failed`` is set."""
    # A continued sequence (a sweep's shorter budget) comes with its output already in the prompt.
    start = len(state.output)
    for round_index in itertools.count():
        while state.next_is_forced() and not state.done:
            state.advance(state.peek_forced())  # forced text needs no server call
        if state.done or failed.is_set():
            return
        before = len(state.output)
        request = prompt + state.output[start:]
        ids, finish, stop_reason = _complete(backend, request, state, sampling, round_seed(seed, round_index))
        consume(state, ids, finish, stop_reason)
        if len(state.output) == before:
            raise S1kitError(f"the server at {backend.base_url} returned no tokens (finish_reason {finish!r}) "
                             f"after {before} output tokens; check its logs and max_model_len")


def _complete(backend, prompt_ids: list[int], state: SequenceState, sampling: SamplingConfig, seed: int):
    """One round: the ids the server sampled, its finish_reason and its stop_reason."""
    stop = state.tokens.end_of_thinking if state.phase is Phase.THINKING else state.tokens.stop
    wanted = state.round_tokens()  # the state must see the cap before the model goes on
    extra = {"stop_token_ids": sorted(stop), "skip_special_tokens": False, "return_token_ids": True}
    reply = backend.complete(prompt_ids, wanted, extra, temperature=sampling.temperature, top_p=sampling.top_p,
                             seed=seed)
    choice = reply.choices[0]
    ids = getattr(choice, "token_ids", None)
    if ids is None:
        raise S1kitError(
            f"the server at {backend.base_url} returned no token ids; budget forcing over HTTP needs them "
            "token-exactly (vLLM's return_token_ids); serve the model with vLLM"
        )
    return list(ids), choice.finish_reason, getattr(choice, "stop_reason", None)


def consume(state: SequenceState, ids: list[int], finish: str | None, stop_reason) -> None:
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
