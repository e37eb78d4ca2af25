"""Streamed replies of budget-forced requests: each choice replayed as its tokens arrive.

vLLM streams server-sent events, one ``data: {json}`` per chunk, each chunk holding one choice's
new tokens (with ``n > 1`` the choices interleave), then a usage chunk with no choices when the
client asked for one, then ``data: [DONE]``. Each choice has its own replay state; a chat chunk's
delta becomes the new thinking text (``reasoning_content`` and ``reasoning``) and the new answer
text (``content``), split where the state says, so the concatenated deltas equal the unstreamed
reply. The last chunk of a choice carries its finish reason and the ``s1kit`` field.
"""

from __future__ import annotations

import json

from s1kit.backends.forcing_channel import replay
from s1kit.budget.result import Generation
from s1kit.budget.state import Phase
from s1kit.serve.requests import (
    CHAT,
    Budgeted,
    client_id_lists,
    client_logprobs,
    extension,
    result,
    set_reasoning_tokens,
)

INCOMPLETE = "\ufffd"
"""What a decoder writes for the first bytes of a character whose last byte is still to come."""


class SectionText:
    """The text of one growing section (thinking or answer), decoded as its tokens arrive.

    Each step decodes only the last few tokens (vLLM's incremental detokenizer: the text of
    ``ids[prefix:]`` minus that of ``ids[prefix:read]``), so a long streamed thought costs linear
    time, not quadratic. The final step decodes the whole section once, so the deltas always add
    up to exactly what the unstreamed reply says."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.prefix = self.read = 0
        self.sent = ""

    def take(self, ids: list[int], final: bool) -> str:
        if final:
            text = self.tokenizer.decode(ids)
            new = text[len(self.sent):] if text.startswith(self.sent) else ""
        else:
            before = self.tokenizer.decode(ids[self.prefix:self.read])
            after = self.tokenizer.decode(ids[self.prefix:])
            # Wait while the last character is still cut between tokens, or the text did not grow.
            if len(after) <= len(before) or after.endswith(INCOMPLETE) or not after.startswith(before):
                return ""
            new = after[len(before):]
            self.prefix, self.read = self.read, len(ids)
        self.sent += new
        return new


class Outbox:
    """What of one section's text went to the client. With stop strings, the last characters that
    could begin one wait until more text shows they do not, as vLLM holds them back for plain
    requests, so no part of a stop string is ever sent; at a stop string the section ends."""

    def __init__(self, stops: tuple[str, ...], keep: bool):
        self.stops, self.keep = stops, keep
        self.hold = max(map(len, stops), default=1) - 1
        self.sent = self.pending = ""
        self.stopped = False

    def push(self, new: str, complete: bool) -> str:
        """What to send of ``new`` (the section's next text); ``complete``: the section ends here."""
        if self.stopped:
            return ""
        text = self.pending + new
        found = [(text.find(stop), stop) for stop in self.stops if stop in text]
        if found:
            at, stop = min(found)
            out, self.pending, self.stopped = text[: at + (len(stop) if self.keep else 0)], "", True
        elif complete or not self.hold:
            out, self.pending = text, ""
        else:
            out, self.pending = text[: max(len(text) - self.hold, 0)], text[max(len(text) - self.hold, 0):]
        self.sent += out
        return out

    def finish(self, text: str) -> str:
        """The rest of the section's final ``text`` (as the unstreamed reply has it)."""
        rest = text[len(self.sent):] if text.startswith(self.sent) else ""
        self.sent = text
        return rest


class ChoiceStream:
    """One choice of a streamed reply: its state, each section's decoder, and what was sent."""

    def __init__(self, request: Budgeted, tokenizer):
        self.request, self.tokenizer = request, tokenizer
        self.state = request.state()
        self.thinking, self.answer = SectionText(tokenizer), SectionText(tokenizer)
        self.sent = (Outbox(request.stop, request.keep_stop), Outbox(request.stop, request.keep_stop))
        self.thinking_closed = False

    def take(self, ids: list[int], values: list, choice: dict) -> tuple[str, str, Generation | None]:
        """New (thinking, answer) text after these tokens, and the whole generation once ``choice``
        is the last; a character cut between tokens waits for its end, unless the section is complete."""
        replay(self.state, ids, values)
        if choice.get("finish_reason") is not None:
            generation = result(self.state, self.tokenizer, self.request, choice)
            return self.sent[0].finish(generation.thinking), self.sent[1].finish(generation.answer), generation
        thinking_ids, answer_ids = self.state.sections()
        thinking = ""
        if not self.thinking_closed:
            # Once thinking has ended it never grows again: its last delta is decoded whole, once.
            self.thinking_closed = self.state.phase is not Phase.THINKING
            thinking = self.sent[0].push(self.thinking.take(thinking_ids, self.thinking_closed), self.thinking_closed)
        answer = self.answer.take(answer_ids, False)
        return thinking, "" if self.sent[0].stopped else self.sent[1].push(answer, False), None


class StreamRewriter:
    """Rewrites the events of one streamed reply."""

    def __init__(self, request: Budgeted, endpoint: str, tokenizer):
        self.request, self.endpoint, self.tokenizer = request, endpoint, tokenizer
        self.choices: dict[int, ChoiceStream] = {}

    def event(self, data: dict) -> dict | None:
        """The chunk to send for vLLM's ``data``; None to send nothing."""
        choices = data.get("choices")
        if choices:
            data["choices"] = [c for c in (self._choice(choice) for choice in choices) if c is not None]
            if not data["choices"] and data.get("usage") is None:
                return None
        # The final usage chunk, or every chunk's with stream_options.continuous_usage_stats: the
        # thinking tokens so far.
        if data.get("usage") is not None:
            set_reasoning_tokens(data, sum(c.state.thinking_tokens for c in self.choices.values()))
        client_id_lists(data, self.request)
        return data

    def _choice(self, choice: dict) -> dict | None:
        stream = self.choices.setdefault(choice.get("index", 0), ChoiceStream(self.request, self.tokenizer))
        ids, values = self.request.entries(choice, self.endpoint, len(stream.state.output))
        thinking, answer, generation = stream.take(ids, values, choice)
        if self.endpoint == CHAT:
            delta = {k: v for k, v in (choice.get("delta") or {}).items() if k not in ("content", "reasoning", "reasoning_content")}
            if thinking and self.request.include_reasoning:
                delta.update(reasoning_content=thinking, reasoning=thinking)
            if answer:
                delta["content"] = answer
            if "role" in delta and "content" not in delta:
                delta["content"] = ""
            if not delta and generation is None:
                return None  # only forced delimiters, or half a character
            choice["delta"] = delta
        if generation is not None:
            choice["finish_reason"] = generation.finish_reason
            choice["s1kit"] = extension(generation)
        client_logprobs(choice, self.request, self.endpoint, self.tokenizer)
        return choice


def split_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete server-sent events in ``buffer`` (each without its blank-line end), and the rest."""
    *events, rest = buffer.split(b"\n\n")
    return events, rest


def rewrite_event(raw: bytes, rewriter: StreamRewriter) -> bytes | None:
    """One event as it goes to the client: data chunks rewritten, anything else as it was."""
    lines = raw.split(b"\n")
    data = [line[len(b"data: "):] for line in lines if line.startswith(b"data: ")]
    if len(data) != 1 or data[0].strip() == b"[DONE]":
        return raw + b"\n\n"
    try:
        chunk = json.loads(data[0])
    except ValueError:
        return raw + b"\n\n"
    if not isinstance(chunk, dict) or "error" in chunk:
        return raw + b"\n\n"
    rewritten = rewriter.event(chunk)
    if rewritten is None:
        return None
    return b"data: " + json.dumps(rewritten, ensure_ascii=False).encode() + b"\n\n"
