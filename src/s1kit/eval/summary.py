"""From graded rows to the numbers of an evaluation: per point and per curve (s1 Section 3.2)."""

from __future__ import annotations

from collections import defaultdict

from s1kit import metrics
from s1kit.errors import S1kitError


def _point_key(row: dict) -> tuple:
    # No budget sorts last: it is the largest.
    return (row["budget"] is None, row["budget"] or 0, row["num_ignore"], row["variant"])


def point_metrics(rows: list[dict], min_thinking_tokens: int, samples: int, seed: int) -> dict:
    """One point: accuracy over questions (each question's mean over its samples), tokens, control."""
    per_question: dict[int, list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["question_index"], r["sample"])):
        per_question[row["question_index"]].append(row)
    correct = [[bool(r["correct"]) for r in rs] for rs in per_question.values()]
    estimate = metrics.accuracy([sum(c) / len(c) for c in correct])
    thinking = [r["thinking_tokens"] for r in rows]
    first = rows[0]
    entry = {
        "budget": first["budget"], "max_thinking_tokens": first["max_thinking_tokens"],
        "num_ignore": first["num_ignore"], "variant": first["variant"], "label": _label(first),
        "questions": len(per_question), "samples": len(rows),
        "accuracy": estimate.value, "stderr": estimate.stderr,
        "avg_thinking_tokens": sum(thinking) / len(thinking),
        "avg_answer_tokens": sum(r["answer_tokens"] for r in rows) / len(rows),
        "avg_waits": sum(r["waits_inserted"] for r in rows) / len(rows),
        "forced_end_share": sum(bool(r["forced_end"]) for r in rows) / len(rows),
        "no_answer_share": sum(r["extracted_answer"] is None for r in rows) / len(rows),
        # Budget forcing only forces within a cap, so the share within the budget is per sample.
        "control": metrics.control(thinking, first["budget"], min_thinking_tokens),
    }
    if "probe_tokens" in first:
        probe = [r["probe_tokens"] for r in rows]
        entry["avg_probe_tokens"] = sum(probe) / len(rows)
        entry["avg_thinking_and_probe_tokens"] = entry["avg_thinking_tokens"] + entry["avg_probe_tokens"]
        entry["exited_share"] = sum(bool(r["exited"]) for r in rows) / len(rows)
    if "search_tokens" in first:
        entry["avg_search_tokens"] = sum(r["search_tokens"] for r in rows) / len(rows)
        entry["avg_prm_calls"] = sum(r["prm_calls"] for r in rows) / len(rows)
        entry["avg_leaves"] = sum(len(r["leaves"]) for r in rows) / len(rows)
        for vote in ("majority", "best_leaf"):
            estimate = metrics.accuracy([bool(r[f"{vote}_correct"]) for r in rows])
            entry[f"{vote}_accuracy"], entry[f"{vote}_stderr"] = estimate.value, estimate.stderr
    if "tries" in first:
        entry["avg_tries"] = sum(r["tries"] for r in rows) / len(rows)
        entry["accepted_share"] = sum(bool(r["accepted"]) for r in rows) / len(rows)
    if samples > 1 and all(len(c) == samples for c in correct):
        answers = [[r["extracted_answer"] for r in rs] for rs in per_question.values()]
        entry[f"pass@{samples}"] = metrics.mean_pass_at_k(correct, samples)
        entry["pass@1"] = metrics.mean_pass_at_k(correct, 1)
        entry[f"maj@{samples}"] = metrics.mean_maj_at_k(answers, correct, samples, seed)
        entry[f"cov@{samples}"] = metrics.mean_cov_at_k(correct, samples)
    return entry


def _label(row: dict) -> str:
    if row["variant"]:
        return row["variant"]
    name = "no budget" if row["budget"] is None else str(row["budget"])
    return name if not row["num_ignore"] else f"{name}, {row['num_ignore']} ign."


SERIES_EXTRAS = ("k", "avg_samples", "stopped_share")
"""What a parallel curve's entry says beside its x and accuracy: its k, the samples an adaptive
method drew on average, the share of samples online DeepConf stopped."""


def curve(label: str, members: list[dict], control: float | None, kind: str = "sequential",
          x: str = "avg_thinking_tokens") -> dict:
    """A curve of points sorted by ``x`` (thinking tokens), with the paper's Scaling and Performance."""
    members = sorted(members, key=lambda p: p[x])
    xy = [(p[x], p["accuracy"]) for p in members]
    return {
        "label": label, "kind": kind,
        "series": [{"x": p[x], "accuracy": p["accuracy"], "stderr": p["stderr"], "label": p["label"],
                    **{name: p[name] for name in SERIES_EXTRAS if name in p}} for p in members],
        "control": control,
        "scaling": None if metrics.scaling_undefined(xy) else metrics.scaling(xy),
        "performance": metrics.performance(xy),
    }


