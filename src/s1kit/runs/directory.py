"""An eval run directory read back and checked: its metrics.json, config.json and samples.jsonl,
the Table 3 rows its metrics give, and where its metrics and its rows disagree."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.metrics import accuracy, accuracy_at, tokens_to_match
from s1kit.runs.schema import metrics_problem, row_problem


def read_metrics(dirs: list[Path]) -> list[tuple[str, dict]]:
    """Each run's name (its folder's) and its metrics.json, checked."""
    if not dirs:
        raise S1kitError("no runs to compare; pass eval output directories")
    return [(Path(run).name, _metrics_json(Path(run))) for run in dirs]


def _metrics_json(run: Path) -> dict:
    path = run / "metrics.json"
    if not path.is_file():
        raise S1kitError(f"{run} has no metrics.json; pass directories written by s1kit eval")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise S1kitError(f"{path} is not valid JSON (cut short?); run s1kit eval --resume on {run} to write it again") from None
    problem = metrics_problem(metrics)
    if problem is not None:
        raise S1kitError(f"{path}: {problem}; it is not a metrics.json s1kit eval wrote: run s1kit eval --resume "
                         f"on {run} to write it again")
    return metrics


def check_run_dir(path: Path, with_rows: bool = True) -> None:
    """``path`` is a directory and, with rows, holds samples.jsonl (cheap: checked before any work)."""
    if not path.exists():
        raise S1kitError(f"{path} does not exist; pass a directory written by s1kit eval")
    if not path.is_dir():
        raise S1kitError(f"{path} is not a directory; pass a directory written by s1kit eval (it holds samples.jsonl)")
    if with_rows and not (path / "samples.jsonl").is_file():
        raise S1kitError(f"{path} has no samples.jsonl; pass a directory written by s1kit eval")


def read_config(path: Path) -> dict | None:
    """The run's config.json, or None when it has none (the page then says so)."""
    source = Path(path) / "config.json"
    if not source.is_file():
        return None
    try:
        config = json.loads(source.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise S1kitError(f"{source} is not valid JSON (cut short?); run s1kit eval --resume on {path} to write it again") from None
    if not isinstance(config, dict):
        raise S1kitError(f"{source} is not a config written by s1kit eval (not an object); run s1kit eval --resume on {path}")
    return config


def read_rows(path: Path, metrics: dict) -> list[dict]:
    """The rows of samples.jsonl at ``path``, each checked and of a point ``metrics`` lists."""
    from s1kit.jsonl import read_lines

    keys = {point_key(p) for p in metrics["points"]}
    rows = []
    for number, row in read_lines(path):
        problem = row_problem(row)
        if problem is not None:
            raise S1kitError(f"{path} line {number}: {problem}; it is not a row s1kit eval wrote: restore the line, "
                             f"or run the evaluation again")
        if point_key(row) not in keys:
            raise S1kitError(f"{path} line {number} is a point (budget {row['budget']}, num_ignore {row['num_ignore']}"
                             f"{', ' + row['variant'] if row['variant'] else ''}) that metrics.json does not list; "
                             f"run s1kit eval --resume on {path.parent} to finish the run and write its metrics again")
        rows.append(row)
    if not rows:
        raise S1kitError(f"{path} holds no rows; run s1kit eval --resume on {path.parent} to generate them")
    return rows


def point_key(entry: dict) -> tuple:
    """The point a row or a metrics.json point is of: budget, ignores, variant."""
    return entry["budget"], entry["num_ignore"], entry["variant"] or ""


NOT_COMPARED = frozenset({"thinking-only"})
"""Curve kinds that compare leaves out: probe-exit's curve over thinking alone counts none of the
probe tokens its runs spent, so it is no method's cost (the run's own report shows it)."""


def table_rows(runs: list[tuple[str, dict]], every_kind: bool = False) -> list[dict]:
    """The rows of s1's Table 3 that runs' metrics give: one per curve of a method, each set against
    budget forcing on its task and model (:func:`budget_forcing_references`): ``compared_with``
    names that run (None: there is none), ``tokens_to_match`` the fewest average thinking tokens at
    which the curve reaches its best accuracy (None: never) and ``accuracy_at_bf_length`` the
    curve's accuracy at its natural length (None: outside the curve). Curves of the kinds in
    :data:`NOT_COMPARED` are left out, or with ``every_kind`` listed with nothing set against
    budget forcing."""
    references = budget_forcing_references(runs)
    rows = []
    for name, metrics in runs:
        reference = references.get((metrics["task"], metrics["model"]))
        for curve in metrics["curves"]:
            if len(curve["series"]) < 2 and curve["control"] is None:
                continue  # a reference point (class-conditional's no-instruction run), not a method's curve
            kind = curve.get("kind", "sequential")
            if kind in NOT_COMPARED and not every_kind:
                continue
            rows.append({
                "run": name, "method": metrics.get("method", "budget-forcing"), "curve": curve["label"],
                "kind": kind, "control": curve["control"], "scaling": curve["scaling"],
                "performance": curve["performance"], "points": len(curve["series"]),
                **_against_named(name, curve, None if kind in NOT_COMPARED else reference),
            })
    return rows


def budget_forcing_references(runs: list[tuple[str, dict]]) -> dict[tuple[str, str], tuple[str, float, float]]:
    """Per (task, model), the first budget-forcing run listed on it: its name, the best accuracy of
    its main curve (its first) and its natural thinking length: the average thinking tokens of its
    point with no cap and no ignores, else of its main curve's longest point."""
    references = {}
    for name, metrics in runs:
        key = (metrics["task"], metrics["model"])
        if metrics.get("method", "budget-forcing") != "budget-forcing" or key in references or not metrics["curves"]:
            continue
        main = metrics["curves"][0]
        if not 0 <= main["performance"] <= 1:
            raise S1kitError(f"{name}'s metrics.json, curve {main['label']!r}: performance is {main['performance']!r}, "
                             "not an accuracy in [0, 1]; run s1kit eval --resume on it to write its metrics again")
        natural = [p["avg_thinking_tokens"] for p in metrics["points"] if p["budget"] is None and not p["num_ignore"]]
        longest = [max(entry["x"] for entry in main["series"])] if main["series"] else []
        if natural or longest:
            references[key] = (name, main["performance"], (natural or longest)[0])
    return references


def _against_named(name: str, curve: dict, reference: tuple[str, float, float] | None) -> dict:
    try:
        return against_budget_forcing(curve, reference)
    except S1kitError as exc:  # a hand-edited metrics.json: say whose
        raise S1kitError(f"{name}'s metrics.json, curve {curve['label']!r}: {exc}; run s1kit eval --resume on it "
                         "to write its metrics again") from exc


def against_budget_forcing(curve: dict, reference: tuple[str, float, float] | None) -> dict:
    """A curve's two numbers against a budget-forcing run (budget_forcing_references' entry)."""
    if reference is None or not curve["series"]:
        return {"compared_with": None, "tokens_to_match": None, "accuracy_at_bf_length": None}
    name, best, natural = reference
    xy = [(entry["x"], entry["accuracy"]) for entry in curve["series"]]
    return {"compared_with": name, "tokens_to_match": tokens_to_match(xy, best),
            "accuracy_at_bf_length": accuracy_at(xy, natural)}


def recheck(rows: list[dict]) -> dict:
    """What :func:`disagreements` recomputes of a point from its rows, as eval.summary.point_metrics
    does (from the fields every shown row has: schema.SHOWN)."""
    per_question: dict[int, list[bool]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["question_index"], r["sample"])):
        per_question[row["question_index"]].append(bool(row["correct"]))
    return {"questions": len(per_question), "samples": len(rows),
            "accuracy": accuracy([sum(c) / len(c) for c in per_question.values()]).value,
            "avg_thinking_tokens": sum(r["thinking_tokens"] for r in rows) / len(rows),
            "avg_answer_tokens": sum(r["answer_tokens"] for r in rows) / len(rows)}


def disagreements(metrics_json: dict, rows: list[dict]) -> list[str]:
    """Where metrics.json says something of a point that its rows do not give (an edited or stale
    file): one line per point, empty when they agree. ``rows``: checked rows of the run's points."""
    by_point: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        by_point[point_key(row)].append(row)
    found = []
    for point in metrics_json["points"]:
        members = by_point.get(point_key(point))
        if not members:
            found.append(f"point {point['label']}: it has no rows in samples.jsonl")
            continue
        again = recheck(members)
        differ = [f"{name} {_shown(point[name])} in metrics.json, {_shown(value)} from the rows"
                  for name, value in again.items() if name in point and not _same(point[name], value)]
        if differ:
            found.append(f"point {point['label']}: {'; '.join(differ)}")
    return found


def _same(saved, recomputed) -> bool:
    return isinstance(saved, (int, float)) and abs(saved - recomputed) <= 1e-9 * max(1.0, abs(recomputed))


def _shown(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)
