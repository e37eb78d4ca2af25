"""The adaptive methods against budget forcing, in miniature: s1-nano on one thinking-token axis.

    .venv/bin/python recipes/nano/adaptive.py --task nano-dev --tune    # the candidates, on the development split
    .venv/bin/python recipes/nano/adaptive.py                           # the chosen settings, on the held-out task

Writes OUT/adaptive.md (the tables), OUT/adaptive.json (the numbers) and the eval runs beside them.
Every run is greedy or seeded, so rerunning gives the same numbers.

Sequential, greedy: budget forcing (caps, and forced Waits at a generous cap) as the reference;
probe-exit (an answer probe every PROBE_EVERY thinking tokens; exit when K probes agree or a probe is
confident) without and with forced Waits; AlphaOne at several alpha moments; NoThinking. Parallel,
K = SAMPLES samples at temperature 1: majority, DeepConf (offline and online), ESC and
Adaptive-Consistency, all over the same seeds, so they draw the same samples and differ only in
which they count and how they vote. The settings below were chosen on nano-dev (``--tune``);
``nano`` is only measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = 16
EXTEND_CAP = 256
PROBE_EVERY = 16
"""Chosen on nano-dev from 4, 8 and 16 (--tune, with 4 forced Waits at cap 256): the sparsest probes
did best (agree 3: 91.1% at 92.7 thinking tokens; every 8: 77.8%, every 4: 65.6%), since a probe
reads the running count or sum, which stays the same over stretches of a trace."""
DEEPCONF_WINDOW = 2048
"""Chosen on nano-dev from 8, 16 and 2048 (--tune): the paper's 2048, one group per nano trace (its
mean confidence), voted best (offline eta 90 at k = 16: 88.3%, windows 8 and 16: 86.1%; eta 10:
78.3% against 76.1% and 76.7%); it cannot stop a trace before its end, the shorter windows stopped
4-8% of the samples."""
TUNE = {"probe_every": (4, 8, 16), "deepconf_window": (8, 16, 2048)}


def s1kit(*args: str) -> None:
    print("+ s1kit " + " ".join(args), file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "s1kit", *args], check=True, cwd=ROOT, stdout=sys.stderr)


def evaluate(out: Path, model: str, task: str, limit: int | None, *extra: str) -> dict:
    """One ``s1kit eval`` into ``out``, resumed if it was cut short; its metrics."""
    if not (out / "metrics.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        s1kit("eval", "--task", task, "--model", model, "--out", str(out), "--batch-size", "64",
              "--max-answer-tokens", "24", *(("--limit", str(limit)) if limit else ()), *extra)
    return json.loads((out / "metrics.json").read_text())


def runs_for(probe_every: int, window: int) -> dict[str, tuple[str, ...]]:
    """Each run's flags, by name."""
    parallel = ("--samples", str(SAMPLES), "--seed", "0")
    return {
        "budget-forcing": ("--budgets", "8,16,24,32,48,64"),
        "budget-forcing-waits": ("--budgets", str(EXTEND_CAP), "--num-ignore", "0,1,2,4,8"),
        "probe-exit": ("--method", "probe-exit", "--probe-every", str(probe_every), "--probe-tokens", "6",
                       "--probe-agree", "2,3", "--probe-confidence", "0.9,0.99"),
        "probe-exit-waits": ("--method", "probe-exit", "--budgets", str(EXTEND_CAP), "--num-ignore", "4",
                             "--probe-every", str(probe_every), "--probe-tokens", "6", "--probe-agree", "2,3",
                             "--probe-confidence", "0.9,0.99"),
        "alpha-one": ("--method", "alpha-one", "--alpha", "0.5,1.0,1.4,2.0,3.0", "--seed", "0"),
        "no-thinking": ("--method", "no-thinking"),
        "no-thinking-samples": ("--method", "no-thinking", *parallel),
        "majority": ("--method", "majority", *parallel),
        "deepconf": ("--method", "deepconf", *parallel, "--deepconf-window", str(window), "--deepconf-warmup", "4",
                     "--deepconf-eta", "10,50,90"),
        "esc": ("--method", "esc", *parallel, "--window", "4"),
        "adaptive-consistency": ("--method", "adaptive-consistency", *parallel),
    }


