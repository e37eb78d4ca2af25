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


def plot_runs(runs: list[tuple[str, dict]], path: Path, title: str | None = None) -> Path:
    """One line per curve of each run's metrics (parallel curves dashed), error bars of one stderr."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    highest = 0.0
    for name, metrics in runs:
        for curve in metrics["curves"]:
            series = curve["series"]
            label = name if len(metrics["curves"]) == 1 else f"{name}: {curve['label']}"
            highest = max([highest] + [100 * (p["accuracy"] + p["stderr"]) for p in series])
            ax.errorbar([p["x"] for p in series], [100 * p["accuracy"] for p in series],
                        yerr=[100 * p["stderr"] for p in series], marker="o", capsize=3, label=label,
                        linestyle="--" if curve.get("kind") == "parallel" else "-")
            for p in series:
                ax.annotate(p["label"], (p["x"], 100 * p["accuracy"]), textcoords="offset points", xytext=(4, 4),
                            fontsize=7)
    # symlog: a point at 0 thinking tokens (a model that ends at once) still shows.
    ax.set_xscale("symlog", base=2, linthresh=1)
    ax.set_xlabel("thinking tokens per question (log2; parallel: total over k samples)")
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
