"""Answer extraction and equivalence checking.

The rule: the answer is taken from the answer section (after the end of thinking); fall back to the
last ``\\boxed{}`` of the whole output; no answer counts as wrong. Three kinds of answers:

- ``math``: a LaTeX string (MATH-500), compared with math-verify (symbolic and numeric equality);
- ``integer``: AIME (0-999), AMC and GSM8K answers, compared as integers ("033" == "33.0" == "33");
- ``choice``: a letter A-D (GPQA-Diamond), compared as upper-case letters.

Time limits. Every math comparison (parsing both sides and verifying) runs under a time limit
(time_limit.py), so a pathological answer such as ``9^{9^{9^{9^{9}}}}`` or ``(10^{10})!`` cannot hang
a run; a timed-out comparison counts as not equivalent, is logged, and is reported by ``grade``
(``Grade.timed_out``). Extraction in :func:`grade` runs under the same limit, the same way (it is
linear in the response, so only a response of many megabytes comes near it); a timed-out
extraction counts as no answer. Integer and choice comparisons are plain string work on bounded
input: they need no limit.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from dataclasses import dataclass

from s1kit.errors import S1kitError, require, shown
from s1kit.formats import answer_delimiters
from s1kit.grading.time_limit import TIMED_OUT, WorkerPool, call_with_time_limit

logger = logging.getLogger(__name__)

KINDS = ("math", "integer", "choice")

_END_OF_THINKING = re.compile("|".join(map(re.escape, answer_delimiters())))
_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "<|eot_id|>", "</s>")
# The run of end-of-turn tokens (and whitespace) that ends a response, matched on the reversed text:
# anchored at its start, a regex tries one position instead of every one (quadratic on a long run).
_END_OF_TURN_REVERSED = re.compile(r"\s*(?:(?:" + "|".join(re.escape(t[::-1]) for t in _END_TOKENS) + r")\s*)+")
_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BARE_BOXED = re.compile(r"\s+([^\s$]+)")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)  # \{ and \} are literal braces, not groups
# "Final Answer: X", "the answer is X", "**Answer:** X"; the answer follows the last such anchor.
# One \s* on each side of the optional "**": two adjacent ones backtrack quadratically over spaces.
_ANCHOR = re.compile(r"\banswer\b\s*(?:\*\*\s*)?(?:is\b\s*:?|:)", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$?(.+?)\$\$?|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# _MATH_SPAN's alternatives one by one, each with the closer it needs (see _first_math_span).
_MATH_SPANS = tuple((re.compile(pattern, re.DOTALL), closer) for pattern, closer in (
    (r"\$\$?(.+?)\$\$?", "$"), (r"\\\((.+?)\\\)", "\\)"), (r"\\\[(.+?)\\\]", "\\]")))
_WRAPPER = re.compile(r"\\(?:boxed|fbox|text|textbf|mathbf|mathrm|textrm)\s*\{([^{}]*)\}")
_INTEGER = re.compile(r"([+-]?)(\d{1,1000})(?:\.0*)?")  # at most 1000 digits: int() stays fast
_NUMBER = re.compile(r"(?<![\w.^])[+-]?\d[\d,]*(?:\.\d+)?(?![\d^/])")  # not 2 of 2^{10}
_CHOICE = re.compile(r"(?:(?:option|choice)\s+)?(?:\(([A-Da-d])\)|([A-D])(?![A-Za-z0-9]))")
_CHOICE_MARKED = re.compile(r"\(([A-D])\)|\*\*\(?([A-D])\)?\*\*")


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise S1kitError(f"unknown answer kind '{kind}'; choose from {', '.join(KINDS)}")


def answer_section(response: str) -> str | None:
    """The text after the last end of thinking (``<|im_start|>answer`` or ``</think>``), or None."""
    ends = list(_END_OF_THINKING.finditer(response))
    if not ends:
        return None
    return _without_end_of_turn(response[ends[-1].end() :]).strip()


def _without_end_of_turn(text: str) -> str:
    """``text`` without the end-of-turn tokens (and the whitespace around them) it ends with."""
    run = _END_OF_TURN_REVERSED.match(text[::-1])
    return text[: len(text) - run.end()] if run else text


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces kept), or ``\\boxed 5``."""
    closing = None
    for match in reversed(list(_BOXED.finditer(text))):
        start = match.end()
        if text.startswith("{", start):
            closing = _closing_braces(text) if closing is None else closing
            end = closing.get(start)
            content = text[start + 1 : end] if end is not None else None
        else:
            bare = _BARE_BOXED.match(text, start)
            content = bare.group(1).rstrip(".,;") if bare else None
        if content:  # None when the braces never close (an output cut off mid-answer)
            return content.strip()
    return None


