"""Code and comments speak of the product: no tracker numbers (the word issue and a number) in the
sources, the tests, the benchmarks, the recipes or the project file."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRACKER = re.compile(r"\bissues? #?\d+", re.IGNORECASE)


def test_no_tracker_numbers():
    files = [p for tree in ("src", "tests", "bench", "recipes") for p in (REPO / tree).rglob("*")
             if p.is_file() and p.suffix in (".py", ".yaml", ".yml", ".js", ".html", ".css", ".sh", ".txt", ".toml")]
    files += [REPO / "pyproject.toml", REPO / "Makefile"]
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}" for path in files
             for number, line in enumerate(path.read_text(encoding="utf-8", errors="ignore").splitlines(), 1)
             if TRACKER.search(line)]
    assert found == []
