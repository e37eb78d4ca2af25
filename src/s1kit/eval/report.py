"""report.md and scaling.png of an evaluation directory."""

from __future__ import annotations

from pathlib import Path

from s1kit.files import write_text


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report_markdown(metrics: dict) -> str:
    extra = sorted({k for p in metrics["points"] for k in p if "@" in k}, key=lambda k: (k.split("@")[0], int(k.split("@")[1])))
    lines = [
        f"# {metrics['task']} · {metrics['model']} ({metrics['backend']}) · {metrics.get('method', 'budget-forcing')}", "",
        f"{metrics['questions']} questions, {metrics['samples_per_question']} sample(s) each. Accuracy is the mean "
        "over questions of each question's mean over samples, ± one standard error.", "",
        "| point | cap | ignores | accuracy (%) | avg thinking | avg answer | waits | capped | no answer | control |"
        + "".join(f" {k} |" for k in extra),
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(extra),
    ]
    for p in metrics["points"]:
        cap = "none" if p["max_thinking_tokens"] is None else p["max_thinking_tokens"]
        lines.append(
            f"| {p['label']} | {cap} | {p['num_ignore']} | {100 * p['accuracy']:.1f} ± {100 * p['stderr']:.1f} | "
            f"{p['avg_thinking_tokens']:.1f} | {p['avg_answer_tokens']:.1f} | {p['avg_waits']:.2f} | "
            f"{100 * p['forced_end_share']:.0f}% | {100 * p['no_answer_share']:.0f}% | {100 * p['control']:.0f}% |"
            + "".join(f" {100 * p[k]:.1f} |" if k in p else " - |" for k in extra))
    if any("avg_tries" in p for p in metrics["points"]):
        lines += ["", "Rejection sampling: tries until the thinking fit each budget (one shared stream of tries; "
                      "a sample that never fit counts against Control).", "",
                  "| budget | avg tries | accepted |", "|---|---|---|"]
        lines += [f"| {p['label']} | {p['avg_tries']:.1f} | {100 * p['accepted_share']:.0f}% |" for p in metrics["points"]]
    judge = metrics.get("grading", {})
    if judge.get("judge"):
        lines += ["", f"Graded by the rules, then by the judge {judge['judge']} ({judge['judge_mode']}): it saw "
                      f"{judge['judged']} rows, overturned {judge['overturned']} rule verdicts, and gave "
                      f"{judge['unreadable']} unreadable replies (the rules' verdict stands there)."]
    lines += ["", "## The paper's metrics (s1, Section 3.2)", "",
              "Scaling is the average slope over all pairs of points, in accuracy points per doubling of "
              "thinking tokens (the convention that reproduces the paper's Table 3).", "",
              "| curve | Control (%) | Scaling | Performance (%) |", "|---|---|---|---|"]
    for c in metrics["curves"]:
        control = "-" if c["control"] is None else f"{100 * c['control']:.0f}"
        lines.append(f"| {c['label']} | {control} | {_num(c['scaling'])} | {100 * c['performance']:.1f} |")
    for c in metrics["curves"]:
        if c["kind"] == "parallel" and all("k" in s for s in c["series"]):
            lines += ["", f"### {c['label']}: accuracy over k samples (thinking = total over the k samples)", "",
                      "| k | accuracy (%) | thinking tokens per question |", "|---|---|---|"]
            lines += [f"| {s['k']} | {100 * s['accuracy']:.1f} ± {100 * s['stderr']:.1f} | {s['x']:.1f} |"
                      for s in c["series"]]
        elif c["kind"] == "parallel":  # a search's: one point per tree size
            lines += ["", f"### {c['label']}: accuracy per tree size (tokens = all the tree generated)", "",
                      "| tree | accuracy (%) | tokens per question |", "|---|---|---|"]
            lines += [f"| {s['label']} | {100 * s['accuracy']:.1f} ± {100 * s['stderr']:.1f} | {s['x']:.1f} |"
                      for s in c["series"]]
    tokens = metrics["tokens"]
    ratio = tokens["ratio_to_largest"]
    if ratio is None:
        lines += ["", "## Tokens", "", f"Decoded {tokens['decoded']:,} tokens for all points.", ""]
    else:
        lines += ["", "## Work shared across the sweep", "",
                  f"Decoded {tokens['decoded']:,} tokens for all points; the largest point alone needs "
                  f"{tokens['largest_point_alone']:,} (ratio {_num(ratio, 2)}x); independent runs of every point "
                  f"would decode {tokens['independent_runs']:,}.", ""]
    return "\n".join(lines)


def write_report(metrics: dict, out: Path) -> None:
    from s1kit.eval.plots import plot_runs

    write_text(out / "report.md", report_markdown(metrics))
    plot_runs([(metrics["model"], metrics)], out / "scaling.png", title=f"{metrics['task']} · {metrics['model']}")
