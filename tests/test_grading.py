"""Grading: answer sections, \\boxed{}, extraction per kind, equivalence (math-verify for
math), time limits on pathological answers in the main thread and in worker threads, and
``s1kit grade`` on a file, errors included."""

from __future__ import annotations

import importlib.util
import json
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from s1kit.errors import MissingExtraError, S1kitError
from s1kit.grading import command as grade_command
from s1kit.grading.rules import (
    Grade,
    _math_equal,
    answer_section,
    extract_answer,
    grade,
    is_equivalent,
    last_boxed,
)
from s1kit.grading.time_limit import TIMED_OUT, Worker
from shared_data import shared_file

TOWER = r"9^{9^{9^{9^{9}}}}"
needs_math_verify = pytest.mark.skipif(importlib.util.find_spec("math_verify") is None, reason="needs the [math] extra")


@pytest.mark.parametrize("response, section", [
    ("<|im_start|>think\nLet me see.\n<|im_start|>answer\nFinal Answer: 42<|im_end|>", "Final Answer: 42"),
    ("<think>\nhmm\n</think>\n\nThe answer is 5.<｜end▁of▁sentence｜>", "The answer is 5."),
    ("<think>a</think> b </think> c", "c"),  # the last end of thinking counts
    ("<|im_start|>think\nx<|im_start|>answer\n7<|im_end|>\n<|endoftext|>", "7"),
    ("<think>x</think><|im_end|>", ""),
    ("<|im_start|>think\nstill thinking when the budget ran out", None),
    ("no delimiters at all, \\boxed{3}", None),
])
def test_answer_section(response, section):
    assert answer_section(response) == section


