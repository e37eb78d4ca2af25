"""Reading questions from JSON Lines files, and prompt templates (built in or the user's)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from s1kit.errors import S1kitError, not_text
from s1kit.jsonl import check_file, read_lines

QUESTION_FIELDS = ("prompt", "question", "problem")
"""Fields tried, in order, when no field is named."""


def read_questions(path: str | Path, field: str | None = None) -> list[str]:
    """The question of every non-blank line of a JSONL file; errors name the file and line."""
    path = check_file(path, "pass --file with a JSONL file")
    fields = (field,) if field else QUESTION_FIELDS
    questions = []
    for number, row in read_lines(path, objects=False):
        if isinstance(row, str):
            questions.append(row)
            continue
        if not isinstance(row, dict):
            raise S1kitError(f"{path} line {number}: expected a JSON object or string, got {type(row).__name__}")
        found = next((f for f in fields if f in row), None)
        if found is None:
            raise S1kitError(
                f"{path} line {number}: no text field {' or '.join(repr(f) for f in fields)}; "
                "name the field with --field"
            )
        if not isinstance(row[found], str):
            raise not_text(f"{path} line {number}", found, row[found])
        questions.append(row[found])
    if not questions:
        raise S1kitError(f"questions file '{path}' holds no questions")
    return questions


def load_template(path: str | Path | None, default: str, required: tuple[str, ...], what: str, hint: str = "") -> str:
    """A prompt template: ``templates/<default>`` of the package when ``path`` is None, else the file
    at ``path``, which must hold every placeholder in ``required``. ``hint`` says what the model
    needs them for."""
    if path is None:
        return resources.files("s1kit").joinpath("templates", default).read_text(encoding="utf-8")
    names = " and ".join(", ".join(required).rsplit(", ", 1))
    file = Path(path)
    if not file.is_file():
        raise S1kitError(f"{what} template {path} does not exist; pass a text file with {names}")
    text = file.read_text(encoding="utf-8")
    missing = [p for p in required if p not in text]
    if missing:
        raise S1kitError(f"{what} template {path} lacks {', '.join(missing)}" + (f"; {hint}" if hint else ""))
    return text
