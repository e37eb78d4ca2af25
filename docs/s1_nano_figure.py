"""The s1-nano figure of the README and the manual, drawn from recipes/nano/RESULTS.md.

Two curves on s1kit's own scaling plot (s1kit.eval.plots, the figure `s1kit eval` writes): the
thinking cap's, and the forced Waits' past the natural end at cap 256 (s1's Figure 4a). Run it
again after RESULTS.md changes:

    .venv/bin/python docs/s1_nano_figure.py
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "recipes" / "nano" / "RESULTS.md"
FIGURE = REPO / "docs" / "assets" / "s1-nano-scaling.png"
ROW = re.compile(r"^\| (cap \d+|no cap \(natural\)|\d+ Waits) \| ([\d.]+) ± ([\d.]+) \| ([\d.]+) \|")


def points(section: str) -> list[tuple[str, float, float, float]]:
    """(point, accuracy %, its stderr, average thinking tokens) of the table under ``## section``."""
    text = RESULTS.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [(m[1], float(m[2]), float(m[3]), float(m[4])) for m in map(ROW.match, text.splitlines()) if m]


def series(rows, label) -> list[dict]:
    """One curve's points, a point that repeats the one before it (caps past the natural length) once."""
    out = []
    for name, accuracy, stderr, thinking in rows:
        if out and (out[-1]["x"], out[-1]["accuracy"]) == (thinking, accuracy / 100):
            continue
        out.append({"x": thinking, "accuracy": accuracy / 100, "stderr": stderr / 100, "label": label(name)})
    return out


def main() -> None:
    from s1kit.eval.plots import plot_runs

    caps = series(points("Cap curve"), lambda name: name.removeprefix("cap ").replace("no cap (natural)", "none"))
    # 0 Waits is the cap curve's natural point, labelled there already.
    waits = series(points("Extension"), lambda name: "" if name == "0 Waits" else f"+{name.split()[0]} W")
    metrics = {"points": [], "curves": [{"label": "thinking cap", "series": caps},
                                        {"label": "forced Waits at cap 256", "series": waits}]}
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    plot_runs([("s1-nano", metrics)], FIGURE, title="s1-nano on 360 held-out nano problems (greedy)")
    print(f"wrote {FIGURE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
