"""Parallel scaling (s1, Section 3.1 and Figure 4b): K independent samples per question, combined.

- majority: the most common extracted answer of the first k samples (metrics.maj_at_k);
- best-of-n: the first k samples' best by a scorer (metrics.best_of_k), e.g. ``shortest`` (s1's
  rejection-sampling finding: shorter thoughts are more often right), ``longest``, or your own
  ``module:function`` taking a row (without its gold answer and grade) and returning a number;
  with ``--prm``, the best by the process reward model's score of the trace.
- with ``--prm``, majority also votes weighted by that score (PRM-weighted majority).

The curve has one point per k in 1, 2, 4, ... up to K (and K). Its x axis is the thinking compute
per question: the mean over questions of the total thinking tokens of the k samples, so that a
parallel curve and a sequential one (one sample of that many tokens) compare per token spent.
(s1's Figure 4b does not say which it plotted; total compute is the comparison its text draws.)
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable

from s1kit import metrics
from s1kit.errors import S1kitError

HIDDEN_FROM_SCORERS = ("gold", "correct", "rule_correct", "judge_verdict", "judge_reply", "judged")
"""A scorer picks without knowing the answer: these row fields are removed before it sees a row."""


def builtin_scorers() -> dict[str, Callable[[dict], float]]:
    return {"shortest": lambda row: -row["thinking_tokens"], "longest": lambda row: row["thinking_tokens"]}


def get_scorer(spec: str) -> Callable[[dict], float]:
    """A builtin scorer by name, or ``module:function``."""
    scorers = builtin_scorers()
    if spec in scorers:
        return scorers[spec]
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise S1kitError(f"unknown scorer '{spec}'; choose from {', '.join(scorers)}, or pass module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise S1kitError(f"scorer '{spec}': cannot import {module_name} ({exc}); check the module is on PYTHONPATH") from None
    scorer = getattr(module, function, None)
    if not callable(scorer):
        raise S1kitError(f"scorer '{spec}': {module_name} has no function {function}")
    return scorer


def scored(score: Callable[[dict], float], spec: str, row: dict) -> float:
    """The scorer's number for one row (hidden fields removed); one line naming the scorer when it
    fails or gives something that is not a finite number."""
    try:
        value = score({k: v for k, v in row.items() if k not in HIDDEN_FROM_SCORERS})
    except Exception as exc:  # the user's code: any failure is reported, naming it
        raise S1kitError(f"scorer '{spec}' failed on question {row.get('question_index')}: {type(exc).__name__}: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise S1kitError(f"scorer '{spec}' returned {value!r} for question {row.get('question_index')}; "
                         "a scorer must return a finite number (higher is better)")
    return float(value)


def score_rows(rows: list[dict], prm, delimiter: str, aggregate: str) -> None:
    """Each row's trace scored by a process reward model (its thinking's steps, then its answer as a
    step of its own): ``prm_scores`` per step and ``prm_score`` (metrics.trace_score), in place."""
    from s1kit.budget.steps import split_steps

    items = [(r["question"], split_steps(r["thinking"], delimiter) + ([r["answer"].strip()] if r["answer"].strip() else []))
             for r in rows]
    for row, scores in zip(rows, prm.score_many(items)):
        row["prm_scores"] = scores
        row["prm_score"] = metrics.trace_score(scores, aggregate)


def sample_counts(samples: int) -> list[int]:
    """1, 2, 4, ... below K, then K."""
    counts, k = [], 1
    while k < samples:
        counts.append(k)
        k *= 2
    return counts + [samples]


def samples_by_question(method: str, rows: list[dict], samples: int) -> list[list[dict]]:
    """One point's rows per question, each question's in sample order (the order they are drawn);
    every question must have all its ``samples``."""
    per_question: dict[int, list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["question_index"], r["sample"])):
        per_question[row["question_index"]].append(row)
    questions = list(per_question.values())
    if any(len(q) != samples for q in questions):
        raise S1kitError(f"{method} needs {samples} samples for every question; the run is incomplete (use --resume)")
    return questions


def parallel_points(method: str, rows: list[dict], samples: int, seed: int, scorer: str = "shortest",
                    tokens: str = "thinking_tokens", prm: bool = False) -> list[dict]:
    """The curve over k of one point's rows (one budget): accuracy and compute per k, in the rows'
    ``tokens`` (thinking tokens; answer tokens for a method that does not think). ``prm``: best-of-n
    picks by the rows' ``prm_score``, and majority is weighted by it."""
    questions = samples_by_question(method, rows, samples)
    scores = None
    if prm:
        scores = [[r["prm_score"] for r in q] for q in questions]
    elif method == "best-of-n":
        score = get_scorer(scorer)
        scores = [[scored(score, scorer, r) for r in q] for q in questions]
    entries = []
    seeds = metrics.tie_seeds(seed, len(questions))  # the same at every k
    for k in sample_counts(samples):
        hits = []
        for qi, (q, tie_seed) in enumerate(zip(questions, seeds)):
            correct = [bool(r["correct"]) for r in q]
            if method == "majority" and prm:
                voted = metrics.weighted_majority_vote([r["extracted_answer"] for r in q[:k]], scores[qi][:k], tie_seed)
                hits.append(metrics.voted_right(voted, q[:k]))
            elif method == "majority":
                hits.append(metrics.maj_at_k([r["extracted_answer"] for r in q], correct, k, tie_seed))
            else:
                hits.append(metrics.best_of_k(scores[qi], correct, k, tie_seed))
        estimate = metrics.accuracy(hits)
        entries.append({
            "k": k, "accuracy": estimate.value, "stderr": estimate.stderr,
            "avg_thinking_tokens": sum(sum(r[tokens] for r in q[:k]) for q in questions) / len(questions),
            "label": f"k={k}",
        })
    return entries
