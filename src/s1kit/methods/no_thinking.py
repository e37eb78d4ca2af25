"""NoThinking (Ma et al. 2025, arXiv 2504.09858): the thinking section is prefilled empty.

The end-of-thinking delimiter follows the thinking opener at once (the answer opener is forced at
the first position, a span of kind ``exit``), so the model answers without reasoning first. Alone
it is one point; with ``--samples K`` it is a parallel method, the majority (and best-of-n) of k
samples for k up to K. Its x axis is answer tokens: there is no thinking to count.
"""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.budget.config import SamplingConfig
from s1kit.budget.forcing import context_room, render_ids
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.methods.point_run import PointRun
from s1kit.methods.points import MethodPoint


def run_no_thinking(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                    seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int) -> list[PointRun]:
    """Each unit's answer with its thinking ended before it starts."""
    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    tokens = BudgetTokens.build(chat_format, base, tok)
    states = []
    for room in context_room(backend, prompt_ids):
        state = SequenceState(base, tokens, max_new_tokens=room)
        state.exit_thinking()
        states.append(state)
    backend.run(prompt_ids, states, sampling, seeds, batch_size=batch_size, progress=False)
    generations = [Generation.from_state(q, len(ids), st, tok, seed)
                   for q, ids, st, seed in zip(questions, prompt_ids, states, seeds)]
    [point] = points
    return [PointRun(point, generations, [len(st.output) for st in states])]
