"""Budget forcing on text, for servers that return text but no token ids.

The twin of :class:`s1kit.budget.state.SequenceState` one level up: instead of one token per call,
it takes one server round at a time (the text the model wrote and how many tokens that was) and
appends forced text. The decisions are the same ones, made by :mod:`s1kit.budget.rules`: cap,
extend with the wait string, or open the answer.

Counts come from a :class:`PieceCounts` (how many tokens each forced piece is) and from each
round's count (the local tokenizer over the returned text, or the server's usage figures). The cap
is exact in those counts: each thinking round asks for at most the tokens left before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s1kit.budget import rules
from s1kit.budget.config import BudgetConfig
from s1kit.budget.state import Phase


@dataclass(frozen=True)
class TextPieces:
    """The strings the text loop stops at and forces, for one (format, budget)."""

    end_of_thinking: tuple[str, ...]
    """Stop strings of thinking rounds; the server's own end-of-turn ends thinking too."""
    wait: str
    answer_opener: str
    cap_delimiter: str
    answer_prefix: str

    @classmethod
    def build(cls, fmt, config: BudgetConfig) -> TextPieces:
        return cls(end_of_thinking=tuple(fmt.end_of_thinking), wait=config.wait_string,
                   answer_opener=fmt.answer_start, cap_delimiter=fmt.cap_separator + fmt.answer_start,
                   answer_prefix=config.answer_prefix)


@dataclass(frozen=True)
class PieceCounts:
    """Tokens in each forced piece, measured once per run."""

    wait: int
    answer_opener: int
    cap_delimiter: int
    answer_prefix: int


@dataclass
class TextState:
    """One sequence's budget-forcing state over text rounds."""

    config: BudgetConfig
    pieces: TextPieces
    counts: PieceCounts

    phase: Phase = Phase.THINKING
    output: str = ""
    position: int = 0
    """Output tokens so far (sampled and forced), in the run's counting."""
    thinking_tokens: int = 0
    thinking_end: int | None = None
    """Character index in output where thinking ends (the delimiter starts)."""
    answer_start: int | None = None
    """Character index in output where the answer section (answer prefix included) begins."""
    answer_sampled: int = 0
    answer_tokens: int = 0
    waits_inserted: int = 0
    forced_end: bool = False
    finish_reason: str | None = None
    spans: list[dict[str, Any]] = field(default_factory=list)
    """Forced pieces as :attr:`s1kit.budget.result.Generation.forced_spans` gives them: token offsets
    in the run's counting, character offsets in :attr:`output`."""

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    def next_request(self) -> tuple[int | None, tuple[str, ...]]:
        """(max_tokens, stop strings) of the next round; max_tokens None means up to the context."""
        if self.phase is Phase.THINKING:
            return rules.thinking_left(self.config, self.thinking_tokens), self.pieces.end_of_thinking
        return rules.answer_left(self.config, self.answer_sampled), ()

    def consume(self, text: str, tokens: int, finish: str) -> None:
        """Take one round: the text the model wrote, its token count, and why it stopped.

        finish is ``stop`` (an end-of-thinking string or the end of turn; not in text or tokens),
        ``length`` (the requested max_tokens) or ``context`` (the server ran out of context).
        """
        if self.done:
            raise RuntimeError("consume() called on a finished sequence")
        if finish not in ("stop", "length", "context"):
            raise ValueError(f"finish must be stop, length or context, got {finish!r}")
        self.output += text
        self.position += tokens
        if finish == "context":
            if self.phase is Phase.THINKING:
                self.thinking_tokens += tokens
            else:
                self._answer(tokens)
            return self._finish("length")
        if self.phase is Phase.THINKING:
            self.thinking_tokens += tokens
            if finish == "stop" and not self._at_cap():
                self._model_ended_thinking()
            elif self._at_cap():
                self._force_cap()
            return  # a length round short of the cap: the next round asks for the rest
        self._answer(tokens)
        if finish == "stop":
            self._finish("stop")
        elif rules.answer_left(self.config, self.answer_sampled) <= 0:
            self._finish("length")

    def _answer(self, tokens: int) -> None:
        self.answer_sampled += tokens
        self.answer_tokens += tokens

    def _at_cap(self) -> bool:
        return rules.at_cap(self.config, self.thinking_tokens)

    def _model_ended_thinking(self) -> None:
        kind = rules.on_end(self.config, self.thinking_tokens, self.waits_inserted, self.counts.wait)
        if kind == rules.END:
            return self._force_answer(self.pieces.answer_opener, self.counts.answer_opener, "end", prefix=False)
        if kind == rules.CAP:
            return self._force_cap()
        self.waits_inserted += 1
        if self.pieces.wait:  # an empty one appends nothing: the next round asks again from here
            self._append_span(self.pieces.wait, self.counts.wait, "wait")
        self.thinking_tokens += self.counts.wait
        if self._at_cap():
            self._force_cap()  # the wait filled the budget to the last token

    def _force_cap(self) -> None:
        self.forced_end = True
        self._force_answer(self.pieces.cap_delimiter, self.counts.cap_delimiter, "cap", prefix=True)

    def _force_answer(self, delimiter: str, delimiter_tokens: int, kind: str, *, prefix: bool) -> None:
        self.thinking_end = len(self.output)
        text = delimiter + (self.pieces.answer_prefix if prefix else "")
        prefix_tokens = self.counts.answer_prefix if prefix else 0
        self._append_span(text, delimiter_tokens + prefix_tokens, kind)
        self.answer_start = self.thinking_end + len(delimiter)
        self.answer_tokens = prefix_tokens
        self.phase = Phase.ANSWER

    def _append_span(self, text: str, tokens: int, kind: str) -> None:
        self.spans.append({"start": self.position, "end": self.position + tokens, "kind": kind, "text": text,
                           "char_start": len(self.output), "char_end": len(self.output) + len(text)})
        self.output += text
        self.position += tokens

    def _finish(self, reason: str) -> None:
        self.phase = Phase.DONE
        self.finish_reason = reason

    @property
    def thinking(self) -> str:
        return self.output[: self.thinking_end] if self.thinking_end is not None else self.output

    @property
    def answer(self) -> str:
        return self.output[self.answer_start :] if self.answer_start is not None else ""
