"""The pages: ``s1kit view`` (any eval runs, traces included), the report.html that ``s1kit eval``
writes beside report.md, and the compare.html that ``s1kit compare`` writes beside its table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.view.data import Run, check_run_dir, load_run, read_config, run_data, run_summary
from s1kit.view.page import write_page

SEVERAL_RUNS_OUT = Path("view.html")
"""Where ``s1kit view`` writes a page of several runs when no --out is given (one run: its
directory's report.html)."""


def main(dirs: list[Path], out: Path | None = None) -> Path:
    """One page of the runs in ``dirs`` (their curves, metrics and every trace); return its path."""
    if not dirs:
        raise S1kitError("no runs to view; pass eval output directories")
    for run in dirs:
        check_run_dir(Path(run))
    out = Path(out) if out is not None else Path(dirs[0]) / "report.html" if len(dirs) == 1 else SEVERAL_RUNS_OUT
    check_page_path(out)
    runs = [load_run(Path(d)) for d in dirs]
    _distinct_names(runs)
    _warn(runs)
    title = runs[0].metrics.get("task", "") if len(runs) == 1 else "runs compared"
    return write_page({"title": title, "runs": [run_data(run) for run in runs]}, out)


def report_html(out: Path, metrics: dict, rows: list[dict]) -> Path:
    """An eval run's own page, from the rows and metrics it just wrote: ``out/report.html``."""
    out = Path(out)
    run = Run(out.resolve().name, out, metrics, rows, read_config(out))
    return write_page({"title": metrics.get("task", ""), "runs": [run_data(run)]}, out / "report.html")


def compare_html(dirs: list[Path], path: Path) -> Path:
    """The runs' curves and Table 3 on one page, linking each run's report.html where it has one
    (the traces stay in the runs' own pages, so a comparison of large runs stays small)."""
    runs = [load_run(Path(d), with_rows=False) for d in dirs]
    _distinct_names(runs)
    _warn(runs)
    summaries = []
    for run in runs:
        report = run.path / "report.html"
        # "./" first: a folder named like a URL scheme ("javascript:...") stays a relative link.
        link = "./" + Path(os.path.relpath(report, Path(path).parent)).as_posix() if report.is_file() else None
        summaries.append(run_summary(run, link))
    return write_page({"title": "methods compared", "runs": summaries}, path)


def check_page_path(path: Path) -> None:
    """``path`` can take the page: not a folder, its folder exists, and it ends in .html or .htm."""
    if path.is_dir():
        raise S1kitError(f"--out {path} is a directory; pass a file name such as {path / 'report.html'}")
    if not path.parent.is_dir():
        raise S1kitError(f"--out {path}: its folder {path.parent} does not exist; create it or pick another --out")
    if path.suffix.lower() not in (".html", ".htm"):
        raise S1kitError(f"--out {path}: the page is HTML; end the name with .html")


def _warn(runs: list[Run]) -> None:
    """Each run's disagreements between metrics and rows on stderr (the page shows them too)."""
    for run in runs:
        for warning in run.warnings:
            print(f"warning: {warning}", file=sys.stderr)


def _distinct_names(runs: list[Run]) -> None:
    """Runs are named by their folder; two folders of the same name are named by their paths."""
    names = [run.name for run in runs]
    for run in runs:
        if names.count(run.name) > 1:
            run.name = str(run.path)
