"""Answer probes while a sequence thinks, and the rules that end the thinking on what they say.

A *probe* forks a thinking sequence at a position: it appends what the cap would force there (the
end-of-thinking delimiter and the answer prefix), decodes a few answer tokens greedily, and reads
their answer and probabilities; the sequence itself goes on untouched. Dynasor-CoT (arXiv
2412.20993, Section 3) probes every N thinking tokens and exits once the last K probes agree; DEER
(arXiv 2504.15895, Section 3) probes where the model writes a transition word such as "Wait", and
exits once a probe's answer is confident enough. On exit the thinking ends at the probe's position
and the model answers as after a natural end (a forced span of kind ``exit``).

The decisions live here; backends only run probes: where a probe sits (:meth:`ProbePlan.due`,
asked position by position), what a probe says (:func:`reading`), and where a rule fires
(:func:`exit_index`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from s1kit.budget.config import SamplingConfig
from s1kit.budget.state import Phase, SequenceState, TokenScores

PROBE_AT = ("every", "transitions", "waits")
TRANSITION_WORDS = ("Wait", "Hmm", "Alternatively", "But")
"""Words that start a re-check in reasoning traces (DEER's "Wait", and the other extension strings
of s1's Table 4)."""


@dataclass(frozen=True)
class ProbePlan:
    """Where a sequence is probed and what a probe appends."""

    at: str
    """every (each ``every`` thinking tokens), transitions (before a transition word the model
    writes) or waits (where a forced Wait replaces an end the model picked)."""
    every: int
    tokens: int
    """Answer tokens a probe decodes (greedy) after what it appends."""
    forced: tuple[int, ...]
    """What a probe appends: the cap's delimiter and the answer prefix."""
    transition_starts: frozenset[int] = frozenset()
    """First tokens of the transition words."""

    def due(self, before: Moment, token: int, forced: bool, wait_start: bool, probes: int) -> bool:
        """Whether a probe branches off before ``token`` is appended at the next position
        (``before``: the sequence as it was; ``forced``: the token was forced there; ``wait_start``:
        a forced Wait starts there; ``probes``: probes taken so far)."""
        if before.phase is not Phase.THINKING:
            return False
        if self.at == "waits":
            return wait_start
        if forced or before.queued:
            return False
        if self.at == "every":
            return before.thinking_tokens >= (probes + 1) * self.every
        return token in self.transition_starts


@dataclass(frozen=True)
class Moment:
    """A sequence as it stood before a position: what a probe decision reads of it."""

    phase: Phase
    queued: bool
    thinking_tokens: int

    @classmethod
    def of(cls, state: SequenceState) -> Moment:
        return cls(state.phase, bool(state.queue), state.thinking_tokens)


@dataclass
class Probe:
    """One probe: where it branched and what it wrote."""

    position: int
    """The output position it branched before (its prefix is ``output[:position]``)."""
    thinking_tokens: int
    """Thinking tokens of that prefix."""
    tokens: list[int]
    """What it appended (ProbePlan.forced) and what it decoded."""
    logprobs: list[float | None]
    """Per token of ``tokens``: None where forced, else the decoded token's log-probability."""

    def decoded(self) -> int:
        return sum(lp is not None for lp in self.logprobs)


@dataclass(frozen=True)
class Reading:
    """What a probe says: its answer (None: none) and its confidence, the mean probability of the
    tokens it decoded (DEER's answer confidence)."""

    answer: str | None
    confidence: float


def reading(probe: Probe, tokenizer, extract) -> Reading:
    """A probe's answer (``extract``: text -> answer or None, the task's own) and confidence."""
    decoded = [math.exp(lp) for lp in probe.logprobs if lp is not None]
    return Reading(extract(tokenizer.decode(probe.tokens)), sum(decoded) / len(decoded) if decoded else 0.0)


def exit_index(readings: Sequence[Reading], rule: str, value: float) -> int | None:
    """The index of the first probe at which the rule fires, or None.

    ``agree``: the last ``value`` probes (this one included) give the same answer (Dynasor's
    certainty); ``confidence``: this probe has an answer and its confidence is at least ``value``
    (DEER)."""
    for i, r in enumerate(readings):
        if r.answer is None:
            continue
        if rule == "agree":
            k = int(value)
            if i + 1 >= k and all(readings[j].answer == r.answer for j in range(i + 1 - k, i + 1)):
                return i
        elif r.confidence >= value:
            return i
    return None


def replay_positions(plan: ProbePlan, trajectory: SequenceState) -> list[tuple[int, int]]:
    """Where ``plan`` probes a finished trajectory: (position, thinking tokens before it), for a
    backend that runs probes after the sequence rather than beside it. The same decisions as
    :meth:`ProbePlan.due` took position by position."""
    state = SequenceState(trajectory.config, trajectory.tokens, max_new_tokens=trajectory.max_new_tokens)
    wait_starts = {s.start for s in trajectory.spans if s.kind == "wait"}
    found = []
    for position, (token, forced) in enumerate(zip(trajectory.output, trajectory.forced)):
        if state.done:
            break
        if plan.due(Moment.of(state), token, forced, position in wait_starts, len(found)):
            found.append((position, state.thinking_tokens))
        state.observe(token, forced)
    return found


def run_probes_after(backend, prompt_ids: Sequence[list[int]], trajectories: Sequence[SequenceState], plan: ProbePlan,
                     batch_size: int) -> None:
    """The probes of finished trajectories, for a backend that runs them after the sequences: each
    a greedy continuation of the prompt, the prefix and the plan's forced text (an engine with prefix
    caching computes the shared prefix once). The same probes :meth:`ProbePlan.due` asks for."""
    jobs = []
    for ids, trajectory in zip(prompt_ids, trajectories):
        for position, thinking in replay_positions(plan, trajectory):
            budget = dataclasses.replace(trajectory.config, max_answer_tokens=plan.tokens, answer_prefix="")
            state = SequenceState(budget, trajectory.tokens).begin_answer()
            state.scores = TokenScores()
            jobs.append((trajectory, position, thinking, [*ids, *trajectory.output[:position], *plan.forced], state))
    if not jobs:
        return
    backend.run([job[3] for job in jobs], [job[4] for job in jobs], SamplingConfig(), [0] * len(jobs),
                batch_size=batch_size, progress=False)
    for trajectory, position, thinking, _, state in jobs:
        # The end of turn is no token of the answer it read.
        kept = [(t, lp) for t, lp in zip(state.output, state.scores.logprobs) if t not in state.tokens.stop]
        trajectory.probes.append(Probe(position, thinking, [*plan.forced, *(t for t, _ in kept)],
                                       [None] * len(plan.forced) + [lp for _, lp in kept]))

