"""Benchmarks for ``s1kit eval --task NAME``: one declarative file each, plus ``jsonl:PATH`` for any file."""

from __future__ import annotations

from s1kit.errors import S1kitError
from s1kit.tasks import aime24, aime25, amc23, gpqa_diamond, gsm8k, math500, nano
from s1kit.tasks.base import Example, Task
from s1kit.tasks.jsonl import JsonlTask

TASKS: dict[str, Task] = {
    task.name: task for module in (aime24, aime25, amc23, gpqa_diamond, gsm8k, math500, nano)
    for task in getattr(module, "TASKS", (getattr(module, "TASK", None),))
}

__all__ = ["Example", "JsonlTask", "TASKS", "Task", "get_task"]


def get_task(spec: str, **jsonl_options) -> Task | JsonlTask:
    """A registered task by name, or ``jsonl:PATH`` with JsonlTask's options (question_field, ...).

    Options left None are ignored, so a CLI can pass all of them whatever the task.
    """
    options = {key: value for key, value in jsonl_options.items() if value is not None}
    if spec.startswith("jsonl:"):
        path = spec[len("jsonl:"):]
        if not path:
            raise S1kitError("task 'jsonl:' has no path; write jsonl:PATH, e.g. jsonl:data/problems.jsonl")
        return JsonlTask(path, **options)
    if spec not in TASKS:
        raise S1kitError(f"unknown task {spec!r}; choose from {', '.join(sorted(TASKS))}, or jsonl:PATH")
    if options:
        raise S1kitError(f"{', '.join(options)} only apply to jsonl:PATH tasks, not to {spec!r}; drop them or use --task jsonl:PATH")
    return TASKS[spec]
