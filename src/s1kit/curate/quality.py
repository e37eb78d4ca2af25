"""The quality stage: drop records that are incomplete, failed generation, or carry formatting junk.

s1 (arXiv 2501.19393, Section 2) first removes questions whose reasoning trace could not be
generated (API errors), then questions with formatting problems. The patterns below are the ones
s1 names (``[asy]`` figures outside AIME, ``![Image]`` links, ``p1.`` numbering, bold-with-digits
artifacts). Two pattern sets:

- ``narrow`` (default): written so that near-misses are kept (see each pattern's comment);
- ``s1``: the checks of s1's released filtering script (simplescaling/s1, read for this module):
  ``[asy]`` unless ``AIME`` is in the source (both case-sensitive), the literal ``![Image]``,
  ``p<i>.`` for i in 1..999 anywhere in the text (so also "step1."), and a bold run without spaces
  on a line where any digit follows (``**Note**: ... 5`` is dropped too). Use it to reproduce s1K.

Each dropped record gets exactly one reason, the first check it fails, in this order:

1. ``missing field: <name>``  a field of ``require_fields`` is absent, None or blank;
2. ``failed generation``      the traces stage recorded an error, or a trace is empty;
3. ``asy figure``             an ``[asy]`` figure, outside AIME;
4. ``image link``             ``![Image]`` or a markdown image ``![alt](url)``;
5. ``numbered parts``         a line starting with ``p1.``-style problem numbering;
6. ``bold digits``            a bold number such as ``**1**`` or ``**12.**``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from s1kit.curate.stage import StageResult
from s1kit.errors import S1kitError, shown

# Asymptote figures are code, not a picture the model can see.
ASY_FIGURE = re.compile(r"\[asy\]", re.IGNORECASE)

# scraped image placeholders ("![Image]") and markdown images
# ("![](https://...)", "![figure 2](fig.png)"); the image itself never reaches the model.
# A bare "![alt]" without a link is left alone: "n![a]" can be a factorial in LaTeX.
IMAGE_LINK = re.compile(r"!\[image\]|!\[[^\]\n]*\]\(\s*\S[^)\n]*\)", re.IGNORECASE)

# competition dumps that number sub-problems "p1.", "p2." at the start of a
# line, so that one record holds several problems. Lowercase p followed by whitespace only, so
# "P1. is a point" or "p1.5" are kept.
NUMBERED_PARTS = re.compile(r"^[ \t]*p\d+\.(?=\s|$)", re.MULTILINE)

# bold numbers left over from a rendered list ("**1**", "**12.**",
# "**3)**"). Not after a word character or closing bracket, so "2**3**4" (Python powers) is kept,
# and only digits inside, so "**bold word**" and "**Problem 1**" are kept.
BOLD_DIGITS = re.compile(r"(?<![\w)\]}])\*\*\s*\d+[.)]?\s*\*\*")

TEXT_CHECKS = (
    ("image link", IMAGE_LINK),
    ("numbered parts", NUMBERED_PARTS),
    ("bold digits", BOLD_DIGITS),
)
"""The checks after the asy one, in order, with the reason each gives."""

# s1's own checks, as its filtering script wrote them (substring tests turned into regexes).
S1_ASY_FIGURE = re.compile(r"\[asy\]")
S1_TEXT_CHECKS = (
    ("image link", re.compile(r"!\[Image\]")),
    ("numbered parts", re.compile(r"p[1-9]\d{0,2}\.")),
    ("bold digits", re.compile(r"\*\*(?=.*\d)[^\s\]]*\*\*")),
)
PATTERNS = ("narrow", "s1")


def _names(name: str, value: object, example: str = "question") -> tuple[str, ...]:
    """``value`` as a tuple of non-empty strings; a bare string (a common YAML slip) is an error."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise S1kitError(f"{name} must be a list of names, got {shown(value)}; write e.g. {name}=[{example!r}]")
    names = tuple(value)
    for item in names:
        if not isinstance(item, str) or not item:
            raise S1kitError(f"{name} holds {item!r}, which is not a name; list non-empty strings such as {example!r}")
    return names


