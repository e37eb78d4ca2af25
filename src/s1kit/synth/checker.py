"""nano's step checker: a process reward model (``--prm nano-checker``) that knows the synth families.

It reads a nano question (``A7 B1 C5: sum them.``, ``A3 B7 C3: count the 3s.``, ``A3 B8 C5: which
plus 6 makes 11?``) and the steps of a trace, never a gold answer, and scores each step 1.0 (right)
or 0.0 (wrong). The question fixes the correct work (s1kit.synth.families), so a line is checked
against the correct line of its item. Each line of a step (spaces collapsed) is one of these, tried
in this order:

- **work line**: it starts with a tag and a digit (``B1+7=8``). Right when it is the correct line of
  the next item: tag and item copied from the question, the arithmetic, the target, the verdict and
  the running value all right. Straight after a wait line, the correct line of the item just worked
  on is right too (a re-check, or the correction of a wrong line). A skipped or repeated item is
  wrong, and so is a line that carries an earlier mistake forward (its running value is not the
  right one).
- **answer**: it starts with the answer prefix (BudgetConfig's ``Final Answer:``), or the nano
  task's grading reads an integer from it alone (``36``, ``\\boxed{36}``, ``the answer is 36``). Right
  when the work shown supports it: scans, the latest work line is the right line of the last item
  and the answer is its running value; find, a right line said "yes" for that item. A guess with no
  such work, or an answer prefix with no integer after it, is wrong.
- **wait line**: a line with no digit at all (so no tag and no number: ``Wait``, ``Hmm, let me
  check.``). Neutral: 1.0.
- anything else cannot be parsed, and is not right work: 0.0.

A step is scored by its worst line (an empty step: 1.0); a whole step that reads as an answer
(``Final Answer:`` and the number on the next line) is one answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from s1kit.budget.config import BudgetConfig
from s1kit.errors import S1kitError, shown
from s1kit.grading.rules import extract_answer
from s1kit.synth.families import TAGS

_QUESTION = re.compile(r"(?P<items>[A-L]\d+(?: [A-L]\d+)*): (?:sum them\.|count the (?P<target>\d+)s\."
                       r"|which plus (?P<addend>\d+) makes (?P<total>\d+)\?)")
_WORK = re.compile(r"([A-L])\d")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class _Work:
    """The correct work of one question."""

    lines: dict[int, str]
    """Item position -> its correct line."""
    supports: dict[int, int]
    """Item position -> the answer its right line supports (scans: the last item; find: the "yes" items)."""
    first: int
    """Position of the first item that gets a line (sum starts from A's digit, so B)."""
    scan: bool
    """Only the latest work line supports an answer (a scan), or every right line does (a search)."""


@functools.lru_cache(maxsize=1024)  # search scores the same question's growing trace many times
def _work(question: str) -> _Work:
    match = _QUESTION.fullmatch(question.strip())
    tokens = match["items"].split() if match else []
    if not match or "".join(token[0] for token in tokens) != TAGS[: len(tokens)]:
        raise S1kitError(f"the nano-checker reads nano questions only ('A7 B1 C5: sum them.', '... count the 3s.', "
                         f"'... which plus 6 makes 11?'); got the question {shown(question[:60])}")
    items = [int(token[1:]) for token in tokens]
    if match["target"] is not None:
        target, count, lines = int(match["target"]), 0, {}
        for i, item in enumerate(items):
            count += item == target
            lines[i] = f"{TAGS[i]}{item} vs {target} {'yes' if item == target else 'no'} {count}"
        return _Work(lines, {len(items) - 1: count}, 0, True)
    if match["addend"] is not None:
        addend, total = int(match["addend"]), int(match["total"])
        lines = {i: f"{TAGS[i]}{item}+{addend}={item + addend} vs {total} {'yes' if item + addend == total else 'no'}"
                 for i, item in enumerate(items)}
        return _Work(lines, {i: item for i, item in enumerate(items) if item + addend == total}, 0, False)
    running, lines = items[0], {}
    for i, item in enumerate(items[1:], start=1):
        lines[i] = f"{TAGS[i]}{item}+{running}={running + item}"
        running += item
    return _Work(lines, {len(items) - 1: running}, 1, True)


class _Reading:
    """Where one trace's work stands, line by line."""

    def __init__(self, work: _Work):
        self.work = work
        self.next_item = work.first
        self.after_wait = False
        # A one-item sum needs no line: its item is its answer.
        self.supported = {work.supports[0]} if 0 in work.supports and work.first == 1 else set()

    def work_line(self, text: str, position: int) -> float:
        allowed = position == self.next_item or (self.after_wait and position == self.next_item - 1)
        right = allowed and self.work.lines.get(position) == text
        self.next_item = max(self.next_item, position + 1)
        self.after_wait = False
        if self.work.scan:
            self.supported.clear()
        if right and position in self.work.supports:
            self.supported.add(self.work.supports[position])
        return float(right)

    def answer(self, value: int | None) -> float:
        return float(value is not None and value in self.supported)


class NanoChecker:
    """Scores nano traces step by step from the question alone (see the module docstring)."""

    name = "nano-checker"

    def __init__(self, answer_prefix: str = BudgetConfig().answer_prefix):
        self.answer_prefix = answer_prefix
        """What starts an answer section (the prefix budget forcing writes when it ends thinking)."""

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        if not isinstance(question, str):
            raise S1kitError(f"the nano-checker reads nano questions only; got the question {shown(question)}")
        reading = _Reading(_work(question))
        return [self._step(reading, str(step)) for step in steps]

    def _step(self, reading: _Reading, step: str) -> float:
        lines = [" ".join(line.split()) for line in step.splitlines() if line.strip()]
        if len(lines) > 1 and not _WORK.match(lines[0]) and (answer := self._answer(" ".join(lines)))[0]:
            return reading.answer(answer[1])
        return min((self._line(reading, line) for line in lines), default=1.0)

    def _line(self, reading: _Reading, text: str) -> float:
        if tag := _WORK.match(text):
            return reading.work_line(text, TAGS.index(tag[1]))
        is_answer, value = self._answer(text)
        if is_answer:
            return reading.answer(value)
        if not _DIGIT.search(text):
            reading.after_wait = True
            return 1.0
        return 0.0

    def _answer(self, text: str) -> tuple[bool, int | None]:
        """Whether ``text`` is an answer, and the integer it gives (None: none)."""
        prefix = self.answer_prefix
        prefixed = bool(prefix) and text[: len(prefix)].lower() == prefix.lower()
        value = extract_answer(text[len(prefix):] if prefixed else text, "integer", answer_only=True)
        return prefixed or value is not None, None if value is None else int(value)
