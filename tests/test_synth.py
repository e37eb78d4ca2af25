"""The synth families, their program teacher, and the splits `s1kit synth` writes."""

from __future__ import annotations

import json
import random

import pytest

from s1kit.errors import S1kitError
from s1kit.synth.build import SynthConfig, rows
from s1kit.synth.families import FAMILIES, sum_problem
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


def test_a_budget_forced_trace_marks_each_forced_wait_and_goes_on_as_after_its_own():
    config = TeacherConfig(forced=0.5, max_forced_waits=3, check=0.2)
    rng = random.Random(4)
    seen_forced, seen_search_resumed = 0, 0
    for problem in _problems("find", 300) + _problems("sum", 300):
        trace = teach(problem, rng, config)
        assert len(trace.forced_spans) <= 3
        for start, end in trace.forced_spans:  # each span is exactly a Wait line
            assert trace.thinking[start:end] == "Wait" and trace.thinking[start - 1] == "\n"
        lines = trace.thinking.split("\n")
        assert lines.count("Wait") == trace.waits + len(trace.forced_spans)
        tried = [line for line in lines if line != "Wait"]
        if problem.kind == "search":
            # Forced or not, a Wait on a search leads to the next candidate until the answer checks out.
            assert tried[: len(problem.lines)] == list(problem.lines[: len(tried)])
            seen_search_resumed += any(trace.thinking[:s].rstrip("\n").endswith(" no") for s, _ in trace.forced_spans)
        if not trace.gave_up:
            assert trace.attempt == str(problem.answer) and tried[-1] == problem.lines[-1]
        seen_forced += bool(trace.forced_spans)
    assert 200 < seen_forced < 400 and seen_search_resumed > 10


def test_without_forced_traces_the_teacher_draws_exactly_as_before():
    """Pools written before budget-forced traces existed come out the same (forced=0 draws nothing more)."""
    config = TeacherConfig(check=0.3)
    problems = _problems("find", 100) + _problems("count", 100)
    a, b = random.Random(9), random.Random(9)
    for problem in problems:
        trace = teach(problem, a, config)
        assert trace.forced_spans == ()
    teach(problems[0], b, TeacherConfig(check=0.3, forced=0.0, max_forced_waits=7))
    assert rows(SynthConfig(split="pool", size=30, seed=1)) == rows(
        SynthConfig(split="pool", size=30, seed=1, teacher=TeacherConfig(max_forced_waits=9)))
    assert all("thinking_forced_spans" not in row for row in rows(SynthConfig(split="pool", size=30, seed=1)))


def test_pool_rows_carry_the_forced_spans_of_their_thinking():
    pool = rows(SynthConfig(split="pool", size=60, seed=0, teacher=TeacherConfig(forced=0.5)))
    forced = [row for row in pool if row["thinking_forced_spans"]]
    assert forced
    for row in pool:
        thinking = row["thinking_trajectories"][0]
        assert all(thinking[start:end] == "Wait" for start, end in row["thinking_forced_spans"])
        assert json.loads(row["metadata"])["forced_waits"] == len(row["thinking_forced_spans"])


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
    ({"forced": 1.5}, "forced must be a probability"),
    ({"max_forced_waits": -1}, "max_forced_waits must be a non-negative integer"),
    ({"forced": 0.2, "max_forced_waits": 0}, "set max_forced_waits to 1 or more"),
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


def test_pools_come_out_as_when_the_families_were_drawn_whole():
    """Rows are made one at a time now; a pool is the same as the list-at-once draw made it."""
    from s1kit.synth.build import problems

    for seed, mix in ((0, {"sum": 0.45, "count": 0.35, "find": 0.2}), (7, {"sum": 1.0, "find": 3.0})):
        config = SynthConfig(split="pool", size=400, seed=seed, mix=mix)
        rng = random.Random(f"s1kit-synth:pool:{seed}")
        names = [name for name in FAMILIES if mix.get(name, 0) > 0]
        families = rng.choices(names, weights=[mix[name] for name in names], k=400)
        expected = [FAMILIES[name](rng) for name in families]
        assert [problem for problem, _ in problems(config)] == expected