@pytest.mark.parametrize("text, content", [
    (r"so \boxed{5}.", "5"),
    (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
    (r"first \boxed{1}, then \boxed{2}", "2"),
    (r"\fbox{7}", "7"),
    (r"$\boxed 5$.", "5"),
    (r"\boxed{\{1,2\}}", r"\{1,2\}"),
    (r"\boxed{\left( 3, \frac{\pi}{2} \right)}", r"\left( 3, \frac{\pi}{2} \right)"),
    (r"\boxed{\text{(C)}}", r"\text{(C)}"),
    (r"\boxed{3} and then, cut off: \boxed{\frac{1", "3"),  # an unclosed last box is skipped
    (r"\boxedx{3}", None),
    ("no box here", None),
])
def test_last_boxed(text, content):
    assert last_boxed(text) == content


EXTRACTIONS = {
    "integer": [
        ("<|im_start|>think\n...<|im_start|>answer\nFinal Answer: 033<|im_end|>", "33"),
        (r"<think>...</think> The answer is $\boxed{204}$.", "204"),
        ("</think> **Answer:** 1,000", "1000"),
        (r"</think> \boxed{1{,}000}", "1000"),
        ("</think> 33.0", "33"),
        ("</think> $33$", "33"),
        ("</think> The answer is 25 apples.", "25"),
        ("</think> -5", "-5"),
        (r"<think>then \boxed{12}, and the budget ran out", "12"),  # never ended thinking: last box
        (r"<think>I guess \boxed{7}</think> I am unsure.", "7"),  # no answer in the section: last box
        ("<think>then 12, and the budget ran out", None),
        ("</think> I could not solve it.", None),
        (r"</think> \boxed{\frac{1}{2}}", None),  # not an integer
        ("</think> The answer is $2^{10}$.", None),  # an expression, not the 2 it starts with
        ("</think> The answer is 2^10.", None),
    ],
    "choice": [
        (r"</think> \boxed{B}", "B"),
        ("</think> The answer is (C).", "C"),
        ("</think> **D**", "D"),
        ("<|im_start|>answer\nAnswer: B<|im_end|>", "B"),
        (r"</think> $\boxed{\text{(C)}}$", "C"),
        (r"</think> \boxed{b}", "B"),
        ("</think> Answer: (a) 42", "A"),
        ("</think> The answer is B) 4.", "B"),
        ("</think> The correct option is **(C)** because it is.", "C"),
        ("</think> B", "B"),
        (r"<think>maybe \boxed{A}, wait", "A"),  # never ended thinking: last box
        ("</think> I am not sure.", None),
        ("</think> Answer: E", None),
        ("</think> The answer is a bit unclear.", None),
    ],
    "math": [
        (r"</think> The answer is $\frac{1}{2}$.", r"\frac{1}{2}"),
        ("<|im_start|>answer\nFinal Answer: The final answer is $\\boxed{3\\sqrt{2}}$. I hope it is correct.",
         r"3\sqrt{2}"),
        ("<|im_start|>think\n...<|im_start|>answer\nFinal Answer: 42<|im_end|>", "42"),
        ("</think> $x = 5$", "x = 5"),
        (r"</think> \[ \boxed{\left( 3, \frac{\pi}{2} \right)} \]", r"\left( 3, \frac{\pi}{2} \right)"),
        ("</think> **Final Answer**\n\n" r"\boxed{10\%}", r"10\%"),
        (r"</think> The answer is \(\frac{\pi}{4}\).", r"\frac{\pi}{4}"),
        (r"</think> $$\frac{3}{4}$$", r"\frac{3}{4}"),
        ("</think> Answer: 3.5", "3.5"),
        ("</think>\n\nThe answer is 12.", "12"),
        (r"<think>\boxed{1}</think> The answer is 2.", "2"),  # the answer section wins over thinking
        (r"</think> The answer is 3, i.e. \boxed{4}", "4"),  # a box wins over an anchor
        (r"<think>so \boxed{7}, unless", "7"),  # never ended thinking: last box
        ("</think> I give up.", None),
        ("<think>no box and no end", None),
    ],
}


@pytest.mark.parametrize("kind, response, expected", [
    (kind, response, expected) for kind, cases in EXTRACTIONS.items() for response, expected in cases
])
def test_extract_answer(kind, response, expected):
    assert extract_answer(response, kind) == expected


@pytest.mark.parametrize("kind, response, expected, alone", [
    # A teacher's attempt is an answer with no thinking before it: read like an answer section.
    ("integer", "Final Answer: 21", "21", None),
    ("integer", "Some work.\nThe answer is **204**.<|im_end|>", "204", None),
    ("integer", r"So it is \boxed{7}.", "7", "7"),
    ("choice", "Answer: (B)", "B", None),
])
def test_extract_answer_from_an_answer_alone(kind, response, expected, alone):
    assert extract_answer(response, kind, answer_only=True) == expected
    assert extract_answer(response, kind) == alone  # without the flag only a \boxed{} counts


# Outputs cut off or looping: each shape once made extraction quadratic in the response's length.
ADVERSARIAL = {
    "unclosed boxes": "\\boxed{" * 20000,
    "unclosed boxes in the answer": "</think>" + "\\boxed{" * 20000,
    "bare boxes with nothing after": "</think>" + "\\boxed $" * 100000,
    "an anchor and spaces": "</think> answer" + " " * 100000,
    "end-of-turn tokens before text": "</think>" + "<|im_end|>" * 20000 + "x",
    "unclosed parentheses after an anchor": "</think> Answer: " + "\\(" * 20000,
    "unclosed brackets after an anchor": "</think> Answer: " + "\\[" * 20000,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["math", "integer", "choice"])
@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_extraction_is_linear_in_the_response(shape, kind):
    start = time.perf_counter()
    extract_answer(ADVERSARIAL[shape], kind)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("text, content", [
    ("\\boxed{" * 20000 + "\\boxed{5}", "5"),
    ("\\boxed{4}" + "\\boxed{" * 20000, "4"),
    ("\\boxed{\\boxed{3}" + "\\boxed{" * 500, "3"),  # the outer box never closes: the inner one counts
])
def test_last_boxed_among_many_unclosed_boxes(text, content):
    assert last_boxed(text) == content



@needs_math_verify
@pytest.mark.parametrize("predicted, gold, equal", [
    ("0.5", r"\frac{1}{2}", True),
    (r"\frac34", r"\dfrac{3}{4}", True),
    ("x=3", "3", True),
    ("3", "x=3", True),
    ("[1,2)", "[1,2)", True),
    ("(1,2]", "[1,2)", False),
    (r"(-\infty,0)\cup(1,\infty)", r"(-\infty, 0) \cup (1, \infty)", True),
    (r"\{2,1\}", r"\{1,2\}", True),  # sets are unordered
    ("(2,1)", "(1,2)", False),  # tuples are not
    ("10", r"10\%", True),
    (r"\sqrt{8}", r"2\sqrt{2}", True),
    (r"\frac{\pi}{2}", r"\frac{1}{2}\pi", True),
    ("x^2+2x+1", "(x+1)^2", True),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}", True),
    ("0.333333", r"\frac{1}{3}", True),  # math-verify rounds floats to 6 places
    ("0.333", r"\frac{1}{3}", False),
    ("32348", r"\$32,\!348", True),
    ("y=3", "x=3", False),
    ("3", "4", False),
])
def test_math_equivalence(predicted, gold, equal):
    assert is_equivalent(predicted, gold, "math") is equal


