"""kill -9 at random points of `s1kit traces`, `curate` and `train`, and of `eval` as it rewrites its
config (tests/test_eval.py kills it while it generates): after every kill the output holds nothing
cut short that a later run would trust, and the rerun ends with the files of a run that was never
interrupted: no row lost, none twice.

Each stage is killed several times at seeded points: a change to its output picked at random from
an uninterrupted run's (see killing.py), a random moment of its run, or for traces a random number
of teacher calls done. The runs are forked from one process that imported torch once, so each costs
about a second.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import sqlite3

import pytest

from killing import Run


def ended_well(run: Run) -> bool:
    """Killed, or ended by itself with success: never refused nor crashed by what a kill left."""
    assert run.killed or run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run.killed


def cached_calls(path) -> int:
    """Calls committed to a call cache so far (read while a run writes it)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as cache:
            return cache.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    except sqlite3.Error:  # not made yet, or locked by the write under way
        return 0


def test_traces_killed_anywhere_resume_to_the_uninterrupted_file(forker, tmp_path):
    """Each kill on a new output: in the middle of the teacher's calls, once a seeded number of them
    is in the cache (the rerun asks only the others), or at a change (the file is written once, at
    the end)."""
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question": f"A{i} B{i + 2} C{i + 5}: sum them.", "n": i}) + "\n"
                                 for i in range(8)))
    args = ["traces", "--questions", questions, "--teacher", "s1-nano", "--max-thinking-tokens", "32",
            "--max-answer-tokens", "8", "--batch-size", "1", "--device", "cpu", "--out"]
    reference = forker.run([*args, tmp_path / "whole" / "traces.jsonl"], watch=tmp_path / "whole")
    assert reference.returncode == 0, reference.stderr
    expected = (tmp_path / "whole" / "traces.jsonl").read_bytes()

    rng = random.Random(0)
    points = [{"calls": calls} for calls in rng.sample(range(1, 8), 2)]
    points.append({"kill_at_change": rng.randint(1, len(reference.changes))})
    for trial, point in enumerate(points):
        out = tmp_path / f"killed-{trial}" / "traces.jsonl"
        if "calls" in point:
            calls = point["calls"]
            killed = forker.run([*args, out], when=lambda out=out, calls=calls: cached_calls(f"{out}.cache.sqlite") >= calls)
        else:
            killed = forker.run([*args, out], watch=out.parent, **point)
        assert ended_well(killed), f"the run ended before its kill at {point}"
        assert not out.exists() or out.read_bytes() == expected  # written whole, after every call
        rerun = forker.run([*args, out])
        assert rerun.returncode == 0, rerun.stderr
        assert out.read_bytes() == expected
        if "calls" in point:  # the rerun asks only what the cache lacks
            made, cached = map(int, re.search(r"\((\d+) calls made, (\d+) from the cache\)", rerun.stdout).groups())
            assert made + cached == 8 and cached >= calls, rerun.stdout


CURATE_OUTPUTS = ("dataset.jsonl", "dataset.parquet", "domains.png", "trace_lengths.png", "report.md", "manifest.json")


