"""Self-consistency that stops sampling once the answers agree enough: early-stopping
self-consistency (ESC, Li et al. 2024, arXiv 2401.10480) and Adaptive-Consistency (Aggarwal et al.
2023, arXiv 2305.11860). The rules are methods.adaptive's.

Samples are generated as majority's are; the stop is computed over them afterwards, and is exact:
each sample's seed depends only on its index, so the samples a stopped run would have drawn are
the first samples of the run, whatever came after them. The curve is over k = 1, 2, 4, ... K, the
most samples a question may draw, and its x axis the thinking tokens of the samples actually drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from s1kit import metrics
from s1kit.errors import SettingError, check_positive_int, shown
from s1kit.methods.adaptive import adaptive_consistency_samples_used, esc_samples_used, stopped_vote

ESC_WINDOW = 4
"""ESC's default window: a power of two, so windows end at the curve's k = 4, 8, 16, ..."""


@dataclass
class EarlyStopConfig:
    """When esc and adaptive-consistency stop drawing samples."""

    window: int | None = None
    """esc: samples per window, stopping after the first whose answers all agree (default 4);
    adaptive-consistency: samples between two checks of its rule (default 1: after each, the paper's)."""
    consistency_threshold: float = 0.95
    """adaptive-consistency: stop once the leading answer is the majority with this chance (Beta rule; 0.95 in the paper)."""

    def __post_init__(self) -> None:
        if self.window is not None:
            check_positive_int("window", self.window)
        t = self.consistency_threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.5 < t < 1:
            raise SettingError("consistency_threshold", "consistency_threshold is the chance that the leading answer is "
                                                        f"the majority at which to stop, in (0.5, 1), got {shown(t)}")


def samples_used(method: str, answers: list[str | None], config: EarlyStopConfig) -> int:
    if method == "esc":
        return esc_samples_used(answers, config.window or ESC_WINDOW)
    return adaptive_consistency_samples_used(answers, config.consistency_threshold, every=config.window or 1)


def early_stop_points(method: str, rows: list[dict], samples: int, config: EarlyStopConfig, seed: int) -> list[dict]:
    """The curve over the most samples k: accuracy of the stopped vote, and the thinking tokens of
    the samples drawn, per question."""
    from s1kit.methods.parallel import sample_counts, samples_by_question

    questions = samples_by_question(method, rows, samples)
    seeds = metrics.tie_seeds(seed, len(questions))
    entries = []
    for k in sample_counts(samples):
        hits, spent, used_total = [], [], 0
        for q, tie_seed in zip(questions, seeds):
            answers = [r["extracted_answer"] for r in q[:k]]
            used = samples_used(method, answers, config)
            answer = stopped_vote(answers, used, tie_seed)
            hits.append(metrics.voted_right(answer, q[:used]))
            spent.append(sum(r["thinking_tokens"] for r in q[:used]))
            used_total += used
        estimate = metrics.accuracy(hits)
        entries.append({"k": k, "accuracy": estimate.value, "stderr": estimate.stderr,
                        "avg_thinking_tokens": sum(spent) / len(spent), "avg_samples": used_total / len(questions),
                        "label": f"k={k}"})
    return entries
