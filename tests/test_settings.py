"""Configs that nest configs keep flat setting names: each setting declared once, named once, read
from flat or nested recipes, saved flat, and laid over its defaults along one path."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from s1kit.errors import S1kitError
from s1kit.recipes import build, resolve
from s1kit.settings import FLAT, SECRET, flatten, group, leaves, unflatten


@dataclass
class Inner:
    cap: int | None = None
    """A cap."""
    word: str = "Wait"
    """A word."""
    length: int = 8
    """A length."""

    def __post_init__(self):
        if self.cap is not None and self.cap < 1:
            raise S1kitError(f"cap must be a positive integer, got {self.cap}")


@dataclass
class Judge:
    model: str = field(metadata={FLAT: "judge"})
    """The judge model."""
    mode: str = "fallback"
    """How it judges."""


@dataclass
class Outer:
    name: str
    """Required."""
    caps: list[int] = field(default_factory=lambda: [1])
    """Swept caps: the inner cap is not a setting here."""
    inner: Inner = group(Inner, skip=("cap",), length=16)
    judge: Judge | None = group(Judge, prefix="judge_", optional=True)
    token: str | None = field(default=None, metadata={SECRET: True})
    """A secret."""


def test_settings_are_flat_names_over_nested_fields():
    names = [(leaf.flat, leaf.path, leaf.default) for leaf in leaves(Outer)]
    assert names == [("name", ("name",), None), ("caps", ("caps",), [1]), ("word", ("inner", "word"), "Wait"),
                     ("length", ("inner", "length"), 16),  # the group's own default here
                     ("judge", ("judge", "model"), None), ("judge_mode", ("judge", "mode"), "fallback"),
                     ("token", ("token",), None)]
    assert [leaf.doc for leaf in leaves(Outer)][2] == "A word."


@pytest.mark.parametrize("data", [
    {"name": "x", "word": "Hmm", "judge": "m", "judge_mode": "always"},            # flat, as flags and old configs
    {"name": "x", "inner": {"word": "Hmm"}, "judge_mode": "always", "judge": "m"},  # nested, mixed
])
def test_flat_and_nested_recipes_build_the_same_config(data):
    config = build(Outer, data)
    assert config.inner == Inner(word="Hmm", length=16) and config.judge == Judge(model="m", mode="always")


def test_an_optional_group_is_absent_until_one_of_its_settings_is_given():
    assert build(Outer, {"name": "x"}).judge is None
    assert build(Outer, {"name": "x", "judge": None, "judge_mode": "fallback"}).judge is None  # a saved config's defaults
    with pytest.raises(S1kitError, match=r"no judge given; pass --judge"):  # given, the group needs its model
        build(Outer, {"name": "x", "judge_mode": "always"})


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "cap": 3}, r"unknown key 'cap'; did you mean 'caps'\?"),   # left out of the group here
    ({"name": "x", "wrod": "a"}, r"unknown key 'wrod'; did you mean 'word'\?"),
    ({"name": "x", "inner": {"lenght": 3}}, r"recipe.inner: unknown key 'lenght'; did you mean 'length'\?"),
    ({"name": "x", "length": "many"}, r"length in recipe must be int, got 'many' \(str\)"),
])
def test_a_bad_key_or_value_is_one_line_naming_it(data, message):
    with pytest.raises(S1kitError, match=message):
        build(Outer, data)


def test_the_saved_form_is_flat_without_secrets_and_builds_back():
    config = build(Outer, {"name": "x", "word": "Hmm", "judge": "m", "token": "s3cret"})
    saved = flatten(config)
    assert "token" not in saved and saved["word"] == "Hmm" and saved["judge"] == "m" and saved["length"] == 16
    assert build(Outer, {**saved, "token": "s3cret"}) == config
    assert unflatten(Outer, saved)["inner"] == {"word": "Hmm", "length": 16}


def test_one_merge_path_defaults_then_recipe_then_overrides_then_flags(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: from-recipe\nword: Hmm\ninner:\n  length: 4\nversions: {a: 1}\n")
    config = resolve(Outer, recipe, {"length": 2}, overrides=["name=from-override"], drop=("versions",))
    assert (config.name, config.inner.word, config.inner.length) == ("from-override", "Hmm", 2)
    with pytest.raises(S1kitError, match=r"unknown key 'versions'"):
        resolve(Outer, recipe)
