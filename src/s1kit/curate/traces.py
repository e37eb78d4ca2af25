"""`s1kit traces`: reasoning traces for a pool's questions from any teacher model (s1: Gemini
Flash Thinking; s1.1: DeepSeek-R1), on any backend, with budget forcing if wanted.

Each output row is the input row plus s1's trace columns: ``thinking_trajectories`` (a list holding
the teacher's thinking) and ``attempt`` (its answer), and ``teacher``, ``thinking_tokens``,
``answer_tokens``, ``forced_end``. A call that still fails after its retries gives a row with null
traces and ``trace_error``: the curation's quality stage drops it as a failed generation.

Calls go through a cache (default: ``<out>.cache.sqlite``): an interrupted run resumes where it
stopped, and failed calls are asked again on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s1kit.curate.cache import CallCache
from s1kit.curate.calls import ModelCalls
from s1kit.curate.config import ModelCallConfig
from s1kit.errors import S1kitError, check_non_negative_int, check_output_file, not_text
from s1kit.jsonl import check_file, read_lines, write_atomic
from s1kit.locks import locked
from s1kit.settings import group


@dataclass
class TracesConfig:
    questions: str
    """JSONL file with one question per line (a pool file works)."""
    out: str
    """Output JSONL: the input rows plus the trace columns."""
    teacher: ModelCallConfig | None = group(ModelCallConfig, optional=True, rename={"model": "teacher"},
                                            budget={"max_thinking_tokens": None, "max_answer_tokens": 2048})
    """The teacher model (--teacher), its backend and its budget: a teacher writes whole traces, so
    no cap and a long answer unless asked."""
    question_field: str = "question"
    """The input field holding the question."""
    retries: int = 2
    """Extra tries of a failed call before it is recorded as a failure."""
    cache: str | None = None
    """SQLite call cache (default: <out>.cache.sqlite)."""

    def __post_init__(self) -> None:
        if self.teacher is None:
            raise S1kitError("no teacher given; pass --teacher MODEL")
        check_non_negative_int("retries", self.retries)
        if Path(self.out).resolve() == Path(self.questions).resolve():
            raise S1kitError(f"--out {self.out} is the questions file; write the traces to another file")


def read_question_rows(path: str, field_name: str) -> list[dict]:
    """The rows of a questions file, each checked to hold question text in ``field_name``."""
    check_file(path, "pass a JSONL file with one question per line (--questions)")
    rows = []
    for number, row in read_lines(path):
        question = row.get(field_name)
        if question is not None and not isinstance(question, str):
            raise not_text(f"{path} line {number}", field_name, question)
        if not isinstance(question, str) or not question.strip():
            raise S1kitError(f"{path} line {number}: no question text in field '{field_name}' (fields: "
                             f"{', '.join(map(repr, row)) or 'none'}); fix the row or pass --question-field")
        rows.append(row)
    if not rows:
        raise S1kitError(f"{path} holds no questions")
    return rows


def main(config: TracesConfig, backends: dict | None = None) -> dict:
    """Write traces for every question; returns counts {questions, traced, failed, calls, cached}."""
    rows = read_question_rows(config.questions, config.question_field)
    out = check_output_file(config.out, example="traces.jsonl")
    with locked(out, "s1kit traces"):  # one writer per output file (and its call cache)
        return _trace(config, backends, rows, out)


def _trace(config: TracesConfig, backends: dict | None, rows: list[dict], out: Path) -> dict:
    cache = CallCache(config.cache or f"{out}.cache.sqlite")
    calls = ModelCalls(cache, backends)
    try:
        replies = calls.ask(config.teacher, [row[config.question_field] for row in rows], retries=config.retries,
                            progress=f"teacher {config.teacher.model}", setting="--teacher")
    except KeyboardInterrupt:  # Ctrl-C: say what the cache keeps for the rerun
        raise KeyboardInterrupt(f"{cache.saved} of {len(rows)} traces saved in {cache.path}; "
                                "rerun the same command to go on from there") from None
    finally:
        calls.close()
        cache.close()
    errors = {failure["prompt"]: failure["error"] for failure in calls.failures}
    traced = []
    for row, reply in zip(rows, replies):
        row = {**row, "teacher": config.teacher.model}
        if reply is None:
            row.update(thinking_trajectories=None, attempt=None,
                       trace_error=errors.get(row[config.question_field], "failed call"))
        else:
            row.update(thinking_trajectories=[reply["thinking"]], attempt=reply["answer"],
                       thinking_tokens=reply["thinking_tokens"], answer_tokens=reply["answer_tokens"],
                       forced_end=reply["forced_end"])
        traced.append(row)
    write_atomic(out, traced)
    return {"questions": len(rows), "traced": sum(r["attempt"] is not None for r in traced),
            "failed": sum(r["attempt"] is None for r in traced), "calls": cache.calls, "cached": cache.hits}
