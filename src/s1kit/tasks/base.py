"""What a benchmark is (`Task`), one problem of it (`Example`), and how raw rows become examples.

A task reads a local JSON Lines file when a data directory is given (``--data-dir`` or the
``S1KIT_DATA_DIR`` environment variable) and otherwise loads its Hugging Face hub dataset through
`datasets` (the ``[eval]`` extra). Each benchmark is one declarative file in this package.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError, check_positive_int, json_kind
from s1kit.jsonl import read_lines

KINDS = ("math", "integer", "choice")
"""Grading kinds (s1kit.grading.rules): math expressions, AIME-style integers, multiple-choice letters."""

DATA_DIR_ENV = "S1KIT_DATA_DIR"
PACKAGE_DATA = Path(__file__).parent / "data"
"""Data of the tasks that ship with s1kit (packaged=True)."""


@dataclass(frozen=True)
class Example:
    """One problem of a task."""

    id: str
    """Stable identifier, unique within the task (the dataset's own id where it has one)."""
    question: str
    """The full text the model is asked; for multiple choice it includes the rendered choices."""
    answer: str
    """The gold answer as a string: a number, a LaTeX expression, or a choice letter."""
    meta: dict = field(default_factory=dict)
    """Whatever else is worth keeping: subject and level, the source url, a choice permutation."""


def as_text(value: Any) -> str:
    """A field as stripped text; whole floats lose their ``.0`` (AMC answers are stored as 27.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class Row:
    """One raw record and where it came from, so that errors can point at it."""

    data: Mapping[str, Any]
    index: int
    """0-based position among the records of the file or hub split."""
    where: str
    """For messages: ``/data/aime24.jsonl line 3`` or ``hub dataset X (split train) row 2``."""
    fix: str
    """How to repair a bad record; ends every error about this row."""
    line: int | None = None
    """Line number in a local file (1-based); None for hub rows."""

    def get(self, *names: str, required: bool = True) -> str | None:
        """Stripped text of the first of ``names`` the row has; an error when none is there or it is empty."""
        for name in names:
            if name in self.data:
                if isinstance(self.data[name], (list, dict)):  # its repr would go to the model as the question
                    raise self.error(f"field {name!r} is {json_kind(self.data[name])}, not text")
                text = as_text(self.data[name])
                if not text and required:
                    raise self.error(f"field {name!r} is empty")
                return text
        if not required:
            return None
        wanted = " or ".join(repr(name) for name in names)
        raise self.error(f"no field {wanted} (this row has: {', '.join(map(str, self.data)) or 'no fields'})")

    def question(self, *names: str) -> str:
        """The question: like :meth:`get`, but only text is a question, as for every reader of
        questions (a number would reach the model as its repr, and grade against nothing it saw)."""
        found = next((name for name in names if name in self.data), None)
        if found is not None and not isinstance(self.data[found], str):
            raise self.error(f"field {found!r} is {json_kind(self.data[found])}, not text")
        return self.get(*names)

    def error(self, problem: str, fix: str | None = None) -> S1kitError:
        return S1kitError(f"{self.where}: {problem}; {fix or self.fix}")


@dataclass(frozen=True)
class Columns:
    """Builds an Example from named columns: the parser of every free-answer benchmark."""

    question: str | tuple[str, ...]
    """Question column; with several names the first one a row has is used (copies of a set differ)."""
    answer: str
    """Gold answer column."""
    id: str | None = None
    """Id column, used when a row has it; otherwise the id is the row's 0-based position."""
    meta: tuple[str, ...] = ()
    """Columns copied into ``Example.meta`` when present."""
    answer_from: Callable[[str], str] | None = None
    """Turns the answer column into the gold answer (GSM8K's final number); raises ValueError."""

    @property
    def columns(self) -> str:
        first, *others = (self.question,) if isinstance(self.question, str) else self.question
        question = f"{first} (or {', '.join(others)})" if others else first
        return ", ".join(filter(None, (self.id, question, self.answer, *self.meta)))

    def __call__(self, row: Row, seed: int) -> Example:
        questions = (self.question,) if isinstance(self.question, str) else self.question
        answer = row.get(self.answer)
        if self.answer_from is not None:
            try:
                answer = self.answer_from(answer)
            except ValueError as exc:
                raise row.error(f"field {self.answer!r}: {exc}") from None
        meta = {name: row.data[name] for name in self.meta if name in row.data}
        example_id = (row.get(self.id, required=False) if self.id else None) or str(row.index)
        return Example(id=example_id, question=row.question(*questions), answer=answer, meta=meta)


def check_limit(limit: int | None) -> None:
    if limit is not None:
        check_positive_int("limit", limit, "; pass --limit N with N >= 1, or leave it out for every example")


def read_jsonl(path: Path, fix: str) -> Iterator[Row]:
    """Rows of a JSON Lines file; blank lines are skipped, anything else must be one JSON object."""
    for index, (number, data) in enumerate(read_lines(path)):
        yield Row(data, index, f"{path} line {number}", fix, line=number)


def build_examples(rows: Iterable[Row], parse: Callable[[Row, int], Example], seed: int, limit: int | None, source: str) -> list[Example]:
    """Parse every row (so a bad file fails whatever the limit), check ids are unique, keep the first ``limit``."""
    examples, seen = [], {}
    for row in rows:
        example = parse(row, seed)
        if example.id in seen:
            raise row.error(f"duplicate id {example.id!r} (also at {seen[example.id]})", "give every row its own id")
        seen[example.id] = row.where
        examples.append(example)
    if not examples:
        raise S1kitError(f"{source} has no examples; it needs one JSON object per line")
    return examples[:limit] if limit else examples


@dataclass(frozen=True)
class Task:
    """A benchmark: where its rows live (a local file or a hub dataset) and how a row becomes an Example."""

    name: str
    """Registry name, as in ``s1kit eval --task NAME``."""
    kind: str
    """Grading kind: "math", "integer" or "choice" (see KINDS)."""
    file: str
    """Local JSONL file name under a data directory, e.g. "aime24.jsonl"."""
    hub_id: str
    """Hugging Face hub dataset id, e.g. "HuggingFaceH4/aime_2024"."""
    hub_split: str
    """Hub split holding the benchmark."""
    parse: Callable[[Row, int], Example]
    """Turns one row (and the seed) into an Example; usually `Columns`."""
    hub_config: str | None = None
    """Hub config (subset) name, if the dataset has several."""
    gated: bool = False
    """True when the hub dataset needs an accepted access request and a login."""
    doc: str = ""
    """Provenance: dataset, paper, columns and an example (the task module's docstring)."""
    packaged: bool = False
    """The data ships inside s1kit (``s1kit/tasks/data/<file>``) and is read from there, whatever
    the data directory; hub_id and hub_split are then empty."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise S1kitError(f"task {self.name!r}: unknown kind {self.kind!r}; choose from {', '.join(KINDS)}")

    @property
    def url(self) -> str:
        return f"https://huggingface.co/datasets/{self.hub_id}" if self.hub_id else str(PACKAGE_DATA / self.file)

    @property
    def columns(self) -> str:
        return getattr(self.parse, "columns", "the columns its module docstring lists")

    def load(self, data_dir: str | Path | None = None, limit: int | None = None, seed: int = 0) -> list[Example]:
        """The examples: from ``<data_dir>/<file>`` (argument, else $S1KIT_DATA_DIR), else from the hub.

        ``limit`` keeps the first N; ``seed`` fixes any per-example randomness (choice order).
        """
        check_limit(limit)
        if self.packaged:
            path = PACKAGE_DATA / self.file
            return build_examples(read_jsonl(path, f"{path} ships with s1kit; reinstall it"), self.parse, seed, limit, str(path))
        flag = "--data-dir"
        if data_dir is None and os.environ.get(DATA_DIR_ENV):
            data_dir, flag = os.environ[DATA_DIR_ENV], DATA_DIR_ENV
        if data_dir is None:
            return build_examples(self._hub_rows(), self.parse, seed, limit, f"hub dataset {self.hub_id}")
        path = Path(data_dir).expanduser() / self.file
        if not path.is_file():
            split = f"{self.hub_config!r}, split={self.hub_split!r}" if self.hub_config else f"split={self.hub_split!r}"
            access = f" (gated: request access on {self.url} and log in first)" if self.gated else ""
            raise S1kitError(
                f"{self.name}: no data file {path} (data directory from {flag}); write it as JSON Lines with the columns "
                f"{self.columns}, e.g. python -c \"import datasets; datasets.load_dataset('{self.hub_id}', {split}).to_json('{path}')\"{access}, "
                f"or leave out --data-dir and {DATA_DIR_ENV} to load from the hub"
            )
        fix = f"{self.file} needs one JSON object a line with the columns {self.columns}"
        return build_examples(read_jsonl(path, fix), self.parse, seed, limit, str(path))

    def _hub_rows(self) -> Iterator[Row]:
        from s1kit.hub import load_dataset

        local = f"pass --data-dir DIR (or set {DATA_DIR_ENV}) with a local DIR/{self.file} in the columns {self.columns}"
        dataset = load_dataset(self.hub_id, self.hub_split, self.hub_config, what=self.name, local=local, gated=self.gated)
        where = f"hub dataset {self.hub_id} ({f'{self.hub_config}, ' if self.hub_config else ''}split {self.hub_split})"
        fix = f"the hub copy has changed; pass --data-dir with a local {self.file} in the columns {self.columns}"
        for index, record in enumerate(dataset):
            yield Row(record, index, f"{where} row {index}", fix)
