"""Answer probing with early exit (Dynasor-CoT, arXiv 2412.20993; DEER, arXiv 2504.15895).

While a sequence thinks, probes read the answer it would give now (budget.probes); an exit rule
ends the thinking at the probe where the answer looks settled: the last K probes agree
(``--probe-agree K``, Dynasor's certainty) or the probe's answer is confident enough
(``--probe-confidence P``, DEER). The model then answers as after a natural end.

One probed trajectory per unit serves every point (each cap and each rule's value), as a budget
sweep's does (budget.sweep): a point follows the trajectory to its exit (or its cap), and from
there only its answer is generated, as a continuation. Greedy, this is token for token what the
point's own run gives, since a probe never changes its sequence. A point's cost is what its own run
spends: its thinking, and the tokens of the probes it ran (those before its exit, the firing one
included); the row says so in ``probe_tokens``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from s1kit.budget.config import SamplingConfig
from s1kit.budget.forcing import context_room, render_ids, request_seed
from s1kit.budget.probes import PROBE_AT, TRANSITION_WORDS, ProbePlan, exit_index, reading, run_probes_after
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, Phase, SequenceState
from s1kit.budget.sweep import follow
from s1kit.errors import S1kitError, SettingError, check_positive_int, shown
from s1kit.methods.point_run import PointRun
from s1kit.methods.points import MethodPoint


@dataclass
class ProbeConfig:
    """Where probe-exit probes, and the exit rules it sweeps."""

    probe_at: str = "every"
    """probe-exit: every (each --probe-every thinking tokens), transitions (before a transition word the
    model writes: Wait, Hmm, Alternatively, But) or waits (at each forced Wait)."""
    probe_every: int = 32
    """probe-exit: thinking tokens between two probes (--probe-at every)."""
    probe_tokens: int = 8
    """probe-exit: answer tokens a probe decodes after the end of thinking and the answer prefix."""
    probe_agree: list[int] | None = None
    """probe-exit: exit once the last K probes agree (Dynasor), K to sweep, e.g. 2,3,4 (default 3 without --probe-confidence)."""
    probe_confidence: list[float] | None = None
    """probe-exit: exit once a probe's answer has this mean token probability (DEER), e.g. 0.9,0.95."""

    def __post_init__(self) -> None:
        if self.probe_at not in PROBE_AT:
            raise SettingError("probe_at", f"unknown probe_at {shown(self.probe_at)}; choose from {', '.join(PROBE_AT)}")
        check_positive_int("probe_every", self.probe_every)
        check_positive_int("probe_tokens", self.probe_tokens)
        for k in self.probe_agree or []:
            check_positive_int("probe_agree", k)
        for p in self.probe_confidence or []:
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
                raise SettingError("probe_confidence", f"probe_confidence must be in (0, 1], got {shown(p)}")

    def rules(self) -> list[tuple[str, float]]:
        """The exit rules to sweep: (agree, K) and (confidence, P)."""
        agree = self.probe_agree if self.probe_agree is not None or self.probe_confidence else [3]
        return [("agree", k) for k in agree or []] + [("confidence", p) for p in self.probe_confidence or []]


@dataclass
class _Readings:
    """One trajectory's probes and what they say."""

    trajectory: SequenceState
    probes: list = field(default_factory=list)
    readings: list = field(default_factory=list)


def require_scores(backend, method: str) -> None:
    """A method that reads the model's token probabilities needs a backend that records them."""
    if not getattr(backend, "records_scores", False) or backend.text_mode():
        raise S1kitError(f"{method} reads the model's token probabilities, which the hf and vllm backends record and "
                         f"the {backend.name} backend does not; use --backend hf or vllm")


def plan_for(config: ProbeConfig, tokens: BudgetTokens, tokenizer) -> ProbePlan:
    starts = {ids[0] for word in TRANSITION_WORDS for ids in (tokenizer.encode(word), tokenizer.encode(" " + word)) if ids}
    return ProbePlan(config.probe_at, config.probe_every, config.probe_tokens,
                     tuple(tokens.cap_delimiter + tokens.answer_prefix), frozenset(starts))


