"""Budget sweeps that share work: one trajectory per (question, sample) serves every point.

A sweep asks for several points (a thinking cap, a number of suppressed ends). Each (question,
sample) is generated once at the *top* point: the largest cap and the most ignores. Every other
point replays that trajectory through its own :class:`~s1kit.budget.state.SequenceState`:

- where its controller decides as the top point's did (always, until its own cap or its own last
  ignore bites), it takes the trajectory's token;
- at the first position where it decides otherwise, it ends thinking (cap, or the answer opener
  after its last ignore), and only its answer is generated, as a continuation of that prefix.
  Points that never decide otherwise reuse the whole generation, answer included.

Why each point keeps the right distribution: the controller's decision at a position depends only
on the prefix, and the model samples each token from its distribution given the prefix. Up to the
first differing decision, the point's own run and the top run would therefore draw every token from
the same conditional distributions given the same prefix: the shared prefix *is* a draw of the
point's run. From there the point forces its own text and samples its answer fresh, exactly as its
own run would. Each point's samples are exact; across points they are coupled (shorter budgets
share prefixes with longer ones), which tightens the differences between points but means the
points are not independent. Greedy decoding gives token for token what independent runs give
(tests/test_sweep.py).

Points that cut a unit at the same place (the same output so far) share one answer: in the answer
nothing depends on the point any more.

A point may only lower what the top point allows, and the differences it can have are ending
thinking sooner; so every divergence lands in the answer, where nothing more is forced and any
backend can continue the sequence as a plain request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import context_room, render_ids, request_seed
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, Phase, SequenceState


@dataclass(frozen=True)
class Point:
    """One point of a sweep."""

    max_thinking_tokens: int | None
    """The thinking cap (None: no cap)."""
    num_ignore: int
    """Ends of thinking suppressed with the wait string."""

    def budget(self, base: BudgetConfig) -> BudgetConfig:
        return dataclasses.replace(base, max_thinking_tokens=self.max_thinking_tokens, num_ignore=self.num_ignore)

    @property
    def label(self) -> str:
        cap = "no cap" if self.max_thinking_tokens is None else f"cap {self.max_thinking_tokens}"
        return f"{cap}, {self.num_ignore} ignore{'s' if self.num_ignore != 1 else ''}"


def top_point(points: Sequence[Point]) -> Point:
    """The point whose trajectory serves all: the largest cap (None if any point has none), most ignores."""
    caps = [p.max_thinking_tokens for p in points]
    return Point(None if None in caps else max(caps), max(p.num_ignore for p in points))


def follow(trajectory: SequenceState, state: SequenceState) -> bool:
    """Advance ``state`` along ``trajectory`` until it puts a token otherwise; True if it did.

    A position where the state forces the very token the trajectory's model picked is no parting:
    the prefix stays the same, and so does every draw the model makes from it. After a parting
    the forced text the state queued is appended too, so the state is in its answer (or done)
    with nothing queued.
    """
    forced = [i for i, was_forced in enumerate(trajectory.forced) if was_forced]
    if state.observe_all(trajectory.output, forced, until_mismatch=True) is None:
        return False
    any_end = min(trajectory.tokens.end_of_thinking)
    while state.queue and not state.done:
        state.advance(any_end)
    return True


@dataclass
class SweepResult:
    generations: dict[Point, list[Generation]]
    """Per point, one generation per unit, in unit order."""
    decoded: dict[Point, list[int]]
    """Per point and unit, the tokens the backend produced for it: the whole output for the top
    point, the continued answer for a point that diverged, 0 for one that reused everything."""
    top: Point

    @property
    def decoded_tokens(self) -> int:
        """Tokens the backend produced for the whole sweep."""
        return sum(sum(v) for v in self.decoded.values())

    @property
    def top_tokens(self) -> int:
        """Tokens of the top point's generations alone."""
        return sum(self.decoded[self.top])

    @property
    def independent_tokens(self) -> int:
        """Tokens independent runs of every point would have produced (the sum of their outputs)."""
        return sum(output_tokens(g) for gens in self.generations.values() for g in gens)


