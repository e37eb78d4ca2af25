"""Output texts stored once: a row's text is a prefix of an earlier row's text plus its own tail.

A sweep decodes one trajectory per question and sample and reads every point off it (budget/sweep.py),
so the rows of one unit share long prefixes: a cap point's thinking is the start of the next cap's,
and a point with one more ignored end repeats the trajectory up to where the model first tried to
stop. Storing each prefix once keeps a MATH-500 sweep of 16,000 rows to the size of its distinct
text, and the page decodes a text only when it is shown.

A text is encoded as ``[base, shared, tail]``: the first ``shared`` characters of text ``base``
(an index into the same list, always an earlier one; -1 for none) followed by ``tail``. Decoding is
exact: ``decode(encode(texts)) == texts`` for any strings.

Every offset here counts UTF-16 code units, as JavaScript strings index: a character outside the
Basic Multilingual Plane (an emoji, a mathematical letter such as 𝑥) is one character in Python
and two in the page.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_SHARED = 32
"""Shorter common prefixes are stored in the tail: a reference costs about as much as that."""


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix of ``a`` and ``b`` (slice comparisons run in C, so a
    binary search over them beats a character loop on texts of a few KB)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (a JavaScript string's length)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_slice(text: str, start: int, end: int | None = None) -> str:
    """``text[start:end]`` with offsets in UTF-16 code units."""
    if text.isascii():
        return text[start:end]
    units = text.encode("utf-16-le", "surrogatepass")  # a lone surrogate is one unit, as in JavaScript
    return units[2 * start : None if end is None else 2 * end].decode("utf-16-le", "surrogatepass")


def encode(texts: Sequence[str], groups: Sequence[object]) -> list[list]:
    """``[base, shared, tail]`` per text. Texts share prefixes only within a group (the rows of one
    question and sample); within it each text refers to the earlier text it shares most with."""
    encoded: list[list] = []
    seen: dict[object, list[int]] = {}
    for index, (text, group) in enumerate(zip(texts, groups, strict=True)):
        best, shared = -1, 0
        for other in seen.setdefault(group, []):
            length = common_prefix(texts[other], text)
            if length > shared:
                best, shared = other, length
        if shared < MIN_SHARED:
            best, shared = -1, 0
        encoded.append([best, utf16_len(text[:shared]), text[shared:]])
        seen[group].append(index)
    return encoded


def decode(encoded: Sequence[Sequence]) -> list[str]:
    """The texts back from :func:`encode` (what the page's ``textOf`` does, one text at a time)."""
    texts: list[str] = []
    for index, (base, shared, tail) in enumerate(encoded):
        if base >= index:
            raise ValueError(f"text {index} refers to text {base}, which is not before it")
        texts.append((utf16_slice(texts[base], 0, shared) if base >= 0 else "") + tail)
    return texts


def slice_of(whole: str, part: str) -> list[int] | str:
    """``[offset, length]`` of ``part``'s first occurrence in ``whole``, or ``part`` itself when it is
    not there: a row's thinking is usually the start of its text."""
    at = whole.find(part)
    return [utf16_len(whole[:at]), utf16_len(part)] if at >= 0 else part


def unslice(whole: str, stored: list[int] | str) -> str:
    """The text :func:`slice_of` stored."""
    return stored if isinstance(stored, str) else utf16_slice(whole, stored[0], stored[0] + stored[1])
