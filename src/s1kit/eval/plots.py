"""Scaling plots: accuracy against average thinking tokens on a log2 axis (s1 Figures 1 and 4)."""

from __future__ import annotations

from pathlib import Path

from s1kit.errors import S1kitError, require
from s1kit.files import replacing


def pyplot():
    """matplotlib's pyplot, drawing to files only (no display on servers)."""
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_figure_path(path: Path, flag: str = "--out") -> None:
    """``path`` can take a figure: its folder exists, it is not a folder, and its extension is an
    image format matplotlib writes. Checked before any work."""
    path = Path(path)
    if path.is_dir():
        raise S1kitError(f"{flag} {path} is a directory; pass a file name such as {path / 'scaling.png'}")
    if not path.parent.is_dir():
        raise S1kitError(f"{flag} {path}: its folder {path.parent} does not exist; create it or pick another {flag}")
    kinds = pyplot().figure().canvas.get_supported_filetypes()
    pyplot().close("all")
    if path.suffix.lstrip(".").lower() not in kinds:
        raise S1kitError(f"{flag} {path}: unknown image type {path.suffix or '(none)'!r}; end it with .png, .pdf or .svg")


LINE_STYLES = {"parallel": "--", "thinking-only": ":"}
"""Curves drawn other than solid: parallel ones (total over k samples) dashed, probe-exit's curve
over thinking alone (its probes not counted) dotted."""


def plot_runs(runs: list[tuple[str, dict]], path: Path, title: str | None = None,
              left_out: frozenset[str] = frozenset()) -> Path:
    """One line per curve of each run's metrics (LINE_STYLES), error bars of one stderr; curves of
    the kinds in ``left_out`` are not drawn."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    highest = 0.0
    for name, metrics in runs:
        curves = [c for c in metrics["curves"] if c.get("kind") not in left_out]
        colors = {}  # a curve over thinking alone in the colour of the curve over the same points
        for curve in curves:
            series = curve["series"]
            label = name if len(curves) == 1 else f"{name}: {curve['label']}"
            highest = max([highest] + [100 * (p["accuracy"] + p["stderr"]) for p in series])
            points = tuple(p["label"] for p in series)
            drawn = ax.errorbar([p["x"] for p in series], [100 * p["accuracy"] for p in series],
                                yerr=[100 * p["stderr"] for p in series], marker="o", capsize=3, label=label,
                                linestyle=LINE_STYLES.get(curve.get("kind"), "-"),
                                color=colors.get(points) if curve.get("kind") == "thinking-only" else None)
            if curve.get("kind") != "thinking-only":
                colors.setdefault(points, drawn.lines[0].get_color())
            for p in series:
                ax.annotate(p["label"], (p["x"], 100 * p["accuracy"]), textcoords="offset points", xytext=(4, 4),
                            fontsize=7)
    # symlog: a point at 0 thinking tokens (a model that ends at once) still shows.
    ax.set_xscale("symlog", base=2, linthresh=1)
    xlabel = "thinking tokens per question (log2; parallel: total over k samples)"
    if any("avg_thinking_and_probe_tokens" in p for _, metrics in runs for p in metrics["points"]):
        xlabel += "\nprobe-exit: thinking + probe tokens" + ("" if "thinking-only" in left_out else "; dotted: thinking alone")
    if any("avg_search_tokens" in p for _, metrics in runs for p in metrics["points"]):
        xlabel += "\nrebase, beam: every token the tree generated"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, min(100.0, max(10.0, highest * 1.1)))
    ax.set_title(title or " vs ".join(name for name, _ in runs))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with replacing(path) as temporary:  # whole or not at all
        fig.savefig(temporary, dpi=120)
    plt.close(fig)
    return path
