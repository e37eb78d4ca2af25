"""A scripted fake model for tests: it "picks" tokens from a script instead of computing logits.

The script is text. At every position where the controller is not forcing a token, the model
picks the next token of its script; when the script is exhausted it picks end-of-turn. Forced
tokens do not consume the script, so after a suppressed end the model goes on where it was.

Its tokenizer is a toy: special tokens (``<|im_start|>``, ``<|im_end|>``, ``<think>``,
``</think>``) are single tokens, everything else splits into words with their leading spaces.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence

from s1kit.budget.config import SamplingConfig
from s1kit.formats import render_chatml

SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>", "<think>", "</think>")


class ToyTokenizer:
    def __init__(self, specials: Sequence[str] = SPECIAL_TOKENS, eos: str = "<|im_end|>", name: str = "scripted"):
        self.name = name
        self.specials = tuple(specials)
        specials_alt = "|".join(re.escape(t) for t in sorted(self.specials, key=len, reverse=True)) or "(?!)"
        # A word never swallows a special token written right after it ("three<|im_end|>").
        self._pattern = re.compile(rf"{specials_alt}|\n| ?(?:(?!{specials_alt})\S)+|\s")
        self.vocab: dict[str, int] = {}
        for s in self.specials:
            self._id(s)
        self.eos_token_ids = frozenset({self.vocab[eos]}) if eos in self.vocab else frozenset()

    def _id(self, piece: str) -> int:
        if piece not in self.vocab:
            self.vocab[piece] = len(self.vocab)
        return self.vocab[piece]

    def encode(self, text: str) -> list[int]:
        return [self._id(m.group(0)) for m in self._pattern.finditer(text)]

    def decode(self, ids: Sequence[int]) -> str:
        inverse = {v: k for k, v in self.vocab.items()}
        return "".join(inverse[i] for i in ids)

    def single_token_id(self, text: str) -> int | None:
        return self.vocab.get(text) if text in self.specials else None

    def has_chat_template(self) -> bool:
        return True

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return render_chatml(messages)


class ScriptedBackend:
    """Plays a fixed script per request; for testing the control loop without a model."""

    name = "scripted"
    records_scores = True
    """It records a state's TokenScores when the state asks (probes, confidence methods)."""

    def __init__(self, scripts: Sequence[str] | str | Callable[[str], str], tokenizer: ToyTokenizer | None = None,
                 context_length: int | None = None, confidences: Mapping[str, float] | None = None):
        """``scripts``: one script for every request, a list used by request index (cycling), or a
        function from the prompt's text to its script (so a reply can depend on the question; one of
        two parameters also gets the request's seed, so samples can differ as a model's would).
        ``confidences``: the token confidence a state asking for scores records for a piece (a word
        with its leading space as the script writes it); 0.0 for a piece not listed."""
        self.tokenizer = tokenizer or ToyTokenizer()
        self.scripts = scripts if callable(scripts) else [scripts] if isinstance(scripts, str) else list(scripts)
        self._seeded = callable(scripts) and len(inspect.signature(scripts).parameters) == 2
        self.context_length = context_length
        self.confidences = dict(confidences or {})
        self.calls: list[list[int]] = []
        """Prompt ids of every request run, for tests."""

    def text_mode(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def run(self, prompt_ids, states, sampling: SamplingConfig, seeds, batch_size: int = 16, progress: bool = True) -> None:
        eos = min(self.tokenizer.eos_token_ids)
        for i, (ids, state) in enumerate(zip(prompt_ids, states)):
            self.calls.append(list(ids))
            if self._seeded:
                text = self.scripts(self.tokenizer.decode(ids), seeds[i])
            elif callable(self.scripts):
                text = self.scripts(self.tokenizer.decode(ids))
            else:
                text = self.scripts[i % len(self.scripts)]
            script = self.tokenizer.encode(text)
            cursor = 0
            while not state.done:
                if state.next_is_forced():
                    state.advance(eos)  # the pick is ignored, so the script is not consumed
                    if state.scores is not None:
                        state.scores.add(None, None)
                    continue
                pick = script[cursor] if cursor < len(script) else eos
                if state.advance(pick) is None:
                    continue  # suppressed with nothing appended: the same pick again, as greedy would
                cursor += 1
                if state.scores is not None:  # a script is certain of every word it picks
                    forced = state.forced[-1]
                    confidence = self.confidences.get(self.tokenizer.decode([pick]), 0.0)
                    state.scores.add(None if forced else 0.0, None if forced else confidence)
