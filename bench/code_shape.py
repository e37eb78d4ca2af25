"""The shape of the code under src/: its size, its longest functions, its import cycles, where the
budget settings are declared and how many functions read a recipe.

    python bench/code_shape.py                 # the working tree
    python bench/code_shape.py --rev fea8f11   # a commit (read with git show, nothing checked out)

Repeated blocks are counted by the `duplicates` tool where it is installed (``duplicates --repo src``).

Import cycles are counted twice: over the imports a module runs when it is loaded (the ones that
can fail at import time), and over every import, those inside functions included (the layering:
a lower package that reaches a higher one, however late).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONG = 60
"""Functions over this many lines are listed."""

LAYERS = {
    "errors": 0, "files": 0, "locks": 0, "jsonl": 0, "chatter": 0, "progress": 0, "hub": 0, "recipes": 0,
    "prompts": 0, "settings": 0, "tokenizers": 0, "metrics": 0,
    "formats": 1, "models": 1, "options": 1, "runs": 1,
    "budget": 2,
    "backends": 3,
    "methods": 4, "grading": 4, "tasks": 4,
    "cli": 5, "__main__": 5, "eval": 5, "serve": 5, "train": 5, "curate": 5, "synth": 5, "view": 5, "demo": 5,
    "generation": 5, "reward": 5,
}
"""How the packages stack, bottom (0) to top: stages over methods over backends over budget over
formats, run files and files. An import from a package to one above it is listed."""
BUDGET_FIELDS = ("max_thinking_tokens", "min_thinking_tokens", "num_ignore", "wait_string", "answer_prefix",
                 "max_answer_tokens")


def sources(rev: str | None) -> dict[str, str]:
    """Each Python file under src/ (its path from the repository) and its text."""
    if rev is None:
        return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted((ROOT / "src").rglob("*.py"))}
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "src"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{rev}:{n}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
            for n in names if n.endswith(".py")}


def module_name(path: str) -> str:
    parts = Path(path).relative_to("src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module, name: str, package: bool, top_only: bool, known: set[str]) -> set[str]:
    """The s1kit modules ``name`` imports (at its top level only, or anywhere)."""
    nodes = tree.body if top_only else list(ast.walk(tree))
    if top_only:  # a top-level `if TYPE_CHECKING:` or try block still runs at import
        nodes = [n for top in tree.body for n in ast.walk(top) if not isinstance(top, (ast.FunctionDef, ast.ClassDef,
                                                                                         ast.AsyncFunctionDef))]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("s1kit")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".") if package else name.split(".")[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base.startswith("s1kit"):
                # `from package import module` depends on the module; `from module import name` on the module
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return found


def rank(module: str) -> int | None:
    return LAYERS.get(module.split(".")[1]) if module.count(".") else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", help="a git revision instead of the working tree")
    args = parser.parse_args()
    files = sources(args.rev)
    trees = {module_name(path): (Path(path), ast.parse(text)) for path, text in files.items()}
    print(f"files: {len(files)}")
    print(f"lines under src/: {sum(text.count(chr(10)) for text in files.values())}")

    functions = []
    for name, (_path, tree) in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    long = sorted((f for f in functions if f[0] > LONG), reverse=True)
    print(f"functions: {len(functions)}; over {LONG} lines: {len(long)}")
    for length, where in long:
        print(f"  {length:4d}  {where}")

    known = set(trees)
    for label, top_only in (("at import time", True), ("counting imports inside functions", False)):
        graph = {}
        for name, (path, tree) in trees.items():
            targets = {t for t in imports(tree, name, path.name == "__init__.py", top_only, known) if t in known and t != name}
            graph[name] = targets
        found = cycles(graph)
        print(f"\nimport cycles {label}: {len(found)}")
        for component in found:
            print("  " + " <-> ".join(component))
    upward = sorted((a, b) for a, targets in graph.items() for b in targets if rank(a) is not None
                    and rank(b) is not None and rank(b) > rank(a))
    print(f"\nimports from a lower package to a higher one: {len(upward)}")
    for a, b in upward:
        print(f"  {a} -> {b}")

    print("\nwhere each budget setting is declared (fields of the *Config dataclasses):")
    for field in BUDGET_FIELDS:
        places = []
        for name, (_path, tree) in trees.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Config") and any(
                        isinstance(d, ast.Name) and d.id == "dataclass" or isinstance(d, ast.Call)
                        and getattr(d.func, "id", None) == "dataclass" for d in node.decorator_list):
                    if any(isinstance(s, ast.AnnAssign) and getattr(s.target, "id", None) == field for s in node.body):
                        places.append(f"{name}.{node.name}")
        print(f"  {field}: {len(places)} ({', '.join(places)})")

    readers = []
    for name, (_path, tree) in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(c, ast.Call) and getattr(c.func, "id", getattr(c.func, "attr", None)) == "load_yaml"
                    for c in ast.walk(node)) and node.name != "load_yaml":
                readers.append(f"{name}.{node.name}")
    print(f"\nfunctions that read a recipe file and lay settings over it: {len(readers)}")
    for where in readers:
        print(f"  {where}")


if __name__ == "__main__":
    main()
