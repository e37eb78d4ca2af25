"""Reading questions from JSON Lines files."""

from __future__ import annotations

import json
from pathlib import Path

from s1kit.errors import S1kitError

QUESTION_FIELDS = ("prompt", "question", "problem")
"""Fields tried, in order, when no field is named."""


def read_questions(path: str | Path, field: str | None = None) -> list[str]:
    """The question of every non-blank line of a JSONL file; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise S1kitError(f"questions file '{path}' {problem}; pass --file with a JSONL file")
    fields = (field,) if field else QUESTION_FIELDS
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise S1kitError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if isinstance(row, str):
                questions.append(row)
                continue
            if not isinstance(row, dict):
                raise S1kitError(f"{path}:{number}: expected a JSON object or string, got {type(row).__name__}")
            found = next((f for f in fields if f in row), None)
            if found is None or not isinstance(row[found], str):
                raise S1kitError(
                    f"{path}:{number}: no text field {' or '.join(repr(f) for f in fields)}; "
                    "name the field with --field"
                )
            questions.append(row[found])
    if not questions:
        raise S1kitError(f"questions file '{path}' holds no questions")
    return questions
