"""Evaluation metrics: accuracy, pass@k, maj@k, cov@k, (weighted) majority votes, the s1 paper's
Control, Scaling and Performance (Muennighoff et al. 2025, arXiv 2501.19393, Section 3.2), and two
readings of a curve that compare methods: tokens to match an accuracy, accuracy at a length.

Pure functions over plain Python values. Accuracies are fractions in [0, 1] everywhere;
Scaling alone reports percentage points, the unit of the paper's Table 3.
"""

import math
import numbers
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from s1kit.errors import S1kitError


@dataclass(frozen=True)
class Estimate:
    value: float
    """The mean."""
    stderr: float
    """Standard error of the mean: sample standard deviation (n - 1) over sqrt(n); 0 for n = 1."""
    n: int
    """How many values the mean is over."""


def _check_flag(value, what: str) -> bool:
    # Not isinstance(value, bool): numpy's bool_ is no bool subclass but is a fine flag.
    if not isinstance(value, (float, str)) and value in (0, 1):
        return bool(value)
    raise S1kitError(f"{what} is {value!r}; give True or False (1 or 0)")


def _check_fraction(value, what: str) -> float:
    if not isinstance(value, (float, str)) and value in (0, 1):
        return float(value)
    if not isinstance(value, float) or not 0.0 <= value <= 1.0:  # NaN fails too
        raise S1kitError(f"{what} is {value!r}; give a bool or a fraction in [0, 1] (0.567, not 56.7)")
    return float(value)


def _check_k(k, n: int, what: str) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise S1kitError(f"k ({k!r}) must be an integer from 1 to the {n} samples of {what}; lower k")


def _per_question(index: int, metric, *args):
    try:
        return metric(*args)
    except S1kitError as exc:
        raise S1kitError(f"question {index}: {exc}") from exc


def accuracy(correct: Sequence[bool | float]) -> Estimate:
    """Mean correctness with its standard error.

    The stderr uses the sample standard deviation (n - 1 denominator), as lm-evaluation-harness
    does (`mean_stderr` in lm_eval/api/metrics.py), the harness s1 evaluates with (Section 4.1).
    It also fits partial credit; for 0/1 values it equals sqrt(p(1 - p) / (n - 1)).
    """
    values = [_check_fraction(v, f"correct[{i}]") for i, v in enumerate(correct)]
    if not values:
        raise S1kitError("accuracy of no results; pass at least one correctness value")
    n, mean = len(values), sum(values) / len(values)
    if n == 1:
        return Estimate(mean, 0.0, 1)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return Estimate(mean, math.sqrt(variance / n), n)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 - C(n - c, k) / C(n, k).

    Chen et al. 2021 (arXiv 2107.03374), Eq. 1, in their numerically stable product form
    1 - prod_{i = n-c+1}^{n} (1 - k / i), which avoids huge binomial coefficients.
    """
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise S1kitError(f"{name} ({value!r}) must be a non-negative integer")
    if c > n:
        raise S1kitError(f"c ({c}) exceeds n ({n}): more correct samples than samples; check the counts")
    if not 1 <= k <= n:
        raise S1kitError(f"k ({k}) must be from 1 to n ({n}); draw more samples or lower k")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def mean_pass_at_k(correct_per_question: Sequence[Sequence[bool]], k: int) -> float:
    """pass@k (Chen et al. 2021, arXiv 2107.03374) averaged over questions; each question
    uses all of its samples."""
    if not correct_per_question:
        raise S1kitError("mean_pass_at_k of no questions; pass at least one question")
    scores = []
    for i, correct in enumerate(correct_per_question):
        _check_k(k, len(correct), f"question {i}")
        flags = [_check_flag(v, f"question {i} sample {j}") for j, v in enumerate(correct)]
        scores.append(pass_at_k(len(flags), sum(flags), k))
    return sum(scores) / len(scores)


def majority_vote(answers: Sequence[str | None], seed: int) -> str | None:
    """The most common non-None answer (majority voting / self-consistency, Wang et al. 2022,
    arXiv 2203.11171; the parallel baseline of s1, Figure 4b); None if every answer is None.

    Ties: the tied answers are sorted first, so neither input order nor set iteration order can
    change the result, then one is picked with random.Random(seed): same seed, same pick.
    """
    _check_answers(answers, seed)
    counts = Counter(a for a in answers if a is not None)
    return _leader(counts, seed)


def voted_right(answer: str | None, rows) -> bool:
    """Whether a vote's answer is right: the grade of a sample (a row) that gave it."""
    return answer is not None and any(r["correct"] for r in rows if r["extracted_answer"] == answer)


