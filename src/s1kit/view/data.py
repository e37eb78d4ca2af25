"""An eval run directory read and shaped for the page: its metrics, its points and curves, and its
rows as columns, texts stored once (compact.py) and forced spans placed in them (spans.py)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.runs.directory import (
    check_run_dir,
    disagreements,
    point_key,
    read_config,
    read_metrics,
    read_rows,
    table_rows,
)
from s1kit.view import changes, compact, parallel, spans


@dataclass
class Run:
    """One eval directory: what the page needs of it."""

    name: str
    path: Path
    metrics: dict
    rows: list[dict] = field(default_factory=list)
    """The rows of samples.jsonl; empty for a run shown by its metrics alone (the compare page)."""
    config: dict | None = None
    """Its config.json (every setting of the run), None where the run has none."""
    warnings: list[str] = field(default_factory=list)
    """Where its metrics.json disagrees with its rows (runs.directory.disagreements)."""


def load_run(path: Path, with_rows: bool = True) -> Run:
    """An eval output directory, checked: it exists, holds metrics.json (valid) and, with rows,
    samples.jsonl whose rows are this run's points. Its samples.jsonl, where it has one, is read
    either way, to check the metrics against the rows."""
    path = Path(path)
    check_run_dir(path, with_rows)
    [(name, metrics)] = read_metrics([path])
    samples = path / "samples.jsonl"
    rows = read_rows(samples, metrics) if with_rows or samples.is_file() else []
    warnings = [f"{path / 'metrics.json'} disagrees with its samples.jsonl at {found}; run s1kit eval --resume on "
                f"{path} to write the metrics again" for found in disagreements(metrics, rows)] if rows else []
    return Run(name or path.resolve().name, path, metrics, rows if with_rows else [], read_config(path), warnings)


def run_summary(run: Run, link: str | None = None, left_out: frozenset[str] = frozenset()) -> dict:
    """What the page shows of a run without its rows: header, points, curves (but those of the
    kinds in ``left_out``). Its Table 3 rows are the page's, over all its runs (:func:`page_table`)."""
    m = run.metrics
    points = [dict(p) for p in m["points"]]
    curves = [curve_data(c, i, m["curves"], points) for i, c in enumerate(m["curves"])]
    return {
        "name": run.name, "link": link, "config": run.config, "warnings": run.warnings,
        "task": m.get("task"), "model": m.get("model"), "backend": m.get("backend"),
        "method": m.get("method", "budget-forcing"), "questions": m.get("questions"),
        "samples": m.get("samples_per_question", 1), "grading": m.get("grading") or {}, "tokens": m.get("tokens"),
        "points": points,
        "curves": [c for c in curves if c.get("kind") not in left_out],
    }


def page_table(runs: list[Run]) -> list[dict]:
    """The page's Table 3: the rows of every run, computed once over all of them, so that each is
    set against the first budget-forcing run among them (runs.directory.table_rows), its curves
    over thinking alone included (compare.html leaves them out: page.compare_html)."""
    return table_rows([(run.name, run.metrics) for run in runs], every_kind=True)


X_FIELDS = ("avg_thinking_and_probe_tokens", "avg_thinking_tokens", "avg_answer_tokens")
"""What a sequential curve's x can be, of its points: probe-exit's honest curve counts thinking and
probe tokens, most curves thinking tokens, NoThinking's answer tokens."""


def curve_data(curve: dict, index: int, curves: list[dict], points: list[dict]) -> dict:
    """A curve whose series entries name the point they come from (``point``: an index into the
    run's points, or None), with ``x_field``, the points' field its x is (None: a parallel curve's
    total over k samples, or not found). A sequential curve's entries are points, by label (and by
    x where labels repeat: probe-exit's rules at several caps); a parallel curve (majority,
    best-of-n) is one point's accuracy over k samples, one curve per point in order; a search's
    (rebase, beam) entries are its points (tree sizes), by label and, where labels repeat over caps,
    by the tokens its trees generated."""
    series = []
    parallel = [i for i, c in enumerate(curves) if c.get("kind") == "parallel"]
    x_field = None if curve.get("kind") == "parallel" else _x_field(curve, points)
    # A search's curves are parallel (a tree's tokens) but over points, as sequential ones are.
    by_x = "avg_search_tokens" if curve.get("kind") == "parallel" else x_field or "avg_thinking_tokens"
    for entry in curve["series"]:
        same = [i for i, p in enumerate(points) if p["label"] == entry["label"]]
        if len(same) > 1:
            same = [i for i in same if points[i].get(by_x) == entry["x"]]
        if curve.get("kind") == "parallel" and not same:
            point = parallel.index(index) if len(parallel) == len(points) else None
        else:
            point = same[0] if len(same) == 1 else None
        series.append({**entry, "point": point})
    return {**curve, "series": series, "index": index, "x_field": x_field}


