"""Answer extraction and equivalence checking.

The rule: the answer is taken from the answer section (after the end of thinking); fall back to the
last ``\\boxed{}`` of the whole output; no answer counts as wrong. Three kinds of answers:

- ``math``: a LaTeX string (MATH-500), compared with math-verify (symbolic and numeric equality);
- ``integer``: AIME (0-999), AMC and GSM8K answers, compared as integers ("033" == "33.0" == "33");
- ``choice``: a letter A-D (GPQA-Diamond), compared as upper-case letters.

Time limits. Every math comparison (parsing both sides and verifying) runs under a time limit, so a
pathological answer such as ``9^{9^{9^{9^{9}}}}`` or ``(10^{10})!`` cannot hang a run; a timed-out
comparison counts as not equivalent, is logged, and is reported by ``grade`` (``Grade.timed_out``).
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

from s1kit.errors import S1kitError, require
from s1kit.formats import answer_delimiters

logger = logging.getLogger(__name__)

KINDS = ("math", "integer", "choice")

_END_OF_THINKING = re.compile("|".join(map(re.escape, answer_delimiters())))
_END_OF_TURN = re.compile(r"(?:\s*(?:<\|im_end\|>|<\|endoftext\|>|<｜end▁of▁sentence｜>|<\|eot_id\|>|</s>))+\s*$")
_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
# "Final Answer: X", "the answer is X", "**Answer:** X"; the answer follows the last such anchor.
_ANCHOR = re.compile(r"\banswer\b\s*(?:\*\*)?\s*(?:is\b\s*:?|:)", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$?(.+?)\$\$?|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_WRAPPER = re.compile(r"\\(?:boxed|fbox|text|textbf|mathbf|mathrm|textrm)\s*\{([^{}]*)\}")
_INTEGER = re.compile(r"([+-]?)(\d{1,1000})(?:\.0*)?")  # at most 1000 digits: int() stays fast
_NUMBER = re.compile(r"(?<![\w.^])[+-]?\d[\d,]*(?:\.\d+)?(?![\d^/])")  # not 2 of 2^{10}
_CHOICE = re.compile(r"(?:(?:option|choice)\s+)?(?:\(([A-Da-d])\)|([A-D])(?![A-Za-z0-9]))")
_CHOICE_MARKED = re.compile(r"\(([A-D])\)|\*\*\(?([A-D])\)?\*\*")
_TIMED_OUT = None


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise S1kitError(f"unknown answer kind '{kind}'; choose from {', '.join(KINDS)}")


def answer_section(response: str) -> str | None:
    """The text after the last end of thinking (``<|im_start|>answer`` or ``</think>``), or None."""
    ends = list(_END_OF_THINKING.finditer(response))
    if not ends:
        return None
    return _END_OF_TURN.sub("", response[ends[-1].end() :]).strip()


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces kept), or ``\\boxed 5``."""
    for match in reversed(list(_BOXED.finditer(text))):
        start = match.end()
        if text.startswith("{", start):
            content = _braced(text, start)
        else:
            bare = re.match(r"\s+([^\s$]+)", text[start:])
            content = bare.group(1).rstrip(".,;") if bare else None
        if content:  # None when the braces never close (an output cut off mid-answer)
            return content.strip()
    return None


def _braced(text: str, open_at: int) -> str | None:
    depth, i = 0, open_at
    while i < len(text):
        char = text[i]
        if char == "\\":  # \{ and \} are literal braces, not groups
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return text[open_at + 1 : i]
        i += 1
    return None


def extract_answer(response: str, kind: str, answer_only: bool = False) -> str | None:
    """The answer a response gives, normalized for its kind ("33", "B", a LaTeX string), or None.

    ``answer_only``: the response is an answer section already (a teacher's attempt, with no
    thinking before it), so its "Final Answer:" lines are read like an answer section's.
    """
    check_kind(kind)
    normalize = {"math": _normalize_math, "integer": _normalize_integer, "choice": _normalize_choice}[kind]
    section = _END_OF_TURN.sub("", response).strip() if answer_only else answer_section(response)
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
        span = _MATH_SPAN.search(line)
        if span:
            yield _span_content(span)
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
    """Whether the comparison hit its time limit (counted as not equivalent)."""


