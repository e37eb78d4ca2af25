"""The budget-forcing control loop, one sequence at a time (s1 paper, section 3.1).

A backend's decode loop calls :meth:`SequenceState.advance` once per position with the token the
model picked there; the state returns the token that goes into the sequence. Most of the time that
is the model's token. The state overrides it in three cases:

- **cap**: thinking has reached ``max_thinking_tokens``: force the end-of-thinking delimiter and
  the answer prefix, whatever the model wanted;
- **extend**: the model picked an end-of-thinking token but fewer than ``num_ignore`` ends have been
  suppressed, or thinking is shorter than ``min_thinking_tokens``: drop the end, force the wait string;
- **end**: the model picked an end-of-thinking token and may stop: force the answer opener.

Forced text is queued and fed one token per position, so a forced token costs a decode step like a
sampled one and continues from the KV cache; no sequence waits for another.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from s1kit.budget import rules
from s1kit.budget.alpha import AlphaPlan
from s1kit.budget.config import BudgetConfig
from s1kit.budget.steps import StepPlan
from s1kit.errors import S1kitError


class Phase(enum.Enum):
    THINKING = "thinking"
    ANSWER = "answer"
    DONE = "done"


@dataclass(frozen=True)
class ForcedSpan:
    """Output positions [start, end) that the controller forced rather than the model sampled."""

    start: int
    end: int
    kind: str
    """``wait`` (a suppressed end), ``cap`` (delimiter + answer prefix at the cap), ``end`` (the
    answer opener after the model ended thinking by itself) or ``exit`` (the answer opener where a
    probe found the answer settled)."""


@dataclass(frozen=True)
class BudgetTokens:
    """The token ids the control loop needs, built once per (format, config, tokenizer)."""

    end_of_thinking: frozenset[int]
    stop: frozenset[int]
    wait: tuple[int, ...]
    answer_opener: tuple[int, ...]
    """Forced when the model ends thinking itself: the answer-section delimiter."""
    cap_delimiter: tuple[int, ...]
    """Forced at the cap before the answer prefix: separator + answer-section delimiter."""
    answer_prefix: tuple[int, ...]

    @classmethod
    def build(cls, fmt, config: BudgetConfig, tokenizer) -> BudgetTokens:
        end = {tokenizer.single_token_id(t) for t in fmt.end_of_thinking} | set(tokenizer.eos_token_ids)
        end.discard(None)
        # Tokenize the pieces apart: the answer section must start at a token boundary.
        wait = tuple(tokenizer.encode(config.wait_string)) if config.wait_string else ()
        if (config.num_ignore or config.min_thinking_tokens) and config.wait_string and not wait:
            raise S1kitError(f"wait_string {config.wait_string!r} encodes to no tokens; pass another --wait-string")
        if (config.num_ignore or config.min_thinking_tokens) and set(wait) & end:
            raise S1kitError(f"wait_string {config.wait_string!r} holds an end-of-thinking or end-of-turn token, so it "
                             "would end the thinking it is meant to extend; pass a plain word, e.g. --wait-string Wait")
        return cls(
            end_of_thinking=frozenset(end),
            stop=frozenset(tokenizer.eos_token_ids),
            wait=wait,
            answer_opener=tuple(tokenizer.encode(fmt.answer_start)),
            cap_delimiter=tuple(tokenizer.encode(fmt.cap_separator + fmt.answer_start)),
            answer_prefix=tuple(tokenizer.encode(config.answer_prefix)) if config.answer_prefix else (),
        )

    def replacement_starts(self) -> frozenset[int]:
        """Tokens a forced replacement for an end of thinking can start with (the wait string, the
        answer opener, the cap text): only an output holding one can have such a position."""
        pieces = (self.wait, self.answer_opener, self.cap_delimiter + self.answer_prefix)
        return frozenset(piece[0] for piece in pieces if piece)

    def to_dict(self) -> dict[str, list[int]]:
        """Plain lists, to travel to another process (vLLM's engine)."""
        return {name: sorted(value) if isinstance(value, frozenset) else list(value) for name, value in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, list[int]]) -> BudgetTokens:
        sets = {"end_of_thinking", "stop"}
        return cls(**{name: frozenset(value) if name in sets else tuple(value) for name, value in data.items()})


