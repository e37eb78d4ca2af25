"""Metrics: tables of hand-computed cases, and the s1 paper's Table 3 recomputed."""

import math
from itertools import combinations

import pytest

from s1kit.errors import S1kitError
from s1kit.metrics import (
    Estimate,
    accuracy,
    accuracy_at,
    control,
    control_over_runs,
    cov_at_k,
    maj_at_k,
    majority_vote,
    mean_cov_at_k,
    mean_maj_at_k,
    mean_pass_at_k,
    pass_at_k,
    performance,
    scaling,
    tokens_to_match,
    weighted_majority_vote,
)

T, F = True, False


@pytest.mark.parametrize(
    "correct, value, stderr",
    [
        ([T], 1.0, 0.0),  # n = 1: no spread to estimate
        ([T, T, T], 1.0, 0.0),
        ([T, F], 0.5, 0.5),  # var = 2 * 0.25 / 1 = 0.5; sqrt(0.5 / 2)
        ([1, 1, 0, 0], 0.5, math.sqrt(1 / 12)),  # var = 4 * 0.25 / 3; sqrt(var / 4)
        ([0.5, 1.0], 0.75, 0.25),  # partial credit: var = 2 * 0.0625; sqrt(0.125 / 2)
    ],
)
def test_accuracy(correct, value, stderr):
    estimate = accuracy(correct)
    assert estimate == Estimate(pytest.approx(value), pytest.approx(stderr), len(correct))


