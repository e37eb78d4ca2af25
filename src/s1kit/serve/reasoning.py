"""vLLM reasoning parsers for the s1 and think-tags formats: the split of replies s1kit does not force.

Budget-forced replies are rebuilt by the middleware from the replayed tokens, exactly. A request
without budget fields is vLLM's own, and these parsers give it the same split: the thinking in
``reasoning``, the answer in ``content``, and ``reasoning_tokens`` in the usage. ``s1kit serve``
loads them with ``--reasoning-parser-plugin`` (this file) and ``--reasoning-parser s1kit-s1`` or
``s1kit-think-tags``.

The split itself is :func:`split`, plain text in and out: the thinking opener is dropped when the
model wrote it, the answer starts after the format's answer opener (``<|im_start|>answer``,
``</think>``), and while streaming, a tail that may be the start of that opener waits for the next
token.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from vllm.entrypoints.generate.base.protocol import DeltaMessage
from vllm.reasoning.abs_reasoning_parsers import ReasoningParser, ReasoningParserManager

from s1kit.formats import FORMATS


def split(text: str, fmt, final: bool = True) -> tuple[str, str | None]:
    """(thinking, answer or None) of an output so far; ``final``: the output is complete."""
    opener = fmt.think_start
    if text.startswith(opener):
        text = text[len(opener):]
    elif not final and opener.startswith(text):
        return "", None  # the opener is still arriving
    delimiter = fmt.answer_start.strip()
    at = text.find(delimiter)
    if at < 0:
        if not final:
            held = next((n for n in range(min(len(delimiter) - 1, len(text)), 0, -1) if delimiter.startswith(text[-n:])), 0)
            text = text[: len(text) - held]
        return text, None
    return text[:at], text[at + len(delimiter):].lstrip("\n")


@functools.lru_cache(maxsize=16)
def _format_ids(tokenizer, fmt) -> tuple[frozenset[int], tuple[int, ...], tuple[int, ...]]:
    """The format's end-of-thinking ids, opener ids and answer-delimiter ids in ``tokenizer``;
    worked out once per tokenizer, as vLLM makes a parser for every request (twice for a chat)."""
    words = tokenizer.get_vocab()
    return (frozenset(words[t] for t in fmt.end_of_thinking if t in words),
            tuple(tokenizer.encode(fmt.think_start, add_special_tokens=False)),
            tuple(tokenizer.encode(fmt.answer_start, add_special_tokens=False)))


class _FormatParser(ReasoningParser):
    """The reasoning parser of one s1kit format (see the module docstring)."""

    format_name = "s1"

    def __init__(self, tokenizer, *args, **kwargs):
        super().__init__(tokenizer, *args, **kwargs)
        self.fmt = FORMATS[self.format_name]
        end_ids, opener_ids, answer_ids = _format_ids(tokenizer, self.fmt)
        self.end_ids, self.opener_ids, self.answer_ids = set(end_ids), list(opener_ids), list(answer_ids)

    @property
    def reasoning_start_str(self) -> str:
        return self.fmt.think_start.strip()

    @property
    def reasoning_end_str(self) -> str:
        return self.fmt.answer_start.strip()

    def adjust_request(self, request):
        request.skip_special_tokens = False  # s1's delimiters are special tokens: keep them in the text
        return request

    def _after(self, ids: Sequence[int], piece: list[int]) -> int | None:
        """The index just after the last occurrence of ``piece`` in ``ids``, or None."""
        n = len(piece)
        for start in range(len(ids) - n, -1, -1):
            if list(ids[start:start + n]) == piece:
                return start + n
        return None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        opened = self._after(input_ids, self.opener_ids)
        if opened is None:
            return False  # thinking has not started (a plain turn, or the model is about to open it)
        return self._after(list(input_ids)[opened:], self.answer_ids) is not None

    def is_reasoning_end_streaming(self, input_ids: Sequence[int], delta_ids: Iterable[int]) -> bool:
        return self.is_reasoning_end(input_ids)

    def extract_content_ids(self, input_ids: list[int]) -> list[int]:
        end = self._after(input_ids, self.answer_ids)
        return [] if end is None else list(input_ids[end:])

    def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
        ids = list(token_ids)
        start = len(self.opener_ids) if ids[: len(self.opener_ids)] == self.opener_ids else 0
        return next((i - start for i in range(start, len(ids)) if ids[i] in self.end_ids), len(ids) - start)

    def extract_reasoning(self, model_output: str, request) -> tuple[str | None, str | None]:
        thinking, answer = split(model_output, self.fmt)
        return thinking or None, answer

    def extract_reasoning_streaming(self, previous_text, current_text, delta_text, previous_token_ids,
                                    current_token_ids, delta_token_ids) -> DeltaMessage | None:
        before, now = split(previous_text, self.fmt, final=False), split(current_text, self.fmt, final=False)
        thinking = now[0][len(before[0]):]  # what was held back before is a prefix of what is here now
        answer = (now[1] or "")[len(before[1] or ""):]
        return DeltaMessage(reasoning=thinking or None, content=answer or None) if thinking or answer else None


@ReasoningParserManager.register_module("s1kit-s1")
class S1ReasoningParser(_FormatParser):
    format_name = "s1"


@ReasoningParserManager.register_module("s1kit-think-tags")
class ThinkTagsReasoningParser(_FormatParser):
    format_name = "think-tags"