def run_probe_exit(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                   seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int, probe: ProbeConfig,
                   extract) -> list[PointRun]:
    """Every point's generation for every unit, from one probed trajectory per unit; ``extract``
    reads an answer from a probe's text (the task's extraction)."""
    require_scores(backend, "probe-exit")
    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    caps = [p.cap for p in points]
    top = dataclasses.replace(base, max_thinking_tokens=None if None in caps else max(caps),
                              num_ignore=max(p.num_ignore for p in points))
    tokens = BudgetTokens.build(chat_format, top, tok)
    plan = plan_for(probe, tokens, tok)
    rooms = context_room(backend, prompt_ids)
    beside = getattr(backend, "probes_beside", False)
    trajectories = [SequenceState(top, tokens, max_new_tokens=room) for room in rooms]
    for trajectory in trajectories:
        trajectory.probe_plan = plan if beside else None
    backend.run(prompt_ids, trajectories, sampling, seeds, batch_size=batch_size, progress=False)
    if not beside:
        run_probes_after(backend, prompt_ids, trajectories, plan, batch_size)
    probed = [_Readings(t, t.probes, [reading(p, tok, extract) for p in t.probes]) for t in trajectories]
    decoded_top = [len(t.output) + sum(len(p.tokens) for p in t.probes) for t in trajectories]

    runs, pending = [], []
    for index, point in enumerate(points):
        budget = dataclasses.replace(base, max_thinking_tokens=point.cap, num_ignore=point.num_ignore)
        states, extras = [], []
        for unit, found in enumerate(probed):
            fired = exit_index(found.readings, *point.rule)
            state = None if fired is None else _exit_at(found.trajectory, budget, rooms[unit], found.probes[fired].position)
            if state is None:  # no exit, or the point's cap ends its thinking first
                fired = None
                state = SequenceState(budget, tokens, max_new_tokens=rooms[unit])
                parted = follow(found.trajectory, state)
            else:
                parted = True
            if parted and not state.done:
                pending.append((state, prompt_ids[unit] + state.output, request_seed(seeds[unit], index + 1)))
            states.append(state)
            extras.append(_extras(found, state, fired))
        runs.append((point, states, extras))
    if pending:
        before = [len(s.output) for s, _, _ in pending]
        backend.run([ids for _, ids, _ in pending], [s for s, _, _ in pending], sampling, [seed for _, _, seed in pending],
                    batch_size=batch_size, progress=False)
        continued = {id(s): len(s.output) - b for (s, _, _), b in zip(pending, before)}
    else:
        continued = {}
    result = []
    for point, states, extras in runs:
        generations = [Generation.from_state(q, len(ids), st, tok, seed)
                       for q, ids, st, seed in zip(questions, prompt_ids, states, seeds)]
        decoded = [continued.get(id(st), 0) for st in states]
        result.append(PointRun(point, generations, decoded, extras))
    # The shared trajectory and its probes, once per unit: on the first point.
    for unit, tokens_used in enumerate(decoded_top):
        result[0].decoded[unit] += tokens_used
    return result


def _exit_at(trajectory: SequenceState, budget, room: int | None, position: int) -> SequenceState | None:
    """The point's state along the trajectory to ``position``, its thinking ended there (the
    answer opener forced); None when the point's own budget parts from the trajectory before it."""
    forced = [i for i, f in enumerate(trajectory.forced[:position]) if f]
    state = SequenceState(budget, trajectory.tokens, max_new_tokens=room)
    if state.observe_all(trajectory.output[:position], forced, until_mismatch=True) is not None:
        return None
    if state.phase is not Phase.THINKING or state.queue:
        return None
    state.exit_thinking()
    any_end = min(state.tokens.end_of_thinking)
    while state.queue and not state.done:
        state.advance(any_end)
    return state


def _extras(found: _Readings, state: SequenceState, fired: int | None) -> dict:
    """The row fields of a point's unit: the probes it ran and where it exited."""
    if fired is not None:
        ran = list(range(fired + 1))
    else:
        end = next((s.start for s in state.spans if s.kind != "wait"), len(state.output))
        ran = [i for i, p in enumerate(found.probes) if p.position < end]
    probes = [{"position": found.probes[i].position, "thinking_tokens": found.probes[i].thinking_tokens,
               "answer": found.readings[i].answer, "confidence": round(found.readings[i].confidence, 4),
               "fired": i == fired} for i in ran]
    return {"probe_tokens": sum(len(found.probes[i].tokens) for i in ran), "probes": probes, "exited": fired is not None}