@pytest.mark.parametrize(
    "correct, message",
    [
        ([], "no results"),
        ([T, 56.7], r"correct\[1\] is 56.7"),
        ([-0.1], "-0.1"),
        ([math.nan], "nan"),
        (["yes"], "'yes'"),
    ],
)
def test_accuracy_rejects(correct, message):
    with pytest.raises(S1kitError, match=message):
        accuracy(correct)


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (5, 0, 1, 0.0),
        (5, 5, 1, 1.0),
        (5, 2, 1, 0.4),  # c / n
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (10, 3, 5, 11 / 12),  # 1 - C(7,5)/C(10,5) = 1 - 21/252
        (3, 1, 3, 1.0),  # n - c < k: every draw holds the correct one
    ],
)
def test_pass_at_k_by_hand(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_equals_brute_force_over_subsets():
    for n in range(1, 7):
        for c in range(n + 1):
            samples = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                draws = list(combinations(samples, k))
                assert pass_at_k(n, c, k) == pytest.approx(sum(map(any, draws)) / len(draws))


@pytest.mark.parametrize(
    "n, c, k, message",
    [(3, 1, 4, r"k \(4\) must be from 1 to n \(3\)"), (3, 4, 1, r"c \(4\) exceeds n \(3\)"),
     (3, -1, 1, r"c \(-1\)"), (-3, 0, 1, r"n \(-3\)"), (3, 1, 0, r"k \(0\)"), (3, 1, 1.5, r"k \(1.5\)")],
)
def test_pass_at_k_rejects(n, c, k, message):
    with pytest.raises(S1kitError, match=message):
        pass_at_k(n, c, k)


@pytest.mark.parametrize("k, expected", [(1, 0.25), (2, 0.5)])  # (0.5 + 0) / 2, (1 + 0) / 2
def test_mean_pass_at_k(k, expected):
    assert mean_pass_at_k([[T, F], [F, F]], k) == pytest.approx(expected)


def test_mean_pass_at_k_names_the_short_question():
    with pytest.raises(S1kitError, match=r"k \(2\).*1 samples of question 1"):
        mean_pass_at_k([[T, F], [T]], 2)


@pytest.mark.parametrize(
    "answers, expected",
    [
        (["a", "b", "a"], "a"),
        ([None, "b", None], "b"),
        ([None, None], None),
        ([], None),
        (["7", "07", "7"], "7"),  # plain string equality; grading normalises answers first
    ],
)
def test_majority_vote(answers, expected):
    assert majority_vote(answers, seed=0) == expected


# Hand-checked picks of random.Random(seed).choice over the sorted tie.
@pytest.mark.parametrize(
    "tie, seed, expected",
    [(["a", "b"], 0, "b"), (["a", "b"], 1, "a"), (["c", "b", "a"], 0, "b"), (["c", "b", "a"], 5, "c")],
)
def test_majority_vote_tie_is_seeded_and_order_free(tie, seed, expected):
    for answers in (tie, tie[::-1], tie + [None]):
        assert majority_vote(answers, seed) == expected
        assert majority_vote(answers, seed) == expected  # same seed, same pick


def test_majority_vote_tie_reaches_every_tied_answer():
    assert {majority_vote(["a", "b"], seed) for seed in range(20)} == {"a", "b"}


@pytest.mark.parametrize(
    "answers, seed, message", [(["a", 3], 0, r"answers\[1\] is 3"), (["a"], "x", r"seed \('x'\)")]
)
def test_majority_vote_rejects(answers, seed, message):
    with pytest.raises(S1kitError, match=message):
        majority_vote(answers, seed)


QUESTION = (["1", "2", "2", "1", "1"], [T, F, F, T, T])


@pytest.mark.parametrize(
    "k, seed, expected",
    [
        (1, 0, True),  # "1"
        (3, 0, False),  # "2" twice
        (5, 0, True),  # "1" three times against two
        (2, 0, False),  # tie "1"/"2": seed 0 picks "2"
        (2, 1, True),  # seed 1 picks "1"
    ],
)
def test_maj_at_k_votes_over_the_first_k(k, seed, expected):
    assert maj_at_k(*QUESTION, k=k, seed=seed) is expected


def test_maj_at_k_all_none_is_wrong():
    assert maj_at_k([None, "1"], [F, T], k=1, seed=0) is False


@pytest.mark.parametrize(
    "answers, correct, k, message",
    [
        (["1", "1"], [T, F], 1, "answer '1' is marked both correct and incorrect"),
        (["1", "2"], [T], 1, "2 answers but 1 correctness flags"),
        (["1", "2"], [T, F], 3, r"k \(3\)"),
        (["1", "2"], [T, F], 0, r"k \(0\)"),
        (["1", "2"], [T, 0.5], 1, r"correct\[1\] is 0.5"),
    ],
)
def test_maj_at_k_rejects(answers, correct, k, message):
    with pytest.raises(S1kitError, match=message):
        maj_at_k(answers, correct, k, seed=0)


def test_mean_maj_at_k():
    answers = [["1", "1", "2"], ["3", "4", "4"]]
    correct = [[T, T, F], [T, F, F]]
    assert mean_maj_at_k(answers, correct, k=3, seed=0) == 0.5
    with pytest.raises(S1kitError, match="2 questions of answers but 1"):
        mean_maj_at_k(answers, correct[:1], k=1, seed=0)
    with pytest.raises(S1kitError, match="question 1: answer '4' is marked both"):
        mean_maj_at_k(answers, [[T, T, F], [T, T, F]], k=3, seed=0)


def test_mean_maj_at_k_ties_are_seeded_per_question():
    ties = [["a", "b"]] * 8, [[T, F]] * 8  # "a" right, "b" wrong: a coin flip per question
    scores = {seed: mean_maj_at_k(*ties, k=2, seed=seed) for seed in range(3)}
    assert scores == {seed: mean_maj_at_k(*ties, k=2, seed=seed) for seed in range(3)}
    assert all(0 < score < 1 for score in scores.values())  # not one tie-break for every question


@pytest.mark.parametrize(
    "correct, k, expected", [([F, F, T], 2, False), ([F, F, T], 3, True), ([T], 1, True)]
)
def test_cov_at_k(correct, k, expected):
    assert cov_at_k(correct, k) is expected


@pytest.mark.parametrize("k, expected", [(1, 0.0), (2, 0.5)])
def test_mean_cov_at_k(k, expected):
    assert mean_cov_at_k([[F, T], [F, F]], k) == expected


def test_cov_at_k_rejects_k_past_the_samples():
    with pytest.raises(S1kitError, match=r"k \(4\).*3 samples"):
        cov_at_k([F, F, T], 4)
    with pytest.raises(S1kitError, match=r"question 1: k \(2\)"):
        mean_cov_at_k([[F, T], [T]], 2)


TOKENS = [100, 512, 600, 1024]


@pytest.mark.parametrize(
    "max_tokens, min_tokens, expected",
    [(512, 0, 0.5), (1024, 200, 0.75), (None, 0, 1.0), (None, 600, 0.5), (99, 0, 0.0)],  # bounds included
)
def test_control(max_tokens, min_tokens, expected):
    assert control(TOKENS, max_tokens, min_tokens) == expected


# s1 Appendix D.1: per-run average thinking tokens against each run's limit (Tables 11, 12).
TCC = [(1024, [7939]), (2048, [7158]), (4096, [8263]), (8192, [7108]), (16384, [7500])]
TCC_BF = [(1024, [1024]), (2048, [2048]), (4096, [4031]), (8192, [5664]), (16384, [6330])]
SCC = [(100 * s, [t]) for s, t in zip([16, 32, 64, 128, 256], [7252, 6277, 5396, 5552, 7551])]


@pytest.mark.parametrize(
    "runs, granularity, expected",
    [
        (TCC, "run", 0.4),  # Table 3: 40%
        (TCC_BF, "run", 1.0),  # Table 3: 100%
        (SCC, "run", 0.6),  # Table 3: 60%
        ([(10, [5, 15]), (20, [30])], "run", 0.5),  # means 10 (in) and 30 (out)
        ([(10, [5, 15]), (20, [30])], "sample", 1 / 3),  # only the 5 fits
    ],
)
def test_control_over_runs(runs, granularity, expected):
    assert control_over_runs(runs, granularity=granularity) == pytest.approx(expected)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: control(TOKENS, 100, 200), r"bounds \[200, 100\]"),
        (lambda: control(TOKENS, None, -1), r"bounds \[-1, None\]"),
        (lambda: control([], 100), "no runs"),
        (lambda: control_over_runs(TCC, granularity="question"), "unknown granularity 'question'"),
        (lambda: control_over_runs([(10, [])]), "each with thinking-token counts"),
    ],
)
def test_control_rejects(call, message):
    with pytest.raises(S1kitError, match=message):
        call()


