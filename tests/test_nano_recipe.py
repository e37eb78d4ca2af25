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


def test_an_unknown_curation_is_refused_before_any_work(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "nano"), "CURATION": "s2"}
    done = subprocess.run(["bash", "recipes/nano/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "CURATION=s2 is not a curation; use pool" in done.stderr
    assert not (tmp_path / "nano").exists()