def _x_field(curve: dict, points: list[dict]) -> str | None:
    """The first of X_FIELDS that every entry's x is, at a point of its label (a curve over
    thinking alone is over avg_thinking_tokens, whatever else the points count)."""
    fields = ("avg_thinking_tokens",) if curve.get("kind") == "thinking-only" else X_FIELDS
    for name in fields:
        if all(any(p["label"] == e["label"] and p.get(name) == e["x"] for p in points) for e in curve["series"]):
            return name
    return None


def run_data(run: Run, link: str | None = None) -> dict:
    """A run for the page: its summary and, when it has rows, its questions and rows as columns."""
    data = run_summary(run, link)
    if run.rows:
        data["questions_data"], data["rows"] = row_columns(run)
        data["steps"] = changes.steps(run.metrics["points"])
        data["questions_data"]["changes"] = changes.question_changes(shares(run, data["questions_data"]["index"]), data["steps"])
        config = run.config or {}
        data["combined"] = parallel.combined(
            run.metrics.get("method", "budget-forcing"), run.rows, [point_key(p) for p in run.metrics["points"]],
            data["questions_data"]["index"], point_key, run.metrics.get("samples_per_question", 1),
            config.get("seed"), config.get("scorer"))
        instructions = {point_key(r): r.get("instruction") or "" for r in run.rows}
        for point in data["points"]:  # the prompt suffix of conditional methods
            point["instruction"] = instructions.get(point_key(point), "")
    return data


def shares(run: Run, questions: list[int]) -> list[list[float | None]]:
    """Per question (in the order of ``questions``) and point, its share of samples graded right."""
    index_of = {point_key(p): i for i, p in enumerate(run.metrics["points"])}
    position = {q: i for i, q in enumerate(questions)}
    right = [[0] * len(index_of) for _ in questions]
    total = [[0] * len(index_of) for _ in questions]
    for row in run.rows:
        q, p = position[row["question_index"]], index_of[point_key(row)]
        right[q][p] += bool(row["correct"])
        total[q][p] += 1
    return [[r / t if t else None for r, t in zip(rs, ts)] for rs, ts in zip(right, total)]


def row_columns(run: Run) -> tuple[dict, dict]:
    index_of = {point_key(p): i for i, p in enumerate(run.metrics["points"])}
    rows = sorted(run.rows, key=lambda r: (r["question_index"], r["sample"], index_of[point_key(r)]))
    questions: dict[int, int] = {}
    q_columns: dict[str, list] = {"index": [], "id": [], "question": [], "gold": []}
    for row in rows:
        if row["question_index"] not in questions:
            questions[row["question_index"]] = len(questions)
            q_columns["index"].append(row["question_index"])
            q_columns["id"].append(row.get("question_id"))
            q_columns["question"].append(_text(row["question"]))
            q_columns["gold"].append(_text(row.get("gold")))
    units = [(r["question_index"], r["sample"], r.get("instruction") or "") for r in rows]
    texts = [_text(r["text"]) for r in rows]
    columns: dict[str, list] = {
        "q": [questions[r["question_index"]] for r in rows],
        "s": [r["sample"] for r in rows],
        "p": [index_of[point_key(r)] for r in rows],
        "correct": [int(bool(r["correct"])) for r in rows],
        "extracted": [r.get("extracted_answer") for r in rows],
        "thinking_tokens": [r["thinking_tokens"] for r in rows],
        "answer_tokens": [r["answer_tokens"] for r in rows],
        "waits": [r.get("waits_inserted", 0) for r in rows],
        "capped": [int(bool(r.get("forced_end"))) for r in rows],
        "length_stop": [int(r.get("finish_reason") == "length") for r in rows],
        "text": compact.encode(texts, units),
        "thinking": [], "spans": [],
    }
    for row, text in zip(rows, texts):
        thinking = _text(row["thinking"])
        columns["thinking"].append(compact.slice_of(text, thinking) if text.startswith(thinking) else thinking)
        columns["spans"].append(span_cells({**row, "text": text}))
    optional = {"tries": "tries", "accepted": "accepted", "timed_out": "grading_timed_out",
                "probe_tokens": "probe_tokens", "exited": "exited", "stopped_at": "stopped_at"}
    for name, source in optional.items():
        if any(source in r for r in rows):
            columns[name] = [_small(r.get(source)) for r in rows]
    if any("probes" in r for r in rows):
        columns["probes"] = [probe_cells(r.get("probes")) for r in rows]
    if any("tree" in r for r in rows):
        columns["tree"] = [tree_cell(r) for r in rows]
    if any(r.get("confidence") is not None for r in rows):
        columns["confidence"] = [confidence_cell(r.get("confidence")) for r in rows]
    if any(r.get("judged") for r in rows):
        columns["judged"] = [int(bool(r.get("judged"))) for r in rows]
        columns["judge_verdict"] = [_small(r.get("judge_verdict")) for r in rows]
        columns["rule_correct"] = [_small(r.get("rule_correct")) for r in rows]
        columns["judge_reply"] = [r.get("judge_reply") for r in rows]
    return q_columns, columns


