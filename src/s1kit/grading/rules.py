"""Answer extraction and equivalence checking.

The rule: the answer is taken from the answer section (after the end of thinking); fall back to the
last ``\\boxed{}`` of the whole output; no answer counts as wrong. Three kinds of answers:

- ``math``: a LaTeX string (MATH-500), compared with math-verify (symbolic and numeric equality);
- ``integer``: AIME (0-999), AMC and GSM8K answers, compared as integers ("033" == "33.0" == "33");
- ``choice``: a letter A-D (GPQA-Diamond), compared as upper-case letters.

Time limits. Every math comparison (parsing both sides and verifying) runs under a time limit, so a
pathological answer such as ``9^{9^{9^{9^{9}}}}`` or ``(10^{10})!`` cannot hang a run; a timed-out
comparison counts as not equivalent, is logged, and is reported by ``grade`` (``Grade.timed_out``).
Extraction in :func:`grade` runs under the same limit, the same way (it is linear in the response,
so only a response of many megabytes comes near it); a timed-out extraction counts as no answer.
math-verify's own limit uses ``signal.alarm`` (whole seconds, main thread only, and it hides the
timeout), so s1kit switches it off and enforces its own:

- in the main thread, ``signal.setitimer`` raises an exception that derives from ``BaseException``
  (so no ``except Exception`` in sympy or math-verify swallows it); a timer that pytest-timeout or
  the caller had armed is restored afterwards. Limit: a signal is handled between Python bytecodes,
  so one long call into C (say one huge integer power inside CPython) finishes before it fires;
- in any other thread (signals are main-thread only), the comparison goes to a small pool of child
  Python processes, one comparison at a time each, which apply the same signal limit in their own
  main thread; if a child has not answered ``timeout + 2`` seconds later it is killed (which also
  covers the C-call case) and a fresh one starts on the next call. A child costs about a second to
  start (importing sympy), once; a comparison then costs a pipe round trip. POSIX only.

Integer and choice comparisons are plain string work on bounded input: they need no limit.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import json
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from s1kit.errors import S1kitError, require, shown
from s1kit.formats import answer_delimiters

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
_TIMED_OUT = None
_NO_TIME = object()  # an extraction past its time limit (None is "no answer")


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
    extracted = _extract_in_time(response, kind, answer_only, timeout)
    if extracted is _NO_TIME:
        logger.warning("answer extraction timed out after %.1f s, counted as no answer: a response of %d characters "
                       "ending %.80r", timeout, len(response), response[-80:])
        return Grade(None, False, timed_out=True)
    if extracted is None:
        return Grade(None, False)
    verdict = _compare(extracted, gold, kind, timeout)
    return Grade(extracted, verdict is True, timed_out=verdict is _TIMED_OUT)


def is_equivalent(predicted: str, gold: str, kind: str, timeout: float = 5.0) -> bool:
    """Whether a predicted answer equals the gold one; a comparison past ``timeout`` s is False."""
    return _compare(predicted, gold, kind, timeout) is True


def _extract_in_time(response: str, kind: str, answer_only: bool, timeout: float):
    """:func:`extract_answer` under a time limit: the answer, None, or _NO_TIME past ``timeout`` s."""
    check_kind(kind)
    _check_timeout(timeout)
    if _timer_usable():
        return _with_time_limit(extract_answer, timeout, response, kind, answer_only, timed_out=_NO_TIME)
    return _in_worker(lambda worker: worker.extract(response, kind, answer_only, timeout))


def _check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise S1kitError(f"timeout must be a positive number of seconds, got {shown(timeout)}")


def _timer_usable() -> bool:
    """Whether this thread can time a call with SIGALRM: the main thread, on POSIX, unless a handler
    was set outside Python (getsignal is then None: leave it alone)."""
    return (threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
            and signal.getsignal(signal.SIGALRM) is not None)


def _compare(predicted: str, gold: str, kind: str, timeout: float) -> bool | None:
    """True or False, or None when the comparison ran out of time."""
    check_kind(kind)
    _check_timeout(timeout)
    if kind != "math":
        normalize = _normalize_integer if kind == "integer" else _normalize_choice
        answer = normalize(predicted)
        return answer is not None and answer == normalize(gold)
    if _canonical(predicted) == _canonical(gold):
        return True
    require("math_verify", "math")
    if _timer_usable():
        verdict = _with_time_limit(_math_equal, timeout, predicted, gold)
    else:
        verdict = _in_worker(lambda worker: worker.compare(predicted, gold, timeout))
    if verdict is _TIMED_OUT:
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

    # The time limit is ours (module docstring); math-verify's would replace it.
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


class _TimeLimit(BaseException):
    """Raised by SIGALRM inside a comparison or an extraction; not an Exception, so that no library swallows it."""


def _with_time_limit(fn, seconds: float, *args, timed_out=_TIMED_OUT):
    """fn(*args) in the main thread, or ``timed_out`` after ``seconds``."""
    armed = [True]

    def on_alarm(signum, frame):
        if armed[0]:
            raise _TimeLimit

    def disarm():
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_delay:  # pytest-timeout's or the caller's timer, less the time we spent
            signal.setitimer(signal.ITIMER_REAL, max(outer_delay - (time.monotonic() - start), 1e-3), outer_interval)

    start = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, on_alarm)
    # Repeats every 0.1 s until disarmed, in case some bare `except:` swallows the first one.
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        try:
            return fn(*args)
        finally:
            disarm()
    except _TimeLimit:
        if armed[0]:  # the alarm landed inside `finally` before it disarmed
            disarm()
        return timed_out


_WORKER_START_SECONDS = 120.0
_WORKER_GRACE_SECONDS = 2.0


class _Worker:
    """A child Python process that runs comparisons and extractions in its main thread (``_serve``)."""

    def __init__(self):
        env = dict(os.environ)
        src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (src, env.get("PYTHONPATH"))))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from s1kit.grading.rules import _serve; _serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        if self._read(_WORKER_START_SECONDS) != "ready":
            self.close()
            raise S1kitError("the grading worker process did not start; run grading in the main thread")

    def compare(self, predicted: str, gold: str, timeout: float, wait: float | None = None) -> bool | None:
        """The child's verdict; None (and the child killed) when none came ``wait`` seconds later."""
        verdict = self._ask("compare", [predicted, gold], timeout, wait)
        if verdict not in (True, False):
            self.close()
            return _TIMED_OUT
        return verdict

    def extract(self, response: str, kind: str, answer_only: bool, timeout: float, wait: float | None = None):
        """The child's extraction (an answer or None); _NO_TIME (and the child killed) past the limit."""
        reply = self._ask("extract", [response, kind, answer_only], timeout, wait)
        if not (isinstance(reply, list) and len(reply) == 1 and isinstance(reply[0], (str, type(None)))):
            self.close()
            return _NO_TIME
        return reply[0]

    def _ask(self, operation: str, args: list, timeout: float, wait: float | None):
        """The child's reply to one request; _TIMED_OUT when none came ``wait`` seconds later."""
        try:
            self.process.stdin.write(json.dumps([operation, args, timeout]) + "\n")
            self.process.stdin.flush()
        except OSError:  # the child died while idle (killed from outside, out of memory)
            self.close()
            return _TIMED_OUT
        return self._read(timeout + _WORKER_GRACE_SECONDS if wait is None else wait)

    def _read(self, seconds: float):
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        line = self.process.stdout.readline() if ready else ""
        return json.loads(line) if line else _TIMED_OUT

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):  # a pipe to a killed child may refuse the last flush
                stream.close()