CURVE = [(2048, 0.3), (1024, 0.2), (4096, 0.6)]  # log2 x: 10, 11, 12; y in percent: 20, 30, 60


@pytest.mark.parametrize(
    "points, x_unit, expected",
    [
        (CURVE, "log2", 20.0),  # slopes 10/1, 40/2, 30/1 -> mean 20
        (CURVE, "tokens", (10 / 1024 + 40 / 3072 + 30 / 2048) / 3),
        ([(2000, 0.4), (1000, 0.5)], "log2", -10.0),
        (CURVE + [(4096, 0.6), (4096, 0.6)], "log2", 20.0),  # caps past the natural length: the same point
    ],
)
def test_scaling_by_hand(points, x_unit, expected):
    assert scaling(points, x_unit=x_unit) == pytest.approx(expected)


def _points(tokens, correct_of_30):
    return [(t, c / 30) for t, c in zip(tokens, correct_of_30)]


# Table 3's Scaling column from the per-budget numbers in Tables 11-13 (AIME24, 30 questions).
@pytest.mark.parametrize(
    "points, printed",
    [
        (_points([7939, 7158, 8263, 7108, 7500], [8, 9, 10, 10, 12]), -24),  # TCC
        (_points([1024, 2048, 4031, 5664, 6330], [1, 9, 10, 10, 12]), 13),  # TCC + BF
        (_points([7252, 6277, 5396, 5552, 7551], [10, 7, 10, 11, 10]), 3),  # SCC
        (_points([1517, 2963, 4636, 5409, 7551], [7, 7, 10, 11, 10]), 6),  # SCC + BF
        (_points([8033, 9651], [9, 11]), 25),  # CCC: short and long prompts
    ],
)
def test_scaling_reproduces_s1_table3(points, printed):
    assert round(scaling(points)) == printed


@pytest.mark.parametrize(
    "points, x_unit, message",
    [
        ([(1024, 0.5)], "log2", "at least 2 points, got 1"),
        ([(1024, 0.5), (1024, 0.6)], "log2", "share 1024 thinking tokens with different accuracies"),
        ([(1024, 0.5), (1024, 0.5)], "log2", "every point here is the same run"),
        ([(0, 0.5), (1024, 0.6)], "log2", "thinking tokens 0 has no log2"),
        ([(512, 40.0), (1024, 56.7)], "log2", "accuracy of points\\[0\\] is 40.0"),
        ([(512, 0.4), (1024, 0.5)], "log10", "unknown x_unit 'log10'"),
    ],
)
def test_scaling_rejects(points, x_unit, message):
    with pytest.raises(S1kitError, match=message):
        scaling(points, x_unit=x_unit)


