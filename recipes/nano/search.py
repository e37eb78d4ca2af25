"""Reward-guided search against budget forcing, in miniature: s1-nano with the nano-checker PRM
(s1 Table 3's REBASE row and the parallel baselines, on one token axis).

    .venv/bin/python recipes/nano/search.py --task nano-dev --tune    # the candidates, on the development split
    .venv/bin/python recipes/nano/search.py                           # the chosen settings, on the held-out task

Writes OUT/search.md (the tables), OUT/search.json (the numbers) and the eval runs beside them.
Every run is greedy or seeded, so rerunning gives the same numbers.

Budget forcing (cap 256, 0 to 8 forced Waits, greedy) is the reference. At temperature 1: majority
over K = SAMPLES samples and, over the same samples, majority weighted by the PRM's score of each
trace; REBASE (widths 2 to 16) and step-level beam search (beam widths 1 to 4, EXPANSIONS children
each), a step per line, guided by the PRM; majority and REBASE again with the learned PRM
(s1-nano-prm, recipes/nano/prm.yaml) in the checker's place. The x of a parallel method is every token it generated
per question (majority's: the thinking of its k samples); budget forcing's, its thinking. The
nano-checker is a program that checks each line against the question (a PRM whose quality is
known: every line it calls right is right), so this measures what search makes of a good PRM.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adaptive import chosen, curve_rows, evaluate, recipe_parser, s1kit, start, table  # noqa: E402 (the recipe's own helpers)

SAMPLES = 16
CAP = 256
EXPANSIONS = 4
REBASE_TEMPERATURE = 0.2
"""Chosen on nano-dev from 0.05, 0.2 and 1.0 (--tune), where it hardly mattered: 0.05 and 0.2 gave the
same trees (weighted vote 84.4, 86.7, 90.0, 95.6% at widths 2, 4, 8, 16), 1.0 the same votes with
majority of leaves 0.6 points lower at widths 2 and 8. The checker calls nearly every line s1-nano
writes right, so the rewards of live nodes are nearly all equal; what it tells apart is an answer
the work does not back (a guess), at the leaves."""
TUNE = {"rebase_temperature": (0.05, 0.2, 1.0)}


def runs_for(temperature: float, learned: str = "s1-nano-prm") -> dict[str, tuple[str, ...]]:
    """Each run's flags, by name; ``learned``: the learned PRM the last two runs use."""
    search = ("--prm", "nano-checker", "--budgets", str(CAP), "--seed", "0", "--backend", "vllm")
    with_learned = ("--prm", learned, *search[2:])
    return {
        "budget-forcing-waits": ("--budgets", str(CAP), "--num-ignore", "0,1,2,4,8", "--backend", "vllm"),
        "majority": ("--method", "majority", "--samples", str(SAMPLES), "--seed", "0", "--prm", "nano-checker",
                     "--budgets", str(CAP), "--backend", "vllm"),
        "rebase": ("--method", "rebase", "--width", "2,4,8,16", "--rebase-temperature", str(temperature), *search),
        "beam": ("--method", "beam", "--beam-width", "1,2,4", "--expansions", str(EXPANSIONS), *search),
        "majority-learned-prm": ("--method", "majority", "--samples", str(SAMPLES), *with_learned),
        "rebase-learned-prm": ("--method", "rebase", "--width", "2,4,8,16", "--rebase-temperature", str(temperature),
                               *with_learned),
    }


def point_rows(name: str, metrics: dict) -> list[list[str]]:
    """Per point of a search: the three votes, the tokens and the PRM's calls."""
    rows = []
    for p in sorted((p for p in metrics["points"] if "avg_search_tokens" in p), key=lambda p: p["avg_search_tokens"]):
        rows.append([name, p["label"], f"{100 * p['accuracy']:.1f}", f"{100 * p['majority_accuracy']:.1f}",
                     f"{100 * p['best_leaf_accuracy']:.1f}", f"{p['avg_search_tokens']:.1f}",
                     f"{p['avg_prm_calls']:.1f}", f"{p['avg_leaves']:.1f}"])
    return rows


def main() -> None:
    parser = recipe_parser(__doc__, "search")
    parser.add_argument("--learned-prm", default="s1-nano-prm", help="the learned PRM of the *-learned-prm runs")
    args, out = start(parser, "search")
    runs = runs_for(REBASE_TEMPERATURE, args.learned_prm)
    if args.tune:
        runs = {f"rebase-temperature-{t:g}": runs_for(t)["rebase"] for t in TUNE["rebase_temperature"]}
    runs = chosen(parser, runs, args.runs)
    metrics = {name: evaluate(out / name, args.model, args.task, args.limit, *flags) for name, flags in runs.items()}
    s1kit("compare", *(str(out / name) for name in runs), "--out", str(out / "compare.png"))
    md = [f"# Reward-guided search: `{args.model}` on `{args.task}`, the nano-checker PRM", "",
          f"Every run: `recipes/nano/search.py{' --tune' if args.tune else ''} --task {args.task}`; cap {CAP}; "
          f"sampled runs at temperature 1, seed 0; REBASE temperature "
          f"{'as named' if args.tune else f'{REBASE_TEMPERATURE:g}'}, beam {EXPANSIONS} children per node.", "",
          "## Compared (s1 Table 3, with the columns against budget forcing)", "",
          (out / "compare.md").read_text().split("\n", 2)[2].strip(), "",
          "## Searches, per tree size (x: every token the tree generated, per question)", "",
          table(["run", "size", "reward-weighted vote (%)", "majority of leaves (%)", "best leaf (%)", "tokens",
                 "PRM calls", "leaves"], [r for name, m in metrics.items() for r in point_rows(name, m)]), "",
          "## Every curve", "",
          table(["run", "curve", "point", "accuracy (%)", "tokens", ""],
                [r for name, m in metrics.items() for r in curve_rows(name, m)]), ""]
    (out / "search.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "search.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