def curve_rows(name: str, metrics: dict) -> list[list[str]]:
    rows = []
    for c in metrics["curves"]:
        if c.get("kind") == "thinking-only":
            continue
        for s in c["series"]:
            extra = []
            if "avg_samples" in s:
                extra.append(f"{s['avg_samples']:.1f} samples")
            if "stopped_share" in s:
                extra.append(f"{100 * s['stopped_share']:.0f}% stopped")
            rows.append([name, c["label"], s["label"], f"{100 * s['accuracy']:.1f} ± {100 * s['stderr']:.1f}",
                         f"{s['x']:.1f}", ", ".join(extra)])
    return rows


def point_rows(name: str, metrics: dict) -> list[list[str]]:
    """Per point: probe-exit's probe tokens and exits, beside accuracy and thinking."""
    rows = []
    for p in metrics["points"]:
        extra = []
        if "avg_probe_tokens" in p:
            extra.append(f"{p['avg_probe_tokens']:.1f} probe tokens, {100 * p['exited_share']:.0f}% exited")
        rows.append([name, p["label"], f"{100 * p['accuracy']:.1f}", f"{p['avg_thinking_tokens']:.1f}",
                     f"{p.get('avg_thinking_and_probe_tokens', p['avg_thinking_tokens']):.1f}", ", ".join(extra)])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def recipe_parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The flags every miniature comparison takes (its run directory: runs/nano/NAME-TASK)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--model", default="s1-nano")
    parser.add_argument("--task", default="nano")
    parser.add_argument("--out", default=None, help=f"default: runs/nano/{name}-TASK")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tune", action="store_true", help="nano-dev only: every candidate setting (TUNE)")
    parser.add_argument("--runs", default=None, help="comma-separated run names to make (default: all)")
    return parser


def start(parser: argparse.ArgumentParser, name: str):
    """The parsed flags and the run directory, made; --tune is refused on the held-out task."""
    args = parser.parse_args()
    if args.tune and args.task == "nano":
        parser.error("--tune chooses settings, which is nano-dev's job: pass --task nano-dev")
    out = Path(args.out or f"runs/nano/{name}-{args.task}")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return args, out


def chosen(parser: argparse.ArgumentParser, runs: dict, names: str | None) -> dict:
    """The runs --runs names (all without it); an unknown name is refused."""
    if not names:
        return runs
    unknown = sorted(set(names.split(",")) - set(runs))
    if unknown:
        parser.error(f"unknown run {', '.join(unknown)}; choose from {', '.join(runs)}")
    return {name: flags for name, flags in runs.items() if name in names.split(",")}


def main() -> None:
    parser = recipe_parser(__doc__, "adaptive")
    args, out = start(parser, "adaptive")
    runs = runs_for(PROBE_EVERY, DEEPCONF_WINDOW)
    if args.tune:
        tuned = {f"probe-exit-every-{n}": runs_for(n, DEEPCONF_WINDOW)["probe-exit-waits"] for n in TUNE["probe_every"]}
        tuned |= {f"deepconf-window-{w}": runs_for(PROBE_EVERY, w)["deepconf"] for w in TUNE["deepconf_window"]}
        runs = {"budget-forcing-waits": runs["budget-forcing-waits"], "majority": runs["majority"], **tuned}
    runs = chosen(parser, runs, args.runs)
    metrics = {name: evaluate(out / name, args.model, args.task, args.limit, *flags) for name, flags in runs.items()}
    s1kit("compare", *(str(out / name) for name in runs), "--out", str(out / "compare.png"))
    md = [f"# Adaptive methods: `{args.model}` on `{args.task}`", "",
          f"Every run: `recipes/nano/adaptive.py{' --tune' if args.tune else ''} --task {args.task}`; parallel methods "
          f"over K = {SAMPLES} samples at temperature 1, the same seeds for each.", "",
          "## Compared (s1 Table 3, with the columns against budget forcing)", "",
          (out / "compare.md").read_text().split("\n", 2)[2].strip(), "",
          "## Sequential points", "",
          table(["run", "point", "accuracy (%)", "avg thinking tokens", "thinking + probe tokens", ""],
                [r for name, m in metrics.items() if m["samples_per_question"] == 1 for r in point_rows(name, m)]), "",
          "## Parallel curves (x: thinking tokens per question, all samples drawn)", "",
          table(["run", "curve", "k", "accuracy (%)", "thinking tokens", ""],
                [r for name, m in metrics.items() if m["samples_per_question"] > 1 for r in curve_rows(name, m)]), ""]
    (out / "adaptive.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "adaptive.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
