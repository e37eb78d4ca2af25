"""Real distributed runs: 2 CPU processes (gloo) started by `accelerate launch` with
recipes/accelerate/fsdp-cpu.yaml, compared with the single-process run of the same settings.

What accelerate 1.15 does with an FSDP config on CPU: it joins the processes (MULTI_CPU, gloo) but
leaves FSDP off. AcceleratorState.__init__ turns distributed_type into FSDP only for GPU-like types
(MULTI_GPU, MULTI_NPU, MULTI_XPU, ...; MULTI_CPU is not in its list), so the run is data-parallel,
and s1kit says so. torch's FSDP2 itself works on CPU with gloo. The second test lifts that one gate
inside the launched processes (a test-only shim, below) so that accelerate's own FSDP2 path runs
for real on CPU: fully_shard on each decoder layer, parameters as DTensor shards, and the
FULL_STATE_DICT gather when saving; it checks that the parameters really were sharded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from s1kit.train.config import TrainConfig
from s1kit.train.run_dir import SUMMARY_FILE

pytest.importorskip("trl", reason="s1kit train needs the [train] extra")

from test_train_data import make_rows, write_rows  # noqa: E402  (tests/ is on sys.path under pytest)
from test_train_run import build_tiny_model, weights  # noqa: E402

ACCELERATE_CONFIG = Path(__file__).resolve().parent.parent / "recipes" / "accelerate" / "fsdp-cpu.yaml"
SETTINGS = dict(format="s1", block_size=256, global_batch_size=8, per_device_batch_size=4, max_steps=2, learning_rate=1e-3,
                lr_scheduler="constant", warmup_ratio=0.0, bf16=False, gradient_checkpointing=False, save_strategy="no")
FSDP_ON_CPU_SHIM = '''
import json, os, runpy
import accelerate.state
import transformers
from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

original_init = accelerate.state.AcceleratorState.__init__

def init(self, *args, fsdp_plugin=None, **kwargs):
    original_init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
    if self.distributed_type == DistributedType.MULTI_CPU:  # the gate accelerate keeps closed on CPU
        self.distributed_type = DistributedType.FSDP
        self.fsdp_plugin = fsdp_plugin or FullyShardedDataParallelPlugin()

accelerate.state.AcceleratorState.__init__ = init
original_step = transformers.Trainer.training_step

def training_step(self, model, *args, **kwargs):
    if not getattr(self, "probed", False):  # record how the model is held, once per process
        self.probed = True
        weight = self.model.lm_head.weight
        local = weight.to_local() if hasattr(weight, "to_local") else weight
        with open(os.path.join(os.environ["PROBE_DIR"], f"rank{os.environ['RANK']}.json"), "w") as f:
            json.dump({"model": type(self.model).__name__, "weight": type(weight).__name__,
                       "local": list(local.shape), "global": list(weight.shape)}, f)
    return original_step(self, model, *args, **kwargs)

transformers.Trainer.training_step = training_step
runpy.run_module("s1kit.train", run_name="__main__")
'''


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, smollm2_tokenizer):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-train-llama"), smollm2_tokenizer)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_rows(tmp_path_factory.mktemp("rows") / "d.jsonl", make_rows(16))


@pytest.fixture(scope="module")
def single(tiny_model_dir, data, tmp_path_factory):
    """The same run in one process."""
    from s1kit.train.trainer import main

    out = tmp_path_factory.mktemp("single") / "out"
    summary = main(TrainConfig(model=str(tiny_model_dir), data=str(data), output_dir=str(out), **SETTINGS))
    assert (summary["num_processes"], summary["gradient_accumulation_steps"]) == (1, 2)
    return out


def launch(program: list[str], model: Path, data: Path, out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    overrides = [f"{key}={value}" for key, value in SETTINGS.items()]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ACCELERATE_CONFIG),
               "--main_process_port", str(port), *program, "--model", str(model), "--data", str(data),
               "--output-dir", str(out), *overrides]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def same_checkpoint(distributed: Path, single: Path, atol: float) -> None:
    """Same parameter names and shapes as the single-process run, values within atol, and it loads."""
    from s1kit.backends.hf import HFBackend

    ours, reference = weights(distributed), weights(single)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in reference.items()}
    for name in ours:
        assert ours[name].allclose(reference[name], atol=atol), name
    backend = HFBackend(str(distributed))
    assert backend.tokenizer.hf.pad_token == "<|endoftext|>" and backend.context_length == 512


@pytest.mark.slow
def test_two_processes_on_cpu_train_like_one(tiny_model_dir, data, single, tmp_path):
    out = tmp_path / "out"
    result = launch(["-m", "s1kit.train"], tiny_model_dir, data, out)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    # Two processes, each half the batch: no accumulation, where one process needs 2 micro-batches.
    assert (summary["num_processes"], summary["gradient_accumulation_steps"], summary["steps"]) == (2, 1, 2)
    assert "the accelerate config asks for FSDP, but accelerate runs MULTI_CPU here" in result.stderr
    same_checkpoint(out, single, atol=1e-5)


@pytest.mark.slow
def test_fsdp_shards_on_cpu_once_accelerates_gate_is_lifted(tiny_model_dir, data, single, tmp_path):
    shim = tmp_path / "fsdp_on_cpu.py"
    shim.write_text(FSDP_ON_CPU_SHIM)
    out, probes = tmp_path / "out", tmp_path / "probes"
    probes.mkdir()
    result = launch([str(shim)], tiny_model_dir, data, out, env={"PROBE_DIR": str(probes)})
    assert "asks for FSDP" not in result.stderr
    vocab = weights(single)["lm_head.weight"].shape[0]
    for rank in (0, 1):
        probe = json.loads((probes / f"rank{rank}.json").read_text())
        # Each process holds half of every parameter: FSDP full shard over 2 processes.
        assert probe["model"].startswith("FSDP") and probe["weight"] == "DTensor"
        assert probe["global"] == [vocab, 128] and probe["local"] == [vocab // 2, 128]
    assert json.loads((out / SUMMARY_FILE).read_text())["num_processes"] == 2
    same_checkpoint(out, single, atol=1e-4)  # sharded reductions sum in another order


@pytest.mark.slow
def test_a_diverging_sharded_run_stops_in_every_process_together(tmp_path):
    """Each process checks its own shards; they stop at the same step, none left waiting for the other."""
    from test_train_divergence import OVERFLOWING, assert_nothing_non_finite_saved
    from tiny_training import write_recipe

    shim = tmp_path / "fsdp_on_cpu.py"
    shim.write_text(FSDP_ON_CPU_SHIM)
    (tmp_path / "probes").mkdir()
    recipe = write_recipe(tmp_path, rows=16, learning_rate=OVERFLOWING, save_strategy="no", per_device_batch_size=2)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ACCELERATE_CONFIG),
               "--main_process_port", str(port), str(shim), "--recipe", str(recipe), "--output-dir", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PROBE_DIR": str(tmp_path / "probes")})
    assert result.returncode != 0
    assert result.stderr.count("error: training diverged at step 2 of 6: the loss is nan") == 2, result.stderr[-4000:]
    assert json.loads((tmp_path / "probes" / "rank1.json").read_text())["weight"] == "DTensor"
    assert_nothing_non_finite_saved(tmp_path / "out")
