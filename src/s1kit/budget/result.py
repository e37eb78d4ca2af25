"""What one budget-forced generation produced, in the shape `s1kit generate --json` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from s1kit.budget.state import SequenceState

ROW = {"s1kit.row": True}
"""Field metadata: an eval row carries this result as it is (eval.run.make_row)."""


@dataclass
class Generation:
    prompt: str
    """The question as the user gave it."""
    thinking: str = field(metadata=ROW)
    """Text of the thinking tokens (inserted wait strings included, delimiters excluded)."""
    answer: str = field(metadata=ROW)
    """Text of the answer section: forced answer prefix included, end-of-turn token excluded."""
    text: str = field(metadata=ROW)
    """The whole output after the prompt, special tokens kept."""
    thinking_tokens: int = field(metadata=ROW)
    answer_tokens: int = field(metadata=ROW)
    waits_inserted: int = field(metadata=ROW)
    forced_end: bool = field(metadata=ROW)
    """True when the cap (or a wait that no longer fit under it) ended the thinking."""
    finish_reason: str = field(metadata=ROW)
    """``stop`` (the model ended its answer) or ``length`` (max_answer_tokens or the context ran out)."""
    forced_spans: list[dict[str, Any]] = field(metadata=ROW)
    """Output token ranges the controller forced: ``{start, end, kind, text, char_start, char_end}``,
    ends exclusive; ``char_start``/``char_end`` place ``text`` in :attr:`text`
    (``text[char_start:char_end] == span["text"]``), both None where the tokenizer decodes the span
    differently inside the output than alone."""
    prompt_tokens: int
    token_ids: list[int] = field(repr=False)
    forced_mask: list[bool] = field(repr=False)
    """Per output token: True if forced, False if the model sampled it."""
    seed: int | None = field(default=None, metadata=ROW)
    token_count_source: str = field(default="token-ids", metadata=ROW)
    """How the token counts were made: ``token-ids`` (the ids the model produced; exact),
    ``local-tokenizer`` (the server returned text, re-encoded with the model's tokenizer) or
    ``server-usage`` (the server's usage figures; no tokenizer was available). Without ids,
    ``token_ids`` and ``forced_mask`` are empty and span offsets are in the counted tokens."""

    def row_fields(self) -> dict[str, Any]:
        """The results an eval row carries as they are (the fields marked ROW)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("s1kit.row")}

    @property
    def forced_tokens(self) -> int:
        return sum(self.forced_mask)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, prompt: str, prompt_tokens: int, state: SequenceState, tokenizer, seed: int | None) -> Generation:
        out = state.output
        thinking_ids, answer_ids = state.sections()
        text = tokenizer.decode(out)
        spans = []
        for s in state.spans:
            end = min(s.end, len(out))  # a span is cut short when the context runs out in the middle of it
            span_text = tokenizer.decode(out[s.start : end])
            char_start, char_end = char_range(tokenizer, out, end, span_text, text)
            spans.append({"start": s.start, "end": end, "kind": s.kind, "text": span_text,
                          "char_start": char_start, "char_end": char_end})
        return cls(
            prompt=prompt,
            thinking=tokenizer.decode(thinking_ids),
            answer=tokenizer.decode(answer_ids),
            text=text,
            thinking_tokens=state.thinking_tokens,
            answer_tokens=state.answer_tokens,
            waits_inserted=state.waits_inserted,
            forced_end=state.forced_end,
            finish_reason=state.finish_reason or "length",
            forced_spans=spans,
            prompt_tokens=prompt_tokens,
            token_ids=list(out),
            forced_mask=list(state.forced),
            seed=seed,
        )

    @classmethod
    def from_text_state(cls, prompt: str, prompt_tokens: int, state, seed: int | None, source: str) -> Generation:
        """From a :class:`s1kit.budget.text_state.TextState` (servers that return text only)."""
        return cls(
            prompt=prompt, thinking=state.thinking, answer=state.answer, text=state.output,
            thinking_tokens=state.thinking_tokens, answer_tokens=state.answer_tokens,
            waits_inserted=state.waits_inserted, forced_end=state.forced_end,
            finish_reason=state.finish_reason or "length", forced_spans=[dict(s) for s in state.spans],
            prompt_tokens=prompt_tokens, token_ids=[], forced_mask=[], seed=seed, token_count_source=source,
        )


def char_range(tokenizer, ids: list[int], end: int, span_text: str, text: str) -> tuple[int | None, int | None]:
    """Characters ``[start, end)`` of ``text`` (the decoded ``ids``) that hold the span ending at
    token ``end`` whose tokens decode alone to ``span_text``; (None, None) if they hold other text.

    Measured from the span's end: the output decoded up to there ends on a whole character, because
    the forced text was encoded from a whole string (or, for a span the context cut short, it is all
    of ``text``). Its start may not: with byte-level tokens the model can stop in the middle of a
    character, and a prefix decoded up to the span's start then ends in a replacement character."""
    before_end = tokenizer.decode(ids[:end])
    start = len(before_end) - len(span_text)
    if start >= 0 and before_end.endswith(span_text) and text.startswith(before_end):
        return start, len(before_end)
    return None, None
