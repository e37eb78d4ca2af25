"""Ctrl-C ends a long command with one line on stderr saying what is saved and how to go on, and
exit status 130: a real SIGINT for eval and train; traces and curate stopped in their model calls."""

from __future__ import annotations

import contextlib
import json
import re
import signal
from collections import Counter

import pytest

from s1kit.backends.scripted import ScriptedBackend
from s1kit.curate.config import CurateConfig, ModelCallConfig
from s1kit.recipes import build


def only_line(run) -> str:
    """The run ended on Ctrl-C with one line and nothing else: no traceback, nothing on stdout."""
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1, run.stderr
    return lines[0]


def complete_units(samples) -> int:
    """Questions with a row for both points (a line cut short aside): the units a resume keeps."""
    rows = []
    for line in samples.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    return sum(count == 2 for count in Counter(row["question_index"] for row in rows).values())


def test_eval_says_how_many_units_are_saved_and_resume_finishes(forker, tmp_path):
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    out = tmp_path / "run"
    samples = out / "samples.jsonl"
    args = ["eval", "--task", "nano", "--model", "s1-nano", "--limit", "8", "--budgets", "16,64",
            "--max-answer-tokens", "8", "--chunk-units", "1", "--batch-size", "1", "--device", "cpu", "--out", out]
    run = forker.run(args, when=lambda: samples.exists() and len(samples.read_bytes().splitlines()) >= 4,
                     send=signal.SIGINT)
    saved = int(re.fullmatch(r"interrupted; (\d+) of 8 units saved; rerun with --resume", only_line(run)).group(1))
    assert 2 <= saved < 8 and saved == complete_units(samples)

    resumed = forker.run([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    keys = [(r["question_index"], r["budget"]) for r in map(json.loads, samples.read_text().splitlines())]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 16


def test_train_names_the_checkpoint_a_resume_continues_from(forker, tmp_path):
    pytest.importorskip("trl", reason="s1kit train needs the [train] extra")
    from s1kit.train.run_dir import last_checkpoint
    from tiny_training import write_recipe

    out = tmp_path / "run"
    run = forker.run(["train", "--recipe", write_recipe(tmp_path), "--output-dir", out],
                     when=lambda: (out / "checkpoint-2" / "trainer_state.json").exists(), send=signal.SIGINT)
    step = last_checkpoint(out).rsplit("-", 1)[1]
    assert only_line(run) == f"interrupted; {step} of 6 steps saved (checkpoint-{step}); rerun with --resume"
    assert not (out / "model.safetensors").exists()


def interrupting(script: str, after: int) -> ScriptedBackend:
    """A scripted model whose call ``after + 1`` is stopped by Ctrl-C."""
    backend = ScriptedBackend(script)
    run = backend.run

    def counted(prompt_ids, *args, **kwargs):
        if len(backend.calls) >= after:
            raise KeyboardInterrupt
        return run(prompt_ids, *args, **kwargs)

    backend.run = counted
    return backend


def test_traces_say_how_many_traces_the_cache_keeps(tmp_path):
    from s1kit.curate.traces import TracesConfig, main

    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question": f"Question {i}?"}) + "\n" for i in range(5)))
    config = TracesConfig(questions=str(questions), out=str(tmp_path / "t.jsonl"), retries=0,
                          teacher=build(ModelCallConfig, dict(model="teacher", format="think-tags", batch_size=1)))
    with pytest.raises(KeyboardInterrupt, match=rf"^2 of 5 traces saved in {tmp_path / 't.jsonl.cache.sqlite'}; "
                                                r"rerun the same command to go on from there$"):
        main(config, {"teacher": interrupting("Hmm </think> 7", after=2)})
    again = ScriptedBackend("Hmm </think> 7")
    assert main(config, {"teacher": again})["cached"] == 2 and len(again.calls) == 3


def test_curate_says_how_many_model_replies_the_cache_keeps(tmp_path):
    pytest.importorskip("transformers", reason="the bytes tokenizer that counts trace lengths needs the [train] extra")
    from s1kit.curate.pipeline import main
    from s1kit.synth.build import SynthConfig
    from s1kit.synth.build import main as synth

    pool, evals = tmp_path / "pool.jsonl", tmp_path / "evals.jsonl"
    synth(SynthConfig(split="pool", size=12, seed=5), pool)
    evals.write_text(json.dumps({"question": "What is the only even prime number?", "answer": "2"}) + "\n")
    config = CurateConfig(pool=str(pool), out=str(tmp_path / "out"), size=4, select="diverse", tokenizer="bytes",
                          eval_sets=[f"jsonl:{evals}"],
                          solvers=[build(ModelCallConfig, dict(model="solver", format="think-tags", batch_size=4))])
    with pytest.raises(KeyboardInterrupt, match=rf"^4 model replies saved in {tmp_path / 'out' / 'cache.sqlite'}; "
                                                r"rerun the same command to go on without asking them again$"):
        main(config, {"solver": interrupting("Hmm </think> 7", after=4)})
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_the_demo_does_not_say_resume_for_it_starts_afresh(tmp_path, monkeypatch):
    import s1kit.eval.run
    from s1kit.demo import main

    def interrupted(config, backend_config=None):
        raise KeyboardInterrupt("3 of 60 units saved; rerun with --resume")

    monkeypatch.setattr(s1kit.eval.run, "main", interrupted)
    with pytest.raises(KeyboardInterrupt, match=r"^nothing to resume: s1kit demo starts afresh each time$"):
        main(out=tmp_path / "demo")
