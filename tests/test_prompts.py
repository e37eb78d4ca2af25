"""read_questions: which field a JSONL row's question comes from, and errors that name file:line."""

from __future__ import annotations

import json

import pytest

from s1kit.errors import S1kitError
from s1kit.prompts import QUESTION_FIELDS, read_questions


def jsonl(*rows) -> str:
    """One line per row: dicts and strings as JSON, raw text (str starting with '!') as is."""
    return "".join((row[1:] if isinstance(row, str) and row.startswith("!") else json.dumps(row)) + "\n" for row in rows)


@pytest.mark.parametrize(
    "text, field, expected",
    [
        pytest.param(jsonl({"prompt": "p"}), None, ["p"], id="prompt"),
        pytest.param(jsonl({"question": "q"}), None, ["q"], id="question"),
        pytest.param(jsonl({"problem": "x"}), None, ["x"], id="problem"),
        pytest.param(jsonl({"problem": "x", "question": "q", "prompt": "p"}), None, ["p"], id="prompt-before-question-and-problem"),
        pytest.param(jsonl({"problem": "x", "question": "q"}), None, ["q"], id="question-before-problem"),
        pytest.param(jsonl({"id": 7, "problem": "x", "answer": "42"}), None, ["x"], id="other-fields-ignored"),
        pytest.param(jsonl({"prompt": "p", "text": "t"}), "text", ["t"], id="field-overrides-default-order"),
        pytest.param(jsonl({"Q": "upper"}), "Q", ["upper"], id="field-custom-name"),
        pytest.param(jsonl("plain string row"), None, ["plain string row"], id="json-string-row"),
        pytest.param(jsonl("plain", {"question": "q"}), None, ["plain", "q"], id="string-and-object-rows"),
        pytest.param(jsonl({"prompt": "a"}, {"question": "b"}, {"problem": "c"}), None, ["a", "b", "c"], id="order-kept"),
        pytest.param(jsonl({"prompt": "a"}, "!", "!   ", "!\t", {"prompt": "b"}, "!"), None, ["a", "b"], id="blank-lines-skipped"),
        pytest.param('{"prompt": "no newline at end"}', None, ["no newline at end"], id="no-trailing-newline"),
        pytest.param(jsonl({"prompt": "Ünïcødé ∑ 12×13?"}), None, ["Ünïcødé ∑ 12×13?"], id="unicode"),
        pytest.param(jsonl({"prompt": "line one\nline two"}), None, ["line one\nline two"], id="newline-inside-value"),
    ],
)
def test_read_questions(tmp_path, text, field, expected):
    path = tmp_path / "questions.jsonl"
    path.write_text(text, encoding="utf-8")
    assert read_questions(path, field) == expected
    assert read_questions(str(path), field) == expected


def test_default_fields_are_prompt_question_problem_in_that_order():
    assert QUESTION_FIELDS == ("prompt", "question", "problem")


@pytest.mark.parametrize(
    "text, field, fragments",
    [
        pytest.param(jsonl({"prompt": "a"}, {"prompt": "b"}, "!{not json"), None, ["line 3:", "invalid JSON"], id="bad-json-line-3"),
        pytest.param(jsonl("!{\"prompt\": \"a\""), None, ["line 1:", "invalid JSON"], id="truncated-object"),
        pytest.param(jsonl({"prompt": "a"}, "!", "!oops"), None, ["line 3:", "invalid JSON"], id="line-numbers-count-blank-lines"),
        pytest.param(jsonl({"prompt": "a"}, [1, 2]), None, ["line 2:", "list"], id="array-row"),
        pytest.param(jsonl(42), None, ["line 1:", "int"], id="number-row"),
        pytest.param(jsonl(None), None, ["line 1:", "NoneType"], id="null-row"),
        pytest.param(jsonl({"prompt": "a"}, {"text": "b"}), None, ["line 2:", "'prompt'", "'question'", "'problem'", "--field"], id="missing-field"),
        pytest.param(jsonl({"prompt": 12}), None, ["line 1:", "'prompt'"], id="field-not-text"),
        pytest.param(jsonl({"prompt": "a"}), "question", ["line 1:", "'question'", "--field"], id="named-field-missing"),
        pytest.param("", None, ["holds no questions"], id="empty-file"),
        pytest.param("\n  \n\n", None, ["holds no questions"], id="only-blank-lines"),
    ],
)
def test_read_questions_errors_name_file_and_line(tmp_path, text, field, fragments):
    path = tmp_path / "questions.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(S1kitError) as info:
        read_questions(path, field)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(S1kitError, match="does not exist") as info:
        read_questions(path)
    assert str(path) in str(info.value)


def test_directory_is_not_a_questions_file(tmp_path):
    with pytest.raises(S1kitError) as info:
        read_questions(tmp_path)
    assert str(tmp_path) in str(info.value)

