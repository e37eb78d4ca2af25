"""Nothing in src/ is defined for no one: every function, class, method and module-level name is
used somewhere in src/, tests/, bench/ or recipes/ (docstrings do not count as a use)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TREES = ("src", "tests", "bench", "recipes")

CALLED_BY_LIBRARIES = {
    # vLLM's ReasoningParser and LogitsProcessor interfaces (serve/reasoning.py, backends/vllm_processor.py)
    "reasoning_start_str", "reasoning_end_str", "adjust_request", "is_reasoning_end_streaming", "is_argmax_invariant",
    # transformers' TrainerCallback hooks (train/divergence.py)
    "on_pre_optimizer_step", "on_step_end", "on_epoch_end",
}
"""Names that a library calls by name, never our code."""


def _used_names() -> set[str]:
    used = set()
    for tree_name in TREES:
        for path in (REPO / tree_name).rglob("*"):
            if not path.is_file():
                continue
            if path.suffix != ".py":
                if path.suffix in (".yaml", ".yml", ".js", ".html", ".toml", ".json", ".sh"):
                    used |= set(re.findall(r"[A-Za-z_]\w*", path.read_text(encoding="utf-8", errors="ignore")))
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
                    used.add(node.id)
                elif isinstance(node, ast.Attribute):
                    used.add(node.attr)
                elif isinstance(node, ast.alias):
                    used.add(node.name.split(".")[-1])
                elif isinstance(node, ast.keyword) and node.arg:
                    used.add(node.arg)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    used |= set(re.findall(r"[A-Za-z_]\w*", node.value[:200]))  # getattr names, module:function
    return used


def _defined_names():
    for path in sorted((REPO / "src").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not _registered(node):
                yield path, node.lineno, node.name
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        yield path, node.lineno, target.id
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                yield path, node.lineno, node.target.id


def _registered(node) -> bool:
    """A command function: ``@app.command()`` hands it to typer, which calls it."""
    return any(isinstance(d, ast.Call) and getattr(d.func, "attr", None) == "command" for d in node.decorator_list)


def test_every_name_defined_in_src_is_used():
    used = _used_names() | CALLED_BY_LIBRARIES
    unused = [f"{path.relative_to(REPO)}:{line} {name}" for path, line, name in _defined_names()
              if not name.startswith("__") and name != "main" and name not in used]
    assert unused == []
