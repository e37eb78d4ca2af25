"""The nano step checker: right and wrong work lines of each family, answers, and the teacher's traces."""

from __future__ import annotations

import random

import pytest

from s1kit.errors import S1kitError
from s1kit.reward.base import ProcessRewardModel
from s1kit.reward.load import load_prm
from s1kit.synth.checker import NanoChecker
from s1kit.synth.families import FAMILIES
from s1kit.synth.teacher import TeacherConfig, teach

SUM = "A7 B1 C5: sum them."  # B1+7=8, C5+8=13
COUNT = "A3 B7 C3: count the 3s."  # A3 vs 3 yes 1, B7 vs 3 no 1, C3 vs 3 yes 2
FIND = "A3 B8 C5: which plus 6 makes 11?"  # A3+6=9 vs 11 no, B8+6=14 vs 11 no, C5+6=11 vs 11 yes

CASES = [
    # sum
    ("sum right", SUM, ["B1+7=8", "C5+8=13"], [1, 1]),
    ("sum wrong tag", SUM, ["C1+7=8"], [0]),
    ("sum wrong item", SUM, ["B2+7=9"], [0]),
    ("sum wrong sum", SUM, ["B1+7=9"], [0]),
    ("sum wrong carry", SUM, ["B1+7=8", "C5+7=12"], [1, 0]),
    ("sum carries a mistake forward", SUM, ["B1+7=9", "C5+9=14"], [0, 0]),
    ("sum starts at A", SUM, ["A7+0=7", "B1+7=8"], [0, 1]),
    ("sum skipped item", "A7 B1 C5 D2: sum them.", ["B1+7=8", "D2+8=10"], [1, 0]),
    ("sum item not in question", SUM, ["B1+7=8", "C5+8=13", "D1+13=14"], [1, 1, 0]),
    ("sum repeat without wait", SUM, ["B1+7=8", "B1+7=8"], [1, 0]),
    ("sum repeat after wait", SUM, ["B1+7=8", "C5+8=13", "Wait", "C5+8=13", "Wait", "C5+8=13"], [1] * 6),
    ("sum changed repeat after wait", SUM, ["B1+7=8", "C5+8=13", "Wait", "C5+8=14"], [1, 1, 1, 0]),
    ("sum corrected after wait", SUM, ["B1+7=8", "C5+8=14", "Wait", "C5+8=13"], [1, 0, 1, 1]),
    ("sum repeat of a wrong line", SUM, ["B1+7=8", "C5+8=14", "Wait", "C5+8=14"], [1, 0, 1, 0]),
    ("sum earlier item after wait", SUM, ["B1+7=8", "C5+8=13", "Wait", "B1+7=8"], [1, 1, 1, 0]),
    ("sum extra spaces", SUM, ["  B1+7=8 ", "C5+8=13"], [1, 1]),
    # count
    ("count right", COUNT, ["A3 vs 3 yes 1", "B7 vs 3 no 1", "C3 vs 3 yes 2"], [1, 1, 1]),
    ("count wrong tag", COUNT, ["B3 vs 3 yes 1"], [0]),
    ("count wrong item", COUNT, ["A4 vs 3 no 0"], [0]),
    ("count wrong target", COUNT, ["A3 vs 4 no 0"], [0]),
    ("count wrong verdict", COUNT, ["A3 vs 3 no 0"], [0]),
    ("count wrong count", COUNT, ["A3 vs 3 yes 2"], [0]),
    ("count wrong carry", COUNT, ["A3 vs 3 yes 1", "B7 vs 3 no 0"], [1, 0]),
    ("count skipped item", COUNT, ["A3 vs 3 yes 1", "C3 vs 3 yes 2"], [1, 0]),
    ("count repeat after wait", COUNT, ["A3 vs 3 yes 1", "B7 vs 3 no 1", "C3 vs 3 yes 2", "Wait", "C3 vs 3 yes 2"],
     [1] * 5),
    # find
    ("find right", FIND, ["A3+6=9 vs 11 no", "B8+6=14 vs 11 no", "C5+6=11 vs 11 yes"], [1, 1, 1]),
    ("find wrong tag", FIND, ["B3+6=9 vs 11 no"], [0]),
    ("find wrong item", FIND, ["A4+6=10 vs 11 no"], [0]),
    ("find wrong addend", FIND, ["A3+5=8 vs 11 no"], [0]),
    ("find wrong sum", FIND, ["A3+6=10 vs 11 no"], [0]),
    ("find wrong target", FIND, ["A3+6=9 vs 12 no"], [0]),
    ("find wrong verdict no", FIND, ["A3+6=9 vs 11 no", "B8+6=14 vs 11 no", "C5+6=11 vs 11 no"], [1, 1, 0]),
    ("find wrong verdict yes", FIND, ["A3+6=9 vs 11 yes"], [0]),
    ("find skipped item", FIND, ["A3+6=9 vs 11 no", "C5+6=11 vs 11 yes"], [1, 0]),
    ("find wait between candidates", FIND, ["A3+6=9 vs 11 no", "Wait", "B8+6=14 vs 11 no"], [1, 1, 1]),
    ("find repeat after wait", FIND, ["A3+6=9 vs 11 no", "Wait", "A3+6=9 vs 11 no"], [1, 1, 1]),
    # wait lines, empty and unparseable steps
    ("neutral lines", SUM, ["Wait", "Hmm, let me check again.", ""], [1, 1, 1]),
    ("digits without a tag", SUM, ["7+1=8", "the total is 13"], [0, 0]),
    ("tag then prose", SUM, ["B1 plus 7 is 8"], [0]),
    # answers
    ("sum answer", SUM, ["B1+7=8", "C5+8=13", "Final Answer: 13"], [1, 1, 1]),
    ("sum bare answer", SUM, ["B1+7=8", "C5+8=13", "13"], [1, 1, 1]),
    ("sum boxed answer", SUM, ["B1+7=8", "C5+8=13", "\\boxed{13}"], [1, 1, 1]),
    ("sum answer after a re-check", SUM, ["B1+7=8", "C5+8=13", "Wait", "C5+8=13", "Final Answer: 13"], [1] * 5),
    ("sum answer after a correction", SUM, ["B1+7=8", "C5+8=14", "Wait", "C5+8=13", "13"], [1, 0, 1, 1, 1]),
    ("sum wrong answer", SUM, ["B1+7=8", "C5+8=13", "Final Answer: 14"], [1, 1, 0]),
    ("sum guessed answer", SUM, ["Final Answer: 13"], [0]),
    ("sum answer before the last item", SUM, ["B1+7=8", "Final Answer: 8"], [1, 0]),
    ("sum answer from a wrong last line", SUM, ["B1+7=8", "C5+8=14", "Final Answer: 14"], [1, 0, 0]),
    ("sum answer after a changed re-check", SUM, ["B1+7=8", "C5+8=13", "Wait", "C5+8=14", "13"], [1, 1, 1, 0, 0]),
    ("answer prefix without a number", SUM, ["B1+7=8", "C5+8=13", "Final Answer:"], [1, 1, 0]),
    ("count answer", COUNT, ["A3 vs 3 yes 1", "B7 vs 3 no 1", "C3 vs 3 yes 2", "Final Answer: 2"], [1, 1, 1, 1]),
    ("count answer before the end", COUNT, ["A3 vs 3 yes 1", "B7 vs 3 no 1", "1"], [1, 1, 0]),
    ("find answer", FIND, ["A3+6=9 vs 11 no", "B8+6=14 vs 11 no", "C5+6=11 vs 11 yes", "5"], [1, 1, 1, 1]),
    ("find guessed answer", FIND, ["A3+6=9 vs 11 no", "B8+6=14 vs 11 no", "Final Answer: 5"], [1, 1, 0]),
    ("find answer is not the target", FIND, ["A3+6=9 vs 11 no", "B8+6=14 vs 11 no", "C5+6=11 vs 11 yes", "11"],
     [1, 1, 1, 0]),
    ("find answer from a wrong yes", FIND, ["A3+6=9 vs 11 yes", "Final Answer: 3"], [0, 0]),
    # steps of several lines
    ("lines in one step", SUM, ["B1+7=8\nC5+8=13", "Final Answer:\n13"], [1, 1]),
    ("a wrong line in a step", SUM, ["B1+7=8\nC5+8=14"], [0]),
]