def output_tokens(g: Generation) -> int:
    """Output length of a generation; on text rounds (no ids) its thinking and answer tokens."""
    return len(g.token_ids) or g.thinking_tokens + g.answer_tokens


def run_sweep(backend, questions: Sequence[str], points: Sequence[Point], base: BudgetConfig,
              sampling: SamplingConfig, seeds: Sequence[int], fmt: str = "auto", system_prompt: str | None = None,
              batch_size: int = 16, progress: bool = True) -> SweepResult:
    """Generate every point for every unit (question i with seed ``seeds[i]``), sharing work."""
    points = sorted(set(points), key=_order)
    top = top_point(points)
    if backend.text_mode():
        return _independent(backend, questions, points, base, sampling, seeds, fmt, system_prompt, progress)
    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    tokens = BudgetTokens.build(chat_format, top.budget(base), tok)
    rooms = context_room(backend, prompt_ids)
    trajectories = [SequenceState(top.budget(base), tokens, max_new_tokens=room) for room in rooms]
    backend.run(prompt_ids, trajectories, sampling, seeds, batch_size=batch_size, progress=progress)

    states: dict[Point, list[SequenceState]] = {top: trajectories}
    decoded = {top: [len(t.output) for t in trajectories]}
    pending, pending_ids, pending_seeds, before = [], [], [], []
    same_prefix: dict[tuple, SequenceState] = {}  # (unit, output so far) -> the state that continues it
    copies = []
    for index, point in enumerate(points):
        if point == top:
            continue
        states[point], decoded[point] = [], [0] * len(trajectories)
        for i, trajectory in enumerate(trajectories):
            state = SequenceState(point.budget(base), tokens, max_new_tokens=rooms[i])
            if follow(trajectory, state) and not state.done:
                key = (i, tuple(state.output))
                if key in same_prefix:
                    # Another point cut this unit at the same place (e.g. the ignores ran out before
                    # either cap): in its answer nothing depends on the point, so it shares the answer.
                    copies.append((same_prefix[key], state))
                else:
                    same_prefix[key] = state
                    pending.append((point, i, state))
                    pending_ids.append(prompt_ids[i] + state.output)
                    # Its own stream of draws: the answer must not replay the trajectory's draws.
                    pending_seeds.append(request_seed(seeds[i], index + 1))
                    before.append(len(state.output))
            states[point].append(state)
    if pending:
        continued = [state for _, _, state in pending]
        if not all(s.phase is Phase.ANSWER and not s.queue for s in continued):
            raise RuntimeError("a sweep point diverged outside its answer; please report this as a bug")
        backend.run(pending_ids, continued, sampling, pending_seeds, batch_size=batch_size, progress=progress)
        for (point, i, state), start in zip(pending, before):
            decoded[point][i] = len(state.output) - start
    for source, state in copies:
        for token in source.output[len(state.output):]:
            state.advance(token)

    generations = {
        point: [Generation.from_state(q, len(ids), st, tok, seed)
                for q, ids, st, seed in zip(questions, prompt_ids, point_states, seeds)]
        for point, point_states in states.items()
    }
    return SweepResult(generations, decoded, top)


def _order(point: Point):
    return (point.max_thinking_tokens is None, point.max_thinking_tokens or 0, point.num_ignore)


def _independent(backend, questions, points, base, sampling, seeds, fmt, system_prompt, progress) -> SweepResult:
    """Servers without token ids cannot continue a trajectory token-exactly: each point runs alone."""
    generations = {point: backend.generate_text(questions, point.budget(base), sampling, fmt, system_prompt,
                                                progress, seeds=seeds) for point in points}
    decoded = {point: [output_tokens(g) for g in gens] for point, gens in generations.items()}
    return SweepResult(generations, decoded, top_point(points))