def test_curate_killed_anywhere_leaves_no_output_of_another_run(forker, tmp_path):
    """The run directory first holds a finished run of another seed. However the kills fall, a
    manifest (which says the run finished) stands only beside that same run's outputs, and no output
    is cut short."""
    pytest.importorskip("pyarrow", reason="the Parquet output needs the [curate] extra")
    pytest.importorskip("matplotlib", reason="the curation plots need the [plots] extra")
    from s1kit.synth.build import SynthConfig
    from s1kit.synth.build import main as synth

    pool, evals = tmp_path / "pool.jsonl", tmp_path / "evals.jsonl"
    synth(SynthConfig(split="pool", size=24, seed=5), pool)
    evals.write_text(json.dumps({"question": "What is the only even prime number, written in words?", "answer": "2"}) + "\n")
    out = tmp_path / "curated"
    args = ["curate", "--pool", pool, "--out", out, "--size", "8", "--select", "diverse", "--tokenizer", "bytes",
            "--eval-sets", f"jsonl:{evals}", "--seed"]
    finished = {}
    for seed in ("0", "1"):  # the directory ends with seed 1's run; the kills below interrupt seed 0's
        reference = forker.run([*args, seed], watch=out)
        assert reference.returncode == 0, reference.stderr
        finished[seed] = {name: (out / name).read_bytes() for name in CURATE_OUTPUTS}
    assert finished["0"]["dataset.jsonl"] != finished["1"]["dataset.jsonl"]

    rng = random.Random(0)
    points = [{"kill_at_change": k} for k in sorted(rng.sample(range(1, len(reference.changes) + 1), 4))]
    points.append({"kill_after": rng.uniform(0.05, reference.seconds)})
    for point in points:
        ended_well(forker.run([*args, "0"], watch=out, **point))
        present = {name: (out / name).read_bytes() for name in CURATE_OUTPUTS if (out / name).exists()}
        for name, data in present.items():
            assert data in (finished["0"][name], finished["1"][name]), f"{name} cut short by a kill at {point}"
        if "manifest.json" in present:
            run = "0" if present["manifest.json"] == finished["0"]["manifest.json"] else "1"
            assert present == finished[run], f"manifest.json beside another run's outputs after a kill at {point}"
    final = forker.run([*args, "0"])
    assert final.returncode == 0, final.stderr
    assert {name: (out / name).read_bytes() for name in CURATE_OUTPUTS} == finished["0"]


def test_train_killed_anywhere_resumes_to_the_uninterrupted_weights(forker, tmp_path):
    pytest.importorskip("trl", reason="s1kit train needs the [train] extra")
    from safetensors.torch import load_file

    from tiny_training import write_recipe

    args = ["train", "--recipe", write_recipe(tmp_path), "--resume", "--output-dir"]
    whole, out = tmp_path / "whole", tmp_path / "killed"
    reference = forker.run([*args, whole], watch=whole)
    assert reference.returncode == 0, reference.stderr

    # One kill among the first writes of a new run (its directory, lock and config), then seeded
    # changes of the checkpoints, named, in the order they come: each resumed run starts from the
    # checkpoint before its point and reaches it. Then a random moment.
    rng = random.Random(0)
    first = reference.changes.index(next(c for c in reference.changes if "checkpoint-" in c))
    named = [c for c in reference.changes[first:] if ".tmp" not in c]
    points = [{"kill_at_change": rng.randint(1, first)}]
    points += [{"kill_at_change": named[i]} for i in sorted(rng.sample(range(len(named)), 3))]
    points.append({"kill_after": rng.uniform(0.05, reference.seconds)})
    kills = sum(ended_well(forker.run([*args, out], watch=out, **point)) for point in points)
    assert kills >= 4
    # A finished run resumed again and killed as it saves the model: no summary says the model is whole.
    assert forker.run([*args, out]).returncode == 0
    assert forker.run([*args, out], watch=out, kill_at_change="open config.json").killed
    assert not (out / "train_summary.json").exists()
    final = forker.run([*args, out])
    assert final.returncode == 0, final.stderr

    resumed, uninterrupted = load_file(out / "model.safetensors"), load_file(whole / "model.safetensors")
    assert resumed.keys() == uninterrupted.keys()
    assert all(resumed[name].equal(uninterrupted[name]) for name in resumed)
    summary, expected = (json.loads((d / "train_summary.json").read_text()) for d in (out, whole))
    assert summary["steps"] == expected["steps"] == 6 and summary["losses"] == expected["losses"]


def test_eval_killed_as_it_rewrites_its_config_still_resumes(forker, tmp_path):
    """`--resume` writes config.json again; a kill right there must leave one a resume accepts."""
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    out = tmp_path / "run"
    args = ["eval", "--task", "nano", "--model", "s1-nano", "--limit", "2", "--budgets", "16", "--max-answer-tokens",
            "8", "--device", "cpu", "--resume", "--out", out]
    finished = forker.run(args)
    assert finished.returncode == 0, finished.stderr
    expected = (out / "samples.jsonl").read_bytes()
    assert forker.run(args, watch=out, kill_at_change="config.json").killed
    resumed = forker.run(args)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "samples.jsonl").read_bytes() == expected
