"""``s1kit view``: one page of any eval runs, traces included (the pages ``s1kit eval`` and
``s1kit compare`` write are made in page.py)."""

from __future__ import annotations

from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.runs.directory import check_run_dir
from s1kit.view.data import load_run, page_table, run_data
from s1kit.view.page import distinct_names, warn_disagreements, write_page

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
    distinct_names(runs)
    warn_disagreements(runs)
    title = runs[0].metrics.get("task", "") if len(runs) == 1 else "runs compared"
    return write_page({"title": title, "runs": [run_data(run) for run in runs], "table": page_table(runs)}, out)


def check_page_path(path: Path) -> None:
    """``path`` can take the page: not a folder, its folder exists, and it ends in .html or .htm."""
    if path.is_dir():
        raise S1kitError(f"--out {path} is a directory; pass a file name such as {path / 'report.html'}")
    if not path.parent.is_dir():
        raise S1kitError(f"--out {path}: its folder {path.parent} does not exist; create it or pick another --out")
    if path.suffix.lower() not in (".html", ".htm"):
        raise S1kitError(f"--out {path}: the page is HTML; end the name with .html")
