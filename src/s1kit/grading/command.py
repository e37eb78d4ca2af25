"""``s1kit grade FILE.jsonl``: grade the model outputs in a JSON Lines file.

Each row's response field is graded against its answer field (``s1kit.grading.rules``); every row gets
``extracted_answer`` (None when the response gives no answer) and ``correct``, and the file is
written back, in place unless ``out`` is given, through a temporary file and ``os.replace`` so that
an interrupted run leaves the original intact. Example::

    s1kit grade outputs.jsonl --response-field response --answer-field answer --kind integer
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from s1kit.backends import BackendConfig
from s1kit.errors import S1kitError
from s1kit.grading.judge import JudgeConfig
from s1kit.grading.rules import check_kind, grade
from s1kit.jsonl import SURROGATE, check_file, read_lines, write_atomic
from s1kit.settings import group


@dataclass
class GradeConfig:
    """What `s1kit grade` reads, how it grades, and where it writes."""

    file: str
    """JSONL file of model outputs."""
    response_field: str = "response"
    """Field holding the model's output."""
    answer_field: str = "answer"
    """Field holding the gold answer."""
    kind: str = "math"
    """math (math-verify), integer (AIME) or choice (A-D)."""
    out: str | None = None
    """Write here instead of in place."""
    question_field: str = "question"
    """Field holding the question (shown to a judge; optional)."""
    judge: JudgeConfig | None = group(JudgeConfig, optional=True)
    """An LLM judge after the rules (judge.py); None: the rules alone."""
    backend_options: BackendConfig = group(BackendConfig, only=("device", "dtype", "base_url", "api_key"))
    """The judge's backend options (its --judge-base-url wins over --base-url)."""

    def __post_init__(self) -> None:
        check_kind(self.kind)


def main(config: GradeConfig) -> dict:
    """Grade every row of the file, write the graded rows to ``out`` (default: the file), return a summary.

    With a judge the judge model grades after the rules (see judge.py); rows then also get
    ``rule_correct``, ``judged``, ``judge_verdict`` and ``judge_reply``."""
    path, response_field, answer_field, kind = Path(config.file), config.response_field, config.answer_field, config.kind
    question_field, judge = config.question_field, config.judge
    backend_config = config.backend_options
    if judge is not None and judge.base_url:
        backend_config = dataclasses.replace(backend_config, base_url=judge.base_url)
    target = Path(config.out) if config.out is not None else path
    if target.is_dir():
        raise S1kitError(f"--out {target} is a directory; pass the JSONL file to write")
    if not target.parent.is_dir():
        raise S1kitError(f"{target}: its folder does not exist; create it or pick another output path")
    rows = _read_rows(path, response_field, answer_field,
                      judged=(question_field, response_field, answer_field) if judge is not None else ())
    model = None
    if judge is not None:  # a judge that does not load stops the command before the grading
        from s1kit.grading.judge import Judge, judge_counts

        model = Judge(judge, backend_config=backend_config)
    try:
        no_answer, timeouts = _grade_rows(rows, path, response_field, answer_field, kind)
        summary = {}
        if model is not None:
            model.apply(rows, question_field=question_field, response_field=response_field, gold_field=answer_field)
            summary = judge_counts(rows)
    finally:
        if model is not None:
            model.close()
    write_atomic(target, rows)
    correct = sum(bool(r["correct"]) for r in rows)
    return {
        "rows": len(rows),
        "correct": correct,
        "accuracy": correct / len(rows),
        "no_answer": no_answer,
        "timeouts": timeouts,
        **summary,
    }


def _grade_rows(rows: list[dict], path: Path, response_field: str, answer_field: str, kind: str) -> tuple[int, int]:
    """The rules' verdict on every row, in place; returns (rows without an answer, grading timeouts)."""
    from s1kit.progress import progress

    no_answer = timeouts = 0
    bar = progress(len(rows), f"grading {path.name}", "row")
    for row in rows:
        result = grade(row[response_field], str(row[answer_field]), kind)
        row["extracted_answer"] = result.extracted
        row["correct"] = result.correct
        no_answer += result.extracted is None
        timeouts += result.timed_out
        bar.update()
    bar.close()
    return no_answer, timeouts


def _read_rows(path: Path, response_field: str, answer_field: str, judged: tuple[str, ...] = ()) -> list[dict]:
    """The rows to grade, each checked to hold the fields the grading reads (and the text of the
    ``judged`` fields, which a judge model reads)."""
    check_file(path, "pass the JSONL file of model outputs to grade")
    rows = []
    for line_number, row in read_lines(path):
        where = f"{path} line {line_number}"
        for field in (response_field, answer_field):
            if field not in row:
                raise S1kitError(
                    f"{where}: no field '{field}'; the row has fields {', '.join(map(repr, row)) or '(none)'}"
                )
        if not isinstance(row[response_field], str):
            raise S1kitError(
                f"{where}: field '{response_field}' must be a string (a model output), "
                f"got {type(row[response_field]).__name__}"
            )
        if row[answer_field] is None:
            raise S1kitError(f"{where}: field '{answer_field}' is null; every row needs a gold answer")
        for field in judged:
            _check_readable(where, field, row.get(field))
        rows.append(row)
    if not rows:
        raise S1kitError(f"{path} is empty: no rows to grade")
    return rows


def _check_readable(where: str, field: str, value) -> None:
    """A judged field holds no lone surrogate: JSON can carry one (\\ud800), but a tokenizer refuses it.
    The rules grade such a row as it is; a judge model would fail on it deep in its tokenizer."""
    found = SURROGATE.search(value) if isinstance(value, str) else None
    if found:
        raise S1kitError(f"{where}: field '{field}' holds a lone surrogate (\\u{ord(found.group()):04x} at character "
                         f"{found.start()}), which a model cannot read; fix the row, or grade without --judge")
