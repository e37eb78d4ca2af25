"""The stopping and voting rules of adaptive test-time scaling methods, as pure functions.

Early-stopping self-consistency (ESC) and Adaptive-Consistency stop drawing samples of a question
once its answers agree enough; DeepConf weighs, filters and stops traces by the model's own
token confidences. Samples of one question come in order; an answer is a string, None when the
sample gave none. The methods' runs (which samples to draw, what a row records) build on these.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from itertools import accumulate

from s1kit.errors import S1kitError
from s1kit.metrics import majority_vote, weighted_majority_vote


def _check_count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise S1kitError(f"{what} ({value!r}) must be a positive integer")
    return value


def _check_samples(answers: Sequence[str | None]) -> None:
    if not answers:
        raise S1kitError("no samples to stop in; pass the answers of at least one sample")
    for i, answer in enumerate(answers):
        if answer is not None and not isinstance(answer, str):
            raise S1kitError(f"answers[{i}] is {answer!r}; give answers as strings (None if unparsed)")


def _check_real(value, what: str, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise S1kitError(f"{what} is {value!r}; {hint}")
    return float(value)


def esc_samples_used(answers: Sequence[str | None], window: int) -> int:
    """How many samples early-stopping self-consistency draws (Li et al. 2024, "Escape Sky-high
    Cost", arXiv 2401.10480, Algorithm 1).

    Samples come in windows [0, W), [W, 2W), ...; sampling stops after the first window whose W
    answers are all the same answer (a window with a None, no answer, does not agree: zero
    entropy needs W votes). The result is then a multiple of W; with no agreeing window every
    sample is used, len(answers). A last window shorter than W cannot stop early. The method's
    answer is :func:`stopped_vote` of the samples used.
    """
    _check_count(window, "window")
    _check_samples(answers)
    for end in range(window, len(answers) + 1, window):
        first = answers[end - window]
        if first is not None and all(a == first for a in answers[end - window:end]):
            return end
    return len(answers)


def stopped_vote(answers: Sequence[str | None], samples_used: int, seed: int) -> str | None:
    """The answer of a self-consistency run stopped early: the majority vote (with its seeded tie
    rule, s1kit.metrics.majority_vote) of the first ``samples_used`` samples: the answer of ESC
    (arXiv 2401.10480, Algorithm 1) and of Adaptive-Consistency (arXiv 2305.11860, Section 3)."""
    if isinstance(samples_used, bool) or not isinstance(samples_used, int) or not 1 <= samples_used <= len(answers):
        raise S1kitError(f"samples used ({samples_used!r}) must be from 1 to the {len(answers)} samples drawn")
    return majority_vote(answers[:samples_used], seed)


def regularized_incomplete_beta(x: float, a: int, b: int) -> float:
    """I_x(a, b) for positive integers a and b, exactly: the binomial sum
    I_x(a, b) = sum_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^(a+b-1-j)
    (the chance of at least a successes in a + b - 1 trials of probability x). Summed in exact
    fractions, so no term overflows or cancels however many samples there are."""
    _check_count(a, "a")
    _check_count(b, "b")
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= x <= 1.0:
        raise S1kitError(f"x ({x!r}) must be in [0, 1]")
    p, n = Fraction(x), a + b - 1
    return float(sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(a, n + 1)))


def leader_probability(a: int, b: int) -> float:
    """The chance that the answer with ``a`` votes, not the runner-up with ``b``, is the majority:
    P(p > 0.5) under a Beta(a + 1, b + 1) posterior (a uniform prior), which is
    1 - I_0.5(a + 1, b + 1). Adaptive-Consistency's Beta stopping criterion (Aggarwal et al. 2023,
    arXiv 2305.11860, Section 3)."""
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise S1kitError(f"vote count {name} ({value!r}) must be a non-negative integer")
    return 1.0 - regularized_incomplete_beta(0.5, a + 1, b + 1)


def adaptive_consistency_samples_used(answers: Sequence[str | None], threshold: float = 0.95,
                                      min_samples: int = 2, every: int = 1) -> int:
    """How many samples Adaptive-Consistency draws (Aggarwal et al. 2023, arXiv 2305.11860,
    Section 3, the Beta stopping criterion).

    After each sample i >= ``min_samples``, with a and b the votes of the two most common answers
    so far (None is no vote; b = 0 with one answer), sampling stops once
    :func:`leader_probability` (a, b) >= ``threshold`` (0.95 in the paper). A single sample shows
    no agreement, hence two at least by default. Without such a sample every sample is used.
    ``every``: the rule is checked after every ``every``-th sample only (1: after each, the paper's).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0.5 < threshold < 1.0:
        raise S1kitError(f"threshold ({threshold!r}) must be in (0.5, 1): the chance that the leading answer "
                         "is the majority at which to stop, e.g. 0.95")
    _check_count(min_samples, "min_samples")
    _check_count(every, "every")
    _check_samples(answers)
    votes: Counter[str] = Counter()
    for i, answer in enumerate(answers, start=1):
        if answer is not None:
            votes[answer] += 1
        top = sorted(votes.values(), reverse=True)[:2] + [0, 0]
        if i >= min_samples and i % every == 0 and leader_probability(top[0], top[1]) >= threshold:
            return i
    return len(answers)


def token_confidence(top_logprobs: Sequence[float]) -> float:
    """DeepConf's token confidence (Fu et al. 2025, arXiv 2508.15260, Section 3):
    C_i = -(1/k) sum_{j=1}^{k} log P_i(j) over the token's top-k log-probabilities (k = 20 in the
    paper); higher is more confident."""
    if not top_logprobs:
        raise S1kitError("no log-probabilities for the token; ask the backend for its top-k logprobs")
    for i, value in enumerate(top_logprobs):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not -math.inf < value <= 0:
            raise S1kitError(f"top_logprobs[{i}] is {value!r}; log-probabilities are finite and <= 0")
    return -math.fsum(top_logprobs) / len(top_logprobs)


def _check_confidences(confidences: Sequence[float], what: str) -> list[float]:
    return [_check_real(c, f"{what}[{i}]", "give finite confidences") for i, c in enumerate(confidences)]


def group_confidences(token_confidences: Sequence[float], window: int) -> list[float]:
    """DeepConf's group confidence at every token (arXiv 2508.15260, Section 3): the mean
    token confidence over the ``window`` tokens ending at token i (2048 in the paper). For
    i < window the group is the i + 1 tokens so far, so there is one value per token.

    The reference code (facebookresearch/deepconf, helper.compute_least_grouped) keeps full windows
    only; pass ``groups[window - 1:]`` on where that reading is wanted.
    """
    _check_count(window, "window")
    values = _check_confidences(token_confidences, "token_confidences")
    sums = [0.0, *accumulate(values)]
    return [(sums[i + 1] - sums[max(0, i + 1 - window)]) / min(i + 1, window) for i in range(len(values))]


def lowest_group_confidence(groups: Sequence[float]) -> float:
    """DeepConf's lowest group confidence of a trace (arXiv 2508.15260, Section 3): the
    least of its group confidences, where a trace's reasoning is weakest."""
    if not groups:
        raise S1kitError("no group confidences; the trace has no tokens")
    return min(_check_confidences(groups, "groups"))


def tail_confidence(token_confidences: Sequence[float], tail: int) -> float:
    """DeepConf's tail confidence (arXiv 2508.15260, Section 3): the mean token confidence
    over the trace's last ``tail`` tokens (2048 in the paper), over all of them when it is
    shorter."""
    _check_count(tail, "tail")
    if not token_confidences:
        raise S1kitError("no token confidences; the trace has no tokens")
    return mean_confidence(token_confidences[-tail:])


def mean_confidence(token_confidences: Sequence[float]) -> float:
    """A trace's average token confidence (DeepConf, arXiv 2508.15260, Section 3: the average
    trace confidence, the global measure its local ones improve upon)."""
    if not token_confidences:
        raise S1kitError("no token confidences; the trace has no tokens")
    values = _check_confidences(token_confidences, "token_confidences")
    return math.fsum(values) / len(values)


def _check_eta(eta) -> Fraction:
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not 1 <= eta <= 100:  # NaN fails too
        raise S1kitError(f"eta ({eta!r}) is the percentage of traces to keep; give a number from 1 to 100 "
                         "(10, not 0.1; the paper uses 10 and 90)")
    return Fraction(eta)


def _kept(traces: int, eta: Fraction) -> int:
    """The top eta% of ``traces``, rounded up: at least one."""
    return max(1, math.ceil(eta * traces / 100))


def deepconf_offline(answers: Sequence[str | None], confidences: Sequence[float], eta: float, seed: int) -> str | None:
    """DeepConf's offline answer (arXiv 2508.15260, Section 3.2): confidence filtering, then
    confidence-weighted majority voting.

    Of the traces with an answer (a trace with None neither votes nor takes a place among the kept,
    as the reference analysis_offline.py drops it first), the ceil(eta% of them) most confident are
    kept (at least one; of equal confidences, the earlier trace); the answer with the largest sum of
    confidences among them wins, ties broken by s1kit.metrics.weighted_majority_vote's seeded rule.
    ``confidences``: one per trace, e.g. :func:`lowest_group_confidence` or :func:`tail_confidence`.
    None when no trace has an answer.
    """
    if len(answers) != len(confidences):
        raise S1kitError(f"{len(answers)} answers but {len(confidences)} confidences; pass one per trace")
    keep = _check_eta(eta)
    values = _check_confidences(confidences, "confidences")
    answered = [i for i, answer in enumerate(answers) if answer is not None]
    kept = sorted(answered, key=lambda i: (-values[i], i))[:_kept(len(answered), keep)]
    return weighted_majority_vote([answers[i] for i in kept], [values[i] for i in kept], seed)


def online_threshold(warmup_confidences: Sequence[float], eta: float) -> float:
    """DeepConf's online stopping threshold s (arXiv 2508.15260, Section 3.3): the
    (100 - eta)-th percentile of the warm-up traces' lowest group confidences, by nearest rank
    counted from the top: the confidence of the k-th most confident warm-up trace, k = ceil(eta% of
    them) (at least 1), so that eta% of them, rounded up, would pass (as :func:`deepconf_offline`
    keeps), more where traces tie at s. The reference deepconf-online.py takes numpy's linearly
    interpolated percentile instead, a value between two traces'.
    """
    if not warmup_confidences:
        raise S1kitError("no warm-up traces; draw warm-up traces before the threshold (16 in the paper)")
    keep = _check_eta(eta)
    values = sorted(_check_confidences(warmup_confidences, "warmup_confidences"), reverse=True)
    return values[_kept(len(values), keep) - 1]


def online_stop(groups: Sequence[float], threshold: float) -> int | None:
    """Where DeepConf online stops a trace (arXiv 2508.15260, Section 3.3): the index of its first
    token whose group confidence is below ``threshold`` (:func:`online_threshold`); the trace's
    tokens up to and including that one were generated. None when no group is below: the trace
    runs to its end."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise S1kitError(f"threshold ({threshold!r}) must be a finite confidence (online_threshold's)")
    values = _check_confidences(groups, "groups")
    return next((i for i, value in enumerate(values) if value < threshold), None)
