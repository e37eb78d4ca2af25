"""DeepConf (Fu et al. 2025, arXiv 2508.15260): votes over K samples weighed and filtered by the
model's own confidence in them.

Each sample is generated as majority's are, and the backend records DeepConf's token confidence at
every position the model chose (the negative mean log-probability of its top-k candidates,
``--deepconf-top-k``, 20 in the paper). A row keeps the trace's summary (:func:`trace_summary`): its
mean, tail and lowest group confidence over windows of ``--deepconf-window`` tokens, and the record
lows of its group confidence, which are all that online stopping needs to know where it would stop.

- offline (Section 3.2): of the first k samples, keep the top eta% by a trace confidence
  (``--deepconf-measure``) and vote weighted by it;
- online (Section 3.3): the first ``--deepconf-warmup`` samples set a threshold (the confidence of
  the top eta% of them); each later sample stops at its first group below it, and only the samples
  above it vote, weighted by their lowest group confidence.

Online stopping is computed from samples generated in full, and is exact: a group's confidence
reads only the tokens before it, and a sample's tokens up to a position never depend on what comes
after, so a sample stopped in the engine would have had the same tokens up to its stop. A stopped
sample counts the thinking tokens it generated up to its stop; the wall-clock saving itself is not
realised here. Both modes, every eta and every k come from the same K samples.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from s1kit import metrics
from s1kit.budget.config import SamplingConfig
from s1kit.budget.state import TokenScores
from s1kit.errors import S1kitError, SettingError, check_positive_int, shown
from s1kit.methods.adaptive import deepconf_offline, group_confidences, online_threshold
from s1kit.methods.point_run import PointRun, run_prepared
from s1kit.methods.points import MethodPoint

MODES = ("offline", "online")
MEASURES = ("lowest_group", "tail", "mean")


@dataclass
class DeepConfConfig:
    """deepconf's filter, windows and modes."""

    deepconf_eta: list[float] = field(default_factory=lambda: [10.0, 90.0])
    """deepconf: the percentage of traces kept (offline) or passing the threshold (online), to sweep, e.g. 10,90 (the paper's)."""
    deepconf_warmup: int = 16
    """deepconf: online's warm-up samples, which set the threshold (16 in the paper); fewer than --samples."""
    deepconf_window: int = 2048
    """deepconf: tokens per group confidence and in the tail (2048 in the paper; shorter for short traces)."""
    deepconf_mode: list[str] = field(default_factory=lambda: list(MODES))
    """deepconf: offline (filter and weigh finished samples), online (stop samples under the warm-up's threshold), or both."""
    deepconf_measure: str = "lowest_group"
    """deepconf: the trace confidence offline keeps and weighs by: lowest_group, tail or mean."""
    deepconf_top_k: int = 20
    """deepconf: candidates in a token's confidence (20 in the paper)."""

    def __post_init__(self) -> None:
        if not isinstance(self.deepconf_eta, list) or not self.deepconf_eta:
            raise SettingError("deepconf_eta", f"deepconf_eta needs a list of percentages, e.g. 10,90, got "
                                               f"{shown(self.deepconf_eta)}")
        for eta in self.deepconf_eta:
            if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 1 <= eta <= 100:
                raise SettingError("deepconf_eta", f"deepconf_eta is the percentage of traces to keep, from 1 to 100 "
                                                   f"(10, not 0.1), got {shown(eta)}")
        check_positive_int("deepconf_warmup", self.deepconf_warmup)
        check_positive_int("deepconf_window", self.deepconf_window)
        if not isinstance(self.deepconf_mode, list) or not self.deepconf_mode:
            raise SettingError("deepconf_mode", "deepconf_mode needs a mode: offline, online or offline,online")
        for mode in self.deepconf_mode:
            if mode not in MODES:
                raise SettingError("deepconf_mode", f"unknown deepconf_mode {shown(mode)}; choose from {', '.join(MODES)}")
        if self.deepconf_measure not in MEASURES:
            raise SettingError("deepconf_measure", f"unknown deepconf_measure {shown(self.deepconf_measure)}; "
                                                   f"choose from {', '.join(MEASURES)}")
        check_positive_int("deepconf_top_k", self.deepconf_top_k)
        if self.deepconf_top_k < 2:
            raise SettingError("deepconf_top_k", "deepconf_top_k must be at least 2: a token's confidence is the mean "
                                                 "over its top-k candidates (20 in the paper)")
        for name in ("deepconf_eta", "deepconf_mode"):
            values = getattr(self, name)
            twice = sorted({str(v) for v in values if values.count(v) > 1})
            if twice:
                raise SettingError(name, f"{name} lists {', '.join(twice)} more than once; list each value once")


def run_deepconf(backend, questions: Sequence[str], points: Sequence[MethodPoint], base, sampling: SamplingConfig,
                 seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int,
                 config: DeepConfConfig) -> list[PointRun]:
    """Each unit's sample at the run's one point, with its trace's confidence summary."""
    from s1kit.methods.probe_exit import require_scores

    require_scores(backend, "deepconf")
    [point] = points
    budget = dataclasses.replace(base, max_thinking_tokens=point.cap, num_ignore=point.num_ignore)

    def ask_for_scores(state) -> None:
        state.scores = TokenScores(top_k=config.deepconf_top_k)

    states, generations = run_prepared(backend, questions, budget, sampling, seeds, fmt, system_prompt, batch_size,
                                       prepare=ask_for_scores)
    extras = [{"confidence": trace_summary(st.scores.confidences, st.thinking_tokens, config.deepconf_window)}
              for st in states]
    return [PointRun(point, generations, [len(st.output) for st in states], extras)]


