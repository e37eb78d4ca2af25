"""The packages stack without loops: no import cycle (imports inside functions counted), no import
from a lower package to a higher one (bench/code_shape.py's LAYERS), and the viewer, which eval
calls to write its pages, imports nothing of eval."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _code_shape():
    spec = importlib.util.spec_from_file_location("code_shape", REPO / "bench" / "code_shape.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shape():
    return _code_shape()


@pytest.fixture(scope="module")
def graph(shape):
    """Every s1kit module and the s1kit modules it imports anywhere (inside functions too)."""
    import ast

    trees = {shape.module_name(path): (Path(path), ast.parse(text)) for path, text in shape.sources(None).items()}
    known = set(trees)
    return {name: {t for t in shape.imports(tree, name, path.name == "__init__.py", False, known)
                   if t in known and t != name}
            for name, (path, tree) in trees.items()}


def test_no_import_cycle_counting_imports_inside_functions(shape, graph):
    assert shape.cycles(graph) == []


def test_no_import_from_a_lower_package_to_a_higher_one(shape, graph):
    upward = sorted((a, b) for a, targets in graph.items() for b in targets
                    if shape.rank(a) is not None and shape.rank(b) is not None and shape.rank(b) > shape.rank(a))
    assert upward == []


def test_every_package_has_a_layer(shape, graph):
    """A new top-level module or package is placed in the stack, so its imports are checked too."""
    unplaced = sorted({name.split(".")[1] for name in graph if name.count(".") and shape.rank(name) is None})
    assert unplaced == []


def test_the_viewer_imports_nothing_of_eval(graph):
    reaching = sorted((a, b) for a, targets in graph.items() if a.startswith("s1kit.view")
                      for b in targets if b.startswith("s1kit.eval"))
    assert reaching == []
