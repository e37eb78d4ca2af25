"""NoThinking (Ma et al. 2025, arXiv 2504.09858): the thinking section is prefilled empty.

The end-of-thinking delimiter follows the thinking opener at once (the answer opener is forced at
the first position, a span of kind ``exit``), so the model answers without reasoning first. Alone
it is one point; with ``--samples K`` it is a parallel method, the majority (and best-of-n) of k
samples for k up to K. Its x axis is answer tokens: there is no thinking to count.
"""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.budget.config import SamplingConfig
from s1kit.budget.state import SequenceState
from s1kit.methods.point_run import PointRun, run_prepared
from s1kit.methods.points import MethodPoint


def run_no_thinking(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                    seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int) -> list[PointRun]:
    """Each unit's answer with its thinking ended before it starts."""
    states, generations = run_prepared(backend, questions, base, sampling, seeds, fmt, system_prompt, batch_size,
                                       prepare=SequenceState.exit_thinking)
    [point] = points
    return [PointRun(point, generations, [len(st.output) for st in states])]
