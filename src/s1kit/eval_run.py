"""The eval stage's work: units in resumable chunks, graded rows, then metrics and the report."""

from __future__ import annotations

import json
from pathlib import Path

from s1kit.budget.config import SamplingConfig
from s1kit.budget.runner import request_seed
from s1kit.grading import grade
from s1kit.jsonl import write_atomic
from s1kit.sweep import output_tokens

def unit_seed(config, question_index: int, sample: int) -> int:
    """The seed of one (question, sample): fixed by its index, whatever was done before."""
    return request_seed(config.seed, question_index * config.samples + sample)


def row_key(row: dict) -> tuple:
    return (row["question_index"], row["sample"], row["budget"] or 0, row["num_ignore"], row["variant"])


def load_done(path: Path, points_per_unit: int) -> list[dict]:
    """Rows of complete units from a previous run; a torn last line and half-written units are dropped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the line being written when the run was killed
    by_unit: dict[tuple, list[dict]] = {}
    for row in rows:
        by_unit.setdefault((row["question_index"], row["sample"]), []).append(row)
    return [row for unit in by_unit.values() if len(unit) == points_per_unit for row in unit]


def make_row(config, task_kind: str, example, question_index: int, sample: int, point, generation, decoded: int,
             extras: dict | None = None) -> dict:
    graded = grade(generation.text, example.answer, task_kind)
    return {
        "question_index": question_index, "question_id": example.id, "sample": sample, "method": config.method,
        "budget": point.budget, "variant": point.variant, "max_thinking_tokens": point.cap,
        "num_ignore": point.num_ignore, "instruction": point.instruction, "seed": generation.seed,
        "question": example.question, "gold": example.answer, "text": generation.text,
        "thinking": generation.thinking, "answer": generation.answer,
        "thinking_tokens": generation.thinking_tokens, "answer_tokens": generation.answer_tokens,
        "output_tokens": output_tokens(generation),
        "decoded_tokens": decoded, "waits_inserted": generation.waits_inserted, "forced_end": generation.forced_end,
        "finish_reason": generation.finish_reason, "forced_spans": generation.forced_spans,
        "token_count_source": generation.token_count_source,
        "extracted_answer": graded.extracted, "correct": graded.correct, "grading_timed_out": graded.timed_out,
        **(extras or {}),
    }


def run_chunk(backend, config, questions: list[str], seeds: list[int]):
    """The method's generations for a chunk of units (methods.base.PointRun per point)."""
    from s1kit.methods.base import run_grouped
    from s1kit.methods.rejection import run_rejection

    points = config.points()
    sampling = SamplingConfig(temperature=config.temperature, top_p=config.top_p, seed=config.seed)
    options = dict(fmt=config.format, system_prompt=config.system_prompt, batch_size=config.batch_size)
    if config.method == "rejection":
        return run_rejection(backend, questions, points, config.base_budget(), sampling, seeds,
                             max_tries=config.max_tries, **options)
    return run_grouped(backend, questions, points, config.base_budget(), sampling, seeds, **options)


def run_units(backend, config, task, examples, out: Path, judge=None) -> list[dict]:
    """Generate and grade every unit not done yet; rows are appended chunk by chunk (graded by the
    rules, then by the judge if there is one, before they are written)."""
    from tqdm.auto import tqdm

    points = config.points()
    path = out / "samples.jsonl"
    rows = load_done(path, len(points)) if config.resume else []
    write_atomic(path, rows)  # drop what load_done dropped, before appending
    done = {(r["question_index"], r["sample"]) for r in rows}
    todo = [(qi, s) for qi in range(len(examples)) for s in range(config.samples) if (qi, s) not in done]
    bar = tqdm(total=len(examples) * config.samples, initial=len(done), desc=f"eval {config.task} ({config.method})",
               unit="unit")
    with path.open("a", encoding="utf-8") as sink:
        for start in range(0, len(todo), config.chunk_units):
            chunk = todo[start : start + config.chunk_units]
            runs = run_chunk(backend, config, [examples[qi].question for qi, _ in chunk],
                             [unit_seed(config, qi, s) for qi, s in chunk])
            new = [make_row(config, task.kind, examples[qi], qi, s, run.point, run.generations[j], run.decoded[j],
                            run.extras[j] if run.extras else None)
                   for run in runs for j, (qi, s) in enumerate(chunk)]
            new.sort(key=row_key)
            if judge is not None:
                judge.apply(new)
            sink.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in new))
            sink.flush()
            rows += new
            bar.update(len(chunk))
    bar.close()
    rows.sort(key=row_key)
    write_atomic(path, rows)  # canonical order: a resumed run ends with an uninterrupted run's file
    return rows


def summarize(config, rows: list[dict], out: Path) -> dict:
    """metrics.json, report.md and scaling.png from the rows."""
    from s1kit.eval_metrics import compute_metrics
    from s1kit.eval_report import write_report

    metrics = compute_metrics(config, rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_report(metrics, out)
    return metrics