PROBE_FIELDS = ("position", "thinking_tokens", "answer", "confidence", "fired")
"""A probe-exit probe, as a row records it: the output token it branched before, the thinking
tokens before it, the answer it read (None: none), that answer's confidence, and whether the exit
rule fired there."""


def probe_cells(probes) -> list[list] | None:
    """Each probe as ``[position, thinking_tokens, answer, confidence, fired]`` (fired 1 or 0; a
    field the row lacks, or that is not of its kind, None). None for a row without probes."""
    if not isinstance(probes, list):
        return None
    cells = []
    for probe in probes:
        probe = probe if isinstance(probe, dict) else {}
        position, thinking, answer, confidence, fired = (probe.get(name) for name in PROBE_FIELDS)
        cells.append([position if type(position) is int else None, thinking if type(thinking) is int else None,
                      None if answer is None else _text(answer), _number(confidence), int(fired is True)])
    return cells


def tree_cell(row: dict) -> dict | None:
    """A rebase or beam row's search tree for the page (methods/search.py tree_outcome), checked
    whole: ``nodes`` as ``[parent, tokens, reward, step]`` (parent: an index into nodes, None for a
    child of the prompt), ``leaves`` as ``[node, answer]``, ``chosen`` (the leaf whose trace is the
    row's text), ``tokens`` (the tree's), ``prm_calls`` and ``votes`` (the weighted vote's, plain
    majority's and the best leaf's answers). None for a row without a tree, or with one the page
    cannot draw as a tree: a parent that is not an earlier node, a depth that is not its parent's
    plus one, a leaf with children, a chosen node that is not a leaf, a field of the wrong kind."""
    tree, leaves, chosen = row.get("tree"), row.get("leaves"), row.get("chosen_node")
    if not isinstance(tree, list) or not tree or not isinstance(leaves, list) or not leaves:
        return None
    nodes, depths, parents = [], [], set()
    for index, node in enumerate(tree):
        if not isinstance(node, dict):
            return None
        parent, depth, tokens, reward, step = (node.get(name) for name in ("parent", "depth", "tokens", "reward", "step"))
        # Nodes are listed as they were made, so a parent comes before its children (no cycles).
        if parent is not None and not (_count(parent) and parent < index):
            return None
        if depth != (1 if parent is None else depths[parent] + 1) or type(depth) is not int:
            return None
        if not _count(tokens) or not _finite(reward) or not isinstance(step, str):
            return None
        nodes.append([parent, tokens, reward, step])
        depths.append(depth)
        parents.add(parent)
    leaf_cells = []
    for leaf in leaves:
        node, answer = (leaf.get("node"), leaf.get("answer")) if isinstance(leaf, dict) else (None, None)
        if not _count(node) or node >= len(nodes) or node in parents or not _answer(answer):
            return None
        leaf_cells.append([node, answer])
    leaf_nodes = {node for node, _ in leaf_cells}
    votes = [row.get(name) for name in ("weighted_answer", "majority_answer", "best_leaf_answer")]
    if len(leaf_nodes) < len(leaf_cells) or chosen not in leaf_nodes or type(chosen) is not int:
        return None
    if not _count(row.get("search_tokens")) or not _count(row.get("prm_calls")) or not all(map(_answer, votes)):
        return None
    return {"nodes": nodes, "leaves": leaf_cells, "chosen": chosen, "tokens": row["search_tokens"],
            "prm_calls": row["prm_calls"], "votes": votes}


CONFIDENCE_FIELDS = ("mean", "lowest_group", "tail", "window")
"""DeepConf's confidence of a sample (higher: more confident): the mean over its tokens, its lowest
group's (a sliding window of ``window`` tokens) and its tail's."""


def confidence_cell(confidence) -> list | None:
    """``[mean, lowest_group, tail, window]`` of a row's confidence (a field it lacks: None)."""
    if not isinstance(confidence, dict):
        return None
    return [_number(confidence.get(name)) for name in CONFIDENCE_FIELDS]


def span_cells(row: dict) -> list[list]:
    """Each forced span as ``[start, end, kind, char_start, char_end]`` (characters in UTF-16 units
    of the row's text), or ``[start, end, kind, text]`` when it has no place there (spans.locate)."""
    cells = []
    for span, place in zip(row.get("forced_spans") or [], spans.locate(row)):
        head = [span["start"], span["end"], span["kind"]]
        if place is None:
            cells.append(head + [_text(span.get("text"))])
        else:
            start = compact.utf16_len(row["text"][: place[0]])
            cells.append(head + [start, start + compact.utf16_len(row["text"][place[0] : place[1]])])
    return cells


def _text(value) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


def _number(value) -> float | int | None:
    return value if type(value) in (int, float) else None


def _count(value) -> bool:
    return type(value) is int and value >= 0


def _finite(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _answer(value) -> bool:
    return value is None or isinstance(value, str)


def _small(value):
    """Booleans as 1 and 0 (shorter in the page's JSON); None and numbers as they are."""
    return int(value) if isinstance(value, bool) else value
