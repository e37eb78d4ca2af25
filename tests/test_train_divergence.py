"""A training run that diverges stops at the step it happens, in one line naming it, and leaves no
checkpoint or final model with NaN or infinite weights. A learning rate of 1e300 (finite, so the
config takes it) overflows the float32 weights in the first update. Both ways a run gets its model:
a new one (train/scratch.py) and a fine-tuned checkpoint. Each run takes about a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from s1kit.errors import S1kitError
from s1kit.train.config import TrainConfig, load_config
from s1kit.train.run_dir import SUMMARY_FILE

pytest.importorskip("trl", reason="s1kit train needs the [train] extra")

from test_train_data import make_rows, write_rows  # noqa: E402  (tests/ is on sys.path under pytest)
from tiny_training import MODEL, TRAINING, write_recipe  # noqa: E402

OVERFLOWING = 1e300


def train(config: TrainConfig) -> dict:
    from s1kit.train.trainer import main

    return main(config)


def assert_nothing_non_finite_saved(out: Path) -> None:
    """No model or summary in ``out``, and every checkpoint there holds finite weights only."""
    import torch
    from safetensors.torch import load_file

    assert not (out / "model.safetensors").exists() and not (out / SUMMARY_FILE).exists()
    for weights in out.glob("checkpoint-*/model.safetensors"):
        assert all(torch.isfinite(t).all() for t in load_file(str(weights)).values()), weights


def test_a_nan_loss_stops_the_run_at_its_step_before_its_update(tmp_path, capsys):
    config = load_config(write_recipe(tmp_path, learning_rate=OVERFLOWING, save_strategy="no"),
                         {"output_dir": str(tmp_path / "out")})
    with pytest.raises(S1kitError, match=r"^training diverged at step 2 of 6: the loss is nan and the gradients hold "
                                         r"NaN or inf; this step's update was not applied; no checkpoint was saved "
                                         r"before it\. Lower learning_rate \(now 1e\+300\)") as error:
        train(config)
    assert "\n" not in str(error.value)
    assert_nothing_non_finite_saved(tmp_path / "out")
    log = capsys.readouterr().err
    assert "step 1/6: loss" in log and "step 2/6" not in log  # never a NaN loss logged as 0


def test_an_update_that_overflows_the_weights_is_never_checkpointed(tmp_path):
    config = load_config(write_recipe(tmp_path, learning_rate=OVERFLOWING), {"output_dir": str(tmp_path / "out")})
    with pytest.raises(S1kitError, match=r"^training diverged at step 1 of 6: its update left NaN or inf in the "
                                         r"weights, so checkpoint-1 was not saved; no checkpoint was saved before it"):
        train(config)
    assert not (tmp_path / "out" / "checkpoint-1").exists()
    assert_nothing_non_finite_saved(tmp_path / "out")


def test_a_fine_tuned_model_that_diverged_in_its_last_step_is_not_saved(tmp_path):
    from s1kit.train import scratch

    tokenizer = scratch.build_byte_tokenizer()
    model = scratch.new_model(scratch.model_config(MODEL, tokenizer), seed=0)
    model.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    settings = {**TRAINING, "model": str(tmp_path / "base"), "tokenizer": None, "max_steps": 1, "save_strategy": "no",
                "learning_rate": OVERFLOWING}
    config = TrainConfig(**settings, data=str(write_rows(tmp_path / "rows.jsonl", make_rows(4))),
                         output_dir=str(tmp_path / "out"))
    with pytest.raises(S1kitError, match=r"^training diverged at step 1 of 1: its update left NaN or inf in the "
                                         r"weights, so the final model was not saved"):
        train(config)
    assert_nothing_non_finite_saved(tmp_path / "out")
