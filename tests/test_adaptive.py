"""The adaptive methods' stopping and voting rules: tables of hand-computed cases."""

import math

import pytest

from s1kit.errors import S1kitError
from s1kit.methods.adaptive import (
    adaptive_consistency_samples_used,
    deepconf_offline,
    esc_samples_used,
    group_confidences,
    leader_probability,
    lowest_group_confidence,
    mean_confidence,
    online_stop,
    online_threshold,
    regularized_incomplete_beta,
    stopped_vote,
    tail_confidence,
    token_confidence,
)
from s1kit.metrics import majority_vote


@pytest.mark.parametrize(
    "answers, window, expected",
    [
        (["1", "1", "2", "2"], 2, 2),  # the first window agrees
        (["1", "1"], 2, 2),
        (["1", "2", "1", "1"], 2, 4),  # [1, 2] disagrees, [1, 1] agrees
        (["1", "2", "3", "3", "4"], 2, 4),
        (["1", "2", "3", "4", "5"], 2, 5),  # no window agrees; the last one, [5], is partial
        (["1", "2", "3", "4", "5", "5"], 2, 6),
        ([None, None, "1", "1"], 2, 4),  # a window of no answers is no agreement
        (["1", None, "1", "1"], 2, 4),
        (["1"], 2, 1),  # one partial window: it cannot stop early
        (["a", "a", "b", "c", "c", "c", "d"], 3, 6),
        (["a", "a", "a"], 3, 3),
        ([None, "a", "b"], 1, 2),  # a window of 1: the first answer
        (["a", "b"], 1, 1),
        (["a", "a", "a", "a"], 5, 4),
    ],
)
def test_esc_samples_used(answers, window, expected):
    assert esc_samples_used(answers, window) == expected


@pytest.mark.parametrize(
    "answers, used, expected",
    [
        (["1", "2", "3", "3", "9", "9"], 4, "3"),
        # ESC with a window of 2 stops at 8 on [2, 2]; the majority of the 8 used is 1 (3 votes to 2).
        (["1", "3", "1", "4", "1", "5", "2", "2"], 8, "1"),
        ([None, None, "7"], 2, None),
    ],
)
def test_stopped_vote_is_the_majority_of_the_samples_used(answers, used, expected):
    assert stopped_vote(answers, used, seed=0) == expected


def test_stopped_vote_breaks_ties_as_majority_vote():
    assert all(stopped_vote(["a", "b", "c"], 2, seed) == majority_vote(["a", "b"], seed) for seed in range(10))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: esc_samples_used(["a"], 0), r"window \(0\) must be a positive integer"),
        (lambda: esc_samples_used(["a"], 2.0), r"window \(2.0\)"),
        (lambda: esc_samples_used(["a"], True), r"window \(True\)"),
        (lambda: esc_samples_used([], 2), "no samples"),
        (lambda: esc_samples_used(["a", 5], 2), r"answers\[1\] is 5"),
        (lambda: stopped_vote(["a"], 2, 0), r"samples used \(2\) must be from 1 to the 1 samples"),
        (lambda: stopped_vote(["a"], 0, 0), r"samples used \(0\)"),
    ],
)
def test_esc_rejects(call, message):
    with pytest.raises(S1kitError, match=message):
        call()


@pytest.mark.parametrize(
    "x, a, b, expected",
    [
        (0.5, 1, 1, 0.5),  # the uniform distribution
        (0.25, 1, 1, 0.25),
        (0.3, 2, 1, 0.09),  # I_x(a, 1) = x^a
        (0.5, 5, 1, 1 / 32),
        (0.5, 1, 3, 7 / 8),  # I_x(1, b) = 1 - (1 - x)^b
        (0.2, 2, 2, 0.104),  # C(3, 2) 0.2^2 0.8 + 0.2^3 = 0.096 + 0.008
        (0.5, 2, 2, 0.5),  # (C(3, 2) + C(3, 3)) / 8
        (0.5, 3, 2, 5 / 16),  # (C(4, 3) + C(4, 4)) / 16
        (0.0, 3, 2, 0.0),
        (1.0, 3, 2, 1.0),
    ],
)
def test_regularized_incomplete_beta(x, a, b, expected):
    assert regularized_incomplete_beta(x, a, b) == pytest.approx(expected)


def test_regularized_incomplete_beta_is_symmetric():
    for x, a, b in [(0.1, 3, 5), (0.7, 2, 9), (0.5, 40, 38)]:
        assert regularized_incomplete_beta(x, a, b) == pytest.approx(1 - regularized_incomplete_beta(1 - x, b, a))


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (0, 0, 0.5),  # no votes: a coin
        (1, 0, 0.75),  # 1 - 0.5^2
        (4, 0, 0.96875),  # 1 - 0.5^5
        (1, 1, 0.5),
        (2, 1, 11 / 16),  # 1 - I_0.5(3, 2) = 1 - 5/16
        (3, 1, 26 / 32),  # 1 - (C(5, 4) + C(5, 5)) / 32
        (4, 1, 57 / 64),  # 1 - (C(6, 5) + C(6, 6)) / 64
        (5, 1, 120 / 128),
        (6, 1, 247 / 256),
        (1, 2, 5 / 16),  # the leader's chance when it trails
    ],
)
def test_leader_probability(a, b, expected):
    assert leader_probability(a, b) == pytest.approx(expected)