def test_performance():
    assert performance([(1000, 0.3), (7320, 0.567), (4000, 0.5)]) == 0.567
    with pytest.raises(S1kitError, match="no points"):
        performance([])
    with pytest.raises(S1kitError, match="is 56.7"):
        performance([(7320, 56.7)])


@pytest.mark.parametrize(
    "scores, correct, k, expected",
    [
        ([0.1, 0.9, 0.5], [False, True, False], 3, True),   # the top score is the right one
        ([0.1, 0.9, 0.5], [False, True, False], 1, False),  # only the first sample is looked at
        ([3, 1, 7], [True, False, False], 2, True),         # 7 is outside the first 2
        ([-5, -5, -9], [True, True, False], 3, True),       # a tie between two right ones
    ],
)
def test_best_of_k_picks_the_top_score_of_the_first_k(scores, correct, k, expected):
    from s1kit.metrics import best_of_k

    assert best_of_k(scores, correct, k, seed=0) is expected


def test_best_of_k_ties_are_broken_by_the_seed_and_bad_scores_named():
    from s1kit.metrics import best_of_k

    picks = {best_of_k([1.0, 1.0], [True, False], 2, seed) for seed in range(20)}
    assert picks == {True, False}  # either tied sample, depending on the seed
    assert all(best_of_k([1.0, 1.0], [True, False], 2, 5) == best_of_k([1.0, 1.0], [True, False], 2, 5) for _ in range(3))
    with pytest.raises(S1kitError, match=r"scores\[1\] is nan; a scorer must return a finite number"):
        best_of_k([1.0, float("nan")], [True, False], 2, 0)
    with pytest.raises(S1kitError, match="2 scores but 1 correctness flags"):
        best_of_k([1.0, 2.0], [True], 1, 0)


@pytest.mark.parametrize("xy, expected", [
    ([(8.0, 0.2), (30.0, 0.6), (40.0, 0.8), (40.0, 0.8)], scaling([(8.0, 0.2), (30.0, 0.6), (40.0, 0.8)])),
    ([(8.0, 0.2), (40.0, 0.8), (40.0, 0.7)], None),   # one length, two accuracies: no slope
    ([(40.0, 0.8), (40.0, 0.8)], None),               # one run, twice
])
def test_a_curve_whose_caps_pass_the_natural_length_still_has_a_scaling(xy, expected):
    """A sweep's caps past the natural length repeat its last point; the curve keeps its Scaling."""
    from s1kit.eval.summary import curve

    members = [{"avg_thinking_tokens": x, "accuracy": y, "stderr": 0.0, "label": str(i)} for i, (x, y) in enumerate(xy)]
    assert curve("c", members, control=1.0)["scaling"] == (pytest.approx(expected) if expected is not None else None)


CURVE = [(100, 0.2), (200, 0.4), (400, 0.6)]


