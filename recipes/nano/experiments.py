"""The measurements behind s1-nano's claims, each an s1kit command, summarized in one markdown file.

    .venv/bin/python recipes/nano/experiments.py                       # the bundled s1-nano on the held-out task
    .venv/bin/python recipes/nano/experiments.py --task nano-dev       # the development split (tune here only)
    CURATION=s1 OUT=runs/nano-s1 bash recipes/nano/run.sh                 # the s1-curated arm, once
    .venv/bin/python recipes/nano/experiments.py --data-ablation runs/nano runs/nano-s1   # plus s1's Table 2
    .venv/bin/python recipes/nano/experiments.py --data-ablation runs/nano runs/nano-s1 --data-only --out runs/nano/data
    .venv/bin/python recipes/nano/experiments.py --seeds 0,1,2 [--run runs/nano]   # the recipe over training seeds

Writes OUT/experiments.md (the tables), OUT/experiments.json (the numbers) and the eval runs beside them:

1. **Cap curve** (s1 Figure 4a's x-axis): greedy budget forcing at caps from tiny to generous; the
   last point is the model's natural length (no cap at all).
2. **Extension**: 0, 1, 2, 4 and 8 forced "Wait"s at a cap large enough for them to matter.
3. **Methods** (s1 Table 3): budget forcing, token-conditional prompting, rejection sampling and
   majority vote, through ``s1kit compare``.
4. **Sequential vs parallel** (s1 Figure 4b): Wait extensions against majority vote over samples,
   on one thinking-token axis.
5. **Data** (s1 Table 2, with ``--data-ablation RUN S1_RUN``): the same model and training steps on
   the whole clean pool (``recipes/nano/run.sh``, the bundled model), on s1's curation of it
   (``CURATION=s1``: difficulty against a weak solver, then s1's sampler) and on a uniformly random
   subset of the curated size; each evaluated at its natural length and with one Wait.
6. **Training seeds** (``--seeds``): the recipe trained with each seed on the shipped model's data
   (the recipe's own seed is the bundled s1-nano, not retrained), experiments 1-4 on each model, and per
   metric the mean, the sample standard deviation and the range over seeds (OUT/seeds.md,
   OUT/seeds.json, each seed's own tables in OUT/seed-N/).

Every run is deterministic (greedy decoding, seeded sampling), so rerunning gives the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from s1kit.metrics import scaling as scaling_metric

ROOT = Path(__file__).resolve().parents[2]
CAPS = (4, 8, 16, 24, 32, 48, 64, 96, 128)
EXTEND_CAP = 256
IGNORES = (0, 1, 2, 4, 8)
MAJORITY_SAMPLES = 16


def s1kit(*args: str) -> None:
    command = [sys.executable, "-m", "s1kit", *args]
    print("+ s1kit " + " ".join(args), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, cwd=ROOT, stdout=sys.stderr)  # stdout holds only the summary


def evaluate(out: Path, model: str, task: str, limit: int | None, *extra: str) -> dict:
    """One ``s1kit eval`` into ``out`` (fresh), returning its metrics."""
    shutil.rmtree(out, ignore_errors=True)
    s1kit("eval", "--task", task, "--model", model, "--out", str(out), "--batch-size", "64",
          "--max-answer-tokens", "24", *(("--limit", str(limit)) if limit else ()), *extra)
    return json.loads((out / "metrics.json").read_text())


def point(metrics: dict, budget, num_ignore: int = 0) -> dict:
    for p in metrics["points"]:
        if p["budget"] == budget and p["num_ignore"] == num_ignore:
            return p
    raise KeyError((budget, num_ignore))


def row(label: str, p: dict) -> list[str]:
    return [label, f"{100 * p['accuracy']:.1f} ± {100 * p['stderr']:.1f}", f"{p['avg_thinking_tokens']:.1f}",
            f"{100 * p['forced_end_share']:.0f}%", f"{p['avg_waits']:.2f}"]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


POINT_HEADER = ["point", "accuracy (%)", "avg thinking tokens", "cap reached", "avg Waits"]


def scaling(model: str, task: str, out: Path, limit: int | None) -> tuple[dict, list[str]]:
    caps = evaluate(out / "caps", model, task, limit, "--budgets", ",".join(map(str, CAPS)))
    natural = evaluate(out / "natural", model, task, limit)
    extend = evaluate(out / "extend", model, task, limit, "--budgets", str(EXTEND_CAP),
                      "--num-ignore", ",".join(map(str, IGNORES)))
    cap_points = [point(caps, c) for c in CAPS] + [point(natural, None)]
    accuracies = [p["accuracy"] for p in cap_points]
    monotone = all(b >= a for a, b in zip(accuracies, accuracies[1:]))
    curve = caps["curves"][0]
    base = point(extend, EXTEND_CAP, 0)
    gains = {k: point(extend, EXTEND_CAP, k)["accuracy"] - base["accuracy"] for k in IGNORES if k}
    summary = {
        "caps": [{"budget": p["budget"], "accuracy": p["accuracy"], "stderr": p["stderr"],
                  "avg_thinking_tokens": p["avg_thinking_tokens"], "forced_end_share": p["forced_end_share"],
                  "control": p["control"]} for p in cap_points],
        "cap_curve_monotone": monotone, "control": curve["control"],
        "scaling": scaling_metric([(p["avg_thinking_tokens"], p["accuracy"]) for p in cap_points]),
        "extension": [{"num_ignore": k, **{key: point(extend, EXTEND_CAP, k)[key] for key in
                                           ("accuracy", "stderr", "avg_thinking_tokens", "avg_waits")}} for k in IGNORES],
        "extension_gain": gains,
    }
    md = [f"## Cap curve ({caps['questions']} problems of `{task}`, greedy)", "",
          table(POINT_HEADER, [row(f"cap {p['budget']}" if p["budget"] else "no cap (natural)", p) for p in cap_points]),
          "", f"Monotone: {'yes' if monotone else 'no'}. Control (share of points within their cap): "
              f"{100 * curve['control']:.0f}%. Scaling (s1's mean slope over all pairs, accuracy points per doubling "
              f"of thinking tokens) over the caps up to the natural length: {summary['scaling']:.1f}.",
          "", f"## Extension: forced Waits at cap {EXTEND_CAP}", "",
          table(POINT_HEADER + ["gain (points)"],
                [row(f"{k} Waits", point(extend, EXTEND_CAP, k)) + [f"{100 * gains.get(k, 0):+.1f}"] for k in IGNORES]), ""]
    return summary, md


def methods(model: str, task: str, out: Path, limit: int | None) -> tuple[dict, list[str]]:
    budgets = ",".join(map(str, CAPS[1::2]))
    runs = {"budget-forcing": evaluate(out / "budget-forcing", model, task, limit, "--budgets", budgets)}
    runs["token-conditional"] = evaluate(out / "token-conditional", model, task, limit, "--method", "token-conditional",
                                         "--budgets", budgets)
    runs["rejection"] = evaluate(out / "rejection", model, task, limit, "--method", "rejection", "--budgets", budgets,
                                 "--max-tries", "16")
    runs["majority"] = evaluate(out / "majority", model, task, limit, "--method", "majority", "--samples",
                                str(MAJORITY_SAMPLES), "--temperature", "1.0")
    s1kit("compare", *(str(out / name) for name in runs), "--out", str(out / "compare.png"))
    compare_md = (out / "compare.md").read_text()
    # Sequential (Waits) against parallel (votes) on one axis: the extension run and the majority run.
    s1kit("compare", str(out / "extend"), str(out / "majority"), "--out", str(out / "sequential-parallel.png"))
    sp_md = (out / "sequential-parallel.md").read_text()
    summary = {name: [{"label": c["label"], "control": c["control"], "scaling": c["scaling"],
                       "performance": c["performance"], "series": c["series"]} for c in m["curves"]]
               for name, m in runs.items()}
    md = ["## Methods (s1 Table 3)", "", compare_md.strip(), "",
          "## Sequential (Waits) vs parallel (majority vote)", "", sp_md.strip(), ""]
    return summary, md


def data_ablation(run: Path, s1_run: Path, task: str, out: Path, limit: int | None) -> tuple[dict, list[str]]:
    """The same model and training steps on three data sets, each evaluated like the main model.

    ``run`` is recipes/nano/run.sh's OUT (the whole clean pool, the bundled model) and ``s1_run`` the
    OUT of ``CURATION=s1 recipes/nano/run.sh`` on the same pool (difficulty + s1's sampler). The third
    set, a uniformly random subset of the s1 set's size, is curated and trained here. All three went
    through the same quality and decontamination stages, so none holds a held-out question."""
    import yaml

    pool_size = _examples(run / "curated")
    size = _examples(s1_run / "curated")
    if (run / "pool.jsonl").read_bytes() != (s1_run / "pool.jsonl").read_bytes():
        raise SystemExit(f"error: {run} and {s1_run} were built from different pools; run both with the same POOL")
    recipe = yaml.safe_load((ROOT / "recipes/nano/curate.yaml").read_text())
    recipe.update(select="random")
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "data" / "random.yaml").write_text(yaml.safe_dump(recipe))
    random_set, random_model = out / "data" / "random", out / "data" / "random-model"
    shutil.rmtree(random_set, ignore_errors=True)
    s1kit("curate", "--recipe", str(out / "data" / "random.yaml"), "--pool", str(run / "pool.jsonl"),
          "--out", str(random_set), "--size", str(size))
    s1kit("train", "--recipe", "recipes/nano/train.yaml", "--data", str(random_set), "--output-dir", str(random_model),
          "--overwrite")
    arms = {"s1 curation (difficulty + s1's sampler)": ("s1", s1_run / "curated", s1_run / "model"),
            f"random {size}": ("random", random_set, random_model),
            f"whole clean pool ({pool_size}, bundled)": ("whole", run / "curated", run / "model")}
    summary, rows = {}, []
    for name, (key, data, model) in arms.items():
        result = evaluate(out / "data" / f"{key}-eval", str(model), task, limit, "--budgets",
                          str(EXTEND_CAP), "--num-ignore", "0,1")
        base, wait = point(result, EXTEND_CAP, 0), point(result, EXTEND_CAP, 1)
        summary[name] = {"examples": _examples(data), "accuracy": base["accuracy"], "stderr": base["stderr"],
                         "accuracy_1_wait": wait["accuracy"], "avg_thinking_tokens": base["avg_thinking_tokens"]}
        rows.append([name, str(summary[name]["examples"]), f"{100 * base['accuracy']:.1f} ± {100 * base['stderr']:.1f}",
                     f"{100 * wait['accuracy']:.1f}", f"{base['avg_thinking_tokens']:.1f}"])
    md = ["## Data (s1 Table 2): same model, same training steps, different training sets", "",
          table(["training set", "examples", "accuracy (%)", "with 1 Wait (%)", "avg thinking tokens"], rows), ""]
    return summary, md


def _examples(path: Path) -> int:
    path = path / "dataset.jsonl" if path.is_dir() else path
    return sum(1 for _ in open(path))


SHIPPED = ROOT / "src" / "s1kit" / "checkpoints" / "s1-nano"
TRAIN_RECIPE = "recipes/nano/train.yaml"
POOL_SIZE = 20000
"""recipes/nano/run.sh's POOL: the pool the shipped model's training set was curated from."""


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` -> [0, 1, 2]: distinct non-negative integers."""
    parts = [part.strip() for part in text.split(",")]
    bad = next((part for part in parts if not part.isdigit()), None)
    if bad is not None:
        raise SystemExit(f"error: --seeds {text!r}: {bad!r} is not a seed; give non-negative integers, e.g. 0,1,2")
    seeds = [int(part) for part in parts]
    if len(set(seeds)) < len(seeds):
        raise SystemExit(f"error: --seeds {text!r} names a seed twice; give each seed once")
    return seeds


def seed_data(run: Path, pool_size: int) -> Path:
    """RUN/curated, made as recipes/nano/run.sh's steps 1-2 make it (same recipe files) unless it holds
    a finished curation: s1kit curate writes manifest.json last."""
    curated = run / "curated"
    if not (curated / "manifest.json").is_file():
        run.mkdir(parents=True, exist_ok=True)
        s1kit("synth", "--recipe", "recipes/nano/pool.yaml", "--size", str(pool_size), "--out", str(run / "pool.jsonl"))
        shutil.rmtree(curated, ignore_errors=True)
        s1kit("curate", "--recipe", "recipes/nano/curate.yaml", "--pool", str(run / "pool.jsonl"), "--out", str(curated))
    return curated


def curation_difference(stages: list[dict], shipped: list[dict]) -> str | None:
    """How a curation's stages differ from those the shipped model's training set went through, or None."""
    def counts(stages):
        return [(s["name"], s["kept"], s["dropped"], s["reasons"]) for s in stages]

    def kept(stages):
        return ", ".join(f"{s['name']} {s['kept']}" for s in stages)

    if counts(stages) == counts(shipped):
        return None
    return f"its stages kept {kept(stages)}; s1-nano's kept {kept(shipped)}"


def finished_model(model_dir: Path, seed: int, max_steps: int, data: Path) -> bool:
    """Whether ``model_dir`` holds a whole model of this seed, step count and data. s1kit train writes
    train_summary.json after the final model, so a run killed before it has none and trains again."""
    import yaml

    saved = model_dir / "train_config.yaml"
    if not ((model_dir / "train_summary.json").is_file() and saved.is_file()):
        return False
    config = yaml.safe_load(saved.read_text()) or {}
    return (config.get("seed"), config.get("max_steps"), Path(str(config.get("data"))).resolve()) == (
        seed, max_steps, data.resolve())


def seed_model(run: Path, seed: int, recipe: dict, data: Path, max_steps: int | None) -> str:
    """The model of one training seed: the bundled s1-nano for the recipe's own seed, else the
    recipe trained with ``seed`` into RUN/seed-N/model (kept when a finished one is there)."""
    if seed == recipe["seed"]:
        print(f"seed {seed}: the recipe's own seed, the bundled s1-nano (not retrained)", file=sys.stderr, flush=True)
        return "s1-nano"
    model_dir = run / f"seed-{seed}" / "model"
    steps = recipe["max_steps"] if max_steps is None else max_steps
    if finished_model(model_dir, seed, steps, data):
        print(f"seed {seed}: {model_dir} holds its finished model (not retrained)", file=sys.stderr, flush=True)
    else:
        s1kit("train", "--recipe", TRAIN_RECIPE, "--data", str(data), "--output-dir", str(model_dir), "--overwrite",
              f"seed={seed}", *((f"max_steps={max_steps}",) if max_steps is not None else ()))
    return str(model_dir)


def seed_metrics(result: dict) -> dict[str, float]:
    """The numbers compared across seeds, from one model's scaling() and methods() summaries:
    accuracies, Wait gains and Performance in percent, Scaling in points per doubling."""
    scaling_summary = result["scaling"]
    metrics = {}
    for p in scaling_summary["caps"]:
        name = "natural length" if p["budget"] is None else f"cap {p['budget']}"
        metrics[f"accuracy (%), {name}"] = 100 * p["accuracy"]
    metrics["thinking tokens, natural length"] = scaling_summary["caps"][-1]["avg_thinking_tokens"]
    for k, gain in scaling_summary["extension_gain"].items():
        metrics[f"Wait gain (points), {k} Waits"] = 100 * gain
    metrics["Scaling, cap curve"] = scaling_summary["scaling"]
    for run, curves in result.get("methods", {}).items():
        for curve in curves:
            if curve.get("performance") is not None:
                label = run if curve["label"] == run else f"{run} / {curve['label']}"
                metrics[f"Performance (%), {label}"] = 100 * curve["performance"]
    return metrics


def aggregate(per_seed: dict[int, dict[str, float | None]]) -> dict[str, dict]:
    """Per metric, in first-seen order: its value for each seed and, over the seeds that have one,
    their number, mean, sample standard deviation (n - 1 in the denominator; None for one seed),
    minimum and maximum."""
    import statistics

    names = dict.fromkeys(name for metrics in per_seed.values() for name in metrics)
    out = {}
    for name in names:
        values = {seed: metrics[name] for seed, metrics in per_seed.items() if metrics.get(name) is not None}
        if not values:
            continue
        xs = list(values.values())
        out[name] = {"values": values, "n": len(xs), "mean": statistics.fmean(xs),
                     "std": statistics.stdev(xs) if len(xs) > 1 else None, "min": min(xs), "max": max(xs)}
    return out


def seeds_table(aggregated: dict[str, dict], models: dict[int, str]) -> str:
    def number(name: str, value: float) -> str:
        return f"{value:+.1f}" if "gain" in name else f"{value:.1f}"

    header = ["metric", *(f"seed {seed}" + (" (s1-nano)" if model == "s1-nano" else "") for seed, model in models.items()),
              "mean ± std", "min – max"]
    rows = []
    for name, a in aggregated.items():
        spread = number(name, a["mean"]) + ("" if a["std"] is None else f" ± {a['std']:.1f}")
        rows.append([name, *(number(name, a["values"][seed]) if seed in a["values"] else "–" for seed in models),
                     spread, f"{number(name, a['min'])} – {number(name, a['max'])}"])
    return table(header, rows)


def seeds(seed_list: list[int], run: Path, task: str, out: Path, limit: int | None, skip_methods: bool,
          max_steps: int | None, pool_size: int | None) -> tuple[dict, list[str]]:
    """The recipe over training seeds: each seed's model (trained one at a time), the cap curve, the
    extension and the methods on each, and per metric the mean and spread over the seeds."""
    import time

    import yaml

    recipe = yaml.safe_load((ROOT / TRAIN_RECIPE).read_text())
    provenance = json.loads((SHIPPED / "provenance.json").read_text())
    if yaml.safe_load(provenance["train_config"])["seed"] != recipe["seed"]:
        raise SystemExit(f"error: {TRAIN_RECIPE} has seed {recipe['seed']} but the bundled s1-nano was trained with "
                         "another; rebundle s1-nano (BUNDLE=1 recipes/nano/run.sh) before comparing seeds")
    wall = {"train": {}, "evaluate": {}}
    started = time.monotonic()
    data = seed_data(run, pool_size or POOL_SIZE)
    wall["data"] = time.monotonic() - started
    difference = curation_difference(json.loads((data / "manifest.json").read_text())["stages"], provenance["curation"])
    if difference and pool_size is None:
        raise SystemExit(f"error: {data} is not the training set s1-nano was trained on ({difference}); remove {data} "
                         f"to curate it again from a pool of {POOL_SIZE}")
    if difference:
        print(f"note: --pool {pool_size}: the seeds train on other data than s1-nano ({difference})", file=sys.stderr)
    models = {}
    for seed in seed_list:
        started = time.monotonic()
        models[seed] = seed_model(run, seed, recipe, data, max_steps)
        wall["train"][seed] = time.monotonic() - started
    results, per_seed = {}, {}
    for seed, model in models.items():
        started, seed_out = time.monotonic(), out / f"seed-{seed}"
        seed_out.mkdir(parents=True, exist_ok=True)
        result = {"model": model, "task": task, "seed": seed}
        result["scaling"], md = scaling(model, task, seed_out, limit)
        if not skip_methods:
            result["methods"], part = methods(model, task, seed_out, limit)
            md += part
        (seed_out / "experiments.json").write_text(json.dumps(result, indent=2) + "\n")
        (seed_out / "experiments.md").write_text(
            "\n".join([f"# s1-nano experiments: `{model}` (training seed {seed}) on `{task}`", "", *md]) + "\n")
        results[seed], per_seed[seed] = result, seed_metrics(result)
        wall["evaluate"][seed] = time.monotonic() - started
    aggregated = aggregate(per_seed)
    questions = json.loads((out / f"seed-{seed_list[0]}" / "caps" / "metrics.json").read_text())["questions"]
    steps = recipe["max_steps"] if max_steps is None else max_steps
    summary = {"seeds": seed_list, "models": models, "task": task, "questions": questions, "max_steps": steps,
               "data": str(data), "same_data_as_s1_nano": difference is None, "metrics": aggregated,
               "wall_seconds": wall}
    md = [f"## Training seeds ({len(seed_list)} seeds, {questions} problems of `{task}`, greedy)", "",
          f"`{TRAIN_RECIPE}` ({steps} steps) on "
          + ("the training set s1-nano was trained on" if difference is None else f"other data than s1-nano's ({difference})")
          + f"; seed {recipe['seed']}, the recipe's own, is the bundled s1-nano (not retrained), the others are trained "
          f"here. Caps {', '.join(map(str, CAPS))} and the natural length; 1, 2, 4 and 8 forced Waits at cap {EXTEND_CAP}"
          + ("" if skip_methods else "; the methods' Performance through `s1kit compare`")
          + ". Mean ± sample standard deviation and range over the seeds; each seed's own tables are in its "
          "seed-N/experiments.md.", "",
          seeds_table(aggregated, models), "",
          "Wall time: data " + f"{wall['data'] / 60:.1f} min, training "
          + (", ".join(f"seed {s} {t / 60:.1f} min" for s, t in wall["train"].items() if models[s] != "s1-nano") or "none")
          + "; evaluation "
          + ", ".join(f"seed {s} {t / 60:.1f} min" for s, t in wall["evaluate"].items()) + ".", ""]
    return summary, md


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="s1-nano")
    parser.add_argument("--task", default="nano")
    parser.add_argument("--out", default="runs/nano/experiments")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--skip-methods", action="store_true", help="only the cap curve and the extension")
    parser.add_argument("--data-ablation", nargs=2, metavar=("RUN", "S1_RUN"),
                        help="the OUTs of recipes/nano/run.sh and of CURATION=s1 recipes/nano/run.sh: compare three data sets")
    parser.add_argument("--data-only", action="store_true", help="with --data-ablation: skip the other experiments")
    parser.add_argument("--seeds", help="comma-separated training seeds, e.g. 0,1,2: the recipe trained with each "
                        "(its own seed is the bundled s1-nano), every model evaluated, mean and spread over seeds")
    parser.add_argument("--run", default="runs/nano", help="with --seeds: the OUT of recipes/nano/run.sh, whose "
                        "curated set the seeds train on (made when missing); models go to RUN/seed-N/model")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="with --seeds: train the other seeds this many steps instead of train.yaml's (a trial run)")
    parser.add_argument("--pool", type=int, default=None, help=f"with --seeds: the pool size when RUN/curated is made "
                        f"(default {POOL_SIZE}, s1-nano's); another size trains on other data than s1-nano (a trial run)")
    args = parser.parse_args()
    if args.seeds is None and (args.max_steps is not None or args.pool is not None):
        raise SystemExit("error: --max-steps and --pool set how --seeds trains; add --seeds or drop them")
    for name in ("max_steps", "pool"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} {getattr(args, name)} must be a positive integer")
    seed_list = None if args.seeds is None else parse_seeds(args.seeds)
    if seed_list is not None and (args.data_ablation or args.data_only or args.model != "s1-nano"):
        raise SystemExit("error: --seeds picks each seed's model and runs alone; drop --model, --data-ablation and --data-only")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if seed_list is not None:
        result, md = seeds(seed_list, Path(args.run), args.task, out, args.limit, args.skip_methods,
                           args.max_steps, args.pool)
        (out / "seeds.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "seeds.md").write_text("\n".join(md) + "\n")
        print("\n".join(md))
        return
    result = {"model": args.model, "task": args.task}
    md = [f"# s1-nano experiments: `{args.model}` on `{args.task}`", ""]
    if args.data_only and not args.data_ablation:
        parser.error("--data-only needs --data-ablation RUN S1_RUN")
    if not args.data_only:
        result["scaling"], part = scaling(args.model, args.task, out, args.limit)
        md += part
    if not (args.skip_methods or args.data_only):
        result["methods"], part = methods(args.model, args.task, out, args.limit)
        md += part
    if args.data_ablation:
        result["data"], part = data_ablation(*map(Path, args.data_ablation), args.task, out, args.limit)
        md += part
    (out / "experiments.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "experiments.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