def sequential_curves(method: str, points: list[dict]) -> list[dict]:
    """One curve per number of ignores when budgets are swept, else one over the ignores.
    Control checks each point's mean thinking against its budget, as s1 computes Table 3."""
    if method == "class-conditional":
        from s1kit.methods.conditional import class_control

        classes = [p for p in points if p["variant"] != "default"]
        result = [curve(method, classes, class_control(points))]
        return result + [curve("no instruction", [p for p in points if p["variant"] == "default"], None)]
    if method == "probe-exit":
        return probe_curves(points)
    if method in ("rebase", "beam"):
        return search_curves(method, points)
    waits = sorted({p["variant"] for p in points if p["variant"]})
    if method == "budget-forcing" and waits:
        return wait_curves(points, waits)
    budgets = {p["budget"] for p in points}
    groups: dict[object, list[dict]] = defaultdict(list)
    for p in points:
        groups[p["num_ignore"] if len(budgets) > 1 else "all"].append(p)
    result = []
    for key, members in groups.items():
        label = method if key == "all" or len(groups) == 1 else f"{method}, {key} ignores"
        control = metrics.control_over_runs([(p["budget"], [p["avg_thinking_tokens"]]) for p in members])
        result.append(curve(label, members, control))
    return result


def wait_curves(points: list[dict], waits: list[str]) -> list[dict]:
    """Several wait strings (s1's Table 4): a curve per wait string over its ignores, each from the
    same point without extension, per cap."""
    result = []
    for budget in sorted({p["budget"] for p in points}, key=lambda b: (b is None, b or 0)):
        base = [p for p in points if p["budget"] == budget and not p["variant"]]
        for wait in waits:
            members = base + [p for p in points if p["budget"] == budget and p["variant"] == wait]
            label = f"budget-forcing, {wait}" + (f", cap {budget}" if budget else "")
            result.append(curve(label, members, metrics.control_over_runs([(p["budget"], [p["avg_thinking_tokens"]])
                                                                            for p in members])))
    return result


def probe_curves(points: list[dict]) -> list[dict]:
    """probe-exit: a curve over each rule's parameter per cap and ignores, against the tokens its
    runs spent (thinking and probes: the one compare reads), and the same over thinking alone."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in points:
        groups[(p["variant"].split()[0], p["budget"], p["num_ignore"])].append(p)
    honest, thinking = [], []
    for (rule, budget, ignores), members in groups.items():
        parts = [f"probe-exit ({rule}"] + ([f"cap {budget}"] if budget else []) + ([f"{ignores} ignores"] if ignores else [])
        label = ", ".join(parts) + ")"
        control = metrics.control_over_runs([(p["budget"], [p["avg_thinking_tokens"]]) for p in members])
        honest.append(curve(label, members, control, x="avg_thinking_and_probe_tokens"))
        thinking.append(curve(f"{label}, thinking tokens only", members, control, kind="thinking-only"))
    return honest + thinking


def search_curves(method: str, points: list[dict]) -> list[dict]:
    """rebase and beam over their trees' sizes, against the tokens a tree generated (parallel
    compute, the paper's x for REBASE): the reward-weighted vote of the leaves, and beside it plain
    majority over the same leaves and the best leaf alone."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in points:
        groups[(p["budget"], p["num_ignore"])].append(p)
    result = []
    for (budget, ignores), members in groups.items():
        where = ", ".join(([f"cap {budget}"] if budget else []) + ([f"{ignores} ignores"] if ignores else []))
        suffix = f" ({where})" if where else ""
        for vote, name in (("weighted", "reward-weighted vote"), ("majority", "majority of leaves"),
                           ("best_leaf", "best leaf")):
            series = members if vote == "weighted" else [
                {**p, "accuracy": p[f"{vote}_accuracy"], "stderr": p[f"{vote}_stderr"]} for p in members]
            result.append(curve(f"{method}, {name}{suffix}", series, None, kind="parallel", x="avg_search_tokens"))
    return result