def weighted_majority_vote(answers: Sequence[str | None], weights: Sequence[float], seed: int) -> str | None:
    """The non-None answer with the largest sum of weights; None if every answer is None.

    Confidence-weighted majority voting (DeepConf, Fu et al. 2025, arXiv 2508.15260, Section 3.2:
    V(a) = sum_t C_t 1(answer(t) = a)); with equal weights it is :func:`majority_vote`. Sums are
    math.fsum, so the order of the samples cannot change a sum, nor which answers tie; ties are
    broken as majority_vote breaks them (sorted, then random.Random(seed)).
    """
    _check_answers(answers, seed)
    if len(answers) != len(weights):
        raise S1kitError(f"{len(answers)} answers but {len(weights)} weights; pass one weight per answer")
    for i, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight):
            raise S1kitError(f"weights[{i}] is {weight!r}; give finite numbers (a trace's confidence)")
    voted: dict[str, list[float]] = {}
    for answer, weight in zip(answers, weights):
        if answer is not None:
            voted.setdefault(answer, []).append(float(weight))
    return _leader({answer: math.fsum(w) for answer, w in voted.items()}, seed)


def _check_answers(answers: Sequence[str | None], seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise S1kitError(f"seed ({seed!r}) must be an integer")
    for i, answer in enumerate(answers):
        if answer is not None and not isinstance(answer, str):
            raise S1kitError(f"answers[{i}] is {answer!r}; give answers as strings (None if unparsed)")


def _leader(totals: dict[str, float], seed: int) -> str | None:
    """The answer of the largest total; tied answers sorted, then one picked by random.Random(seed)."""
    if not totals:
        return None
    top = max(totals.values())
    tied = sorted(a for a, total in totals.items() if total == top)
    return tied[0] if len(tied) == 1 else random.Random(seed).choice(tied)


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool], k: int, seed: int) -> bool:
    """maj@k of one question: is the majority vote over the FIRST k samples correct?

    Samples are drawn i.i.d., so the first k are an unbiased draw of k of them; taking a prefix
    (not a random subset) keeps maj@k nested in k and reproducible. Answers equal as strings share
    correctness; a string marked both correct and incorrect is an error. All-None votes are wrong.
    """
    if len(answers) != len(correct):
        raise S1kitError(f"{len(answers)} answers but {len(correct)} correctness flags; pass one per sample")
    _check_k(k, len(answers), "this question")
    verdict: dict[str, bool] = {}
    for i, (answer, value) in enumerate(zip(answers, correct)):
        flag = _check_flag(value, f"correct[{i}]")
        if answer is not None and verdict.setdefault(answer, flag) != flag:
            raise S1kitError(f"answer {answer!r} is marked both correct and incorrect; grade it consistently")
    voted = majority_vote(answers[:k], seed)
    return voted is not None and verdict[voted]


def mean_maj_at_k(
    answers_per_question: Sequence[Sequence[str | None]],
    correct_per_question: Sequence[Sequence[bool]],
    k: int,
    seed: int,
) -> float:
    """maj@k averaged over questions. Question i breaks ties with the i-th seed drawn from
    random.Random(seed), so ties are not resolved the same way on every question."""
    if len(answers_per_question) != len(correct_per_question) or not answers_per_question:
        raise S1kitError(
            f"{len(answers_per_question)} questions of answers but {len(correct_per_question)} of "
            "correctness flags; pass the same, non-zero number of questions"
        )
    hits = [
        _per_question(i, maj_at_k, answers, correct, k, tie_seed)
        for i, (answers, correct, tie_seed) in enumerate(zip(answers_per_question, correct_per_question,
                                                             tie_seeds(seed, len(answers_per_question))))
    ]
    return sum(hits) / len(hits)


