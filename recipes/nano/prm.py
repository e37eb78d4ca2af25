"""How often a learned nano PRM agrees with the nano-checker, step by step.

    .venv/bin/python recipes/nano/prm.py [--prm s1-nano-prm] [--samples runs/nano/search-nano/majority]

Two sets of steps, each scored by both (a step is called right at a score of 0.5 or more):
- s1-nano's own traces on held-out ``nano``: the samples.jsonl of an eval run whose rows were scored
  by the checker (``recipes/nano/search.py`` makes one: majority with ``--prm nano-checker``);
- a fresh ``steps`` split (another seed than the training data's), half its traces with one digit of
  one line changed, so wrong work lines are there to find.

Writes OUT/prm.md and OUT/prm.json (default OUT: runs/nano/prm).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def agreement(pairs: list[tuple[bool, bool]]) -> dict:
    """Agreement of (checker, learned) labels: overall, on the steps the checker calls right and
    on those it calls wrong."""
    right = [learned for checker, learned in pairs if checker]
    wrong = [not learned for checker, learned in pairs if not checker]
    return {"steps": len(pairs), "agree": sum(c == learned for c, learned in pairs) / max(len(pairs), 1),
            "checker_right": len(right), "agree_on_right": sum(right) / max(len(right), 1),
            "checker_wrong": len(wrong), "agree_on_wrong": sum(wrong) / max(len(wrong), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prm", default="s1-nano-prm")
    parser.add_argument("--samples", default="runs/nano/search-nano/majority",
                        help="an eval run of s1-nano's traces to score ('': none)")
    parser.add_argument("--size", type=int, default=2000, help="traces of the fresh steps split")
    parser.add_argument("--out", default="runs/nano/prm")
    args = parser.parse_args()

    from s1kit.budget.steps import split_steps
    from s1kit.reward.load import load_prm
    from s1kit.synth.build import SynthConfig, rows
    from s1kit.synth.checker import NanoChecker

    learned, checker = load_prm(args.prm), NanoChecker()
    sets = {}
    path = ROOT / args.samples / "samples.jsonl"
    if args.samples and path.exists():
        traces = [json.loads(line) for line in path.read_text().splitlines()]
        items = [(r["question"], split_steps(r["thinking"], "\n") + ([r["answer"].strip()] if r["answer"].strip() else []))
                 for r in traces]
        pairs, answers = [], []
        for (question, steps), scores in zip(items, learned.score_many(items)):
            judged = [(c >= 0.5, s >= 0.5) for c, s in zip(checker.score(question, steps), scores)]
            pairs += judged
            answers += judged[-1:]
        sets[f"s1-nano's traces on held-out nano ({len(traces)}, {args.samples})"] = agreement(pairs)
        sets["their answer steps"] = agreement(answers)
    elif args.samples:
        print(f"note: {path} is missing (make it with recipes/nano/search.py); only the fresh split is scored",
              file=sys.stderr)
    fresh = rows(SynthConfig(split="steps", size=args.size, seed=1))
    scores = learned.score_many([(r["question"], r["steps"]) for r in fresh])
    sets[f"a fresh steps split (seed 1, {len(fresh)} traces, {sum(r['perturbed'] for r in fresh)} perturbed)"] = agreement(
        [(label, s >= 0.5) for r, row_scores in zip(fresh, scores) for label, s in zip(r["labels"], row_scores)])
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# `{args.prm}` against the nano-checker", "",
             f"`python recipes/nano/prm.py --prm {args.prm}`; a step is called right at a score of 0.5 or more.", "",
             "| steps | how many | agree (%) | checker: right | agree there (%) | checker: wrong | agree there (%) |",
             "|---|---|---|---|---|---|---|"]
    for name, a in sets.items():
        lines.append(f"| {name} | {a['steps']} | {100 * a['agree']:.1f} | {a['checker_right']} | "
                     f"{100 * a['agree_on_right']:.1f} | {a['checker_wrong']} | {100 * a['agree_on_wrong']:.1f} |")
    (out / "prm.json").write_text(json.dumps(sets, indent=2) + "\n")
    (out / "prm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
