"""The `eval` stage: a task, a model, a sweep of budgets; graded samples, the paper's metrics, a
scaling plot and a report, written as they come so an interrupted run resumes.

Outputs in ``out``: ``config.json`` and ``config.yaml`` (the resolved settings, see eval/config.py), ``samples.jsonl``
(one row per question, sample and point), ``metrics.json``, ``report.md``, ``scaling.png`` and
``report.html`` (the curves, the metrics and every trace, to read in a browser; s1kit/view).

Work goes in chunks of units (a question and a sample index); each chunk's rows are appended and
flushed before the next starts. ``--resume`` keeps every complete unit, drops a torn last line or
a half-written unit, and generates the rest; every unit's seed depends only on its index, and the
file is rewritten in canonical order at the end, so a resumed run ends with the rows of an
uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

from s1kit.budget.forcing import request_seed
from s1kit.budget.sweep import output_tokens
from s1kit.errors import S1kitError, check_output_dir, shown
from s1kit.eval.config import EvalConfig, identity, saved, settings_hash, write_saved
from s1kit.files import open_append, write_text
from s1kit.grading.rules import grade
from s1kit.jsonl import json_line, write_atomic
from s1kit.locks import locked
from s1kit.runs.schema import SUMMED, row_problem


def unit_seed(config, question_index: int, sample: int) -> int:
    """The seed of one (question, sample): fixed by its index, whatever was done before."""
    return request_seed(config.sampling.seed, question_index * config.samples + sample)


def row_key(row: dict) -> tuple:
    return (row["question_index"], row["sample"], row["budget"] or 0, row["num_ignore"], row["variant"])


def load_done(path: Path, examples, points, samples: int, settings: str, also: frozenset[str] = frozenset()) -> list[dict]:
    """Rows of complete units from a previous run of the same questions, points and settings.

    A torn last line (the one being written when the run was stopped) and half-written units are
    dropped; a broken line elsewhere is dropped with a line on stderr saying so. A row of another
    question (the data changed), of a point this run does not have, or made with other settings
    (its ``settings_sha256`` is not ``settings``, eval.config.settings_hash) is refused in one line.
    Rows without a settings hash were saved before rows carried one: the run's config.json, which
    check_resume compared with this run's, vouches for them, and so it does for rows whose hash is
    one of ``also`` (the same settings, hashed over those the run's s1kit version had): a kept row
    is given this run's hash."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows, broken = [], []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number < len(lines):
                broken.append(number)
            continue
        if not isinstance(row, dict):
            broken.append(number)
            continue
        rows.append((number, row))
    if broken:
        print(f"warning: {path}: dropped {len(broken)} line(s) that are not JSON rows (line "
              f"{', '.join(map(str, broken[:5]))}{', ...' if len(broken) > 5 else ''}); their units are generated again",
              file=sys.stderr)
    keys = {p.key() for p in points}
    by_unit: dict[tuple, list[dict]] = {}
    for number, row in rows:
        check_row(path, number, row, examples, keys, samples, settings, also)
        if "settings_sha256" in row:
            row["settings_sha256"] = settings
        by_unit.setdefault((row["question_index"], row["sample"]), []).append(row)
    return [row for unit in by_unit.values() if {row_key(r)[2:] for r in unit} == keys and len(unit) == len(keys)
            for row in unit]


def check_row(path: Path, number: int, row: dict, examples, point_keys: set, samples: int, settings: str,
              also: frozenset[str] = frozenset()) -> None:
    """A saved row belongs to this run: its fields have their types, its question is the task's
    question at its index (same id, text and gold), its sample and point are ones this run makes,
    and it was made with this run's settings."""
    where = f"--resume on {path.parent}: {path.name} line {number}"
    fix = "; pass another --out, or delete the directory to start afresh"
    try:
        index, sample, key = row["question_index"], row["sample"], row_key(row)[2:]
    except (KeyError, TypeError):
        raise S1kitError(f"{where} is not an eval row (no question_index, sample, budget, num_ignore or variant){fix}") from None
    problem = row_problem(row, SUMMED)
    if problem is not None:
        raise S1kitError(f"{where}: {problem}{fix}")
    if not isinstance(index, int) or not 0 <= index < len(examples):
        raise S1kitError(f"{where} is question {index!r}, but the task has {len(examples)} questions{fix}")
    example = examples[index]
    for name, mine in (("question_id", example.id), ("question", example.question), ("gold", example.answer)):
        if row.get(name) != mine:
            raise S1kitError(f"{where} has {name} {shown(row.get(name))} where the task's question {index} has "
                             f"{shown(mine)}: the data changed since that run{fix}")
    if not isinstance(sample, int) or not 0 <= sample < samples:
        raise S1kitError(f"{where} is sample {sample!r}, but this run makes {samples} per question{fix}")
    if key not in point_keys:
        raise S1kitError(f"{where} is a point (budget {row.get('budget')}, num_ignore {row.get('num_ignore')}) "
                         f"this run does not have{fix}")
    made_with = row.get("settings_sha256", settings)
    if made_with != settings and made_with not in also:
        raise S1kitError(f"{where} was made with other settings than this run and its config.json (settings hash "
                         f"{made_with} there, {settings} now): it comes from another run{fix}")


def saved_record(out: Path) -> dict | None:
    """The run's config.json (checked by check_resume), or None."""
    try:
        record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def data_identity(examples) -> dict:
    """What a run's questions were: their number and a hash of every id, question and gold."""
    digest = hashlib.sha256(json.dumps([[e.id, e.question, e.answer] for e in examples], ensure_ascii=False).encode())
    return {"examples": len(examples), "sha256": digest.hexdigest()}


def make_row(config, task_kind: str, example, question_index: int, sample: int, point, generation, decoded: int,
             settings: str, extras: dict | None = None) -> dict:
    """A row of samples.jsonl: one unit at one point, graded; ``settings``: the run's settings hash."""
    graded = grade(generation.text, example.answer, task_kind)
    extras = dict(extras or {})
    for name, text in extras.pop("vote_texts", {}).items():  # a search's other votes, graded as the row is
        extras[f"{name}_correct"] = text is not None and grade(text, example.answer, task_kind).correct
    return {
        "question_index": question_index, "question_id": example.id, "sample": sample, "method": config.method,
        "budget": point.budget, "variant": point.variant, "max_thinking_tokens": point.cap,
        "num_ignore": point.num_ignore, "instruction": point.instruction,
        "question": example.question, "gold": example.answer, **generation.row_fields(),
        "output_tokens": output_tokens(generation), "decoded_tokens": decoded,
        "extracted_answer": graded.extracted, "correct": graded.correct, "grading_timed_out": graded.timed_out,
        "settings_sha256": settings, **extras,
    }


def grade_again(rows: list[dict], task_kind: str, judge=None, where: str = "") -> list[dict]:
    """Grade saved rows again from their output and gold, in place, so that a verdict edited by hand
    or left by older grading never counts; return the rows whose verdict changed (named on stderr).

    With a judge, a row keeps the judge's readable verdict while the rules give what they gave when
    it was judged; a row whose rules' verdict changed goes to the judge again (in fallback mode the
    judge sees only rows the rules call wrong)."""
    changed, again = [], []
    for row in rows:
        graded = grade(row["text"], row["gold"], task_kind)
        fresh = {"extracted_answer": graded.extracted, "grading_timed_out": graded.timed_out, "correct": graded.correct}
        if judge is not None:
            if row.get("rule_correct") == graded.correct and "judge_verdict" in row:
                verdict = row["judge_verdict"] if row.get("judged") else None
                fresh["correct"] = graded.correct if verdict is None else verdict
            else:
                again.append(row)
        if any(row.get(name) != fresh[name] or type(row.get(name)) is not type(fresh[name])
               for name in ("correct", "extracted_answer")):
            changed.append(row)
        row.update(fresh)
    if again:
        judge.apply(again)  # sets rule_correct from the rules' verdict, then the judge's
    if changed:
        named = "; ".join(f"question {r['question_index']} sample {r['sample']} budget {r['budget']}" for r in changed[:3])
        print(f"warning: {where}: {len(changed)} kept row(s) held a verdict their output and gold do not give "
              f"({named}{'; ...' if len(changed) > 3 else ''}); graded again", file=sys.stderr)
    return changed


def run_chunk(backend, config, questions: list[str], seeds: list[int], kind: str = "math", prm=None):
    """The method's generations for a chunk of units (methods.point_run.PointRun per point);
    ``prm``: the loaded process reward model of a search (reward.load)."""
    from s1kit.methods.point_run import run_grouped
    from s1kit.methods.rejection import run_rejection

    points = config.points()
    sampling = config.sampling
    options = dict(fmt=config.format, system_prompt=config.system_prompt, batch_size=config.batch_size)
    if config.method == "rejection":
        return run_rejection(backend, questions, points, config.base_budget(), sampling, seeds,
                             max_tries=config.max_tries, **options)
    if config.method == "alpha-one":
        from s1kit.methods.alpha_one import run_alpha_one

        return run_alpha_one(backend, questions, points, config.base_budget(), sampling, seeds, config=config.alpha_one,
                             **options)
    if config.method == "no-thinking":
        from s1kit.methods.no_thinking import run_no_thinking

        return run_no_thinking(backend, questions, points, config.base_budget(), sampling, seeds, **options)
    if config.method == "probe-exit":
        from s1kit.grading.rules import extract_answer
        from s1kit.methods.probe_exit import run_probe_exit

        return run_probe_exit(backend, questions, points, config.base_budget(), sampling, seeds, probe=config.probe,
                              extract=lambda text: extract_answer(text, kind), **options)
    if config.method == "deepconf":
        from s1kit.methods.deepconf import run_deepconf

        return run_deepconf(backend, questions, points, config.base_budget(), sampling, seeds, config=config.deepconf,
                            **options)
    if config.method in ("rebase", "beam"):
        from s1kit.grading.rules import extract_answer
        from s1kit.methods.search import run_search

        return run_search(config.method, backend, questions, points, config.base_budget(), sampling, seeds,
                          config=config.search, prm=prm, extract=lambda text: extract_answer(text, kind),
                          delimiter=config.step_delimiter(), **options)
    return run_grouped(backend, questions, points, config.base_budget(), sampling, seeds, **options)


def run_units(backend, config, task, examples, out: Path, settings: str, kept: list[dict], judge=None,
              prm=None) -> list[dict]:
    """Generate and grade every unit not done yet; rows are appended chunk by chunk (graded by the
    rules, then by the judge if there is one, before they are written). ``kept``: the rows --resume
    keeps (load_done), graded again first (:func:`grade_again`); ``prm``: the loaded --prm."""
    from s1kit.progress import progress

    path = out / "samples.jsonl"
    rows = list(kept)
    grade_again(rows, task.kind, judge, f"--resume on {out}")
    write_atomic(path, rows)  # drop what load_done dropped and correct what grade_again corrected, before appending
    done = {(r["question_index"], r["sample"]) for r in rows}
    todo = [(qi, s) for qi in range(len(examples)) for s in range(config.samples) if (qi, s) not in done]
    bar = progress(len(examples) * config.samples, f"eval {config.task} ({config.method})", "unit", initial=len(done))
    with open_append(path) as sink:
        for start in range(0, len(todo), config.chunk_units):
            chunk = todo[start : start + config.chunk_units]
            runs = run_chunk(backend, config, [examples[qi].question for qi, _ in chunk],
                             [unit_seed(config, qi, s) for qi, s in chunk], task.kind, prm)
            new = [make_row(config, task.kind, examples[qi], qi, s, run.point, run.generations[j], run.decoded[j],
                            settings, run.extras[j] if run.extras else None)
                   for run in runs for j, (qi, s) in enumerate(chunk)]
            new.sort(key=row_key)
            if prm is not None and config.method in ("majority", "best-of-n"):
                from s1kit.methods.parallel import score_rows

                score_rows(new, prm, config.step_delimiter(), config.search.prm_aggregate)
            if judge is not None:
                judge.apply(new)
            if config.method == "best-of-n" and not rows:
                from s1kit.methods.parallel import get_scorer, scored

                scored(get_scorer(config.scorer), config.scorer, new[0])  # a broken scorer stops the run now
            sink.write("".join(json_line(r) for r in new))
            sink.flush()
            rows += new
            bar.update(len(chunk))
    bar.close()
    rows.sort(key=row_key)
    write_atomic(path, rows)  # canonical order: a resumed run ends with an uninterrupted run's file
    return rows


def summarize(config, rows: list[dict], out: Path) -> dict:
    """metrics.json, report.md, scaling.png and report.html (the page of every trace) from the rows."""
    from s1kit.eval.report import write_report
    from s1kit.eval.summary import compute_metrics
    from s1kit.view.page import report_html

    metrics = compute_metrics(config, rows)
    write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_report(metrics, out)
    report_html(out, metrics, rows)
    return metrics


def check_resume(config: EvalConfig, out: Path, model_source: dict | None = None, data: dict | None = None) -> None:
    """Refuse to mix runs: an existing run needs --resume and the same settings, backend, versions
    and weights."""
    saved_path, samples = out / "config.json", out / "samples.jsonl"
    has_samples = samples.exists() and samples.stat().st_size > 0
    if not config.resume:
        if has_samples:
            raise S1kitError(f"{out} already holds samples; pass --resume to continue that run, or another --out")
        return
    if not saved_path.exists():
        if has_samples:
            raise S1kitError(f"--resume on {out}: it holds samples.jsonl but no config.json, so nothing shows which "
                             "run made them; pass another --out, or delete samples.jsonl to start afresh")
        return  # nothing to resume: start fresh
    try:
        there = json.loads(saved_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise S1kitError(f"--resume on {out}: its config.json is not valid JSON, so nothing shows which run made "
                         "its samples; pass another --out") from None
    if not isinstance(there, dict):
        raise S1kitError(f"--resume on {out}: its config.json is not a mapping of settings; pass another --out")
    there = identity(there)
    now = identity(json.loads(json.dumps(saved(config, "", model_source, data))))
    differences = [f"{name}: {there.get(name)!r} there, {value!r} now" for name, value in now.items()
                   if there.get(name) != value]
    if differences:
        raise S1kitError(f"--resume on {out}, made with another config ({'; '.join(differences)}); "
                         "use the same settings, or another --out")


def main(config: EvalConfig, backend=None) -> dict:
    """Run the evaluation; return the metrics (also written to out/metrics.json).

    ``backend``: an already loaded backend of ``config.model`` to run on (left open); default: one is
    loaded from ``config.backend`` and ``config.backend_options``, and closed at the end."""
    from s1kit.formats import check_format_name
    from s1kit.models import model_source
    from s1kit.tasks import get_task

    # Cheap checks first: a typo should not cost a model load.
    check_format_name(config.format)
    task = get_task(config.task, question_field=config.question_field, answer_field=config.answer_field,
                    id_field=config.id_field, kind=config.kind)
    out = Path(config.out)
    source = None if config.backend == "openai" else model_source(config.model)
    examples = task.load(config.data_dir, config.limit, config.sampling.seed)
    if not examples:
        raise S1kitError(f"task {config.task} has no examples; check --data-dir and --limit")
    data = data_identity(examples)
    check_output_dir(out, "--out", "the run's files")
    prm = None
    if config.search.prm is not None:  # before the model and any file: a PRM that cannot load costs neither
        from s1kit.reward.load import load_prm

        prm = load_prm(config.search.prm, config.backend_options.device)
    record = saved(config, task.kind, source, data)
    with locked(out, f"s1kit eval --task {config.task}"):  # one writer per run directory
        check_resume(config, out, source, data)
        settings = settings_hash(record)
        # Rows of a run made by an earlier s1kit carry the hash of its config.json's settings (which
        # check_resume found the same as this run's).
        there = saved_record(out) if config.resume else None
        also = frozenset({settings_hash(there, within=frozenset(there))}) if there else frozenset()
        # Before the model loads: rows of another run cost no model load to refuse.
        kept = load_done(out / "samples.jsonl", examples, config.points(), config.samples, settings, also) if config.resume else []
        write_saved(out, record)
        try:
            rows = _generate(config, backend, task, examples, out, settings, kept, prm)
            return summarize(config, rows, out)
        except KeyboardInterrupt:  # Ctrl-C: say what a --resume keeps
            done = {(r["question_index"], r["sample"])
                    for r in load_done(out / "samples.jsonl", examples, config.points(), config.samples, settings)}
            raise KeyboardInterrupt(f"{len(done)} of {len(examples) * config.samples} units saved; "
                                    "rerun with --resume") from None


def _generate(config: EvalConfig, backend, task, examples, out: Path, settings: str, kept: list[dict],
              prm=None) -> list[dict]:
    from s1kit.backends import load_backend

    engine = backend if backend is not None else load_backend(config.backend, config.model, config.backend_options)
    judge = None
    try:
        if config.judge is not None:
            from s1kit.grading.judge import Judge

            spec = config.judge
            if (spec.model, spec.backend, spec.base_url) == (config.model, config.backend, None):
                # The model judges its own outputs: one loaded engine serves both (a second vLLM
                # engine of the same model would ask for the GPU memory twice).
                judge = Judge(spec, backend=engine)
            else:
                judge_backend = dataclasses.replace(
                    config.backend_options, **({"base_url": spec.base_url} if spec.base_url else {}))
                judge = Judge(spec, backend_config=judge_backend)
        return run_units(engine, config, task, examples, out, settings, kept, judge, prm)
    finally:
        # A judge closes only a backend it loaded; the caller's backend stays open.
        for model in (judge, None if backend is not None else engine):
            if model is not None:
                model.close()

