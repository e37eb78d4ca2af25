"""Unusable output paths are one line before any work: a file where a directory goes, a folder
where a file goes, a missing folder, an image type matplotlib cannot write, a path the system refuses."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from s1kit.cli import app

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path):
    """A minimal eval run directory (metrics.json only) for plot and compare."""
    out = tmp_path / "run"
    out.mkdir()
    point = {"x": 8, "accuracy": 0.5, "stderr": 0.1, "label": "8"}
    metrics = {"model": "m", "task": "t", "method": "budget-forcing",
               "curves": [{"label": "cap", "kind": "sequential", "series": [point], "control": 1.0, "scaling": None,
                           "performance": 0.5}], "points": []}
    (out / "metrics.json").write_text(json.dumps(metrics))
    return out


@pytest.mark.parametrize("args, message", [
    (["plot", "{run}", "--out", "{tmp}/missing/x.png"], r"its folder .*missing does not exist"),
    (["plot", "{run}", "--out", "{tmp}/x.txt"], r"unknown image type '.txt'; end it with .png, .pdf or .svg"),
    (["plot", "{run}", "--out", "{tmp}"], r"is a directory; pass a file name"),
    (["compare", "{run}", "--out", "{tmp}/x.txt"], r"unknown image type '.txt'"),
    (["grade", "{tmp}/rows.jsonl", "--out", "{tmp}"], r"--out .* is a directory; pass the JSONL file"),
])
def test_bad_output_paths_are_one_line(tmp_path, run_dir, args, message):
    (tmp_path / "rows.jsonl").write_text(json.dumps({"response": "\\boxed{4}", "answer": "4"}) + "\n")
    args = [a.format(run=run_dir, tmp=tmp_path) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(message, lines[0]), result.output
    assert not (tmp_path / "x.md").exists()  # compare wrote nothing before refusing


def test_an_oserror_at_the_cli_boundary_is_one_line(tmp_path, capsys):
    import typer

    from s1kit.cli import user_errors

    @user_errors
    def command():
        open(tmp_path / "no" / "such" / "file")

    with pytest.raises(typer.Exit) as info:
        command()
    assert info.value.exit_code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: No such file or directory (") and "such/file" in err[0]


@pytest.mark.parametrize("content, message", [
    ('{"curves": [', r"metrics.json is not valid JSON \(cut short\?\); run s1kit eval --resume"),
    ('{"points": []}', r"metrics.json: lacks task, model, curves; it is not a metrics.json s1kit eval wrote"),
    ('{"task": "t", "model": "m", "points": [], "curves": [{"label": "x"}]}', r"lacks curves\[0\]\.series"),
])
@pytest.mark.parametrize("command", ["plot", "compare"])
def test_a_corrupt_metrics_json_is_one_line(tmp_path, run_dir, content, message, command):
    (run_dir / "metrics.json").write_text(content)
    result = runner.invoke(app, [command, str(run_dir), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and re.search(message, result.output), result.output


@pytest.mark.parametrize("row, message", [
    ({"question": ["a", "b"], "answer": "4"}, r"field 'question' is a list, not text"),
    ({"question": {"text": "a"}, "answer": "4"}, r"field 'question' is a dict, not text"),
])
def test_a_jsonl_task_refuses_a_question_that_is_not_text(tmp_path, row, message):
    from s1kit.errors import S1kitError
    from s1kit.tasks import get_task

    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(S1kitError, match=message):
        get_task(f"jsonl:{path}").load()
