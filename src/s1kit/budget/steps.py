"""Where a reasoning step ends, for search that grows a trace one step at a time.

A step ends at the first model token whose text holds the step delimiter (``--step-delimiter``:
a blank line by default, a newline for ``nano``), or after ``max_tokens`` tokens of the step.
Tokenizers write a blank line as one token, alone or after punctuation (".\\n\\n"), so the tokens
that end a step are found once in the vocabulary (:func:`step_end_ids`). A delimiter a tokenizer
splits over two tokens ("\\n" then "\\n") ends no step; the step's token limit still does.
"""

from __future__ import annotations

from dataclasses import dataclass

from s1kit.errors import S1kitError


@dataclass(frozen=True)
class StepPlan:
    """When a step stops: the state finishes with reason ``step`` while thinking."""

    ends: frozenset[int]
    """Token ids whose text holds the step delimiter."""
    max_tokens: int | None = None
    """Most tokens of one step (None: no limit)."""

    def to_dict(self) -> dict:
        return {"ends": sorted(self.ends), "max_tokens": self.max_tokens}

    @classmethod
    def from_dict(cls, data: dict) -> StepPlan:
        return cls(frozenset(data["ends"]), data["max_tokens"])


def step_end_ids(tokenizer, delimiter: str) -> frozenset[int]:
    """The token ids whose text holds ``delimiter``; one line if there are none."""
    if not delimiter:
        raise S1kitError("step_delimiter is empty; pass the text that ends a step, e.g. --step-delimiter '\\n\\n'")
    found = set()
    vocab = getattr(tokenizer, "vocab", None) or getattr(tokenizer, "_vocab", None) or {}
    for token_id in set(vocab.values()):
        if delimiter in tokenizer.decode([token_id]):
            found.add(token_id)
    single = tokenizer.single_token_id(delimiter)
    if single is not None:
        found.add(single)
    found -= set(tokenizer.eos_token_ids)
    if not found:
        raise S1kitError(f"no token of {tokenizer.name}'s vocabulary holds the step delimiter {delimiter!r}, so no "
                         "step could end; pass another --step-delimiter (e.g. '\\n')")
    return frozenset(found)


def split_steps(text: str, delimiter: str) -> list[str]:
    """The steps of a trace: its text split at the delimiter, each step stripped, empty ones dropped."""
    return [part.strip() for part in text.split(delimiter) if part.strip()]
