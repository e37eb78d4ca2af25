"""``s1kit compare DIR [DIR ...]``: methods side by side, in the shape of s1's Table 3.

One row per curve of each evaluation directory (method, Control, Scaling, Performance, and |A|,
the number of points), and one plot with every curve on the same thinking-token axis: sequential
curves solid, parallel ones (majority, best-of-n) dashed, so s1's Figure 4 comparison can be read
off directly. Runs on different tasks or models are allowed, and the table says so. The same
curves and table go into a page beside them (compare.html), which links each run's report.html.
"""

from __future__ import annotations

import json
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.eval.schema import metrics_problem
from s1kit.files import write_text


def load_runs(dirs: list[Path]) -> list[tuple[str, dict]]:
    if not dirs:
        raise S1kitError("no runs to compare; pass eval output directories")
    runs = []
    for run in dirs:
        path = Path(run) / "metrics.json"
        if not path.is_file():
            raise S1kitError(f"{run} has no metrics.json; pass directories written by s1kit eval")
        try:
            metrics = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise S1kitError(f"{path} is not valid JSON (cut short?); run s1kit eval --resume on {run} to write it again") from None
        missing = [k for k in ("curves", "points") if not isinstance(metrics, dict) or not isinstance(metrics.get(k), list)]
        if missing or any(not isinstance(c, dict) or not isinstance(c.get("series"), list) for c in metrics["curves"]):
            raise S1kitError(f"{path} lacks {', '.join(missing) or 'curves with series'}; it is not a metrics.json of "
                             f"this s1kit version: run s1kit eval --resume on {run} to write it again")
        problem = metrics_problem(metrics)
        if problem is not None:
            raise S1kitError(f"{path}: {problem}; it is not a metrics.json s1kit eval wrote: run s1kit eval --resume "
                             f"on {run} to write it again")
        runs.append((Path(run).name, metrics))
    return runs


def table_rows(runs: list[tuple[str, dict]]) -> list[dict]:
    rows = []
    for name, metrics in runs:
        for curve in metrics["curves"]:
            if len(curve["series"]) < 2 and curve["control"] is None:
                continue  # a reference point (class-conditional's no-instruction run), not a method's curve
            rows.append({
                "run": name, "method": metrics.get("method", "budget-forcing"), "curve": curve["label"],
                "kind": curve.get("kind", "sequential"), "control": curve["control"], "scaling": curve["scaling"],
                "performance": curve["performance"], "points": len(curve["series"]),
            })
    return rows


def markdown(runs: list[tuple[str, dict]]) -> str:
    tasks = sorted({m["task"] for _, m in runs})
    models = sorted({m["model"] for _, m in runs})
    lines = ["# Methods compared (s1, Table 3)", "",
             f"Task: {', '.join(tasks)}; model: {', '.join(models)}."
             + (" Runs differ in task or model: compare with care." if len(tasks) > 1 or len(models) > 1 else ""), "",
             "Control: share of points within their budget (%); Scaling: accuracy points per doubling of thinking "
             "tokens, averaged over all pairs of points; Performance: best accuracy (%); |A|: points.", "",
             "| run | method | curve | kind | Control (%) | Scaling | Performance (%) | \\|A\\| |",
             "|---|---|---|---|---|---|---|---|"]
    for row in table_rows(runs):
        control = "-" if row["control"] is None else f"{100 * row['control']:.0f}"
        scaling = "-" if row["scaling"] is None else f"{row['scaling']:.1f}"
        lines.append(f"| {row['run']} | {row['method']} | {row['curve']} | {row['kind']} | {control} | {scaling} | "
                     f"{100 * row['performance']:.1f} | {row['points']} |")
    return "\n".join(lines) + "\n"


def main(dirs: list[Path], out: Path) -> tuple[str, Path, Path]:
    """Write the table (out with .md), the plot (out) and the page (out with .html: every curve,
    the table, links to each run's report.html); return the table and the table's and plot's paths."""
    from s1kit.eval.plots import check_figure_path, plot_runs
    from s1kit.view.command import compare_html

    out = Path(out)
    check_figure_path(out)  # before the table is written next to it
    runs = load_runs(dirs)
    text = markdown(runs)
    table = out.with_suffix(".md")
    write_text(table, text)
    plot_runs(runs, out, title="methods compared")
    compare_html(dirs, out.with_suffix(".html"))
    return text, table, out
