"""Any JSON Lines file as a task: ``s1kit eval --task jsonl:PATH``.

Each line is one JSON object. The question comes from ``question_field``, by default the first of
``question``, ``problem``, ``prompt`` the row has; the gold answer from ``answer_field``; the id from
``id_field``, by default the line number. Example line::

    {"question": "What is 6 * 7?", "answer": "42"}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.tasks.base import KINDS, Example, Row, build_examples, check_limit, read_jsonl

DEFAULT_QUESTION_FIELDS = ("question", "problem", "prompt")


@dataclass(frozen=True)
class JsonlTask:
    """A local JSONL file with a field mapping; loads like a registered Task."""

    path: str | Path
    """The JSONL file; a relative path starts from the current directory."""
    question_field: str | None = None
    """Field with the question; None: the first of question, problem, prompt present in the row."""
    answer_field: str = "answer"
    """Field with the gold answer."""
    id_field: str | None = None
    """Field with a unique id; None: the line number."""
    kind: str = "math"
    """Grading kind: "math", "integer" or "choice"."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise S1kitError(f"{self.name}: unknown kind {self.kind!r}; choose from {', '.join(KINDS)}")

    @property
    def name(self) -> str:
        return f"jsonl:{self.path}"

    def load(self, data_dir: str | Path | None = None, limit: int | None = None, seed: int = 0) -> list[Example]:
        """The examples of the file (``data_dir`` is ignored: the path is explicit); the first ``limit`` if given."""
        check_limit(limit)
        path = Path(self.path).expanduser()
        if not path.is_file():
            raise S1kitError(f"no such file {path} (from --task {self.name}); give the path of a JSONL file, relative to {Path.cwd()} or absolute")
        fix = "choose the fields with the jsonl options question_field, answer_field and id_field"
        return build_examples(read_jsonl(path, fix), self._parse, seed, limit, str(path))

    def _parse(self, row: Row, seed: int) -> Example:
        question = row.question(*((self.question_field,) if self.question_field else DEFAULT_QUESTION_FIELDS))
        example_id = row.get(self.id_field) if self.id_field else str(row.line)
        return Example(id=example_id, question=question, answer=row.get(self.answer_field))
