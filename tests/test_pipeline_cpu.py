"""recipes/pipeline-cpu.sh, the whole lifecycle on a CPU (traces -> curate -> train -> eval), at its
smallest, through the installed `s1kit` command. (Re-runs from the caches are tested per stage.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared_data import SHARED_DATA, shared_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_cpu_pipeline_runs_end_to_end(tmp_path, smollm2_dir):
    pytest.importorskip("trl", reason="the pipeline trains: it needs the [train] extra")
    for name in ("gsm8k.jsonl", "aime24.jsonl", "aime25.jsonl", "math500.jsonl"):
        shared_file(name)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "OUT": str(tmp_path / "run"), "QUESTIONS": "6", "SIZE": "3", "EVAL_LIMIT": "1",
           "S1KIT_DATA_DIR": str(SHARED_DATA), "PYTHON": sys.executable, "S1KIT": str(bin_dir / "s1kit")}

    done = subprocess.run(["bash", str(ROOT / "recipes" / "pipeline-cpu.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "run"
    traces = [json.loads(line) for line in (out / "traces.jsonl").read_text().splitlines()]
    assert len(traces) == 6 and all(r["teacher"] == "smollm2-135m" for r in traces)
    assert all(48 <= r["thinking_tokens"] <= 96 for r in traces)  # --min/--max-thinking-tokens of the script
    curated = [json.loads(line) for line in (out / "curated" / "dataset.jsonl").read_text().splitlines()]
    assert len(curated) == 3 and all(r["thinking_trajectories"] and r["attempt"] for r in curated)
    summary = json.loads((out / "model" / "train_summary.json").read_text())
    assert summary["examples"] == 3 and summary["steps"] >= 1
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["model"] == str(out / "model") and metrics["questions"] == 1
    assert [p["max_thinking_tokens"] for p in metrics["points"]] == [32, 64]
