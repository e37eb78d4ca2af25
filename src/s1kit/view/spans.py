"""Where a row's forced spans sit in its text.

A row of samples.jsonl gives each forced span as output-token offsets, its decoded text and its
character offsets in the row's text (``char_start``, ``char_end``), which place it exactly. A span
whose offsets are None (a tokenizer whose pieces decode differently apart than together), absent
or no range of the text is left unplaced: the page lists it without a highlight.
"""

from __future__ import annotations


def locate(row: dict) -> list[tuple[int, int] | None]:
    """Character range ``(start, end)`` in ``row['text']`` of each of its ``forced_spans``, in
    order, or None for a span that has no place there."""
    return [recorded(row["text"], span) for span in row.get("forced_spans") or []]


def recorded(text: str, span: dict) -> tuple[int, int] | None:
    """The span's own character offsets, if they are a range of ``text``."""
    start, end = span.get("char_start"), span.get("char_end")
    if all(type(x) is int for x in (start, end)) and 0 <= start <= end <= len(text):
        return start, end
    return None
