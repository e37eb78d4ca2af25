"""`s1kit demo`: test-time scaling you can watch, on the bundled reasoning model, offline.

By default it runs s1-nano (trained from scratch by ``recipes/nano/run.sh``) on held-out problems of
the task ``nano``:

1. a budget-forcing sweep: thinking capped at several budgets, and extended past its natural end
   with 1, 2 and 4 forced "Wait"s; written to ``OUT`` (samples.jsonl, metrics.json, report.md,
   report.html, scaling.png) and printed as a table;
2. the same budgets through the baselines: token-conditional prompting, rejection sampling, and
   majority vote over samples (``OUT/<method>/``);
3. all of them side by side, as s1's Table 3 (``OUT/compare.md``, ``OUT/compare.png`` and
   ``OUT/compare.html``).

Each demo run starts fresh: the files a previous demo wrote in ``OUT`` are replaced. A demo that
fails (its model does not load, a run stops midway, Ctrl-C) removes what it made, ``OUT`` itself
included if it made it, and keeps whatever else was there.

``--mechanics`` shows the two halves of budget forcing on any chat model instead (SmolLM2 by
default), which was never trained to think: the minimum equals the cap, so every early end becomes
"Wait" and the cap cuts thinking at exactly the budget.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget

CAPS = (8, 16, 32, 64, 128, 256)
IGNORES = (0, 1, 2, 4)
LIMIT = 60
"""Held-out problems the demo evaluates (the families take turns: 20 of each); 360 with --limit 360."""
BASELINES = ("token-conditional", "rejection", "majority")
MAJORITY_SAMPLES = 4
REJECTION_TRIES = 6
RUN_FILES = ("samples.jsonl", "metrics.json", "report.md", "report.html", "scaling.png", "config.json", "config.yaml",
             "compare.md", "compare.png", "compare.html")

QUESTIONS = (
    "What is 12 * 13?",
    "How many r's are in the word raspberry?",
    "A train travels 60 km in 45 minutes. What is its speed in km/h?",
)
BUDGETS = (32, 64, 128)


def main(model: str = "s1-nano", task: str = "nano", limit: int = LIMIT, out: str | Path = "runs/demo",
         backend: str = "hf", backend_config=None, console=None, batch_size: int = 64) -> dict:
    """Run the scaling demo; returns {"budget-forcing": metrics, <baseline>: metrics, ...}."""
    out = Path(out)
    made = _first_missing(out)
    check_settings(backend, task, limit, out)  # before anything is printed, removed or loaded
    console = console or _console()
    _clear(out)
    with _removed_on_failure(out, made):
        return _run(model, task, limit, out, backend, backend_config, console, batch_size)


def _run(model: str, task: str, limit: int, out: Path, backend: str, backend_config, console, batch_size: int) -> dict:
    """The sweep, the baselines and the comparison, written in ``out``."""
    from s1kit.backends import BackendConfig
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main as evaluate

    common = {"task": task, "model": model, "backend": backend, "limit": limit, "batch_size": batch_size,
              "max_answer_tokens": 24, "backend_options": backend_config or BackendConfig()}
    console.print(f"[bold]s1kit demo[/bold]: test-time scaling of {model} on {limit} held-out {task} problems "
                  f"({backend} backend); writing {out}/")
    runs = {"budget-forcing": eval_config(method="budget-forcing", budgets=list(CAPS), num_ignore=list(IGNORES),
                                          out=str(out), **common)}
    runs["token-conditional"] = eval_config(method="token-conditional", budgets=list(CAPS), out=str(out / "token-conditional"), **common)
    runs["rejection"] = eval_config(method="rejection", budgets=list(CAPS), max_tries=REJECTION_TRIES,
                                    out=str(out / "rejection"), **common)
    runs["majority"] = eval_config(method="majority", samples=MAJORITY_SAMPLES, out=str(out / "majority"), **common)
    results = {}
    for name, config in runs.items():
        console.print(f"[bold]{name}[/bold] ...")
        try:
            results[name] = evaluate(config)
        except KeyboardInterrupt:  # not eval's "rerun with --resume": a demo starts afresh
            raise KeyboardInterrupt("nothing to resume: s1kit demo starts afresh each time") from None
        if name == "budget-forcing":
            console.print(curve_table(results[name]))
    from s1kit.eval.compare import main as compare

    text, table, figure = compare([out, *(out / name for name in BASELINES)], out / "compare.png")
    console.print(compare_table(text))
    console.print(f"wrote {out}/report.md, {out}/report.html, {out}/scaling.png, {table}, {figure} and "
                  f"{figure.with_suffix('.html')}")
    return results


def curve_table(metrics: dict):
    """The budget-forcing points as a rich table: caps first, then the Wait extensions."""
    from rich.table import Table

    table = Table(title=f"Budget forcing on {metrics['model']} ({metrics['task']}, {metrics['questions']} problems)")
    for column in ("cap", "forced Waits", "accuracy (%)", "avg thinking tokens", "capped"):
        table.add_column(column, justify="right")
    points = sorted(metrics["points"], key=lambda p: (p["num_ignore"], p["max_thinking_tokens"] or 0))
    for p in points:
        if p["num_ignore"] and p["max_thinking_tokens"] != max(CAPS):
            continue  # extensions are read at the largest cap, where the Waits have room
        table.add_row(str(p["max_thinking_tokens"]), str(p["num_ignore"]),
                      f"{100 * p['accuracy']:.1f} ± {100 * p['stderr']:.1f}", f"{p['avg_thinking_tokens']:.1f}",
                      f"{100 * p['forced_end_share']:.0f}%")
    return table


def compare_table(markdown: str):
    """compare.md's table as a rich table (the markdown's rows, without its prose)."""
    from rich.table import Table

    # Cells are split on unescaped pipes only: the |A| header is written \|A\|.
    rows = [re.split(r"(?<!\\)\|", line.strip()[1:-1]) for line in markdown.splitlines() if line.startswith("|")]
    header, body = rows[0], rows[2:]
    table = Table(title="Methods compared (s1, Table 3)")
    for column in header:
        table.add_column(column.strip().replace("\\|", "|"))
    for row in body:
        table.add_row(*(cell.strip() for cell in row))
    return table


def check_settings(backend: str, task: str | None = None, limit: int | None = None, out: Path | None = None) -> None:
    """The demo's settings, each one line if it is wrong: checked before the first table is printed."""
    from s1kit.backends import BACKENDS
    from s1kit.errors import S1kitError

    if backend not in BACKENDS:
        raise S1kitError(f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
    if task is not None:
        from s1kit.errors import check_output_dir
        from s1kit.tasks import get_task
        from s1kit.tasks.base import check_limit

        get_task(task)
        check_limit(limit)
        check_output_dir(out, "--out", "the demo's runs")


def _first_missing(out: Path) -> Path | None:
    """The outermost folder of ``out`` (``out`` included) that does not exist yet: what the demo makes."""
    missing = None
    for folder in (out, *out.parents):
        if folder.exists() or folder.is_symlink():
            return missing
        missing = folder
    return missing


@contextlib.contextmanager
def _removed_on_failure(out: Path, made: Path | None):
    """On a failure in the block, remove what it made: ``made`` (the folders the demo created, with
    everything in them) or else the entries that are new in ``out`` and in its baselines' folders."""
    folders = [out, *(out / name for name in BASELINES if (out / name).is_dir() and not (out / name).is_symlink())]
    before = {folder: set(os.listdir(folder)) for folder in folders}
    try:
        yield
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        else:
            for folder, names in reversed(before.items()):  # the baselines' folders before out
                for name in set(os.listdir(folder)) - names:
                    _remove(folder / name)
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def _clear(out: Path) -> None:
    """Remove what an earlier demo wrote in ``out`` (its files and its baselines' folders), nothing else."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for name in BASELINES:
        if (out / name / "config.json").is_file():
            shutil.rmtree(out / name)


def _console():
    from rich.console import Console

    # Rich assumes 80 columns when stdout is not a terminal (make, CI logs); the tables need more.
    return Console(width=None if Console().is_terminal else 120)


def mechanics(model: str = "smollm2-135m", budgets=BUDGETS, max_answer_tokens: int = 48, batch_size: int = 16,
              backend: str = "hf", backend_config=None, console=None):
    """Both halves of budget forcing on built-in questions (min = max = budget), as one table."""
    from rich.table import Table

    from s1kit.backends import load_backend

    check_settings(backend)
    console = console or _console()
    console.print(f"[bold]s1kit demo --mechanics[/bold]: budget forcing on {model} with the {backend} backend "
                  f"({len(QUESTIONS)} questions x {len(budgets)} budgets)")
    engine = load_backend(backend, model, backend_config)
    table = Table(title="Budget forcing (min = max = budget)", show_lines=True)
    for column in ("question", "budget", "thinking tokens", "Waits", "forced end", "answer"):
        table.add_column(column, overflow="fold")
    rows = []
    for budget in budgets:
        config = BudgetConfig(max_thinking_tokens=budget, min_thinking_tokens=budget, max_answer_tokens=max_answer_tokens)
        for g in generate_with_budget(engine, QUESTIONS, config, SamplingConfig(), batch_size=batch_size):
            rows.append(g)
            answer = " ".join(g.answer.split())
            table.add_row(g.prompt, str(budget), str(g.thinking_tokens), str(g.waits_inserted),
                          "yes" if g.forced_end else "no", answer[:80] + ("..." if len(answer) > 80 else ""))
    console.print(table)
    return rows
