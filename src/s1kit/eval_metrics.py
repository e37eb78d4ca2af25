"""From graded rows to the numbers of an evaluation: per point and per curve (s1 Section 3.2)."""

from __future__ import annotations

from collections import defaultdict

from s1kit import metrics
from s1kit.errors import S1kitError


def _point_key(row: dict) -> tuple:
    return (row["max_thinking_tokens"], row["num_ignore"])


def point_metrics(rows: list[dict], min_thinking_tokens: int, samples: int, seed: int) -> dict:
    """One point: accuracy over questions (each question's mean over its samples), tokens, control."""
    per_question: dict[int, list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["question_index"], r["sample"])):
        per_question[row["question_index"]].append(row)
    correct = [[bool(r["correct"]) for r in rs] for rs in per_question.values()]
    estimate = metrics.accuracy([sum(c) / len(c) for c in correct])
    thinking = [r["thinking_tokens"] for r in rows]
    cap = rows[0]["max_thinking_tokens"]
    entry = {
        "max_thinking_tokens": cap, "num_ignore": rows[0]["num_ignore"],
        "questions": len(per_question), "samples": len(rows),
        "accuracy": estimate.value, "stderr": estimate.stderr,
        "avg_thinking_tokens": sum(thinking) / len(thinking),
        "avg_answer_tokens": sum(r["answer_tokens"] for r in rows) / len(rows),
        "avg_waits": sum(r["waits_inserted"] for r in rows) / len(rows),
        "forced_end_share": sum(bool(r["forced_end"]) for r in rows) / len(rows),
        "no_answer_share": sum(r["extracted_answer"] is None for r in rows) / len(rows),
        "control": metrics.control(thinking, cap, min_thinking_tokens),
    }
    if samples > 1 and all(len(c) == samples for c in correct):
        answers = [[r["extracted_answer"] for r in rs] for rs in per_question.values()]
        entry[f"pass@{samples}"] = metrics.mean_pass_at_k(correct, samples)
        entry["pass@1"] = metrics.mean_pass_at_k(correct, 1)
        entry[f"maj@{samples}"] = metrics.mean_maj_at_k(answers, correct, samples, seed)
        entry[f"cov@{samples}"] = metrics.mean_cov_at_k(correct, samples)
    return entry


def curves(points: list[dict], swept_budgets: bool) -> list[dict]:
    """Accuracy-vs-thinking curves: one per number of ignores when caps are swept, else one over
    the ignores. Each gets the paper's Control, Scaling (percentage points per doubling of
    thinking tokens, see metrics.scaling) and Performance."""
    groups: dict[object, list[dict]] = defaultdict(list)
    for p in points:
        groups[p["num_ignore"] if swept_budgets else "all"].append(p)
    result = []
    for key, members in groups.items():
        members = sorted(members, key=lambda p: p["avg_thinking_tokens"])
        xy = [(p["avg_thinking_tokens"], p["accuracy"]) for p in members]
        xs = [x for x, _ in xy]
        usable = len(xy) >= 2 and len(set(xs)) == len(xs) and min(xs) > 0
        result.append({
            "label": f"{key} ignores" if swept_budgets else "budget forcing",
            "points": [(p["max_thinking_tokens"], p["num_ignore"]) for p in members],
            "control": metrics.control_over_runs([(p["max_thinking_tokens"], [p["avg_thinking_tokens"]]) for p in members]),
            "scaling": metrics.scaling(xy) if usable else None,
            "performance": metrics.performance(xy),
        })
    return result


def compute_metrics(config, rows: list[dict]) -> dict:
    if not rows:
        raise S1kitError(f"no results in {config.out}: nothing was generated; check --limit and the task's data")
    by_point: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        by_point[_point_key(row)].append(row)
    points = [point_metrics(rs, config.min_thinking_tokens, config.samples, config.seed)
              for _, rs in sorted(by_point.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0, kv[0][1]))]
    top = (None if not config.budgets else max(config.budgets), max(config.num_ignore))
    decoded = sum(r["decoded_tokens"] for r in rows)
    top_alone = sum(r["output_tokens"] for r in by_point.get(top, []))
    return {
        "task": config.task, "model": config.model, "backend": config.backend, "grading": grading_summary(config, rows),
        "questions": points[0]["questions"], "samples_per_question": config.samples,
        "points": points,
        "curves": curves(points, swept_budgets=bool(config.budgets) and len(config.budgets) > 1),
        "tokens": {
            "decoded": decoded, "largest_point_alone": top_alone,
            "independent_runs": sum(r["output_tokens"] for r in rows),
            "ratio_to_largest": decoded / top_alone if top_alone else None,
        },
    }


def grading_summary(config, rows: list[dict]) -> dict:
    """How the rows were graded: the rules alone, or with a judge (and what the judge changed)."""
    if config.judge is None:
        return {"judge": None}
    from s1kit.judge import judge_counts

    return {"judge": config.judge, "judge_mode": config.judge_mode, **judge_counts(rows)}
