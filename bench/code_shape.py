"""The shape of the code under src/: lines, functions over 60 lines, and the longest functions.

    python bench/code_shape.py                 # the working tree
    python bench/code_shape.py --rev fea8f11   # a commit (read with git show, nothing checked out)

Repeated blocks are counted by the `duplicates` tool where it is installed (``duplicates --repo src``).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONG = 60


def sources(rev: str | None) -> dict[str, str]:
    if rev is None:
        return {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "src").rglob("*.py"))}
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "src"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{rev}:{n}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
            for n in names if n.endswith(".py")}


def functions(name: str, text: str):
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"{name}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", help="a git revision instead of the working tree")
    args = parser.parse_args()
    files = sources(args.rev)
    sizes = sorted((length, where) for name, text in files.items() for where, length in functions(name, text))
    long = [(length, where) for length, where in sizes if length > LONG]
    print(f"files: {len(files)}")
    print(f"lines under src/: {sum(text.count(chr(10)) for text in files.values())}")
    print(f"functions: {len(sizes)}; over {LONG} lines: {len(long)}")
    for length, where in reversed(long):
        print(f"  {length:4d}  {where}")


if __name__ == "__main__":
    main()
