"""Reading YAML settings safely: a file whose aliases expand to billions of values ("billion laughs"),
one that holds itself or nests too deep is refused in one line naming it, and every "must be X, got
..." message shows the value's type and a short, bounded view of it however big the value is."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from s1kit.errors import S1kitError, check_positive_int, shown
from s1kit.recipes import MAX_YAML_VALUES, build, coerce, load_yaml, parse_yaml

pytest.importorskip("yaml", reason="recipes are YAML")

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def laughs(levels: int, key: str = "lol") -> str:
    """A few hundred bytes whose last key stands for 9**(levels + 1) values."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    lines.append(f"{key}: [{', '.join([f'*l{levels - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def nested_list(levels: int):
    """A list that stands for 9**levels strings, held in a few kilobytes (each level shares the last)."""
    value = ["x"] * 9
    for _ in range(levels - 1):
        value = [value] * 9
    return value


def test_a_billion_laughs_is_refused_naming_the_file(tmp_path):
    recipe = tmp_path / "laughs.yaml"
    recipe.write_text(laughs(9))  # 3.5 billion values in 330 bytes
    start = time.perf_counter()
    with pytest.raises(S1kitError, match=rf"^recipe {recipe} stands for more than 100,000 values once its aliases"):
        load_yaml(recipe)
    assert time.perf_counter() - start < 1


def test_a_model_config_of_a_billion_laughs_is_refused_naming_the_file(tmp_path):
    from s1kit.train.scratch import read_model_config

    path = tmp_path / "model.yaml"
    path.write_text(laughs(9, key="hidden_size"))
    with pytest.raises(S1kitError, match=rf"^model_config {path} stands for more than 100,000 values"):
        read_model_config(path)


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", r"stands for more than 100,000 values"),   # a list within itself is endless
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"nests its lists and mappings too deep to read; flatten it"),
])
def test_a_file_that_cannot_be_walked_is_one_line(tmp_path, text, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(text)
    with pytest.raises(S1kitError, match=message):
        load_yaml(recipe)


def test_aliases_within_the_limit_still_load():
    assert parse_yaml("base: &b {x: 1, y: 2}\nmine:\n  <<: *b\n  y: 3\n", "r") == {
        "base": {"x": 1, "y": 2}, "mine": {"x": 1, "y": 3}}
    assert len(parse_yaml(laughs(4), "r")["lol"]) == 9  # 59,049 strings, 74,000 values in all: under the limit
    assert parse_yaml("", "r") is None


def test_every_shipped_recipe_is_far_under_the_limit():
    recipes = [path for path in RECIPES.rglob("*.yaml") if path.parent.name != "accelerate"]
    assert recipes and all(isinstance(load_yaml(path), dict) for path in recipes)
    assert MAX_YAML_VALUES >= 1000 * max(len(path.read_text().splitlines()) for path in recipes)


@pytest.mark.parametrize("value, text", [
    ("fast", "'fast' (str)"),
    (0, "0 (int)"),
    (-1.5, "-1.5 (float)"),
    (float("inf"), "inf (float)"),
    (True, "True (bool)"),
    (None, "None"),
    ([1, 2], "[1, 2] (list)"),
    ({"a": 1}, "{'a': 1} (dict)"),
    (10 ** 5000, "<an integer of about 5,001 digits> (int)"),  # CPython refuses str() of it
], ids=["str", "int", "float", "inf", "bool", "none", "list", "dict", "huge-int"])
def test_shown_names_the_type_and_the_value(value, text):
    assert shown(value) == text


@pytest.mark.parametrize("value", [nested_list(12), "x" * 1_000_000, {str(i): i for i in range(100_000)}],
                         ids=["shared-list", "long-str", "big-dict"])
def test_shown_is_short_and_quick_however_big_the_value(value):
    start = time.perf_counter()
    text = shown(value)
    assert len(text) <= 100 and time.perf_counter() - start < 0.1


@dataclasses.dataclass
class Settings:
    size: int = 1


@pytest.mark.parametrize("fail", [
    lambda value: coerce(int, value, "size", "r.yaml"),
    lambda value: coerce(str, value, "model", "r.yaml"),
    lambda value: build(Settings, value, "r.yaml"),
    lambda value: check_positive_int("size", value),
])
def test_must_be_messages_stay_one_short_line(fail):
    with pytest.raises(S1kitError) as error:
        fail(nested_list(12))  # 282 billion values, were its repr written out
    message = str(error.value)
    assert "(list)" in message and len(message) < 250 and "\n" not in message