def trace_summary(confidences: Sequence[float | None], thinking_tokens: int, window: int) -> dict | None:
    """A trace's confidences as a row keeps them: ``mean`` (over every token the model chose),
    ``tail`` (the last ``window`` of them), ``lowest_group`` (the least mean over ``window``
    consecutive chosen tokens; one group of all of them when fewer), ``window``, and ``lows``: the
    record lows of the group confidence in order, each ``[thinking tokens generated up to it, value]``.
    The first group under a threshold is the first of the lows under it, so the lows tell where
    online DeepConf stops the trace at any threshold. None for a trace of forced tokens only.

    Groups are full windows, as the reference code takes them (a stop needs a window's evidence).
    Values are rounded to 6 digits, as stored; every decision reads the stored values."""
    chosen = [(i, c) for i, c in enumerate(confidences) if c is not None]
    if not chosen:
        return None
    values = [c for _, c in chosen]
    if len(values) < window:
        groups = [(chosen[-1][0], math.fsum(values) / len(values))]
    else:
        full = group_confidences(values, window)[window - 1:]
        groups = [(chosen[j + window - 1][0], g) for j, g in enumerate(full)]
    lows: list[list] = []
    for position, value in groups:
        value = round(value, 6)
        if not lows or value < lows[-1][1]:
            lows.append([min(position + 1, thinking_tokens), value])
    tail = values[-window:]
    return {"mean": round(math.fsum(values) / len(values), 6), "tail": round(math.fsum(tail) / len(tail), 6),
            "lowest_group": lows[-1][1], "window": window, "lows": lows}


def stop_at(summary: dict, threshold: float) -> int | None:
    """Thinking tokens an online DeepConf trace generated before it stopped at ``threshold`` (its
    first group under it), or None when no group is under it: the trace runs to its end."""
    return next((tokens for tokens, value in summary["lows"] if value < threshold), None)


def _questions(rows: list[dict], samples: int) -> list[list[dict]]:
    from s1kit.methods.parallel import samples_by_question

    questions = samples_by_question("deepconf", rows, samples)
    for q in questions:
        for row in q:
            if not isinstance(row.get("confidence"), dict):
                raise S1kitError(f"question {row['question_index']} sample {row['sample']} has no confidence (a trace "
                                 "of forced tokens only, or a row made by another method); rerun it with --method deepconf")
    return questions


def offline_vote(sample_rows: list[dict], eta: float, measure: str, seed: int) -> str | None:
    return deepconf_offline([r["extracted_answer"] for r in sample_rows],
                            [r["confidence"][measure] for r in sample_rows], eta, seed)


def online_vote(sample_rows: list[dict], warmup: int, eta: float, seed: int) -> tuple[str | None, float, int]:
    """Online DeepConf over the samples in order: its answer, the thinking tokens it spent (a
    stopped sample's up to its stop) and how many samples it stopped. With no more samples than
    the warm-up, none stops: the warm-up's own traces above the threshold vote."""
    warm = sample_rows[:warmup]
    threshold = online_threshold([r["confidence"]["lowest_group"] for r in warm], eta)
    voters = [r for r in warm if r["confidence"]["lowest_group"] >= threshold]
    spent, stopped = float(sum(r["thinking_tokens"] for r in warm)), 0
    for row in sample_rows[warmup:]:
        at = stop_at(row["confidence"], threshold)
        if at is None:
            voters.append(row)
            spent += row["thinking_tokens"]
        else:
            stopped += 1
            spent += at
    answer = metrics.weighted_majority_vote([r["extracted_answer"] for r in voters],
                                            [r["confidence"]["lowest_group"] for r in voters], seed)
    return answer, spent, stopped


def deepconf_points(rows: list[dict], samples: int, config: DeepConfConfig, mode: str, eta: float,
                    seed: int) -> list[dict]:
    """One curve of DeepConf over k = 1, 2, 4, ... K samples: accuracy and the thinking tokens
    spent per question (online: stopped samples count what they generated)."""
    from s1kit.methods.parallel import sample_counts

    questions = _questions(rows, samples)
    seeds = metrics.tie_seeds(seed, len(questions))
    entries = []
    for k in sample_counts(samples):
        hits, spent, stopped = [], [], 0
        for q, tie_seed in zip(questions, seeds):
            first = q[:k]
            if mode == "offline":
                answer = offline_vote(first, eta, config.deepconf_measure, tie_seed)
                spent.append(sum(r["thinking_tokens"] for r in first))
            else:
                answer, tokens, halted = online_vote(first, config.deepconf_warmup, eta, tie_seed)
                spent.append(tokens)
                stopped += halted
            hits.append(metrics.voted_right(answer, first))
        estimate = metrics.accuracy(hits)
        entry = {"k": k, "accuracy": estimate.value, "stderr": estimate.stderr,
                 "avg_thinking_tokens": sum(spent) / len(spent), "label": f"k={k}"}
        if mode == "online":
            entry["stopped_share"] = stopped / (k * len(questions))
        entries.append(entry)
    return entries
