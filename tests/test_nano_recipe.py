"""recipes/nano/run.sh end to end, shortened: every stage of the recipe runs and hands the next one
what it needs (pool, curated set, a model trained from scratch, a scaling eval)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl", reason="the recipe trains with the [train] extra")
pytest.importorskip("pyarrow", reason="the recipe curates with the [curate] extra")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_shortened_recipe_runs_every_stage(tmp_path):
    out = tmp_path / "nano"
    env = {**os.environ, "OUT": str(out), "POOL": "240", "STEPS": "3",
           "EVAL_LIMIT": "6", "BUDGETS": "8,32", "S1KIT": str(Path(sys.executable).parent / "s1kit"),
           "PYTHON": sys.executable}
    done = subprocess.run(["bash", "recipes/nano/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    pool = [json.loads(line) for line in (out / "pool.jsonl").open()]
    assert len(pool) == 240 and {r["domain"] for r in pool} == {"sum", "count", "find"}
    manifest = json.loads((out / "curated" / "manifest.json").read_text())
    stages = {s["name"]: s for s in manifest["stages"]}
    assert list(stages) == ["quality", "decontamination", "difficulty", "diversity"]
    clean = stages["decontamination"]["kept"]
    assert 0 < clean < 240 and stages["diversity"]["kept"] == clean  # the whole clean pool, no held-out problem
    assert sum(1 for _ in (out / "curated" / "dataset.jsonl").open()) == clean
    summary = json.loads((out / "model" / "train_summary.json").read_text())
    assert summary["steps"] == 3 and summary["model_config"] == "recipes/nano/model.yaml"
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["questions"] == 6
    assert {(p["budget"], p["num_ignore"]) for p in metrics["points"]} == {(b, k) for b in (8, 32) for k in (0, 1, 2, 4)}
    assert (out / "eval" / "scaling.png").is_file() and (out / "eval" / "report.md").is_file()
    # The lifecycle's last stage: a PRM on the model just trained.
    env = {**env, "MODEL": str(out / "model"), "PRM_SIZE": "60", "PRM_STEPS": "2"}
    done = subprocess.run(["bash", "recipes/nano/prm.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    prm = json.loads((out / "prm" / "model" / "train_summary.json").read_text())
    assert prm["objective"] == "prm" and prm["steps"] == 2 and prm["model"] == str(out / "model")
    assert "agree" in (out / "prm" / "prm.md").read_text()


def test_an_unknown_curation_is_refused_before_any_work(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "nano"), "CURATION": "s2"}
    done = subprocess.run(["bash", "recipes/nano/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "CURATION=s2 is not a curation; use pool" in done.stderr
    assert not (tmp_path / "nano").exists()


def _experiments():
    import importlib.util

    spec = importlib.util.spec_from_file_location("nano_experiments", ROOT / "recipes" / "nano" / "experiments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("per_seed, expected", [
    # three seeds: mean 5, squared deviations 9 + 1 + 16 = 26 over n - 1 = 2, std sqrt(13)
    ({0: {"a": 2.0}, 1: {"a": 4.0}, 2: {"a": 9.0}},
     {"a": {"values": {0: 2.0, 1: 4.0, 2: 9.0}, "n": 3, "mean": 5.0, "std": 13 ** 0.5, "min": 2.0, "max": 9.0}}),
    # one seed has no spread
    ({3: {"a": 80.6}}, {"a": {"values": {3: 80.6}, "n": 1, "mean": 80.6, "std": None, "min": 80.6, "max": 80.6}}),
    # a metric only some seeds have (a method added later) is over those; a None is no value; order as first seen
    ({0: {"b": 10.0, "a": 1.0}, 1: {"a": 1.0, "b": None, "c": None}, 2: {"a": 4.0, "b": 20.0}},
     {"b": {"values": {0: 10.0, 2: 20.0}, "n": 2, "mean": 15.0, "std": 50 ** 0.5, "min": 10.0, "max": 20.0},
      "a": {"values": {0: 1.0, 1: 1.0, 2: 4.0}, "n": 3, "mean": 2.0, "std": 3 ** 0.5, "min": 1.0, "max": 4.0}}),
    # negative gains stay negative: mean -1, deviations -2 and +2, std sqrt(8)
    ({0: {"gain": -3.0}, 1: {"gain": 1.0}},
     {"gain": {"values": {0: -3.0, 1: 1.0}, "n": 2, "mean": -1.0, "std": 8 ** 0.5, "min": -3.0, "max": 1.0}}),
])
def test_seed_aggregation_gives_mean_sample_std_and_range_per_metric(per_seed, expected):
    aggregated = _experiments().aggregate(per_seed)
    assert list(aggregated) == list(expected)
    for name, stats in expected.items():
        got = aggregated[name]
        assert got["values"] == stats["values"] and got["n"] == stats["n"]
        assert (got["min"], got["max"]) == (stats["min"], stats["max"])
        assert got["mean"] == pytest.approx(stats["mean"])
        assert got["std"] == (None if stats["std"] is None else pytest.approx(stats["std"]))
