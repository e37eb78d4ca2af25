"""One self-contained HTML file: the page template (assets/page.html) with its CSS, its script and
the data inlined. Nothing is fetched when it opens. The pages other commands write are made here
too: a run's report.html (``s1kit eval``) and compare.html (``s1kit compare``)."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

from s1kit.files import write_text
from s1kit.runs.directory import NOT_COMPARED, read_config
from s1kit.view.data import Run, load_run, page_table, run_data, run_summary

ASSETS = Path(__file__).with_name("assets")
SCRIPTS = ("plot.js", "trace.js", "tree.js", "questions.js", "view.js")
"""In this order: view.js defines the page's state and starts it, after every function is defined."""

# Inside <script>, the HTML parser ends the element at the first "</script" and treats "<!--" specially,
# whatever the JSON means; a model's output can hold either. Escaping every <, > and & as \u003c etc.
# keeps the JSON equal and leaves the parser nothing to see. U+2028/2029 are escaped for old JS parsers.
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embed_json(data) -> str:
    """``data`` as JSON that can sit inside a ``<script>`` element whatever its strings hold."""
    text = json.dumps(finite(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _ESCAPES.items():
        text = text.replace(char, escaped)
    # A lone surrogate (JSON may hold one as an escape) cannot be written as UTF-8; escaped, the
    # page's JSON.parse gives it back.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def finite(value):
    """NaN and infinities (which JSON cannot hold) as None, everywhere in ``value``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def render(data: dict) -> str:
    """The page for ``data`` (``{"title": ..., "runs": [...], "table": [...]}``, see data.run_data
    and data.page_table; ``compare``: true on compare.html, which shows every column of compare.md;
    ``left_out``: the curves it leaves out, named)."""
    template = (ASSETS / "page.html").read_text(encoding="utf-8")
    css = (ASSETS / "view.css").read_text(encoding="utf-8")
    script = "\n".join((ASSETS / name).read_text(encoding="utf-8") for name in SCRIPTS)
    before, marker, after = template.partition("{{data}}")
    if not marker:
        raise RuntimeError(f"{ASSETS / 'page.html'} has no {{{{data}}}} marker")
    def fill(part: str) -> str:
        return part.replace("{{css}}", css).replace("{{js}}", '"use strict";\n' + script)

    # The data goes in last and is never searched for markers: a trace may contain "{{js}}".
    return fill(before) + embed_json(data) + fill(after)


def write_page(data: dict, path: Path) -> Path:
    """Write the page to ``path`` whole or not at all (a reader never sees half a page)."""
    path = Path(path)
    write_text(path, render(data))
    return path


def report_html(out: Path, metrics: dict, rows: list[dict]) -> Path:
    """An eval run's own page, from the rows and metrics it just wrote: ``out/report.html``."""
    out = Path(out)
    run = Run(out.resolve().name, out, metrics, rows, read_config(out))
    return write_page({"title": metrics.get("task", ""), "runs": [run_data(run)], "table": page_table([run])},
                      out / "report.html")


def compare_html(dirs: list[Path], path: Path, table: list[dict], left_out: list[str]) -> Path:
    """The runs' curves and Table 3 on one page, linking each run's report.html where it has one
    (the traces stay in the runs' own pages, so a comparison of large runs stays small). ``table``:
    compare.md's rows (runs.directory.table_rows over every run), so that both show the same
    numbers; ``left_out``: the curves they leave out (NOT_COMPARED), named, which the page leaves
    out too."""
    runs = [load_run(Path(d), with_rows=False) for d in dirs]
    distinct_names(runs)
    warn_disagreements(runs)
    summaries = []
    for run in runs:
        report = run.path / "report.html"
        # "./" first: a folder named like a URL scheme ("javascript:...") stays a relative link.
        link = "./" + Path(os.path.relpath(report, Path(path).parent)).as_posix() if report.is_file() else None
        summaries.append(run_summary(run, link, left_out=NOT_COMPARED))
    return write_page({"title": "methods compared", "runs": summaries, "table": table, "compare": True,
                       "left_out": left_out}, path)


def warn_disagreements(runs: list[Run]) -> None:
    """Each run's disagreements between metrics and rows on stderr (the page shows them too)."""
    for run in runs:
        for warning in run.warnings:
            print(f"warning: {warning}", file=sys.stderr)


def distinct_names(runs: list[Run]) -> None:
    """Runs are named by their folder; two folders of the same name are named by their paths."""
    names = [run.name for run in runs]
    for run in runs:
        if names.count(run.name) > 1:
            run.name = str(run.path)