def no_thinking_curves(config, points: list[dict], by_point: dict) -> list[dict]:
    """NoThinking over answer tokens: one point, or with samples the majority and best-of-n of k."""
    from s1kit.methods.parallel import parallel_points

    if config.samples == 1:
        return [curve("no-thinking", points, None, x="avg_answer_tokens")]
    [rows] = by_point.values()
    seed = config.sampling.seed
    return [curve(f"no-thinking, {method}", parallel_points(method, rows, config.samples, seed, config.scorer,
                                                          tokens="answer_tokens"), None, kind="parallel")
            for method in ("majority", "best-of-n")]


def parallel_curves(config, by_point: dict) -> list[dict]:
    """The method's curves over k at each point; an adaptive method's (deepconf, esc,
    adaptive-consistency) come with majority's over the same samples, to read the saving off."""
    from s1kit.methods.parallel import parallel_points

    result = []
    seed = config.sampling.seed
    for point_rows in by_point.values():
        budget = point_rows[0]["budget"]
        where = "" if len(by_point) == 1 else f" ({_label(point_rows[0])})"
        control = metrics.control([r["thinking_tokens"] for r in point_rows], budget)
        if config.method in ("majority", "best-of-n"):
            with_prm = config.search.prm is not None
            if config.method == "majority" or not with_prm:
                entries = parallel_points(config.method, point_rows, config.samples, seed, config.scorer)
                result.append(curve(config.method + where, entries, control, kind="parallel"))
            if with_prm:  # weighted or picked by the process reward model's score of each trace
                entries = parallel_points(config.method, point_rows, config.samples, seed, prm=True)
                result.append(curve(f"{config.method}, PRM-{'weighted' if config.method == 'majority' else 'picked'}"
                                    f"{where}", entries, control, kind="parallel"))
            continue
        result += [curve(label + where, entries, control, kind="parallel")
                   for label, entries in adaptive_curves(config, point_rows)]
        result.append(curve(f"majority, the same samples{where}",
                            parallel_points("majority", point_rows, config.samples, seed), control, kind="parallel"))
    return result


def adaptive_curves(config, rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """deepconf's curve per mode and eta, or esc's or adaptive-consistency's one."""
    seed = config.sampling.seed
    if config.method == "deepconf":
        from s1kit.methods.deepconf import deepconf_points

        settings = config.deepconf
        return [(f"deepconf {mode} (eta {eta:g})", deepconf_points(rows, config.samples, settings, mode, eta, seed))
                for mode in settings.deepconf_mode for eta in settings.deepconf_eta]
    from s1kit.methods.early_stop import early_stop_points

    return [(config.method, early_stop_points(config.method, rows, config.samples, config.early_stop, seed))]


def compute_metrics(config, rows: list[dict]) -> dict:
    if not rows:
        raise S1kitError(f"no results in {config.out}: nothing was generated; check --limit and the task's data")
    by_point: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        by_point[_point_key(row)].append(row)
    by_point = dict(sorted(by_point.items()))
    points = [point_metrics(rs, config.budget.min_thinking_tokens, config.samples, config.sampling.seed) for rs in by_point.values()]
    from s1kit.methods import PARALLEL

    if config.method in PARALLEL:
        curves = parallel_curves(config, by_point)
    elif config.method == "no-thinking":
        curves = no_thinking_curves(config, points, by_point)
    else:  # sequential methods, and searches (one tree per question and size)
        curves = sequential_curves(config.method, points)
    decoded = sum(r["decoded_tokens"] for r in rows)
    # The point every other one shares work with in a sweep: the largest budget, the most ignores.
    top_alone = sum(r["output_tokens"] for r in by_point[max(by_point)])
    shared = config.method in ("budget-forcing", *PARALLEL)  # one prompt: a sweep shares its work
    return {
        "task": config.task, "model": config.model, "backend": config.backend, "method": config.method,
        "grading": grading_summary(config, rows),
        "questions": points[0]["questions"], "samples_per_question": config.samples,
        "points": points,
        "curves": curves,
        "tokens": {
            "decoded": decoded, "largest_point_alone": top_alone,
            "independent_runs": sum(r["output_tokens"] for r in rows),
            "ratio_to_largest": decoded / top_alone if top_alone and shared else None,
        },
    }


def grading_summary(config, rows: list[dict]) -> dict:
    """How the rows were graded: the rules alone, or with a judge (and what the judge changed)."""
    if config.judge is None:
        return {"judge": None}
    from s1kit.grading.judge import judge_counts

    return {"judge": config.judge.model, "judge_mode": config.judge.mode, **judge_counts(rows)}