def tie_seeds(seed: int, questions: int) -> list[int]:
    """The tie-breaking seed of each of ``questions`` questions, in order: question i breaks its
    ties with the i-th draw from random.Random(seed), so ties are not resolved alike everywhere."""
    rng = random.Random(seed)
    return [rng.randrange(2**63) for _ in range(questions)]


def best_of_k(scores: Sequence[float], correct: Sequence[bool], k: int, seed: int) -> bool:
    """best-of-n of one question: is the highest-scoring of the FIRST k samples correct?

    A scorer (a reward model, a length rule ...) ranks samples without seeing the answer; best-of-n
    keeps the top one (Cobbe et al. 2021, arXiv 2110.14168, verifier reranking). Ties among the top
    scores are broken by random.Random(seed) over their sample indices: same seed, same pick.
    """
    if len(scores) != len(correct):
        raise S1kitError(f"{len(scores)} scores but {len(correct)} correctness flags; pass one per sample")
    _check_k(k, len(scores), "this question")
    for i, score in enumerate(scores[:k]):
        if isinstance(score, bool) or not isinstance(score, numbers.Real) or not math.isfinite(score):
            raise S1kitError(f"scores[{i}] is {score!r}; a scorer must return a finite number")
    pick = best_pick(scores[:k], seed)
    return _check_flag(correct[pick], f"correct[{pick}]")


def best_pick(scores: Sequence[float], seed: int) -> int:
    """The index of the highest score; ties broken by random.Random(seed) over the tied indices."""
    top = max(scores)
    tied = [i for i, score in enumerate(scores) if score == top]
    return tied[0] if len(tied) == 1 else random.Random(seed).choice(tied)


TRACE_AGGREGATES = ("min", "last", "mean", "prod")
"""How a trace's step scores make its score: the lowest (Math-Shepherd's, arXiv 2312.08935), the
last, the mean, the product."""


def trace_score(scores: Sequence[float], aggregate: str = "min") -> float:
    """A whole trace's score from a process reward model's step scores (no steps: 0)."""
    if aggregate not in TRACE_AGGREGATES:
        raise S1kitError(f"unknown prm_aggregate {aggregate!r}; choose from {', '.join(TRACE_AGGREGATES)}")
    if not scores:
        return 0.0
    if aggregate == "min":
        return min(scores)
    if aggregate == "last":
        return scores[-1]
    if aggregate == "mean":
        return math.fsum(scores) / len(scores)
    return math.prod(scores)


def cov_at_k(correct: Sequence[bool], k: int) -> bool:
    """Coverage of one question: is any of the first k samples correct? (Brown et al. 2024,
    "Large Language Monkeys", arXiv 2407.21787). Over many samples, mean_pass_at_k is the
    lower-variance estimate of the same quantity, as Brown et al. use."""
    _check_k(k, len(correct), "this question")
    return any([_check_flag(v, f"correct[{i}]") for i, v in enumerate(correct)][:k])


def mean_cov_at_k(correct_per_question: Sequence[Sequence[bool]], k: int) -> float:
    """cov@k (Brown et al. 2024, arXiv 2407.21787) averaged over questions."""
    if not correct_per_question:
        raise S1kitError("mean_cov_at_k of no questions; pass at least one question")
    hits = [_per_question(i, cov_at_k, correct, k) for i, correct in enumerate(correct_per_question)]
    return sum(hits) / len(hits)


