"""Decontamination: drop pool questions that overlap an evaluation set, and exact duplicates.

s1 (arXiv 2501.19393, section 2) decontaminates its pool against its evaluation questions with
8-grams and deduplicates it. Here a question is normalized to its words (lowercased, runs of
``[a-z0-9]``, so punctuation, LaTeX markup and case do not matter) and:

- ``contaminated: <eval set>``: it shares any run of ``n`` consecutive words (default 8) with a
  question of that evaluation set. A question shorter than ``n`` words has no n-gram; it is
  contaminated only when its whole word sequence equals that of an equally short eval question
  (and a short eval question is matched only by such an identical pool question).
- ``duplicate``: its word sequence equals that of an earlier kept record; the first one is kept.

The index holds word tuples in memory; nothing is hashed to disk, so Python's per-process string
hashing is harmless.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from s1kit.curate.stage import StageResult
from s1kit.errors import S1kitError, shown

WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """The normalized words of ``text``: lowercase alphanumeric runs."""
    return WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> Iterable[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens, as tuples, in order."""
    return zip(*(tokens[k:] for k in range(n)))


@dataclass
class NgramIndex:
    n: int
    """Words per n-gram."""
    grams: dict[tuple[str, ...], str] = dataclasses.field(default_factory=dict)
    """Each n-gram of the eval questions -> the first eval set (in the order given) that has it."""
    short: dict[tuple[str, ...], str] = dataclasses.field(default_factory=dict)
    """Whole word tuples of eval questions shorter than n words -> their eval set."""
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)
    """Questions per eval set, for reports."""

    def match(self, tokens: list[str]) -> str | None:
        """The eval set that ``tokens`` (a normalized question) overlaps, or None."""
        if len(tokens) < self.n:
            return self.short.get(tuple(tokens)) if tokens else None
        # isdisjoint runs in C; only the rare contaminated question pays for the lookup by name.
        if self.grams.keys().isdisjoint(ngrams(tokens, self.n)):
            return None
        return next(self.grams[gram] for gram in ngrams(tokens, self.n) if gram in self.grams)


def build_index(eval_sets: Mapping[str, list[str]], n: int = 8) -> NgramIndex:
    """An index of the n-grams of every eval question, each mapped to its set's name."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise S1kitError(f"n must be a positive integer (words per n-gram), got {shown(n)}; s1 uses n=8")
    if not eval_sets:
        raise S1kitError("no evaluation sets to decontaminate against; name at least one, e.g. aime24, math500")
    index = NgramIndex(n=n)
    for name, questions in eval_sets.items():
        if not questions:
            raise S1kitError(f"evaluation set {name!r} has no questions; check its data file or leave it out")
        for number, question in enumerate(questions):
            if not isinstance(question, str):
                raise S1kitError(f"evaluation set {name!r}: question {number} is a {type(question).__name__}, not text; pass each set as a list of question strings")
            tokens = words(question)
            if len(tokens) >= n:
                for gram in ngrams(tokens, n):
                    index.grams.setdefault(gram, name)
            elif tokens:
                index.short.setdefault(tuple(tokens), name)
        index.sizes[name] = len(questions)
    return index


def decontaminate(records: Iterable[Mapping], index: NgramIndex, field: str = "question") -> StageResult:
    """Drop records whose ``field`` overlaps an eval set ("contaminated: <set>") or repeats one kept before ("duplicate")."""
    result = StageResult(name="decontamination", kept=[])
    seen: set[bytes] = set()
    for number, record in enumerate(records):
        text = record.get(field) if isinstance(record, Mapping) else None
        if not isinstance(text, str):
            raise S1kitError(
                f"decontamination: record {number} has no text in {field!r} (got {shown(text)}); "
                f"run the quality stage first (it drops records missing {field!r}) or pass field= the question column"
            )
        tokens = words(text)
        contaminated = index.match(tokens)
        if contaminated is not None:
            result.dropped.append((record, f"contaminated: {contaminated}"))
            continue
        # A 16-byte digest per question keeps a pool of a million rows in tens of MiB.
        key = hashlib.blake2b(" ".join(tokens).encode(), digest_size=16).digest()
        if key in seen:
            result.dropped.append((record, "duplicate"))
            continue
        seen.add(key)
        result.kept.append(record)
    return result


def load_eval_questions(names: list[str], data_dir: str | Path | None) -> dict[str, list[str]]:
    """The questions of each named task (a registered name such as aime24, or jsonl:PATH).

    ``data_dir`` is the local data directory the tasks read; None loads them from the hub.
    """
    from s1kit.tasks import get_task

    if isinstance(names, str):
        raise S1kitError(f"names must be a list of task names, got the string {names!r}; write [{names!r}]")
    if not names:
        raise S1kitError("no evaluation sets named; name at least one, e.g. aime24, math500, gpqa_diamond")
    questions: dict[str, list[str]] = {}
    for name in names:
        if name in questions:
            raise S1kitError(f"evaluation set {name!r} is named twice; list each once")
        questions[name] = [example.question for example in get_task(name).load(data_dir, None, 0)]
    return questions
