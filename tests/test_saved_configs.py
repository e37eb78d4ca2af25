"""A run directory made before the configs nested their settings (tests/data/run-made-before, an
`s1kit eval --task nano --model s1-nano --budgets 4,8 --num-ignore 0,1 --limit 2` of 2026-12-07)
reads the same: its config.yaml as a recipe gives the settings it saved, --resume keeps every row
without generating one, and the viewer shows it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s1kit.cli import app

RUN = Path(__file__).parent / "data" / "run-made-before"


@pytest.fixture
def run(tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(RUN, copy)
    return copy


def test_its_config_yaml_as_a_recipe_gives_the_settings_it_saved(run):
    from s1kit.eval.config import resolve_run, saved_settings

    before = json.loads((run / "config.json").read_text())
    config = resolve_run(run / "config.yaml", {"out": str(run)})
    now = saved_settings(config)
    # One setting became a list to sweep since (the wait string): the same value, as a list of it.
    assert now["wait_string"] == [before["wait_string"]]
    same = {k for k in before if k in now and k != "wait_string"}
    assert {k: now[k] for k in same} == {k: before[k] for k in same} | {"out": str(run)}
    assert set(before) - set(now) <= {"grading", "versions", "model_source", "data"}  # records, not settings


class NoModel:
    """A backend that must not be asked: every unit is already in samples.jsonl."""

    name = "s1-nano"
    context_length = 1024

    def __getattr__(self, name):
        raise AssertionError(f"the resumed run used the model ({name})")


def test_a_resume_keeps_every_row_and_the_same_metrics(run):
    from s1kit.eval.config import resolve_run
    from s1kit.eval.run import main

    metrics = json.loads((run / "metrics.json").read_text())
    config = resolve_run(run / "config.yaml", {"out": str(run), "resume": True})
    again = main(config, backend=NoModel())
    assert again["points"] == metrics["points"] and again["curves"] == metrics["curves"]


def test_the_viewer_shows_it(run):
    result = CliRunner().invoke(app, ["view", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").stat().st_size > 10_000
