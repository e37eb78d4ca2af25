"""`s1kit curate`: pool -> quality -> decontamination -> difficulty -> domains -> selection -> files.

Every model call goes through ``OUT/cache.sqlite``, so a run that is interrupted resumes without
repeating a call, and a re-run with the same recipe and seed writes the same dataset.

Outputs in ``OUT``: ``dataset.jsonl`` and ``dataset.parquet`` (s1K's columns plus ``domain``,
``difficulty``, ``trace_tokens``, ``pick`` and ``pool_index``), ``manifest.json`` (counts per
stage, models, the resolved config), ``report.md``, ``domains.png`` and ``trace_lengths.png``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from s1kit.curate import benchmark, classify, difficulty, report
from s1kit.curate.cache import CallCache
from s1kit.curate.calls import ModelCalls
from s1kit.curate.config import CurateConfig
from s1kit.curate.decontaminate import build_index, decontaminate, load_eval_questions
from s1kit.curate.diversity import diversity
from s1kit.curate.pool import load_pool
from s1kit.curate.quality import quality
from s1kit.errors import S1kitError, check_output_dir
from s1kit.files import replacing, write_text
from s1kit.jsonl import write_atomic
from s1kit.locks import locked
from s1kit.recipes import as_dict

logger = logging.getLogger(__name__)


def main(config: CurateConfig, backends: dict | None = None) -> dict:
    """Curate ``config.pool`` into ``config.out``; returns the manifest. ``backends`` (model name ->
    backend) replaces loading, for tests."""
    config.check_ready()
    out = check_output_dir(config.out, "--out", "the curated dataset")
    with locked(out, "s1kit curate"):  # one writer per output directory (and its call cache)
        return _curate(config, backends, out)


def _curate(config: CurateConfig, backends: dict | None, out: Path) -> dict:
    pool = load_pool(config.pool, config.fields, config.split)
    stages = [quality(pool, config.quality)]
    index = build_index(load_eval_questions(config.eval_sets, config.data_dir), n=config.ngram)
    stages.append(decontaminate(stages[-1].kept, index))
    survivors = stages[-1].kept
    if not survivors:
        raise S1kitError(f"no pool record survived quality and decontamination ({_reasons(stages)}); "
                         "check the pool and the quality settings")
    difficulty.count_trace_tokens(survivors, config.tokenizer)

    calls = ModelCalls(CallCache(out / "cache.sqlite"), backends)
    try:
        verdicts, solvers = difficulty.solve(calls, survivors, config.solvers, config.answer_kind, config.judge)
        stages.append(difficulty.difficulty(survivors, verdicts))
        candidates = stages[-1].kept
        picks, bench = _benchmark_picks(calls, config, candidates)
        domains = _domains(calls, config, candidates)
        how = "diverse" if config.select == "s1k" else config.select
        stages.append(diversity(stages[-1].kept, config.size, config.seed, how,
                                domain_field=config.domain_field, first=picks))
    except KeyboardInterrupt:  # Ctrl-C: say what the cache keeps for the rerun
        raise KeyboardInterrupt(f"{calls.cache.saved} model replies saved in {calls.cache.path}; rerun the same "
                                "command to go on without asking them again") from None
    finally:
        calls.close()
        calls.cache.close()
    selected = stages[-1].kept
    for record in selected:
        record.setdefault("pick", how)
    manifest = {
        "pool": {"source": config.pool, "records": len(pool)},
        "stages": [{"name": s.name, **s.counts()} for s in stages],
        "benchmark_quality": bench,
        "solvers": solvers,
        "domains": {**domains, "selected": classify.domain_counts(selected, config.domain_field)},
        "trace_tokens": {"before_selection": report.length_summary(candidates),
                         "selected": report.length_summary(selected)},
        "selected": len(selected),
        "calls": {"made": calls.cache.calls, "cached": calls.cache.hits, "failed": len(calls.failures)},
        "seed": config.seed,
        "models": {"tokenizer": config.tokenizer, "solvers": [s.model for s in config.solvers],
                   "judge": config.judge and config.judge.model,
                   "classifier": config.classifier and config.classifier.model},
        "config": as_dict(config),
    }
    write_outputs(out, selected, candidates, manifest, config.domain_field)
    return manifest


def _benchmark_picks(calls: ModelCalls, config: CurateConfig, records: list[dict]) -> tuple[list[dict], dict | None]:
    """s1's benchmark-quality picks among the difficulty survivors (select: s1k only); teacher
    attempts are graded like solver answers."""
    if config.select != "s1k":
        return [], None
    graded = benchmark.needs_teacher_grade(records, config.benchmark)
    attempts = [r["attempt"] if isinstance(r.get("attempt"), str) else None for r in graded]
    correct = difficulty.rule_verdicts(graded, attempts, config.answer_kind, answer_only=True)
    if config.judge is not None:
        correct, _ = difficulty.judged(calls, config.judge, graded, attempts, correct)
    picks, reasons = benchmark.benchmark_picks(records, config.benchmark, {id(r): ok for r, ok in zip(graded, correct)})
    return picks, {"picked": len(picks), "reasons": reasons, "attempts_graded": len(graded)}


def _domains(calls: ModelCalls, config: CurateConfig, records: list[dict]) -> dict:
    """Give every record a domain; a classifier sees only the records without one."""
    missing = classify.unlabeled(records, config.domain_field)
    if not missing:
        return {"model": None, "classifier": None, "labeled": len(records)}
    if config.classifier is None:
        raise S1kitError(f"{len(missing)} record(s) have no '{config.domain_field}' (pool record "
                         f"{missing[0].get('pool_index')} is one); set a classifier in the recipe "
                         "(classifier: {model: ...}) or give the pool a domain column (fields: {domain: ...})")
    template = classify.load_template(config.classifier_template)
    prompts = [classify.classify_prompt(r["question"], template, config.classifier_codes) for r in missing]
    replies = calls.ask(config.classifier, prompts,
                        progress=f"classifier {config.classifier.model}", setting="classifier.model")
    counts = classify.assign_domains(missing, [None if r is None else r["answer"] for r in replies],
                                     config.domain_field)
    return {"model": config.classifier.model, "classifier": counts, "labeled": len(records) - len(missing)}


def write_outputs(out: Path, selected: list[dict], before: list[dict], manifest: dict, domain_field: str) -> None:
    """Every output whole or absent (s1kit.files). The manifest says the run finished: a previous
    run's goes first, and this run's comes last, so it never stands beside another run's files."""
    (out / "manifest.json").unlink(missing_ok=True)
    write_atomic(out / "dataset.jsonl", selected)
    write_parquet(out / "dataset.parquet", selected)
    report.plot_domains(before, selected, out / report.DOMAINS_PNG, domain_field)
    report.plot_lengths(before, selected, out / report.LENGTHS_PNG)
    write_text(out / "report.md", report.report_markdown(manifest))
    write_text(out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def write_parquet(path: Path, rows: list[dict]) -> None:
    """``rows`` as Parquet; columns whose values mix types (s1's metadata) are stored as JSON text."""
    from s1kit.errors import require

    pa = require("pyarrow", "curate")
    import pyarrow.parquet as pq

    columns = list(dict.fromkeys(key for row in rows for key in row))
    data = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 or kinds & {dict}:
            values = [None if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
        data[column] = values
    try:
        table = pa.table(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise S1kitError(f"cannot write {path} as Parquet ({exc}); the JSONL next to it holds the same rows") from None
    with replacing(path) as temporary:
        pq.write_table(table, temporary)


def _reasons(stages) -> str:
    return "; ".join(f"{s.name}: " + (", ".join(f"{k} {v}" for k, v in s.counts()["reasons"].items()) or "none dropped")
                     for s in stages)