@pytest.mark.parametrize(
    "answers, kwargs, expected",
    [
        (["a"] * 5, {}, 4),  # 1 - 0.5^(i + 1): 0.9375 at i = 3, 0.96875 at i = 4
        (["a"] * 3, {}, 3),  # never sure enough: every sample is used
        (["a", "b"] + ["a"] * 7, {}, 7),  # (a, b) = (6, 1) at i = 7: 247/256; (5, 1) gives 0.9375
        ([None] + ["a"] * 4, {}, 5),  # None is no vote: (4, 0) only at i = 5
        (["a", "b", "c", "a"], {"threshold": 0.6}, 4),  # the top two counts: (1, 1) twice, then (2, 1): 0.6875
        (["a", "a"], {"threshold": 0.7}, 2),  # 0.75 after one sample, but at least two are drawn
        (["a", "a"], {"threshold": 0.7, "min_samples": 1}, 1),
        (["a", "a", "a", "a"], {"min_samples": 6}, 4),
        (["a"] * 9, {"every": 3}, 6),  # sure at 4, but checked only at 3 (0.9375) and 6
        (["a"] * 5, {"every": 1}, 4),
    ],
)
def test_adaptive_consistency_samples_used(answers, kwargs, expected):
    assert adaptive_consistency_samples_used(answers, **kwargs) == expected


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: adaptive_consistency_samples_used(["a"], threshold=0.5), r"threshold \(0.5\) must be in \(0.5, 1\)"),
        (lambda: adaptive_consistency_samples_used(["a"], threshold=1.0), r"threshold \(1.0\)"),
        (lambda: adaptive_consistency_samples_used(["a"], threshold=95), r"threshold \(95\)"),
        (lambda: adaptive_consistency_samples_used(["a"], min_samples=0), r"min_samples \(0\) must be a positive"),
        (lambda: adaptive_consistency_samples_used([], 0.95), "no samples"),
        (lambda: regularized_incomplete_beta(0.5, 0, 1), r"a \(0\) must be a positive integer"),
        (lambda: regularized_incomplete_beta(0.5, 1, 1.5), r"b \(1.5\)"),
        (lambda: regularized_incomplete_beta(1.5, 1, 1), r"x \(1.5\) must be in \[0, 1\]"),
        (lambda: leader_probability(-1, 0), r"-1"),
    ],
)
def test_adaptive_consistency_rejects(call, message):
    with pytest.raises(S1kitError, match=message):
        call()


@pytest.mark.parametrize(
    "top_logprobs, expected",
    [
        ([-0.5, -1.5], 1.0),
        ([-1.0, -2.0, -3.0], 2.0),
        ([0.0], 0.0),  # certain: the top token has probability 1
        ([-0.1] * 20, 0.1),  # k = 20, as in the paper
    ],
)
def test_token_confidence(top_logprobs, expected):
    assert token_confidence(top_logprobs) == pytest.approx(expected)


@pytest.mark.parametrize(
    "confidences, window, expected",
    [
        ([1.0, 2.0, 3.0, 4.0], 2, [1.0, 1.5, 2.5, 3.5]),
        ([1.0, 2.0, 3.0, 4.0], 3, [1.0, 1.5, 2.0, 3.0]),  # token 0 and 1: the mean so far
        ([1.0, 2.0, 3.0, 4.0], 9, [1.0, 1.5, 2.0, 2.5]),  # a window past the end: running means
        ([1.0, 2.0, 3.0, 4.0], 1, [1.0, 2.0, 3.0, 4.0]),
        ([], 4, []),
    ],
)
def test_group_confidences(confidences, window, expected):
    assert group_confidences(confidences, window) == pytest.approx(expected)


def test_confidence_summaries():
    confidences = [1.0, 2.0, 3.0, 4.0]
    assert lowest_group_confidence([3.0, 1.5, 2.0]) == 1.5
    assert lowest_group_confidence(group_confidences([4.0, 1.0, 1.0, 4.0], 2)) == 1.0
    assert tail_confidence(confidences, 2) == pytest.approx(3.5)
    assert tail_confidence(confidences, 1) == pytest.approx(4.0)
    assert tail_confidence(confidences, 10) == pytest.approx(2.5)  # a tail past the start: every token
    assert mean_confidence(confidences) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "answers, confidences, eta, expected",
    [
        (["a", "b", "b", "c"], [3.0, 2.0, 2.0, 3.5], 100, "b"),  # every trace: a 3, b 4, c 3.5
        (["a", "b", "b", "c"], [3.0, 2.0, 2.0, 3.5], 50, "c"),  # the top 2: c 3.5 against a 3
        (["a", "b", "b", "c"], [3.0, 2.0, 2.0, 3.5], 10, "c"),  # ceil(0.4) = 1 trace kept
        (["a", "b", "b", "c"], [3.0, 2.0, 2.0, 3.5], 75, "c"),  # 3 kept: c 3.5, a 3, b 2
        (["x", "y", "z"], [1.0, 1.0, 0.5], 33, "x"),  # 1 kept; of the tied, the earlier trace
        (["y", "x", "z"], [1.0, 1.0, 0.5], 33, "y"),
        # No answer: the trace neither votes nor takes a place among the kept. Of the 3 answered,
        # ceil(2.25) = 3 are kept: b 3 against a 2 (were the None kept, a 2 against b 1.5).
        ([None, "a", "b", "b"], [9.0, 2.0, 1.5, 1.5], 75, "b"),
        ([None, None], [1.0, 2.0], 10, None),
        (["a", "b"], [0.5, 2.0], 90, "b"),
    ],
)
def test_deepconf_offline(answers, confidences, eta, expected):
    assert deepconf_offline(answers, confidences, eta, seed=0) == expected