def _closing_braces(text: str) -> dict[int, int]:
    """Where each ``{`` of ``text`` that closes is closed, found in one pass: scanning from every
    box of an output cut off after thousands of unclosed ones would be quadratic."""
    closing, opened = {}, []
    for token in _BRACE_OR_ESCAPE.finditer(text):
        char = token.group()
        if char == "{":
            opened.append(token.start())
        elif char == "}" and opened:
            closing[opened.pop()] = token.start()
    return closing


def _first_math_span(text: str) -> str | None:
    """The content of the first ``$...$``, ``$$...$$``, ``\\(...\\)`` or ``\\[...\\]`` in ``text``, as
    ``_MATH_SPAN.search`` finds it. Each kind is searched only up to its last closer: a regex would
    otherwise scan to the end from every opener after it (quadratic on ``\\(`` repeated)."""
    found = None
    for pattern, closer in _MATH_SPANS:
        last = text.rfind(closer)
        span = pattern.search(text, 0, last + len(closer)) if last >= 0 else None
        if span and (found is None or span.start() < found.start()):
            found = span
    return found.group(1) if found else None


def extract_answer(response: str, kind: str, answer_only: bool = False) -> str | None:
    """The answer a response gives, normalized for its kind ("33", "B", a LaTeX string), or None.

    ``answer_only``: the response is an answer section already (a teacher's attempt, with no
    thinking before it), so its "Final Answer:" lines are read like an answer section's.
    """
    check_kind(kind)
    normalize = {"math": _normalize_math, "integer": _normalize_integer, "choice": _normalize_choice}[kind]
    section = _without_end_of_turn(response).strip() if answer_only else answer_section(response)
    if section:
        for candidate in filter(None, _candidates(section, kind)):
            if (answer := normalize(candidate)) is not None:
                return answer
    boxed = last_boxed(response)
    return normalize(boxed) if boxed else None


def _candidates(section: str, kind: str):
    """Places in the answer section that may hold the answer, most trusted first."""
    yield last_boxed(section)
    anchors = list(_ANCHOR.finditer(section))
    if anchors:
        line = section[anchors[-1].end() :].strip().split("\n", 1)[0].replace("**", "").strip()
        span = _first_math_span(line)
        if span is not None:
            yield span
        elif kind == "integer":
            number = _NUMBER.search(line)
            yield number.group() if number else None
        else:
            yield re.split(r"\.(?:\s|$)", line, maxsplit=1)[0]
    if kind != "math" or _MATH_SPAN.fullmatch(section):
        yield section
    if kind == "choice":
        marked = list(_CHOICE_MARKED.finditer(section))
        yield marked[-1].group() if marked else None


def _span_content(span: re.Match) -> str:
    return next(group for group in span.groups() if group is not None)


def _strip_wrappers(text: str) -> str:
    text = text.strip()
    for _ in range(5):  # \boxed{\text{(C)}} unwraps in two rounds
        text = _WRAPPER.sub(r"\1", text)
    for mark in ("$", "**", "\\(", "\\)", "\\[", "\\]", "\\!", "\\,"):
        text = text.replace(mark, "")
    return text.strip().rstrip(".")


def _normalize_integer(text: str) -> str | None:
    text = re.sub(r"(?<=\d)\{?,\}?(?=\d{3}(?!\d))", "", _strip_wrappers(text))  # 1,000 and 1{,}000
    match = _INTEGER.fullmatch(text)
    return str(int(match.group(1) + match.group(2))) if match else None


def _normalize_choice(text: str) -> str | None:
    text = _strip_wrappers(text).replace("*", "").strip()
    match = _CHOICE.match(text)
    if match:
        return (match.group(1) or match.group(2)).upper()
    return text.upper() if re.fullmatch(r"[a-d]", text) else None


