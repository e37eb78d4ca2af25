"""`s1kit eval` end to end on s1-nano: files, consistency with samples.jsonl, resume, bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.errors import S1kitError
from shared_data import SHARED_DATA as DATA

pytest.importorskip("math_verify", reason="grading needs the [math] extra")


def config(tmp_path, **overrides):
    from s1kit.eval.config import eval_config

    options = dict(task="nano", model="s1-nano", limit=3, budgets=[8, 16, 32], num_ignore=[0, 1],
                   max_answer_tokens=12, out=str(tmp_path / "run"))
    options.update(overrides)
    return eval_config(**options)


def test_eval_writes_consistent_files(tmp_path, nano_backend):
    from s1kit.eval.run import main

    metrics = main(config(tmp_path), backend=nano_backend)
    out = tmp_path / "run"
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 3 * 3 * 2  # questions x caps x ignore counts
    for point in metrics["points"]:
        mine = [r for r in rows if (r["max_thinking_tokens"], r["num_ignore"]) == (point["max_thinking_tokens"], point["num_ignore"])]
        assert point["accuracy"] == sum(r["correct"] for r in mine) / len(mine)
        assert point["avg_thinking_tokens"] == sum(r["thinking_tokens"] for r in mine) / len(mine)
        assert all(r["thinking_tokens"] <= point["max_thinking_tokens"] for r in mine)
        assert all(r["waits_inserted"] <= point["num_ignore"] for r in mine)
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "| cap | ignores | accuracy (%)" in report and "Control (%)" in report and "Decoded" in report
    assert json.loads((out / "config.json").read_text())["budgets"] == [8, 16, 32]
    tokens = metrics["tokens"]
    assert tokens["largest_point_alone"] <= tokens["decoded"] < tokens["independent_runs"]
    assert tokens["decoded"] == sum(r["decoded_tokens"] for r in rows)


def test_interrupted_run_resumes_to_the_same_rows(tmp_path, monkeypatch, nano_backend):
    import s1kit.budget.sweep as sweep
    from s1kit.eval.run import main

    whole = config(tmp_path, out=str(tmp_path / "whole"), chunk_units=1)
    main(whole, backend=nano_backend)
    expected = (tmp_path / "whole" / "samples.jsonl").read_bytes()

    calls = []
    real = sweep.run_sweep

    def interrupted(backend, questions, *args, **kwargs):
        calls.append(len(questions))
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third unit
        return real(backend, questions, *args, **kwargs)

    monkeypatch.setattr(sweep, "run_sweep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(config(tmp_path, chunk_units=1), backend=nano_backend)
    path = tmp_path / "run" / "samples.jsonl"
    assert len(path.read_text().splitlines()) == 2 * 6
    with path.open("a") as sink:
        sink.write('{"question_index": 2, "sample": 0, "max_thin')  # a torn line, as after a kill
    monkeypatch.setattr(sweep, "run_sweep", real)
    resumed_calls = []
    monkeypatch.setattr(sweep, "run_sweep", lambda b, q, *a, **k: resumed_calls.append(len(q)) or real(b, q, *a, **k))
    main(config(tmp_path, resume=True, chunk_units=1), backend=nano_backend)
    assert resumed_calls == [1]  # only the unit that was not saved
    assert path.read_bytes() == expected


def test_resume_refuses_another_config_and_a_fresh_run_refuses_old_samples(tmp_path, nano_backend):
    from s1kit.eval.run import main

    main(config(tmp_path, limit=1, budgets=[8], num_ignore=[0]), backend=nano_backend)
    with pytest.raises(S1kitError, match="already holds samples; pass --resume"):
        main(config(tmp_path, limit=1, budgets=[8], num_ignore=[0]), backend=nano_backend)
    with pytest.raises(S1kitError, match=r"made with another config \(budgets: \[8\] there, \[8, 16\] now"):
        main(config(tmp_path, limit=1, budgets=[8, 16], num_ignore=[0], resume=True), backend=nano_backend)


runner = CliRunner()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--task", "aime"], "unknown task 'aime'; choose from aime24, aime25, amc23, gpqa_diamond, gsm8k, math500"),
        (["--task", "aime24", "--budgets", "512,0"], "budget '0' in '512,0' is not a positive integer"),
        (["--task", "aime24", "--budgets", "12x"], "budget '12x'"),
        (["--task", "aime24", "--num-ignore", "-1"], "'-1' in --num-ignore"),
        (["--task", "aime24", "--samples", "4"], "identical samples; pass --temperature above 0"),
        (["--task", "aime24", "--limit", "0"], "limit must be a positive integer"),
        (["--task", "aime24", "--method", "tree-of-thought"], "unknown method 'tree-of-thought'; choose from budget-forcing, token-conditional"),
        (["--task", "aime24", "--method", "token-conditional"], "token-conditional needs budgets to aim at"),
    ],
)
def test_eval_bad_input_is_one_line(tmp_path, args, fragment):
    result = runner.invoke(app, ["eval", *args, "--data-dir", str(DATA), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


def test_eval_jsonl_task_missing_field_names_field_and_line(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "1+1?", "answer": "2"}\n{"question": "2+2?"}\n')
    result = runner.invoke(app, ["eval", "--task", f"jsonl:{path}", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "line 2" in result.output and "'answer'" in result.output, result.output


def test_grade_and_plot_commands(tmp_path, nano_backend):
    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text('{"response": "<think>so</think> \\\\boxed{033}", "answer": "33"}\n{"response": "no idea", "answer": "7"}\n')
    result = runner.invoke(app, ["grade", str(outputs), "--kind", "integer"])
    assert result.exit_code == 0, result.output
    assert "1/2 correct (50.0%)" in result.output
    assert [json.loads(line)["correct"] for line in outputs.read_text().splitlines()] == [True, False]

    from s1kit.eval.run import main

    for name, budgets in (("a", [8, 16]), ("b", [8, 32])):
        main(config(tmp_path, limit=1, budgets=budgets, num_ignore=[0], out=str(tmp_path / name)), backend=nano_backend)
    result = runner.invoke(app, ["plot", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "both.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "both.png").read_bytes()[:4] == b"\x89PNG"
    result = runner.invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "has no metrics.json" in result.output


def test_samples_give_pass_maj_and_cov(tmp_path, nano_backend):
    from s1kit.eval.run import main

    metrics = main(config(tmp_path, limit=2, budgets=[8, 16], num_ignore=[0], samples=3, temperature=1.0, seed=7), backend=nano_backend)
    rows = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 3 * 2
    assert len({r["seed"] for r in rows if r["max_thinking_tokens"] == 16}) == 6  # one seed per (question, sample)
    for point in metrics["points"]:
        assert {"pass@1", "pass@3", "maj@3", "cov@3"} <= set(point)
        assert point["pass@1"] == pytest.approx(point["accuracy"])
        assert point["pass@3"] == pytest.approx(point["cov@3"])  # n == k: both are "any of the 3 correct"
    assert "maj@3" in (tmp_path / "run" / "report.md").read_text()


def test_eval_with_a_judge_records_and_reports_its_verdicts(tmp_path, smollm2_dir):
    from s1kit.eval.run import main

    metrics = main(config(tmp_path, limit=2, budgets=[8], num_ignore=[0], judge="smollm2-135m",
                          judge_max_thinking_tokens=4))
    rows = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    judged = [r for r in rows if r["judged"]]
    assert len(judged) == sum(not r["rule_correct"] for r in rows)  # fallback: only the rules' wrong rows
    assert metrics["grading"]["judge"] == "smollm2-135m" and metrics["grading"]["judged"] == len(judged)
    assert metrics["points"][0]["accuracy"] == sum(r["correct"] for r in rows) / len(rows)
    assert "by the judge smollm2-135m (fallback)" in (tmp_path / "run" / "report.md").read_text()
    with pytest.raises(S1kitError, match=r"judge_mode: 'fallback' there, 'always' now"):
        main(config(tmp_path, limit=2, budgets=[8], num_ignore=[0], judge="smollm2-135m", judge_mode="always",
                    resume=True))


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_rows_of_an_uninterrupted_run(tmp_path):
    """A real kill -9 of an `s1kit eval` process: nothing can be flushed or cleaned up. One question
    per batch and per saved chunk (about 0.5 s each on 2 cores), so the kill lands mid-run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["eval", "--task", "nano", "--model", "s1-nano", "--limit", "12", "--budgets", "16,64",
            "--max-answer-tokens", "8", "--chunk-units", "1", "--batch-size", "1", "--device", "cpu"]
    whole = tmp_path / "whole"
    assert runner.invoke(app, [*args, "--out", str(whole)]).exit_code == 0
    out = tmp_path / "killed"
    samples = out / "samples.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "s1kit", *args, "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (samples.exists() and len(samples.read_bytes().splitlines()) >= 4):  # two units saved
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no units were written within 300 s"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    saved = len(samples.read_bytes().splitlines())
    assert saved < 12 * 2, "every unit was saved before the kill; nothing left to resume"
    result = runner.invoke(app, [*args, "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert samples.read_bytes() == (whole / "samples.jsonl").read_bytes()
    assert json.loads((out / "metrics.json").read_text()) == json.loads((whole / "metrics.json").read_text())