def test_deepconf_offline_ties_are_broken_as_majority_vote():
    for seed in range(10):
        assert deepconf_offline(["b", "a", "c"], [1.0, 1.0, 0.5], 50, seed) == majority_vote(["a", "b"], seed)


@pytest.mark.parametrize(
    "warmup, eta, expected",
    [
        ([5.0, 1.0, 3.0, 2.0, 4.0], 10, 5.0),  # ceil(0.5) = 1 passes: the most confident
        ([5.0, 1.0, 3.0, 2.0, 4.0], 20, 5.0),  # exactly 1 of 5
        ([5.0, 1.0, 3.0, 2.0, 4.0], 40, 4.0),  # 2 of 5 pass
        ([5.0, 1.0, 3.0, 2.0, 4.0], 50, 3.0),  # ceil(2.5) = 3 pass
        ([5.0, 1.0, 3.0, 2.0, 4.0], 90, 1.0),  # ceil(4.5) = 5: all pass
        ([5.0, 1.0, 3.0, 2.0, 4.0], 100, 1.0),
        ([float(v) for v in range(16)], 10, 14.0),  # the paper's 16 warm-up traces: ceil(1.6) = 2 pass
        ([float(v) for v in range(16)], 90, 1.0),  # ceil(14.4) = 15 pass
        ([2.0], 10, 2.0),
    ],
)
def test_online_threshold(warmup, eta, expected):
    threshold = online_threshold(warmup, eta)
    assert threshold == expected
    passing = sum(c >= threshold for c in warmup)
    assert passing == max(1, math.ceil(eta * len(warmup) / 100))


@pytest.mark.parametrize(
    "groups, threshold, expected",
    [
        ([3.0, 2.5, 1.0, 4.0], 2.0, 2),  # token 2 is below: the trace stops there
        ([3.0, 2.5, 1.0, 4.0], 3.0, 1),
        ([3.0, 2.5, 1.0, 4.0], 0.5, None),  # never below: it runs to its end
        ([2.0, 1.9], 2.0, 1),  # at the threshold is not below it
        ([], 1.0, None),
    ],
)
def test_online_stop(groups, threshold, expected):
    assert online_stop(groups, threshold) == expected


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: token_confidence([]), "no log-probabilities"),
        (lambda: token_confidence([-1.0, 0.5]), r"top_logprobs\[1\] is 0.5; log-probabilities are finite and <= 0"),
        (lambda: token_confidence([-math.inf]), r"top_logprobs\[0\] is -inf"),
        (lambda: token_confidence([math.nan]), r"top_logprobs\[0\] is nan"),
        (lambda: group_confidences([1.0], 0), r"window \(0\) must be a positive integer"),
        (lambda: group_confidences([1.0, math.nan], 2), r"token_confidences\[1\] is nan"),
        (lambda: lowest_group_confidence([]), "no group confidences"),
        (lambda: tail_confidence([1.0], 0), r"tail \(0\) must be a positive integer"),
        (lambda: tail_confidence([], 2), "no token confidences"),
        (lambda: mean_confidence([]), "no token confidences"),
        (lambda: deepconf_offline(["a"], [1.0, 2.0], 10, 0), "1 answers but 2 confidences"),
        (lambda: deepconf_offline(["a"], [1.0], 0, 0), r"eta \(0\) is the percentage of traces to keep"),
        (lambda: deepconf_offline(["a"], [1.0], 101, 0), r"eta \(101\)"),
        (lambda: deepconf_offline(["a"], [1.0], 0.1, 0), r"eta \(0.1\) .* \(10, not 0.1;"),
        (lambda: deepconf_offline(["a"], [math.nan], 10, 0), r"confidences\[0\] is nan"),
        (lambda: online_threshold([], 10), "no warm-up traces"),
        (lambda: online_threshold([1.0], math.nan), r"eta \(nan\)"),
        (lambda: online_stop([1.0], math.inf), r"threshold \(inf\) must be a finite"),
    ],
)
def test_deepconf_rejects(call, message):
    with pytest.raises(S1kitError, match=message):
        call()