def control(thinking_tokens: Sequence[float], max_tokens: int | None, min_tokens: int = 0) -> float:
    """Share of thinking-token counts within [min_tokens, max_tokens], both ends included.

    s1 Eq. 1 (arXiv 2501.19393, Section 3.2): Control = (1/|A|) sum_a 1(a_min <= a <= a_max);
    the paper "usually only constrain[s] a_max", hence min_tokens = 0 and max_tokens = None for
    no upper bound. Returns a fraction; Table 3 prints it as a percentage.
    """
    if min_tokens < 0 or (max_tokens is not None and max_tokens < min_tokens):
        raise S1kitError(f"bounds [{min_tokens}, {max_tokens}] are empty or negative; need 0 <= min <= max")
    if not thinking_tokens:
        raise S1kitError("control of no runs; pass at least one thinking-token count")
    upper = math.inf if max_tokens is None else max_tokens
    return sum(min_tokens <= t <= upper for t in thinking_tokens) / len(thinking_tokens)


def control_over_runs(
    runs: Sequence[tuple[int | None, Sequence[float]]],
    min_tokens: int = 0,
    granularity: Literal["run", "sample"] = "run",
) -> float:
    """Control over evaluation runs with their own budgets: runs = [(max_tokens, thinking tokens
    of each sample), ...].

    granularity="run" checks each run's mean thinking tokens against its budget, as s1 computes
    Table 3 (Appendix D.1: token-conditional control is 2/5 from Table 11's per-run averages);
    "sample" pools every sample, a stricter per-generation reading.
    """
    if granularity not in ("run", "sample"):
        raise S1kitError(f"unknown granularity {granularity!r}; choose from run, sample")
    if not runs or any(not tokens for _, tokens in runs):
        raise S1kitError("control_over_runs needs at least one run, each with thinking-token counts")
    if granularity == "run":
        return sum(control([sum(t) / len(t)], budget, min_tokens) for budget, t in runs) / len(runs)
    within = sum(control(t, budget, min_tokens) * len(t) for budget, t in runs)
    return within / sum(len(t) for _, t in runs)


def _check_points(points: Sequence[tuple[float, float]]) -> None:
    for i, point in enumerate(points):
        if len(point) != 2 or not (isinstance(point[0], numbers.Real) and math.isfinite(point[0])):
            raise S1kitError(f"points[{i}] is {point!r}; give (average thinking tokens, accuracy)")
        _check_fraction(point[1], f"accuracy of points[{i}]")


def scaling(points: Sequence[tuple[float, float]], x_unit: Literal["log2", "tokens"] = "log2") -> float:
    """Average slope over ALL pairs of (average thinking tokens, accuracy) points, in percentage
    points of accuracy per unit of x; s1 Eq. 2: (1 / C(|A|, 2)) sum_{b > a} (f(b) - f(a)) / (b - a).

    Units: Section 3.2 says x is "measured in thinking tokens" and Eq. 2 writes b - a, yet
    Table 3 only comes out with x = log2(thinking tokens), the axis of Figures 1 and 4, and
    accuracy in percent. From Tables 11-13 (Appendix D.1, accuracies as k/30), log2 gives TCC
    -23.8, TCC+BF 13.2, SCC 2.9, SCC+BF 6.4, CCC 25.2 against the printed -24, 13, 3, 6, 25;
    raw tokens gives at most 0.01 and thousands of tokens -4.8, 6.7, 0.6, 2.5, 4.1. (BF 15 and
    RS -35 cannot be checked: their per-budget numbers are only plotted.) So the default is
    "log2", percentage points per doubling; "tokens" is Eq. 2 taken literally.

    A point that repeats another exactly counts once: caps past the model's natural length all give
    the same run, and the slope between two copies of one point is 0/0. Two points with the same
    thinking tokens and different accuracies have no slope: an error.
    """
    if x_unit not in ("log2", "tokens"):
        raise S1kitError(f"unknown x_unit {x_unit!r}; choose from log2, tokens")
    if len(points) < 2:
        raise S1kitError(f"scaling needs at least 2 points, got {len(points)}; evaluate more budgets")
    _check_points(points)
    why = scaling_undefined(points, x_unit)
    if why is not None:
        raise S1kitError(why)
    xy = [(math.log2(x) if x_unit == "log2" else float(x), 100.0 * y) for x, y in sorted(set(points))]
    slopes = [(fb - fa) / (xb - xa) for (xa, fa), (xb, fb) in combinations(sorted(xy), 2)]
    return sum(slopes) / len(slopes)


