"""``s1kit compare DIR [DIR ...]``: methods side by side, in the shape of s1's Table 3.

One row per curve of each evaluation directory (method, Control, Scaling, Performance, |A|, the
number of points, and two numbers against budget forcing on the same task and model: the thinking
tokens the curve needs to match its best accuracy, and its accuracy at budget forcing's natural
thinking length), and one plot with every curve on the same thinking-token axis: sequential
curves solid, parallel ones (majority, best-of-n) dashed, so s1's Figure 4 comparison can be read
off directly. Runs on different tasks or models are allowed, and the table says so. The same
curves and the Table 3 columns go into a page beside them (compare.html), which links each run's
report.html. Curves that count no method's whole cost (probe-exit's over thinking alone,
runs.directory.NOT_COMPARED) are left out of all three; each run's report shows them.
"""

from __future__ import annotations

from pathlib import Path

from s1kit.files import write_text
from s1kit.runs.directory import NOT_COMPARED, read_metrics, table_rows


def markdown(runs: list[tuple[str, dict]], rows: list[dict] | None = None) -> str:
    """The table of ``runs``; ``rows``: their :func:`table_rows`, when computed already."""
    tasks = sorted({m["task"] for _, m in runs})
    models = sorted({m["model"] for _, m in runs})
    lines = ["# Methods compared (s1, Table 3)", "",
             f"Task: {', '.join(tasks)}; model: {', '.join(models)}."
             + (" Runs differ in task or model: compare with care." if len(tasks) > 1 or len(models) > 1 else ""), "",
             "Control: share of points within their budget (%); Scaling: accuracy points per doubling of thinking "
             "tokens, averaged over all pairs of points; Performance: best accuracy (%); |A|: points; " + BF_LEGEND, "",
             "| run | method | curve | kind | Control (%) | Scaling | Performance (%) | \\|A\\| | tokens to match | "
             "acc. at BF natural length (%) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in table_rows(runs) if rows is None else rows:
        control = "-" if row["control"] is None else f"{100 * row['control']:.0f}"
        scaling = "-" if row["scaling"] is None else f"{row['scaling']:.1f}"
        lines.append(f"| {row['run']} | {row['method']} | {row['curve']} | {row['kind']} | {control} | {scaling} | "
                     f"{100 * row['performance']:.1f} | {row['points']} | {_against_bf(row)} |")
    left_out = left_out_curves(runs)
    if left_out:
        lines += ["", "Left out: " + "; ".join(left_out) + " (over thinking tokens alone, without the probe tokens "
                  "the runs spent; each run's report shows them)."]
    return "\n".join(lines) + "\n"


def left_out_curves(runs: list[tuple[str, dict]]) -> list[str]:
    """``run: curve`` for each curve compare leaves out (NOT_COMPARED)."""
    return [f"{name}: {curve['label']}" for name, metrics in runs for curve in metrics["curves"]
            if curve.get("kind") in NOT_COMPARED]


BF_LEGEND = ("tokens to match: the fewest average thinking tokens at which the curve reaches the best accuracy of the "
             "main curve of the first budget-forcing run (BF) on its task and model, linearly interpolated between "
             "points (never: it does not reach it); acc. at BF natural length: the curve's accuracy (%) at BF's "
             "thinking tokens with no cap and no ignores (else at its main curve's longest point), linearly "
             "interpolated (-: outside the curve); both - without a BF run on the same task and model.")


def _against_bf(row: dict) -> str:
    if row["compared_with"] is None:
        return "- | -"
    tokens = "never" if row["tokens_to_match"] is None else f"{row['tokens_to_match']:.0f}"
    accuracy = "-" if row["accuracy_at_bf_length"] is None else f"{100 * row['accuracy_at_bf_length']:.1f}"
    return f"{tokens} | {accuracy}"


def main(dirs: list[Path], out: Path) -> tuple[str, Path, Path]:
    """Write the table (out with .md), the plot (out) and the page (out with .html: every curve,
    the table, links to each run's report.html); return the table and the table's and plot's paths."""
    from s1kit.eval.plots import check_figure_path, plot_runs
    from s1kit.view.page import compare_html

    out = Path(out)
    check_figure_path(out)  # before the table is written next to it
    runs = read_metrics(dirs)
    rows = table_rows(runs)  # once over every run: each is set against the first budget-forcing run
    text = markdown(runs, rows)
    table = out.with_suffix(".md")
    write_text(table, text)
    plot_runs(runs, out, title="methods compared", left_out=NOT_COMPARED)
    compare_html(dirs, out.with_suffix(".html"), rows, left_out_curves(runs))
    return text, table, out