_IDLE_WORKERS: list[_Worker] = []
_IDLE_LOCK = threading.Lock()
_WORKER_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 1)
atexit.register(lambda: [worker.close() for worker in _IDLE_WORKERS])


def _in_worker(ask):
    """``ask(worker)`` with an idle worker (or a new one, at most one per core); dead ones are dropped."""
    with _WORKER_SLOTS:
        with _IDLE_LOCK:
            while _IDLE_WORKERS and not _IDLE_WORKERS[-1].alive:
                _IDLE_WORKERS.pop().close()
            worker = _IDLE_WORKERS.pop() if _IDLE_WORKERS else None
        worker = worker or _Worker()
        result = ask(worker)
        if worker.alive:
            with _IDLE_LOCK:
                _IDLE_WORKERS.append(worker)
        return result


def _serve() -> None:
    """A worker's loop: one JSON request per line in, one reply per line out. ``["compare",
    [predicted, gold], timeout]`` gets true, false or null (out of time); ``["extract", [response,
    kind, answer_only], timeout]`` gets [answer] (the answer or null) or null (out of time)."""
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what libraries print goes to stderr, not into the protocol
    if importlib.util.find_spec("math_verify") is not None:  # extraction alone needs no [math] extra
        _parse("1")  # import and warm up before saying ready
    print(json.dumps("ready"), file=protocol, flush=True)
    for line in sys.stdin:
        operation, args, timeout = json.loads(line)
        if operation == "compare":
            reply = _with_time_limit(_math_equal, timeout, *args)
        else:
            answer = _with_time_limit(extract_answer, timeout, *args, timed_out=_NO_TIME)
            reply = None if answer is _NO_TIME else [answer]
        print(json.dumps(reply), file=protocol, flush=True)