def scaling_undefined(points: Sequence[tuple[float, float]], x_unit: str = "log2") -> str | None:
    """Why :func:`scaling` has no value for these (well-formed) points, or None when it has one."""
    if len(points) < 2:
        return f"scaling needs at least 2 points, got {len(points)}; evaluate more budgets"
    if x_unit == "log2" and any(x <= 0 for x, _ in points):
        bad = next(x for x, _ in points if x <= 0)
        return f"thinking tokens {bad!r} has no log2; use positive counts or x_unit='tokens'"
    xs = [x for x, _ in sorted(set(points))]
    if len(set(xs)) < len(xs):
        twice = next(x for x in xs if xs.count(x) > 1)
        return f"two points share {twice!r} thinking tokens with different accuracies; the slope between them is undefined"
    if len(xs) < 2:
        return "scaling needs 2 points with different thinking tokens; every point here is the same run"
    return None


def performance(points: Sequence[tuple[float, float]]) -> float:
    """The best accuracy over the evaluations (s1 Eq. 3: max_a f(a)), as a fraction."""
    if not points:
        raise S1kitError("performance of no points; pass at least one (thinking tokens, accuracy)")
    _check_points(points)
    return max(float(y) for _, y in points)


def _curve(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points as a function of x: sorted by x, points sharing an x merged into one at the mean
    of their accuracies (two evaluations with the same average thinking tokens)."""
    if not points:
        raise S1kitError("a curve of no points; pass at least one (average thinking tokens, accuracy)")
    _check_points(points)
    by_x: dict[float, list[float]] = {}
    for x, y in points:
        by_x.setdefault(float(x), []).append(float(y))
    return [(x, math.fsum(ys) / len(ys)) for x, ys in sorted(by_x.items())]


def tokens_to_match(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """The fewest average thinking tokens at which a curve reaches accuracy ``target``; None if it
    never does.

    The curve's (x, accuracy) points are walked in increasing x (points sharing an x count as one,
    at their mean accuracy). At the first point at or above the target, the crossing is placed by
    linear interpolation from the point before it (x0, a0), below the target, to it (x1, a1):
    x0 + (target - a0) * (x1 - x0) / (a1 - a0). When the first point is already at or above the
    target, its x is returned: nothing is extrapolated below the curve's least x. A curve that
    dips after crossing still counts its first crossing. With :func:`accuracy_at`, it turns s1's
    Figure 4 (Muennighoff et al. 2025, arXiv 2501.19393: budget forcing and majority voting on one
    thinking-token axis) into numbers: the tokens a method needs for budget forcing's accuracy.
    """
    curve = _curve(points)
    _check_accuracy(target, "target")
    before = None
    for x, y in curve:
        if y >= target:
            if before is None:
                return x
            x0, y0 = before
            return x0 + (target - y0) * (x - x0) / (y - y0)
        before = (x, y)
    return None


def accuracy_at(points: Sequence[tuple[float, float]], x: float) -> float | None:
    """A curve's accuracy at ``x`` average thinking tokens; None outside [least x, largest x].

    Linear interpolation between the two points around x (a point at exactly x gives its own
    accuracy); nothing is extrapolated past the curve's ends. Points sharing an x count as one,
    at the mean of their accuracies. The other reading of s1's Figure 4 (arXiv 2501.19393) as a
    number, with :func:`tokens_to_match`: a method's accuracy at budget forcing's length.
    """
    curve = _curve(points)
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        raise S1kitError(f"x ({x!r}) must be a finite number of thinking tokens")
    if not curve[0][0] <= x <= curve[-1][0]:
        return None
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x == x0:
            return y0
        if x < x1:
            return y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    return curve[-1][1]  # x is the largest x


def _check_accuracy(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:  # NaN fails too
        raise S1kitError(f"{what} ({value!r}) must be an accuracy in [0, 1] (0.567, not 56.7)")
    return float(value)
