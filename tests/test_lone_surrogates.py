"""A JSON string may hold a lone surrogate ("\\ud800"), which UTF-8 cannot encode: such rows are graded
like any other and written back as valid JSON that reads as the same string."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.jsonl import json_line, read_lines, write_atomic

LONE = "\ud800"


def test_a_row_with_a_lone_surrogate_is_written_escaped_and_reads_back_the_same(tmp_path):
    rows = [{"text": f"a{LONE}b"}, {"text": "café"}]
    write_atomic(tmp_path / "rows.jsonl", rows)
    raw = (tmp_path / "rows.jsonl").read_bytes()
    assert b"\\ud800" in raw and "café".encode() in raw  # escaped only where UTF-8 cannot go
    assert [row for _, row in read_lines(tmp_path / "rows.jsonl")] == rows


def test_json_line_keeps_unicode_readable(tmp_path):
    assert json_line({"q": "2·2 = 4"}) == '{"q": "2·2 = 4"}\n'
    assert json_line({"q": LONE}) == '{"q": "\\ud800"}\n'


def test_grade_grades_a_response_holding_a_lone_surrogate(tmp_path):
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    rows = tmp_path / "outputs.jsonl"
    rows.write_text(json.dumps({"question": "2+2?", "response": f"{LONE} so \\boxed{{4}}", "answer": "4"}) + "\n")
    result = CliRunner().invoke(app, ["grade", str(rows), "--out", str(tmp_path / "graded.jsonl")])
    assert result.exit_code == 0, result.output
    (graded,) = [row for _, row in read_lines(tmp_path / "graded.jsonl")]
    assert graded["correct"] is True and graded["extracted_answer"] == "4"
    assert graded["response"] == f"{LONE} so \\boxed{{4}}"
