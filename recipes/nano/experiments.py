"""The measurements behind s1-nano's claims, each an s1kit command, summarized in one markdown file.

    .venv/bin/python recipes/nano/experiments.py                       # the bundled s1-nano on the held-out task
    .venv/bin/python recipes/nano/experiments.py --task nano-dev       # the development split (tune here only)
    CURATION=s1 OUT=runs/nano-s1 bash recipes/nano/run.sh                 # the s1-curated arm, once
    .venv/bin/python recipes/nano/experiments.py --data-ablation runs/nano runs/nano-s1   # plus s1's Table 2
    .venv/bin/python recipes/nano/experiments.py --data-ablation runs/nano runs/nano-s1 --data-only --out runs/nano/data

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
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
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