@dataclass
class TokenScores:
    """What a backend records of the model's distribution at each output position, when asked: the
    chosen token's log-probability (temperature 1) and, with ``top_k`` > 1, DeepConf's token
    confidence, the negative mean log-probability of the top-k candidates (arXiv 2508.15260, Eq. 2).
    None at forced positions: the model chose nothing there."""

    top_k: int = 1
    logprobs: list[float | None] = field(default_factory=list)
    confidences: list[float | None] = field(default_factory=list)

    def add(self, logprob: float | None, confidence: float | None = None) -> None:
        self.logprobs.append(logprob)
        self.confidences.append(confidence)


@dataclass
class SequenceState:
    """Explicit per-sequence state: where it is, what it produced, what is queued to be forced."""

    config: BudgetConfig
    tokens: BudgetTokens
    max_new_tokens: int | None = None
    """Room left in the context after the prompt; the sequence stops with finish_reason "length"
    when its output fills it."""

    phase: Phase = Phase.THINKING
    output: list[int] = field(default_factory=list)
    forced: list[bool] = field(default_factory=list)
    spans: list[ForcedSpan] = field(default_factory=list)
    queue: deque[int] = field(default_factory=deque)
    thinking_tokens: int = 0
    answer_start: int | None = None
    """Output index where the answer section (answer prefix included) begins."""
    answer_sampled: int = 0
    waits_inserted: int = 0
    forced_end: bool = False
    finish_reason: str | None = None
    scores: TokenScores | None = None
    """Per-position scores the backend records (probes and confidence methods ask for them)."""
    probe_plan: object | None = None
    """Where the backend probes the answer while this sequence thinks (budget.probes.ProbePlan), if
    it can branch a probe off the sequence as it goes; the probes land in ``probes``."""
    probes: list = field(default_factory=list)
    alpha: AlphaPlan | None = None
    """AlphaOne's schedule of Waits and of the end of thinking (budget.alpha), if it has one."""
    _alpha_draws: random.Random | None = field(default=None, repr=False)
    step: StepPlan | None = None
    """Where a step of search ends (budget.steps): the sequence finishes with reason ``step`` there."""

    def past_alpha(self) -> bool:
        return self.alpha is not None and self.thinking_tokens >= self.alpha.moment

    def end_choices(self) -> frozenset[int]:
        """The tokens that end the thinking if the model picks one now: the ends of thinking, and
        after the alpha moment the transition words' first tokens."""
        ends = self.tokens.end_of_thinking
        return ends | self.alpha.transitions if self.past_alpha() else ends

    def watched(self) -> frozenset[int]:
        """Model tokens the state must see one by one while thinking (the caller may take runs of
        others at once): the end choices, and before the alpha moment the paragraph breaks."""
        watched = self.end_choices() | (self.step.ends if self.step is not None else frozenset())
        if self.alpha is not None and not self.past_alpha():
            return watched | self.alpha.breaks
        return watched

    def fork(self) -> SequenceState:
        """A copy that goes on apart from this state (a search's child node)."""
        if self.scores is not None or self.alpha is not None or self.probe_plan is not None:
            raise RuntimeError("fork() copies plain budget states only")
        return dataclasses.replace(self, output=list(self.output), forced=list(self.forced), spans=list(self.spans),
                                   queue=deque(self.queue), probes=[])

    def resumed(self, step: StepPlan | None = None, max_new_tokens: int | None = None) -> SequenceState:
        """A fresh state that decides as this one would from here on (its thinking and its Waits so
        far counted), for a request whose prompt holds this state's output; ``step``: stop it at the
        step's end. Only a thinking state with nothing queued resumes."""
        if self.phase is not Phase.THINKING or self.queue:
            raise RuntimeError("resumed() needs a thinking state with nothing queued")
        return SequenceState(self.config, self.tokens, max_new_tokens=max_new_tokens, thinking_tokens=self.thinking_tokens,
                             waits_inserted=self.waits_inserted, step=step)

    def begin_answer(self) -> SequenceState:
        """Start in the answer: the prompt already ended the thinking, so none of the output is."""
        self.phase, self.answer_start = Phase.ANSWER, len(self.output)
        return self

    def exit_thinking(self) -> None:
        """End the thinking here, as a natural end would (a probe's exit rule fired): the answer
        opener is queued, a span of kind ``exit``."""
        if self.phase is not Phase.THINKING or self.queue:
            raise RuntimeError("exit_thinking() needs a thinking sequence with nothing queued")
        self._force(self.tokens.answer_opener, kind=rules.EXIT)

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    def next_is_forced(self) -> bool:
        """True when the next token does not depend on the model (queued text, or the cap)."""
        if self.queue:
            return True
        return self.phase is Phase.THINKING and self._at_cap()

    def peek_forced(self) -> int | None:
        """The token the next position will take whatever the model picks, or None. Pure."""
        if self.queue:
            return self.queue[0]
        if self.phase is Phase.THINKING and self._at_cap():
            return self._first(self.tokens.cap_delimiter, self.tokens.answer_prefix)
        return None

    def replay_needs_marks(self) -> bool:
        """Whether a replay of this budget's output must be told which tokens were forced.

        Most forced tokens follow from the tokens alone: queued text and the cap from the state,
        and an end of thinking replaced by the answer opener replays as an end when the opener
        starts with an end-of-thinking token. A forced Wait does not: it looks exactly like a Wait
        the model wrote. So only budgets that extend thinking (``num_ignore``, a minimum) need marks."""
        config, tokens = self.config, self.tokens
        return bool(config.num_ignore or config.min_thinking_tokens or not tokens.answer_opener
                    or tokens.answer_opener[0] not in tokens.end_of_thinking)

    def replacement_for_end(self) -> int:
        """The token appended if the model picks an end-of-thinking token now. Pure.

        For backends that must decide before sampling (a vLLM logits processor): when the model
        wants to end its thinking, this is the token to force instead. With an empty wait string
        the ends suppressed append nothing, and greedy the model picks the end again at once: the
        token is what the last decision appends."""
        kind, waits = self._on_end(), self.waits_inserted
        while kind == rules.WAIT and not self.tokens.wait:
            waits += 1
            kind = rules.on_end(self.config, self.thinking_tokens, waits, 0)
        return self._first(*self._pieces(kind))

    @staticmethod
    def _first(*pieces: tuple[int, ...]) -> int:
        return next(t for piece in pieces for t in piece)

    def observe(self, token: int, forced: bool) -> int:
        """Advance over a token that is already in the sequence (an engine's output, another
        point's trajectory); ``forced`` says whether it was forced there. Returns the token this
        state appends, which differs from ``token`` where this state decides otherwise.

        A forced token this state has not queued replaced an end of thinking the model picked, so
        the state is given an end to decide on; a forced token it has queued is its own."""
        any_end = min(self.tokens.end_of_thinking)
        pick = any_end if forced and not self.next_is_forced() else token
        appended = self.advance(pick)
        while appended is None:  # an end suppressed with nothing appended: the same end, again
            appended = self.advance(pick)
        return appended

    def advance(self, model_token: int) -> int | None:
        """Take the token the model picked at the next position; return the token appended there,
        or None when the model's end was suppressed with an empty wait string: nothing is appended,
        and the model picks again at the same position (s1's "without string" extension)."""
        if self.done:
            raise RuntimeError("advance() called on a finished sequence")
        if self.queue:
            return self._append(self.queue.popleft(), forced=True)
        if self.phase is Phase.THINKING:
            if self._at_cap():
                kind = rules.CAP
            elif model_token in self.end_choices():
                kind = self._on_end()
            else:
                appended = self._append(model_token, forced=False)
                if self.alpha is not None and model_token in self.alpha.breaks:
                    self._scheduled_wait()
                return appended
            self.forced_end = self.forced_end or kind == rules.CAP
            self.waits_inserted += kind == rules.WAIT
            if kind == rules.WAIT and not self.tokens.wait:
                return None
            self._force(*self._pieces(kind), kind=kind)
            return self._append(self.queue.popleft(), forced=True)
        # Answer phase, model's own token.
        if model_token in self.tokens.stop:
            self._append(model_token, forced=False)
            self._finish("stop")
            return model_token
        self.answer_sampled += 1
        return self._append(model_token, forced=False)

    def free_positions(self) -> int | None:
        """How many next positions take the model's token as it is with nothing to decide, unless
        the model picks an end of thinking (while thinking) or an end of turn: none while text is
        queued or once done (None: no bound). An engine need not show the state those tokens one
        by one: :meth:`observe_free` takes them at once."""
        if self.queue or self.done:
            return 0
        free = self.round_tokens()
        if self.alpha is not None and self.phase is Phase.THINKING and not self.past_alpha():
            # The moment changes what the state watches for: it must see that position.
            until = self.alpha.moment - self.thinking_tokens
            free = until if free is None else min(free, until)
        if self.step is not None and self.step.max_tokens is not None and self.phase is Phase.THINKING:
            left = self.step.max_tokens - len(self.output)  # the state must see the step's last token
            free = left if free is None else min(free, left)
        return free

    def observe_free(self, tokens: list[int]) -> int:
        """Advance at once over the longest start of ``tokens`` (model tokens, none forced) that
        lies in the positions :meth:`free_positions` counts and holds no end (of thinking, while
        thinking; of the turn, in the answer); return how many it took. Each is taken as
        :meth:`observe` would take it: unchanged. The caller shows the rest one by one."""
        free = self.free_positions()
        run = tokens if free is None or len(tokens) <= free else tokens[:free]
        watch = self.watched() if self.phase is Phase.THINKING else self.tokens.stop
        if not watch.isdisjoint(run):
            run = run[: next(i for i, token in enumerate(run) if token in watch)]
        if not run:
            return 0
        self.output.extend(run)
        self.forced.extend([False] * len(run))
        if self.phase is Phase.THINKING:
            self.thinking_tokens += len(run)
        else:
            self.answer_sampled += len(run)
        self._check_finish()  # only the last one can end the sequence: no more were free
        return len(run)

    def observe_all(self, tokens: Sequence[int], forced: Sequence[int] = (), *,
                    until_mismatch: bool = False) -> int | None:
        """Advance over ``tokens``, an engine's output from this state's position on, until the
        sequence is done; ``forced``: the sorted indexes in ``tokens`` the engine forced. Runs of
        model tokens at free positions are taken at once (:meth:`observe_free`), the rest one by one
        (:meth:`observe`). Returns the index of the first token this state put otherwise (the
        engine diverged from it), or None. ``until_mismatch``: stop right after that token, the
        tokens after it left untaken (a sweep's point leaving the trajectory it follows)."""
        mismatch = None
        index, count = 0, len(tokens)
        while index < count and not self.done:
            after = bisect.bisect_left(forced, index)
            next_forced = forced[after] if after < len(forced) else count
            taken = self.observe_free(tokens[index:next_forced]) if index < next_forced else 0
            if not taken:  # a forced token, an end, or past the free positions: decided here
                if self.observe(tokens[index], forced=index == next_forced) != tokens[index] and mismatch is None:
                    mismatch = index
                    if until_mismatch:
                        break
                taken = 1
            index += taken
        return mismatch

    def _at_cap(self) -> bool:
        return rules.at_cap(self.config, self.thinking_tokens)

    def _scheduled_wait(self) -> None:
        """After a paragraph break before the alpha moment: the wait string, with the schedule's
        probability (one draw per break, whatever it decides, so every replay draws alike)."""
        if self.past_alpha():
            return
        chance = self.alpha.wait_probability(self.thinking_tokens - 1)
        if self._alpha_draws is None:
            self._alpha_draws = self.alpha.draws()
        drawn = self._alpha_draws.random()
        left = rules.thinking_left(self.config, self.thinking_tokens)
        if drawn < chance and self.tokens.wait and (left is None or len(self.tokens.wait) <= left):
            self.waits_inserted += 1
            self._force(self.tokens.wait, kind=rules.WAIT)

    def _on_end(self) -> str:
        if self.past_alpha():  # AlphaOne: after its moment the thinking ends where it may
            return rules.END
        return rules.on_end(self.config, self.thinking_tokens, self.waits_inserted, len(self.tokens.wait))

    def _pieces(self, kind: str) -> tuple[tuple[int, ...], ...]:
        """The token pieces forced for a span of this kind: (delimiter, answer prefix) or (wait,)."""
        t = self.tokens
        return {rules.WAIT: (t.wait,), rules.END: (t.answer_opener,), rules.CAP: (t.cap_delimiter, t.answer_prefix)}[kind]

    def _force(self, delimiter: tuple[int, ...], prefix: tuple[int, ...] = (), *, kind: str) -> None:
        start = len(self.output)
        self.queue.extend(delimiter)
        self.queue.extend(prefix)
        self.spans.append(ForcedSpan(start, start + len(delimiter) + len(prefix), kind))
        if kind != "wait":
            self.phase = Phase.ANSWER
            self.answer_start = start + len(delimiter)

    def _append(self, token: int, *, forced: bool) -> int:
        self.output.append(token)
        self.forced.append(forced)
        if self.phase is Phase.THINKING:
            self.thinking_tokens += 1
        self._check_finish()
        return token

    def _check_finish(self) -> None:
        """End the sequence when its answer or the context has run out, or its step is over."""
        if self.phase is Phase.ANSWER and not self.queue and rules.answer_left(self.config, self.answer_sampled) <= 0:
            self._finish("length")
        elif self.max_new_tokens is not None and len(self.output) >= self.max_new_tokens:
            self._finish("length")
        elif self.step is not None and self.phase is Phase.THINKING and not self.queue and self._step_over():
            self._finish("step")

    def _step_over(self) -> bool:
        """A step ends at a token of the model's that holds the delimiter, or at the step's length."""
        step = self.step
        return ((not self.forced[-1] and self.output[-1] in step.ends)
                or (step.max_tokens is not None and len(self.output) >= step.max_tokens))

    def room(self) -> int | None:
        """Output tokens the context still holds for this sequence (None: unknown)."""
        return None if self.max_new_tokens is None else self.max_new_tokens - len(self.output)

    def round_tokens(self) -> int | None:
        """Most tokens a round of plain decoding may produce before this state must see them: the
        thinking left under the cap, or the answer left; never past the context (None: no limit)."""
        if self.phase is Phase.THINKING:
            return self._within_room(rules.thinking_left(self.config, self.thinking_tokens))
        return self._within_room(rules.answer_left(self.config, self.answer_sampled))

    def request_tokens(self) -> int | None:
        """Most tokens one request forced end to end by an engine can produce: thinking, the cap
        text, the answer and its end token; never past the context (None: no limit)."""
        cfg, tokens, limit = self.config, self.tokens, self.max_new_tokens
        if cfg.max_thinking_tokens is None:
            return limit
        most = cfg.max_thinking_tokens + len(tokens.cap_delimiter) + len(tokens.answer_prefix) + cfg.max_answer_tokens + 1
        return most if limit is None else min(limit, most)

    def answer_request_tokens(self) -> int:
        """Most tokens a sequence already in its answer can still produce: the answer left and its
        end token, never past the context; at least 1."""
        return max(self._within_room(rules.answer_left(self.config, self.answer_sampled) + 1), 1)

    def _within_room(self, wanted: int | None) -> int | None:
        """wanted, lowered to the room left in the context (None on either side: no bound)."""
        room = self.room()
        return room if wanted is None else wanted if room is None else min(wanted, room)

    def _finish(self, reason: str) -> None:
        self.phase = Phase.DONE
        self.finish_reason = reason
        self.queue.clear()

    @property
    def answer_tokens(self) -> int:
        return len(self.sections()[1])

    def sections(self) -> tuple[list[int], list[int]]:
        """(thinking ids, answer ids): the forced delimiters in neither, the answer prefix in the
        answer, the final end-of-turn token left out."""
        if self.answer_start is None:
            return self.output[: self.thinking_tokens], []
        end = len(self.output) - (1 if self.finish_reason == "stop" else 0)
        return self.output[: self.thinking_tokens], self.output[self.answer_start : max(end, self.answer_start)]