@dataclass
class QualityConfig:
    require_fields: tuple[str, ...] = ("question", "solution")
    """Fields every record needs, as non-blank values; a record without one is "missing field: <name>"."""
    trace_fields: tuple[str, ...] = ("thinking_trajectories", "attempt")
    """Fields the traces stage writes. A record with any of them must have all of them, each a
    non-blank string or a non-empty list of non-blank strings; else "failed generation". Records
    with none of them (before the traces stage) pass. Empty: no trace check."""
    check_failed_generation: bool = True
    """Drop records whose metadata (a mapping) holds a truthy ``error``, or whose traces are empty."""
    text_fields: tuple[str, ...] = ("question",)
    """Fields the formatting checks (asy, image, numbering, bold digits) read; s1 filtered questions."""
    drop_asy: bool = True
    """Drop questions with an ``[asy]`` figure, except from the sources in ``asy_allowed_sources``."""
    asy_allowed_sources: tuple[str, ...] = ("AIME",)
    """Substrings of ``source_type`` whose ``[asy]`` questions are kept (case-insensitive, except with
    patterns: s1): s1K keeps AIME problems, whose figures are also described in the text."""
    drop_image_links: bool = True
    """Drop questions with ``![Image]`` or a markdown image ``![alt](url)`` (see IMAGE_LINK)."""
    drop_numbered_parts: bool = True
    """Drop questions with a line starting ``p1.``, ``p2.``, ... (see NUMBERED_PARTS)."""
    drop_bold_digit_artifacts: bool = True
    """Drop questions with a bold number such as ``**1**`` or ``**12.**`` (see BOLD_DIGITS)."""
    patterns: str = "narrow"
    """narrow (near-misses kept) or s1 (s1's released checks, to reproduce s1K; see the module doc)."""

    def __post_init__(self) -> None:
        self.require_fields = _names("require_fields", self.require_fields)
        self.trace_fields = _names("trace_fields", self.trace_fields, "attempt")
        self.text_fields = _names("text_fields", self.text_fields)
        if self.patterns not in PATTERNS:
            raise S1kitError(f"unknown quality patterns {self.patterns!r}; choose from {', '.join(PATTERNS)}")
        sources = _names("asy_allowed_sources", self.asy_allowed_sources, "aime")
        # s1 matched "AIME" case-sensitively; the narrow set ignores case.
        self.asy_allowed_sources = sources if self.patterns == "s1" else tuple(s.lower() for s in sources)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _good_trace(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, str) and item.strip() for item in value)
    return False


def _failed_generation(record: Mapping, config: QualityConfig) -> bool:
    metadata = record.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("error"):
        return True
    present = [name for name in config.trace_fields if name in record]
    return bool(present) and not all(name in record and _good_trace(record[name]) for name in config.trace_fields)


def _allows_asy(record: Mapping, config: QualityConfig) -> bool:
    source = str(record.get("source_type") or "")
    if config.patterns != "s1":
        source = source.lower()
    return any(allowed in source for allowed in config.asy_allowed_sources)


def drop_reason(record: Mapping, config: QualityConfig) -> str | None:
    """Why ``record`` fails the quality stage (the first failing check), or None to keep it."""
    for name in config.require_fields:
        if _blank(record.get(name)):
            return f"missing field: {name}"
    if config.check_failed_generation and _failed_generation(record, config):
        return "failed generation"
    texts = [text for text in (record.get(name) for name in config.text_fields) if isinstance(text, str)]
    s1 = config.patterns == "s1"
    asy = S1_ASY_FIGURE if s1 else ASY_FIGURE
    if config.drop_asy and any(asy.search(text) for text in texts) and not _allows_asy(record, config):
        return "asy figure"
    enabled = (config.drop_image_links, config.drop_numbered_parts, config.drop_bold_digit_artifacts)
    for on, (reason, pattern) in zip(enabled, S1_TEXT_CHECKS if s1 else TEXT_CHECKS):
        if on and any(pattern.search(text) for text in texts):
            return reason
    return None


def quality(records: Iterable[Mapping], config: QualityConfig | None = None) -> StageResult:
    """Split ``records`` into those kept and those dropped, each with its first failing check."""
    config = config or QualityConfig()
    result = StageResult(name="quality", kept=[])
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise S1kitError(f"quality: record {index} is a {type(record).__name__}, not a dict; pass records as dicts with s1's columns (question, solution, ...)")
        reason = drop_reason(record, config)
        if reason is None:
            result.kept.append(record)
        else:
            result.dropped.append((record, reason))
    return result
