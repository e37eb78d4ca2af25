"""The synth families, their program teacher, and the splits `s1kit synth` writes."""

from __future__ import annotations

import json
import random

import pytest

from s1kit.errors import S1kitError
from s1kit.synth.build import SynthConfig, rows
from s1kit.synth.families import FAMILIES, find_problem, sum_problem
from s1kit.synth.teacher import TeacherConfig, teach


def _problems(family: str, n: int = 300, seed: int = 0):
    rng = random.Random(seed)
    return [FAMILIES[family](rng) for _ in range(n)]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_work_of_every_family_reaches_its_answer(family):
    for problem in _problems(family):
        last = problem.lines[-1]
        if problem.kind == "search":
            assert last.endswith(" yes") and all(line.endswith(" no") for line in problem.lines[:-1])
            assert problem.answer in problem.candidates
        else:
            assert last.rsplit("=", 1)[-1].split()[-1] == str(problem.answer)


def test_sum_lines_add_each_tagged_digit_to_the_running_total():
    problem = sum_problem(random.Random(3))
    digits = problem.meta["digits"]
    assert problem.question == " ".join(f"{'ABCDEFGHIJ'[i]}{d}" for i, d in enumerate(digits)) + ": sum them."
    total = digits[0]
    for i, line in enumerate(problem.lines, start=1):
        assert line == f"{'ABCDEFGHIJ'[i]}{digits[i]}+{total}={total + digits[i]}"
        total += digits[i]
    assert problem.answer == sum(digits)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_tags_appear_nowhere_but_before_their_items(family):
    import re

    from s1kit.synth.families import TAGS

    for problem in _problems(family, 100):
        text = problem.question + "\n" + "\n".join(problem.lines) + "\nWait"
        for match in re.finditer(f"[{TAGS}]", text):
            assert text[match.end()].isdigit(), text


def test_find_has_exactly_one_item_that_checks_out():
    for problem in _problems("find"):
        items, addend = problem.meta["items"], problem.meta["addend"]
        target = int(problem.question.rsplit(" ", 1)[-1].rstrip("?"))
        assert problem.question.startswith("A")
        assert [x for x in items if x + addend == target] == [problem.answer]


def test_an_impatient_teacher_gives_up_only_at_patience_points_and_guesses_an_untried_candidate():
    config = TeacherConfig(patience=3, give_up=0.5, check=0.0)
    rng = random.Random(0)
    gave_up = 0
    for problem in _problems("find", 1000):
        trace = teach(problem, rng, config)
        lines = trace.thinking.split("\n")
        tried = [line for line in lines if line != "Wait"]
        assert tried == list(problem.lines[: len(tried)])
        if trace.gave_up:
            gave_up += 1
            assert len(tried) % 3 == 0 and tried[-1].endswith(" no")
            assert int(trace.attempt) in problem.candidates[len(tried):]
        else:
            assert trace.attempt == str(problem.answer) and trace.correct
        # A Wait always follows the third, sixth, ... failed candidate, never anything else.
        for i, line in enumerate(lines):
            if line == "Wait":
                assert lines[i - 1].endswith(" no") and tried.index(lines[i - 1]) % 3 == 2
    assert 100 < gave_up < 900


def test_a_check_repeats_the_last_line_and_never_changes_the_answer():
    config = TeacherConfig(give_up=0.0, check=0.6)
    rng = random.Random(1)
    for problem in _problems("sum", 200) + _problems("count", 200):
        trace = teach(problem, rng, config)
        body = "\n".join(problem.lines)
        assert trace.thinking == body + f"\nWait\n{problem.lines[-1]}" * trace.waits
        assert trace.attempt == str(problem.answer)


def test_same_seed_same_rows_and_splits_do_not_share_a_stream():
    first = rows(SynthConfig(split="pool", size=50, seed=2))
    assert first == rows(SynthConfig(split="pool", size=50, seed=2))
    assert first != rows(SynthConfig(split="pool", size=50, seed=3))
    test_questions = [r["question"] for r in rows(SynthConfig(split="test", size=50, seed=2))]
    dev_questions = [r["question"] for r in rows(SynthConfig(split="dev", size=50, seed=2))]
    assert test_questions != dev_questions != [r["question"] for r in first]


def test_pool_rows_have_s1k_columns_and_held_out_rows_take_the_families_in_turn():
    pool = rows(SynthConfig(split="pool", size=20, seed=0))
    for row in pool:
        assert {"question", "solution", "thinking_trajectories", "attempt", "cot_type", "source_type",
                "metadata", "domain", "answer"} <= set(row)
        assert row["solution"].endswith(f"\\boxed{{{row['answer']}}}")
        assert json.loads(row["metadata"])["teacher_correct"] == (row["attempt"] == row["answer"])
    test = rows(SynthConfig(split="test", size=6, seed=0))
    assert [r["domain"] for r in test] == list(FAMILIES) * 2
    assert all(set(r) == {"id", "question", "answer", "domain", "level"} for r in test)


@pytest.mark.parametrize("bad, message", [
    ({"split": "train"}, "unknown split 'train'"),
    ({"size": 0}, "size must be a positive integer"),
    ({"mix": {"sums": 1.0}}, "unknown families ['sums']"),
    ({"mix": {"sum": 0.0}}, "positive sum"),
])
def test_bad_synth_settings_name_the_value(bad, message):
    with pytest.raises(S1kitError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SynthConfig(**bad)


@pytest.mark.parametrize("bad, message", [
    ({"patience": 0}, "patience must be a positive integer"),
    ({"give_up": 1.0}, "give_up must be a probability"),
    ({"check": -0.1}, "check must be a probability"),
])
def test_bad_teacher_settings_name_the_value(bad, message):
    with pytest.raises(S1kitError, match=message):
        TeacherConfig(**bad)


@pytest.mark.parametrize("task, split, size", [("nano", "test", 360), ("nano-dev", "dev", 180)])
def test_the_shipped_held_out_sets_are_what_synth_writes(tmp_path, task, split, size):
    from s1kit.synth.build import main
    from s1kit.tasks import get_task
    from s1kit.tasks.base import PACKAGE_DATA

    main(SynthConfig(split=split, size=size, seed=0), tmp_path / "x.jsonl")
    shipped = PACKAGE_DATA / get_task(task).file
    assert shipped.read_bytes() == (tmp_path / "x.jsonl").read_bytes()
    examples = get_task(task).load(data_dir="/nonexistent", limit=6)  # packaged: the data dir does not matter
    assert [e.meta["domain"] for e in examples] == list(FAMILIES) * 2 and get_task(task).kind == "integer"
