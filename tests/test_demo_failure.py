"""A demo that fails (its model does not load, or a run stops midway) leaves nothing it made in
--out, and everything that was there before it."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

import s1kit.eval.run
from s1kit.cli import app
from s1kit.demo import main


def listing(root) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


@pytest.fixture
def weightless_model(tmp_path):
    """s1-nano's directory without its weights: its tokenizer and config load, the model does not."""
    from s1kit.models import builtin_path

    model = tmp_path / "model"
    shutil.copytree(builtin_path("s1-nano"), model, ignore=shutil.ignore_patterns("*.safetensors"))
    return model


def test_a_model_that_does_not_load_leaves_no_demo_directory(tmp_path, weightless_model):
    out = tmp_path / "runs" / "demo"
    result = CliRunner().invoke(app, ["demo", "--model", str(weightless_model), "--limit", "2", "--out", str(out)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no file named model.safetensors" in errors[0], result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()  # nor the parent the demo made for it


def test_a_failed_demo_keeps_what_was_in_out_before_it(tmp_path, weightless_model):
    out = tmp_path / "demo"
    (out / "rejection").mkdir(parents=True)  # the user's own folders and files, no demo's
    (out / "notes.txt").write_text("mine\n")
    (out / "rejection" / "draft.md").write_text("mine too\n")
    before = listing(out)
    result = CliRunner().invoke(app, ["demo", "--model", str(weightless_model), "--limit", "2", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert listing(out) == before
    assert (out / "notes.txt").read_text() == "mine\n"


@pytest.mark.parametrize("failure", [RuntimeError("CUDA error: device-side assert triggered"), KeyboardInterrupt()],
                         ids=["error", "interrupt"])
def test_a_run_that_fails_midway_takes_the_runs_before_it_along(tmp_path, monkeypatch, failure):
    """The sweep and a baseline wrote their files; the next baseline fails while generating."""
    out = tmp_path / "demo"
    (out / "rejection").mkdir(parents=True)
    (out / "rejection" / "draft.md").write_text("mine\n")
    before = listing(out)
    calls = []

    def evaluate(config, backend_config=None):
        run = tmp_path.joinpath(config.out)
        run.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "samples.jsonl", ".s1kit.lock"):
            (run / name).write_text("{}\n")
        calls.append(config.method)
        if config.method == "rejection":
            raise failure
        return {"model": "m", "task": "nano", "questions": 2, "points": []}

    monkeypatch.setattr(s1kit.eval.run, "main", evaluate)
    with pytest.raises(type(failure)):
        main(out=out, limit=2)
    assert calls == ["budget-forcing", "token-conditional", "rejection"]
    assert listing(out) == before