@pytest.mark.parametrize("kind, predicted, gold, equal", [
    ("integer", "033", "33", True),
    ("integer", "33.0", "33", True),
    ("integer", "1,000", "1000", True),
    ("integer", r"\boxed{12}", "12", True),
    ("integer", "-0", "0", True),
    ("integer", "12", "13", False),
    ("integer", "abc", "1", False),
    ("integer", "1" * 5000, "1" * 5000, False),  # too long to be an answer; never a slow int()
    ("choice", "b", "B", True),
    ("choice", "(C)", "C", True),
    ("choice", "A", "B", False),
    ("choice", "E", "E", False),  # not a choice A-D
])
def test_integer_and_choice_equivalence(kind, predicted, gold, equal):
    assert is_equivalent(predicted, gold, kind) is equal


def test_unknown_kind_names_the_choices():
    with pytest.raises(S1kitError, match="unknown answer kind 'latex'; choose from math, integer, choice"):
        extract_answer("</think> 5", "latex")
    with pytest.raises(S1kitError, match="unknown answer kind 'int'"):
        is_equivalent("5", "5", "int")


def test_missing_math_verify_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "math_verify", None)  # import now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 's1kit\[math\]'"):
        is_equivalent("0.5", r"\frac{1}{2}", "math")


def test_grade_reports_extraction_and_correctness():
    assert grade(r"<think>hmm</think> \boxed{\frac{1}{2}}", "0.5", "math") == Grade(r"\frac{1}{2}", True)
    assert grade("<think>hmm</think> no idea", "0.5", "math") == Grade(None, False)
    assert grade("</think> Answer: 034", "34", "integer") == Grade("34", True)


@needs_math_verify
def test_pathological_answer_times_out_in_the_main_thread(caplog):
    start = time.monotonic()
    result = grade(f"</think> \\boxed{{{TOWER}}}", "5", "math", timeout=1.0)
    assert time.monotonic() - start < 4
    assert result == Grade(TOWER, False, timed_out=True)
    assert "timed out after 1.0 s" in caplog.text


@needs_math_verify
def test_pathological_answer_times_out_in_a_worker_thread():
    results = {}

    def work():
        start = time.monotonic()
        results["tower"] = is_equivalent(r"(10^{10})!", "5", "math", timeout=1.0)
        results["seconds"] = time.monotonic() - start  # includes starting the worker process once
        results["half"] = is_equivalent(r"\frac{1}{2}", "0.5", "math")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    assert results["tower"] is False and results["seconds"] < 10
    assert results["half"] is True  # the pool still works after a timeout


def test_an_extraction_past_its_time_limit_counts_as_no_answer_in_the_main_thread(monkeypatch, caplog):
    from s1kit.grading import rules

    def endless(*args):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # pure Python: the timer's signal lands between bytecodes
            pass

    monkeypatch.setattr(rules, "extract_answer", endless)
    start = time.monotonic()
    assert grade("</think> 4", "4", "integer", timeout=0.5) == Grade(None, False, timed_out=True)
    assert time.monotonic() - start < 3
    assert "answer extraction timed out after 0.5 s, counted as no answer" in caplog.text


HUGE = "</think> " + "word " * 1_000_000  # 5 MB: extraction takes about 0.2 s, past a 0.02 s limit


def test_an_extraction_past_its_time_limit_counts_as_no_answer_in_a_worker_thread():
    results = {}

    def work():
        results["huge"] = grade(HUGE, "4", "integer", timeout=0.02)
        results["small"] = grade("</think> The answer is 4.", "4", "integer")
        results["none"] = grade("</think> no idea", "4", "choice")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    assert results["huge"] == Grade(None, False, timed_out=True)
    assert results["small"] == Grade("4", True) and results["none"] == Grade(None, False)  # the pool still works