@pytest.mark.parametrize("question, steps, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_step_is_scored_right_or_wrong(question, steps, expected):
    assert NanoChecker().score(question, steps) == [float(value) for value in expected]


def test_another_answer_prefix_marks_an_answer():
    checker = NanoChecker(answer_prefix="Answer ->")
    assert checker.score(SUM, ["B1+7=8", "C5+8=13", "answer -> 13"]) == [1.0, 1.0, 1.0]
    assert checker.score(SUM, ["B1+7=8", "C5+8=13", "Answer ->"]) == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("question", ["What is 2+2?", "A7 C1: sum them.", "A7 B1 C5: multiply them.", "", "A7 B1"])
def test_a_question_of_another_task_is_refused(question):
    with pytest.raises(S1kitError, match="nano-checker reads nano questions only") as error:
        NanoChecker().score(question, ["B1+7=8"])
    assert f"got the question '{question[:20]}" in str(error.value)


def test_it_is_the_prm_that_prm_nano_checker_names():
    checker = NanoChecker()
    assert isinstance(checker, ProcessRewardModel) and checker.name == "nano-checker"
    assert load_prm("nano-checker").score(SUM, ["B1+7=8", "C5+8=14"]) == [1.0, 0.0]


def _problems(n: int = 300, seed: int = 0):
    rng = random.Random(seed)
    families = sorted(FAMILIES)
    return [FAMILIES[families[i % len(families)]](rng) for i in range(n)]


def test_the_correct_work_and_its_answer_score_right():
    checker = NanoChecker()
    for problem in _problems():
        for answer in (str(problem.answer), f"Final Answer: {problem.answer}"):
            assert checker.score(problem.question, [*problem.lines, answer]) == [1.0] * (len(problem.lines) + 1)
        assert checker.score(problem.question, [*problem.lines, str(problem.answer + 1)])[-1] == 0.0


def test_teacher_traces_score_right_and_a_give_up_guess_scores_wrong():
    checker, rng = NanoChecker(), random.Random(1)
    config = TeacherConfig(forced=0.3, check=0.4)
    gave_up = rechecked = 0
    for problem in _problems(seed=1):
        trace = teach(problem, rng, config)
        steps = [*trace.thinking.split("\n"), trace.attempt]
        scores = checker.score(problem.question, steps)
        assert scores[:-1] == [1.0] * (len(steps) - 1)
        assert scores[-1] == (0.0 if trace.gave_up else 1.0)
        gave_up += trace.gave_up
        rechecked += steps.count(problem.lines[-1]) > 1
    assert gave_up >= 10 and rechecked >= 10  # both kinds of trace were really checked


def _perturbed(line: str, rng: random.Random) -> str:
    spots = [i for i, char in enumerate(line) if char.isdigit()]
    spot = rng.choice(spots)
    digit = rng.choice([d for d in "0123456789" if d != line[spot]])
    return line[:spot] + digit + line[spot + 1:]


def test_one_changed_digit_makes_only_its_line_wrong():
    checker, rng = NanoChecker(), random.Random(2)
    for problem in _problems(seed=2) * 3:
        steps = [*problem.lines, str(problem.answer)]
        at = rng.randrange(len(problem.lines))
        steps[at] = _perturbed(steps[at], rng)
        expected = [1.0] * len(steps)
        expected[at] = 0.0
        if at == len(problem.lines) - 1:
            expected[-1] = 0.0  # the answer lost the line it follows from
        assert checker.score(problem.question, steps) == expected, steps


def test_a_changed_digit_in_a_teacher_trace_is_caught():
    checker, rng = NanoChecker(), random.Random(3)
    for problem in _problems(seed=3):
        lines = teach(problem, rng, TeacherConfig(check=0.5)).thinking.split("\n")
        work = [i for i, line in enumerate(lines) if any(char.isdigit() for char in line)]
        at = rng.choice(work)
        lines[at] = _perturbed(lines[at], rng)
        assert checker.score(problem.question, lines)[at] == 0.0, lines