def test_pool_traces_draw_after_every_problem_as_when_the_problems_were_made_whole():
    """The pool s1-nano was trained on: every problem drawn first, then the traces from the same generator."""
    teacher = TeacherConfig(forced=0.3, give_up=0.5)
    config = SynthConfig(split="pool", size=300, seed=0, teacher=teacher)
    rng = random.Random("s1kit-synth:pool:0")
    names = [name for name in FAMILIES if config.mix.get(name, 0) > 0]
    families = rng.choices(names, weights=[config.mix[name] for name in names], k=300)
    made = [FAMILIES[name](rng) for name in families]
    expected = [teach(problem, rng, teacher).thinking for problem in made]
    assert [row["thinking_trajectories"][0] for row in rows(config)] == expected


def peak_memory(size: int, out) -> int:
    import tracemalloc

    from s1kit.synth.build import main

    tracemalloc.start()
    try:
        main(SynthConfig(split="pool", size=size, seed=0), out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_rows_stream_to_the_file_so_memory_stays_flat(tmp_path, capsys):
    small, large = peak_memory(400, tmp_path / "small.jsonl"), peak_memory(4000, tmp_path / "large.jsonl")
    assert large < 2 * small, (small, large)  # ten times the rows, not ten times the memory
    assert len((tmp_path / "large.jsonl").read_text().splitlines()) == 4000
    assert "synth pool: 4000/4000 rows (100%)" in capsys.readouterr().err  # progress, on stderr


def test_a_size_that_does_not_fit_on_the_disk_is_refused_before_writing(tmp_path, monkeypatch):
    import shutil

    from s1kit.synth import build

    monkeypatch.setattr(build.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 10**5, 10**5))
    with pytest.raises(S1kitError, match=r"^--size 5000 would write about \d\.\d MB \(\d+ bytes a row\) to .*pool.jsonl, "
                                         r"and its disk has 100\.0 KB free; lower --size to at most \d+$"):
        build.main(SynthConfig(split="pool", size=5000, seed=0), tmp_path / "pool.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_size_past_any_use_is_refused():
    with pytest.raises(S1kitError, match=r"size must be at most 100,000,000 rows, got 1000000000 \(int\)"):
        SynthConfig(size=10**9)


def test_a_steps_split_labels_every_step_as_the_checker_does_and_leaves_the_held_out_questions_out():
    from s1kit.synth.build import _held_out_questions
    from s1kit.synth.checker import NanoChecker

    made = rows(SynthConfig(split="steps", size=400, seed=3))
    held_out = _held_out_questions()
    assert 0 < len(made) < 400 and not {r["question"] for r in made} & held_out  # some small ones repeat a test question
    checker = NanoChecker()
    for r in made:
        assert len(r["steps"]) == len(r["labels"]) and r["steps"][-1].startswith("Final Answer: ")
        assert r["labels"] == [s >= 0.5 for s in checker.score(r["question"], r["steps"])]
        if not r["perturbed"]:  # the teacher never errs: only a guess is wrong
            assert r["labels"][:-1] == [True] * (len(r["steps"]) - 1) and r["labels"][-1] == (not r["gave_up"])
    perturbed = [r for r in made if r["perturbed"]]
    assert 0.4 < len(perturbed) / len(made) < 0.6 and all(False in r["labels"] for r in perturbed)
    assert rows(SynthConfig(split="steps", size=400, seed=3)) == made


def test_a_steps_split_without_perturbations_has_only_guesses_wrong():
    made = rows(SynthConfig(split="steps", size=200, seed=1, perturb=0.0))
    assert not any(r["perturbed"] for r in made)
    assert all(r["labels"].count(False) == int(r["gave_up"]) for r in made)
