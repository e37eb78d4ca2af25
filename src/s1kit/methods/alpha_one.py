"""AlphaOne (arXiv 2505.24863): scheduled Waits before the alpha moment, the thinking ended after it.

The schedule is budget.alpha's. The moment is alpha times the question's natural thinking length
(``--alpha``, measured by one unforced run of the unit first, whose tokens count as the method's
work), or a number of thinking tokens (``--alpha-tokens``). Each alpha is a point; the curve is
accuracy against the thinking tokens the points spent. Budget forcing is the special case without
the schedule: it extends only where the model tries to end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from s1kit.budget.alpha import AlphaPlan
from s1kit.budget.config import SamplingConfig
from s1kit.budget.forcing import context_room, render_ids
from s1kit.budget.probes import TRANSITION_WORDS
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import SettingError, check_positive_int, shown
from s1kit.methods.point_run import PointRun
from s1kit.methods.points import MethodPoint

BREAKS = ("\n\n", ".\n\n", ",\n\n", ")\n\n", "]\n\n", " \n\n")
"""Paragraph breaks after which a scheduled Wait may go (AlphaOne's list); a tokenizer that writes
none of them as one token breaks paragraphs at a line break."""
DEFAULT_ALPHA = 1.4
"""AlphaOne's default moment: 1.4 times the natural thinking length."""


@dataclass
class AlphaConfig:
    """alpha-one's moments and schedule."""

    alpha: list[float] | None = None
    """alpha-one: alpha moments to sweep, as multiples of each question's natural thinking length, e.g. 0.8,1.0,1.4 (default 1.4)."""
    alpha_tokens: list[int] | None = None
    """alpha-one: alpha moments in thinking tokens instead, e.g. 256,512."""
    alpha_p: float = 0.3
    """alpha-one: chance of a Wait after a paragraph break at the start of the thinking, falling linearly to 0 at the moment."""

    def __post_init__(self) -> None:
        for a in self.alpha or []:
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not a > 0:
                raise SettingError("alpha", f"alpha must be above 0 (a multiple of the natural thinking length), got {shown(a)}")
        for n in self.alpha_tokens or []:
            check_positive_int("alpha_tokens", n)
        if self.alpha and self.alpha_tokens:
            raise SettingError("alpha_tokens", "pass --alpha or --alpha-tokens, not both: each says where the moment is")
        if isinstance(self.alpha_p, bool) or not isinstance(self.alpha_p, (int, float)) or not 0 <= self.alpha_p <= 1:
            raise SettingError("alpha_p", f"alpha_p must be a probability in [0, 1], got {shown(self.alpha_p)}")

    def moments(self) -> list[tuple[str, float]]:
        """The points' moments: ("alpha", multiple) or ("alpha_tokens", tokens)."""
        if self.alpha_tokens:
            return [("alpha_tokens", n) for n in self.alpha_tokens]
        return [("alpha", a) for a in self.alpha or [DEFAULT_ALPHA]]


def schedule_tokens(tokenizer) -> tuple[frozenset[int], frozenset[int]]:
    """The paragraph-break tokens and the transition words' first tokens of a tokenizer."""
    breaks = {t for t in (tokenizer.single_token_id(b) for b in BREAKS) if t is not None}
    if not breaks:
        breaks = {ids[0] for ids in (tokenizer.encode("\n"),) if len(ids) == 1}
    transitions = {ids[0] for word in TRANSITION_WORDS for ids in (tokenizer.encode(word), tokenizer.encode(" " + word)) if ids}
    return frozenset(breaks), frozenset(transitions)


def run_alpha_one(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                  seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int, config: AlphaConfig) -> list[PointRun]:
    """Every point's generation for every unit (each point its own run)."""
    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    rooms = context_room(backend, prompt_ids)
    natural, natural_tokens = None, [0] * len(questions)
    if any(p.rule[0] == "alpha" for p in points):
        plain = dataclasses.replace(base, max_thinking_tokens=None, num_ignore=0, min_thinking_tokens=0)
        tokens = BudgetTokens.build(chat_format, plain, tok)
        first = [SequenceState(plain, tokens, max_new_tokens=room) for room in rooms]
        backend.run(prompt_ids, first, sampling, seeds, batch_size=batch_size, progress=False)
        natural, natural_tokens = [s.thinking_tokens for s in first], [len(s.output) for s in first]
    breaks, transitions = schedule_tokens(tok)
    states = []
    for point in points:
        budget = dataclasses.replace(base, max_thinking_tokens=point.cap, num_ignore=point.num_ignore)
        tokens = BudgetTokens.build(chat_format, budget, tok)
        for unit, (room, seed) in enumerate(zip(rooms, seeds)):
            kind, value = point.rule
            moment = int(value) if kind == "alpha_tokens" else max(1, round(value * natural[unit]))
            state = SequenceState(budget, tokens, max_new_tokens=room)
            state.alpha = AlphaPlan(moment, config.alpha_p, breaks, transitions, seed)
            states.append(state)
    backend.run(prompt_ids * len(points), states, sampling, list(seeds) * len(points), batch_size=batch_size, progress=False)
    runs = []
    for k, point in enumerate(points):
        mine = states[k * len(questions):(k + 1) * len(questions)]
        generations = [Generation.from_state(q, len(ids), st, tok, seed)
                       for q, ids, st, seed in zip(questions, prompt_ids, mine, seeds)]
        extras = [{"alpha_moment": st.alpha.moment} for st in mine]
        runs.append(PointRun(point, generations, [len(st.output) for st in mine], extras))
    for unit, used in enumerate(natural_tokens):  # the natural runs that placed the moments
        runs[0].decoded[unit] += used
    return runs
