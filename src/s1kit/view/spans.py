"""Where a row's forced spans sit in its text.

A row of samples.jsonl gives each forced span as output-token offsets, its decoded text and its
character offsets in the row's text (``char_start``, ``char_end``), which place it exactly.

Rows of older runs lack the character offsets, and no token ids come with a row, so for them the
characters the page should highlight have to be found. The span's text can occur more than once: a
model trained on traces with "Wait" writes it on its own too. Each span is placed at the occurrence
nearest to where its token offset falls in characters, estimated from exact anchors, token counts
whose character lengths are known:

- the start of the output, and the end of the row's own thinking (``thinking_tokens`` tokens are
  ``thinking``'s characters);
- the end of the thinking of every other row of the same trajectory whose thinking this row's text
  starts with. A sweep reads its points off one trajectory (eval/sweep.py): a cap at 512 marks
  exactly where token 512 ends, and a point with k ignored ends ended where the point with k + 1
  has its (k + 1)-th forced Wait, so in a sweep most Waits sit exactly on an anchor.

Between anchors characters per token are taken as constant. Spans are placed in order and never
overlap; a span whose text is not in the row's text (a tokenizer whose pieces decode differently
apart than together) is left unplaced and the page lists it without a highlight.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence


def anchors(row: dict, prefixes: Sequence[tuple[int, str]]) -> list[tuple[int, int]]:
    """(tokens, characters) pairs known for ``row``, sorted: the output's start, the row's end of
    thinking, and the end of each other thinking ``(thinking_tokens, thinking)`` of its trajectory
    that this row's text starts with."""
    text, thinking = row["text"], row["thinking"]
    known = {0: 0}
    if thinking and text.startswith(thinking):
        known[row["thinking_tokens"]] = len(thinking)
    for tokens, prefix in prefixes:
        if prefix and tokens <= row["thinking_tokens"] and len(prefix) <= len(thinking) and text.startswith(prefix):
            known.setdefault(tokens, len(prefix))
    points = sorted(known.items())
    # Characters grow with tokens; an anchor that disagrees (a prefix matched by chance) is dropped.
    result = [points[0]]
    for tokens, chars in points[1:]:
        if chars >= result[-1][1]:
            result.append((tokens, chars))
    return result


def estimate(known: list[tuple[int, int]], token: int, chars_per_token: float) -> float:
    """Characters before output token ``token``, interpolated between anchors (past the last one,
    at the run's average characters per token)."""
    tokens = [t for t, _ in known]
    i = bisect_right(tokens, token) - 1
    t0, c0 = known[i]
    if i + 1 < len(known):
        t1, c1 = known[i + 1]
        return c0 + (c1 - c0) * (token - t0) / (t1 - t0)
    return c0 + (token - t0) * chars_per_token


def occurrences(text: str, part: str, start: int) -> list[int]:
    found, at = [], text.find(part, start)
    while at >= 0:
        found.append(at)
        at = text.find(part, at + 1)
    return found


def locate(row: dict, prefixes: Sequence[tuple[int, str]] = ()) -> list[tuple[int, int] | None]:
    """Character range ``(start, end)`` in ``row['text']`` of each of its ``forced_spans``, in
    order, or None for a span that has no place there: its recorded offsets are None or out of the
    text, or (rows without offsets) its text is not found after the previous span's. ``prefixes``:
    the ``(thinking_tokens, thinking)`` of the rows of the same trajectory (see :func:`anchors`),
    used only for rows without offsets."""
    forced = row.get("forced_spans") or []
    if all("char_start" in span and "char_end" in span for span in forced):
        return [recorded(row["text"], span) for span in forced]
    return estimated(row, prefixes)


def recorded(text: str, span: dict) -> tuple[int, int] | None:
    """The span's own character offsets, if they are a range of ``text``."""
    start, end = span["char_start"], span["char_end"]
    if all(type(x) is int for x in (start, end)) and 0 <= start <= end <= len(text):
        return start, end
    return None


def estimated(row: dict, prefixes: Sequence[tuple[int, str]]) -> list[tuple[int, int] | None]:
    """Each span placed at the occurrence of its text nearest to its estimated character offset."""
    text = row["text"]
    known = anchors(row, prefixes)
    last_tokens, last_chars = known[-1]
    chars_per_token = last_chars / last_tokens if last_tokens else 4.0
    placed: list[tuple[int, int] | None] = []
    after = 0
    for span in row.get("forced_spans") or []:
        part = span.get("text") or ""
        candidates = occurrences(text, part, after) if part else []
        if not candidates:
            placed.append(None)
            continue
        guess = estimate(known, span["start"], chars_per_token)
        at = min(candidates, key=lambda c: (abs(c - guess), c))
        placed.append((at, at + len(part)))
        after = at + len(part)
    return placed