def grade(response: str, gold: str, kind: str, timeout: float = 5.0, answer_only: bool = False) -> Grade:
    """Extract the answer from a response and compare it with the gold answer (``answer_only``: see
    :func:`extract_answer`)."""
    extracted = extract_answer(response, kind, answer_only)
    if extracted is None:
        return Grade(None, False)
    verdict = _compare(extracted, gold, kind, timeout)
    return Grade(extracted, verdict is True, timed_out=verdict is _TIMED_OUT)


def is_equivalent(predicted: str, gold: str, kind: str, timeout: float = 5.0) -> bool:
    """Whether a predicted answer equals the gold one; a comparison past ``timeout`` s is False."""
    return _compare(predicted, gold, kind, timeout) is True


def _compare(predicted: str, gold: str, kind: str, timeout: float) -> bool | None:
    """True or False, or None when the comparison ran out of time."""
    check_kind(kind)
    if not timeout > 0:
        raise S1kitError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if kind != "math":
        normalize = _normalize_integer if kind == "integer" else _normalize_choice
        answer = normalize(predicted)
        return answer is not None and answer == normalize(gold)
    if _canonical(predicted) == _canonical(gold):
        return True
    require("math_verify", "math")
    in_main_thread = threading.current_thread() is threading.main_thread()
    # getsignal is None when a SIGALRM handler was set outside Python: leave it alone.
    if in_main_thread and hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) is not None:
        verdict = _with_time_limit(_math_equal, timeout, predicted, gold)
    else:
        verdict = _compare_in_worker(predicted, gold, timeout)
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
    """Raised by SIGALRM inside a comparison; not an Exception, so that no library swallows it."""


def _with_time_limit(fn, seconds: float, *args):
    """fn(*args) in the main thread, or _TIMED_OUT after ``seconds``."""
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
        return _TIMED_OUT


_WORKER_START_SECONDS = 120.0
_WORKER_GRACE_SECONDS = 2.0


class _Worker:
    """A child Python process that runs math comparisons in its main thread (``_serve``)."""

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
        try:
            self.process.stdin.write(json.dumps([predicted, gold, timeout]) + "\n")
            self.process.stdin.flush()
        except OSError:  # the child died while idle (killed from outside, out of memory)
            self.close()
            return _TIMED_OUT
        verdict = self._read(timeout + _WORKER_GRACE_SECONDS if wait is None else wait)
        if verdict not in (True, False):
            self.close()
            return _TIMED_OUT
        return verdict

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


def _compare_in_worker(predicted: str, gold: str, timeout: float) -> bool | None:
    """A comparison in an idle worker (or a new one, at most one per core); dead ones are dropped."""
    with _WORKER_SLOTS:
        with _IDLE_LOCK:
            while _IDLE_WORKERS and not _IDLE_WORKERS[-1].alive:
                _IDLE_WORKERS.pop().close()
            worker = _IDLE_WORKERS.pop() if _IDLE_WORKERS else None
        worker = worker or _Worker()
        verdict = worker.compare(predicted, gold, timeout)
        if worker.alive:
            with _IDLE_LOCK:
                _IDLE_WORKERS.append(worker)
        return verdict


def _serve() -> None:
    """A worker's loop: one JSON request per line in, one verdict (true, false, null) per line out."""
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what libraries print goes to stderr, not into the protocol
    _parse("1")  # import and warm up before saying ready
    print(json.dumps("ready"), file=protocol, flush=True)
    for line in sys.stdin:
        predicted, gold, timeout = json.loads(line)
        print(json.dumps(_with_time_limit(_math_equal, timeout, predicted, gold)), file=protocol, flush=True)
