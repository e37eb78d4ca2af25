"""An eval run directory read and shaped for the page: its metrics, its points and curves, and its
rows as columns, texts stored once (compact.py) and forced spans placed in them (spans.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.eval.schema import row_problem
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
    """Where its metrics.json disagrees with its rows (eval.summary.disagreements)."""


def load_run(path: Path, with_rows: bool = True) -> Run:
    """An eval output directory, checked: it exists, holds metrics.json (valid) and, with rows,
    samples.jsonl whose rows are this run's points. Its samples.jsonl, where it has one, is read
    either way, to check the metrics against the rows."""
    from s1kit.eval.compare import load_runs
    from s1kit.eval.summary import disagreements

    path = Path(path)
    check_run_dir(path, with_rows)
    [(name, metrics)] = load_runs([path])
    samples = path / "samples.jsonl"
    rows = read_rows(samples, metrics) if with_rows or samples.is_file() else []
    warnings = [f"{path / 'metrics.json'} disagrees with its samples.jsonl at {found}; run s1kit eval --resume on "
                f"{path} to write the metrics again" for found in disagreements(metrics, rows)] if rows else []
    return Run(name or path.resolve().name, path, metrics, rows if with_rows else [], read_config(path), warnings)


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


def check_run_dir(path: Path, with_rows: bool = True) -> None:
    """``path`` is a directory and, with rows, holds samples.jsonl (cheap: checked before any work)."""
    if not path.exists():
        raise S1kitError(f"{path} does not exist; pass a directory written by s1kit eval")
    if not path.is_dir():
        raise S1kitError(f"{path} is not a directory; pass a directory written by s1kit eval (it holds samples.jsonl)")
    if with_rows and not (path / "samples.jsonl").is_file():
        raise S1kitError(f"{path} has no samples.jsonl; pass a directory written by s1kit eval")


def read_rows(path: Path, metrics: dict) -> list[dict]:
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
    return entry["budget"], entry["num_ignore"], entry["variant"] or ""


def run_summary(run: Run, link: str | None = None) -> dict:
    """What the page shows of a run without its rows: header, points, curves, the Table 3 rows."""
    from s1kit.eval.compare import table_rows

    m = run.metrics
    points = [dict(p) for p in m["points"]]
    return {
        "name": run.name, "link": link, "config": run.config, "warnings": run.warnings,
        "task": m.get("task"), "model": m.get("model"), "backend": m.get("backend"),
        "method": m.get("method", "budget-forcing"), "questions": m.get("questions"),
        "samples": m.get("samples_per_question", 1), "grading": m.get("grading") or {}, "tokens": m.get("tokens"),
        "points": points,
        "curves": [curve_data(c, i, m["curves"], points) for i, c in enumerate(m["curves"])],
        "table": table_rows([(run.name, m)]),
    }


def curve_data(curve: dict, index: int, curves: list[dict], points: list[dict]) -> dict:
    """A curve whose series entries name the point they come from (``point``: an index into the
    run's points, or None). A sequential curve's entries are points, by label; a parallel curve
    (majority, best-of-n) is one point's accuracy over k samples, one curve per point in order."""
    series = []
    parallel = [i for i, c in enumerate(curves) if c.get("kind") == "parallel"]
    for entry in curve["series"]:
        if curve.get("kind") == "parallel":
            point = parallel.index(index) if len(parallel) == len(points) else None
        else:
            same = [i for i, p in enumerate(points) if p["label"] == entry["label"]]
            point = same[0] if len(same) == 1 else next(
                (i for i in same if points[i]["avg_thinking_tokens"] == entry["x"]), None)
        series.append({**entry, "point": point})
    return {**curve, "series": series, "index": index}


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
    prefixes = _thinking_prefixes(rows, units)
    for row, text, unit in zip(rows, texts, units):
        thinking = _text(row["thinking"])
        columns["thinking"].append(compact.slice_of(text, thinking) if text.startswith(thinking) else thinking)
        columns["spans"].append(span_cells({**row, "text": text, "thinking": thinking}, prefixes.get(unit, ())))
    optional = {"tries": "tries", "accepted": "accepted", "timed_out": "grading_timed_out"}
    for name, source in optional.items():
        if any(source in r for r in rows):
            columns[name] = [_small(r.get(source)) for r in rows]
    if any(r.get("judged") for r in rows):
        columns["judged"] = [int(bool(r.get("judged"))) for r in rows]
        columns["judge_verdict"] = [_small(r.get("judge_verdict")) for r in rows]
        columns["rule_correct"] = [_small(r.get("rule_correct")) for r in rows]
        columns["judge_reply"] = [r.get("judge_reply") for r in rows]
    return q_columns, columns


def span_cells(row: dict, prefixes) -> list[list]:
    """Each forced span as ``[start, end, kind, char_start, char_end]`` (characters in UTF-16 units
    of the row's text), or ``[start, end, kind, text]`` when it has no place there (spans.locate)."""
    cells = []
    for span, place in zip(row.get("forced_spans") or [], spans.locate(row, prefixes)):
        head = [span["start"], span["end"], span["kind"]]
        if place is None:
            cells.append(head + [_text(span.get("text"))])
        else:
            start = compact.utf16_len(row["text"][: place[0]])
            cells.append(head + [start, start + compact.utf16_len(row["text"][place[0] : place[1]])])
    return cells


def _thinking_prefixes(rows: list[dict], units: list[tuple]) -> dict[tuple, list[tuple[int, str]]]:
    """Per trajectory (question, sample, prompt): each row's ``(thinking_tokens, thinking)``, the
    exact length in characters of a number of tokens wherever another row starts with it."""
    found: dict[tuple, list[tuple[int, str]]] = {}
    for row, unit in zip(rows, units):
        if isinstance(row["thinking"], str) and isinstance(row["thinking_tokens"], int):
            found.setdefault(unit, []).append((row["thinking_tokens"], row["thinking"]))
    return found


def _text(value) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


def _small(value):
    """Booleans as 1 and 0 (shorter in the page's JSON); None and numbers as they are."""
    return int(value) if isinstance(value, bool) else value