@pytest.mark.parametrize(
    "points, target, expected",
    [
        (CURVE, 0.5, 300.0),  # between (200, 0.4) and (400, 0.6): 200 + (0.1 / 0.2) * 200
        (CURVE, 0.4, 200.0),  # a point exactly at the target
        (CURVE, 0.6, 400.0),
        (CURVE, 0.1, 100.0),  # the first point is already above: no extrapolation below it
        (CURVE, 0.0, 100.0),
        (CURVE, 0.7, None),  # never reached
        (CURVE[::-1], 0.5, 300.0),  # points in any order: walked in increasing x
        ([(100, 0.2), (200, 0.6), (300, 0.4), (400, 0.8)], 0.5, 175.0),  # the first crossing: 100 + 0.3 / 0.4 * 100
        ([(100, 0.2), (200, 0.3), (200, 0.5), (300, 0.6)], 0.5, 250.0),  # (200, 0.3) and (200, 0.5) are (200, 0.4)
        ([(512, 0.5)], 0.5, 512.0),
        ([(512, 0.5)], 0.6, None),
        ([(0, 0.0), (10, 1)], 0.25, 2.5),  # accuracies 0 and 1 as ints, x from 0
    ],
)
def test_tokens_to_match(points, target, expected):
    found = tokens_to_match(points, target)
    assert found == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    "points, x, expected",
    [
        (CURVE, 150, 0.3),  # halfway from (100, 0.2) to (200, 0.4)
        (CURVE, 300, 0.5),
        (CURVE, 350.0, 0.55),
        (CURVE, 200, 0.4),  # an exact x: its own accuracy
        (CURVE, 100, 0.2),
        (CURVE, 400, 0.6),
        (CURVE, 99.9, None),  # outside [min x, max x]: no extrapolation
        (CURVE, 401, None),
        (CURVE[::-1], 150, 0.3),
        ([(100, 0.2), (100, 0.4), (300, 0.5)], 100, 0.3),  # repeated x: the mean of its accuracies
        ([(100, 0.2), (100, 0.4), (300, 0.5)], 200, 0.4),  # from (100, 0.3) to (300, 0.5)
        ([(512, 0.5)], 512, 0.5),
        ([(512, 0.5)], 513, None),
    ],
)
def test_accuracy_at(points, x, expected):
    found = accuracy_at(points, x)
    assert found == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    "reading, args, message",
    [
        (tokens_to_match, ([], 0.5), "no points"),
        (accuracy_at, ([], 100), "no points"),
        (tokens_to_match, ([(100, 56.7)], 0.5), r"accuracy of points\[0\] is 56.7"),
        (accuracy_at, ([(100, 0.5), (math.nan, 0.5)], 100), r"points\[1\] is \(nan, 0.5\)"),
        (tokens_to_match, ([(100, 0.5)], 50), r"target \(50\) must be an accuracy in \[0, 1\]"),
        (tokens_to_match, ([(100, 0.5)], math.nan), r"target \(nan\)"),
        (tokens_to_match, ([(100, 0.5)], None), r"target \(None\)"),
        (accuracy_at, ([(100, 0.5)], math.inf), r"x \(inf\) must be a finite number of thinking tokens"),
        (accuracy_at, ([(100, 0.5)], "100"), r"x \('100'\)"),
    ],
)
def test_curve_readings_reject(reading, args, message):
    with pytest.raises(S1kitError, match=message):
        reading(*args)


@pytest.mark.parametrize(
    "answers, weights, expected",
    [
        (["a", "b", "b"], [3.0, 1.0, 1.0], "a"),  # 3 against 2: weight, not count, wins
        (["a", "b", "b"], [1.0, 1.0, 1.0], "b"),  # equal weights: a plain majority
        (["a", "b", None], [1.0, 2.0, 5.0], "b"),  # None does not vote, whatever its weight
        ([None, None], [1.0, 2.0], None),
        ([], [], None),
        (["a", "b"], [0, 1], "b"),  # integer weights
    ],
)
def test_weighted_majority_vote(answers, weights, expected):
    assert weighted_majority_vote(answers, weights, seed=0) == expected


def test_weighted_majority_vote_breaks_ties_as_majority_vote_does():
    for seed in range(10):
        tie = ["c", "a", "b", "b"]
        assert weighted_majority_vote(tie, [2.0, 2.0, 1.5, 0.5], seed) == majority_vote(["a", "b", "c"], seed)
    assert {weighted_majority_vote(["a", "b"], [1.0, 1.0], seed) for seed in range(20)} == {"a", "b"}


@pytest.mark.parametrize(
    "answers, weights, message",
    [
        (["a", "b"], [1.0], "2 answers but 1 weights"),
        (["a", "b"], [1.0, float("nan")], r"weights\[1\] is nan; give finite numbers"),
        (["a"], [True], r"weights\[0\] is True"),
        ([7], [1.0], r"answers\[0\] is 7"),
    ],
)
def test_weighted_majority_vote_rejects(answers, weights, message):
    with pytest.raises(S1kitError, match=message):
        weighted_majority_vote(answers, weights, seed=0)


def test_accuracy_at_an_exact_x_is_the_points_own_accuracy_to_the_last_bit():
    points = [(3, 0.1), (7, 0.7), (11, 0.3)]
    assert [accuracy_at(points, x) for x, _ in points] == [0.1, 0.7, 0.3]