def _normalize_math(text: str) -> str | None:
    span = _MATH_SPAN.fullmatch(text.strip())
    text = _span_content(span) if span else text
    return text.rstrip(".,;").strip() or None


def _canonical(latex: str) -> str:
    """A spelling-insensitive form for the string shortcut: same canonical form, same answer."""
    latex = re.sub(r"\\[dt]frac", r"\\frac", latex)
    latex = re.sub(r"\\(?:left|right)(?![A-Za-z])|\\[!,;: ]|\$", "", latex)
    return re.sub(r"\s+", "", latex).rstrip(".")


@dataclass(frozen=True)
class Grade:
    extracted: str | None
    """The answer found in the response, normalized for its kind; None when there was none."""
    correct: bool
    """Whether it is equivalent to the gold answer (no answer, or a timed-out comparison: False)."""
    timed_out: bool = False
    """Whether the extraction or the comparison hit its time limit (counted as no answer, or as not
    equivalent)."""


def grade(response: str, gold: str, kind: str, timeout: float = 5.0, answer_only: bool = False) -> Grade:
    """Extract the answer from a response and compare it with the gold answer (``answer_only``: see
    :func:`extract_answer`); each of the two gets ``timeout`` seconds."""
    check_kind(kind)
    _check_timeout(timeout)
    extracted = call_with_time_limit(extract_answer, timeout, response, kind, answer_only, workers=_WORKERS)
    if extracted is TIMED_OUT:
        logger.warning("answer extraction timed out after %.1f s, counted as no answer: a response of %d characters "
                       "ending %.80r", timeout, len(response), response[-80:])
        return Grade(None, False, timed_out=True)
    if extracted is None:
        return Grade(None, False)
    verdict = _compare(extracted, gold, kind, timeout)
    return Grade(extracted, verdict is True, timed_out=verdict is TIMED_OUT)


def is_equivalent(predicted: str, gold: str, kind: str, timeout: float = 5.0) -> bool:
    """Whether a predicted answer equals the gold one; a comparison past ``timeout`` s is False."""
    return _compare(predicted, gold, kind, timeout) is True


def _check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise S1kitError(f"timeout must be a positive number of seconds, got {shown(timeout)}")


def _compare(predicted: str, gold: str, kind: str, timeout: float):
    """True or False, or TIMED_OUT when the comparison ran out of time."""
    check_kind(kind)
    _check_timeout(timeout)
    if kind != "math":
        normalize = _normalize_integer if kind == "integer" else _normalize_choice
        answer = normalize(predicted)
        return answer is not None and answer == normalize(gold)
    if _canonical(predicted) == _canonical(gold):
        return True
    require("math_verify", "math")
    verdict = call_with_time_limit(_math_equal, timeout, predicted, gold, workers=_WORKERS)
    if verdict is TIMED_OUT:
        logger.warning(
            "math comparison timed out after %.1f s, counted as not equivalent: predicted %.80r, gold %.80r",
            timeout, predicted, gold,
        )
    return verdict


def _math_equal(predicted: str, gold: str) -> bool:
    gold_parsed, predicted_parsed = _parse(gold), _parse(predicted)
    if not gold_parsed or not predicted_parsed:
        return False
    import math_verify

    # The time limit is ours (time_limit.py); math-verify's would replace it.
    return bool(math_verify.verify(list(gold_parsed), list(predicted_parsed), timeout_seconds=None))


@functools.lru_cache(maxsize=4096)
def _parse(answer: str) -> tuple:
    """math-verify's parse of a bare answer, cached: a gold answer is compared with many samples."""
    import math_verify

    _quiet_math_verify()
    # The answer is already extracted; \boxed{} makes math-verify read all of it as one LaTeX answer.
    return tuple(math_verify.parse(f"\\boxed{{{answer}}}", parsing_timeout=None))


@functools.cache
def _quiet_math_verify() -> None:
    """Drop math-verify's warning that its own timeout is off: s1kit applies its own."""
    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(lambda record: "Timeout is disabled" not in record.getMessage())


def _warm_up() -> None:
    """A grading worker's start: import math-verify and sympy before the first timed call."""
    if importlib.util.find_spec("math_verify") is not None:  # extraction alone needs no [math] extra
        _parse("1")


_WORKERS = WorkerPool(warm_up=_warm_up)