def test_extraction_in_a_worker_thread_finds_what_the_main_thread_finds():
    cases = [(kind, response) for kind, rows in EXTRACTIONS.items() for response, _ in rows]
    results = {}

    def work():
        results["thread"] = [grade(response, "x", kind).extracted for kind, response in cases]

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    assert results["thread"] == [extract_answer(response, kind) for kind, response in cases]


@needs_math_verify
def test_worker_that_does_not_answer_is_killed():
    worker = Worker()
    start = time.monotonic()
    # The child would give up only after 60 s; the parent stops waiting after 1 s and kills it.
    assert worker.call(_math_equal, [TOWER, "5"], timeout=60, wait=1.0) is TIMED_OUT
    assert time.monotonic() - start < 5 and not worker.alive


@needs_math_verify
def test_an_outer_timer_survives_a_comparison():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    outer, outer_interval = signal.setitimer(signal.ITIMER_REAL, 50.0)  # pytest-timeout's, if armed
    try:
        assert is_equivalent(TOWER, "5", "math", timeout=0.5) is False
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 48 < remaining <= 50 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, outer, outer_interval)
        signal.signal(signal.SIGALRM, previous)


@needs_math_verify
def test_math500_reference_solutions_grade_correct():
    rows = [json.loads(line) for line in shared_file("math500.jsonl").read_text(encoding="utf-8").splitlines()[:50]]
    grades = [(row["answer"], grade(row["solution"], row["answer"], "math")) for row in rows]
    assert [case for case in grades if not case[1].correct] == []
    # Every one is spelled as its gold answer; math-verify must agree without the string shortcut.
    assert [gold for gold, g in grades if _math_equal(g.extracted + " ", gold) is not True] == []


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_grade_file_round_trip(tmp_path):
    rows = [
        {"id": 1, "response": "<think>x</think> The answer is 27.", "answer": 27.0},  # AMC stores floats
        {"id": 2, "response": r"<think>x</think> \boxed{033}", "answer": "34"},
        {"id": 3, "response": "<think>still thinking", "answer": 5},
    ]
    path = write_jsonl(tmp_path / "out.jsonl", rows)
    summary = grade_command.main(grade_command.GradeConfig(str(path), kind="integer"))
    assert summary == {"rows": 3, "correct": 1, "accuracy": 1 / 3, "no_answer": 1, "timeouts": 0}
    graded = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(row["extracted_answer"], row["correct"]) for row in graded] == [("27", True), ("33", False), (None, False)]
    assert [row["id"] for row in graded] == [1, 2, 3] and list(tmp_path.iterdir()) == [path]

    copy = tmp_path / "graded.jsonl"
    grade_command.main(grade_command.GradeConfig(str(path), kind="integer", out=str(copy)))
    assert copy.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("content, message", [
    (None, r"missing\.jsonl does not exist"),
    ("", r"is empty: no rows to grade"),
    ('{"response": "x", "answer": "1"}\n{"response": oops}\n', r"line 2: invalid JSON"),
    ('{"output": "x", "answer": "1"}\n', r"line 1: no field 'response'; the row has fields 'output', 'answer'"),
    ('{"response": "x", "gold": "1"}\n', r"line 1: no field 'answer'; the row has fields 'response', 'gold'"),
    ('\n{"response": null, "answer": "1"}\n', r"line 2: field 'response' must be a string"),
    ('[1, 2]\n', r"line 1: expected a JSON object, got list"),
])
def test_grade_file_errors_name_file_line_and_field(tmp_path, content, message):
    path = tmp_path / "missing.jsonl"
    if content is not None:
        path = tmp_path / "rows.jsonl"
        path.write_text(content, encoding="utf-8")
    with pytest.raises(S1kitError, match=message) as error:
        grade_command.main(grade_command.GradeConfig(str(path), kind="math"))
    assert str(path) in str(error.value)


def test_grade_file_rejects_unknown_kind_before_reading(tmp_path):
    with pytest.raises(S1kitError, match="unknown answer kind 'mcq'; choose from math, integer, choice"):
        grade_command.main(grade_command.GradeConfig(str(tmp_path / "absent.jsonl"), kind="mcq"))
