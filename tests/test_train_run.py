"""Training runs on CPU: the loss falls, the weights move, the output directory reloads and generates
with budget forcing, and an interrupted run resumed from its checkpoint ends where an uninterrupted
one does. A tiny random Llama (conftest) takes about a second per step; SmolLM2 about ten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s1kit.budget.config import BudgetConfig
from s1kit.train.config import TrainConfig, load_config
from s1kit.train.run_dir import CONFIG_FILE, SUMMARY_FILE

pytest.importorskip("trl", reason="s1kit train needs the [train] extra")

from test_train_data import make_rows, write_rows  # noqa: E402  (tests/ is on sys.path under pytest)

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
# Same batch at every step, constant learning rate: each step must lower the loss on that batch.
FAST = dict(format="s1", block_size=256, global_batch_size=4, per_device_batch_size=4, max_steps=3, learning_rate=1e-3,
            lr_scheduler="constant", warmup_ratio=0.0, bf16=False, gradient_checkpointing=False, save_strategy="no")


def build_tiny_model(path: Path, tokenizer) -> Path:
    """A random 2-layer Llama with SmolLM2's tokenizer. Not conftest's tiny_llama: that one's
    end-token logits are scaled up for the generation tests, which makes its training unstable."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=512,
                         tie_word_embeddings=False, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, smollm2_tokenizer):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-train-llama"), smollm2_tokenizer)


def weights(directory) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(directory) / "model.safetensors"))


def assert_trained(summary: dict, before: dict, after: dict) -> None:
    losses = summary["losses"]
    assert len(losses) == summary["steps"] and all(b < a for a, b in zip(losses, losses[1:])), losses
    assert before.keys() == after.keys()
    moved = [name for name in before if not before[name].equal(after[name])]
    layer_weights = [name for name in before if ".layers." in name and name.endswith("proj.weight")]
    assert layer_weights and set(layer_weights) <= set(moved)


QUESTIONS = ["What is 2 + 3?", "What is 40 + 2?"]
BUDGET = BudgetConfig(max_thinking_tokens=12, max_answer_tokens=8, num_ignore=1)


def generations(backend):
    from s1kit.budget.forcing import generate_with_budget

    results = generate_with_budget(backend, QUESTIONS, BUDGET, fmt="s1")
    for g in results:
        assert g.thinking_tokens <= BUDGET.max_thinking_tokens
    return results


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """The tiny model after 3 steps on one batch of 4 examples: (output directory, summary)."""
    from s1kit.train.trainer import main

    root = tmp_path_factory.mktemp("trained")
    data = write_rows(root / "d.jsonl", make_rows(4))
    summary = main(TrainConfig(model=str(tiny_model_dir), data=str(data), output_dir=str(root / "out"), **FAST))
    return root / "out", summary


@pytest.mark.slow
def test_tiny_model_trains_reloads_and_generates(tiny_model_dir, trained):
    from s1kit.backends.hf import HFBackend

    out, summary = trained
    assert_trained(summary, weights(tiny_model_dir), weights(out))
    # Each step sees all 4 examples: the throughput counts their tokens, padding excluded.
    assert summary["tokens"] == 3 * summary["example_tokens"] and summary["tokens_per_second"] > 0
    assert json.loads((out / SUMMARY_FILE).read_text())["steps"] == 3
    saved = load_config(out / CONFIG_FILE)  # the resolved config is itself a recipe
    assert saved.learning_rate == 1e-3 and saved.model == str(tiny_model_dir)
    backend = HFBackend(str(out))
    assert backend.tokenizer.hf.pad_token == "<|endoftext|>"
    # Budget forcing took hold of every sequence: its first end of thinking became "Wait", or the cap ended it.
    assert all(g.waits_inserted == 1 or g.forced_end for g in generations(backend))


class Interrupt(Exception):
    pass


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(tiny_model_dir, tmp_path, monkeypatch):
    """Kill the run after its step-2 checkpoint (an exception out of the training loop, as Ctrl-C),
    resume it, and compare with a run that was never interrupted."""
    from s1kit.train import trainer

    data = write_rows(tmp_path / "d.jsonl", make_rows(12))  # 3 batches: the data order matters
    settings = {**FAST, "max_steps": 4, "save_strategy": "steps", "save_steps": 2, "save_total_limit": None,
                "learning_rate": 5e-4}
    whole = tmp_path / "whole"
    trainer.main(TrainConfig(model=str(tiny_model_dir), data=str(data), output_dir=str(whole), **settings))

    real = trainer.throughput_callback

    def interrupting(transformers):
        class Interrupting(real(transformers)):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 3:
                    raise Interrupt
        return Interrupting

    cut = tmp_path / "cut"
    config = TrainConfig(model=str(tiny_model_dir), data=str(data), output_dir=str(cut), **settings)
    monkeypatch.setattr(trainer, "throughput_callback", interrupting)
    with pytest.raises(Interrupt):
        trainer.main(config)
    monkeypatch.setattr(trainer, "throughput_callback", real)
    assert not (cut / "model.safetensors").exists() and (cut / "checkpoint-2").is_dir()

    summary = trainer.main(TrainConfig(model=str(tiny_model_dir), data=str(data), output_dir=str(cut), resume=True, **settings))
    assert summary["resumed_from"] == str(cut / "checkpoint-2") and summary["steps"] == 4
    assert len(summary["tokens_per_second_per_log"]) == 2  # only steps 3 and 4 ran again
    resumed, uninterrupted = weights(cut), weights(whole)
    assert resumed.keys() == uninterrupted.keys()
    for name in resumed:
        assert resumed[name].allclose(uninterrupted[name], atol=1e-6), name


@pytest.mark.slow
def test_two_examples_in_one_warmup_step_warn_that_the_model_barely_learns(forker, tmp_path):
    """The tiny-cpu recipe's 5% warmup on 2 examples: one optimizer step, at learning rate 0."""
    from tiny_training import write_recipe

    recipe = write_recipe(tmp_path, rows=2, max_steps=-1, num_epochs=1, global_batch_size=2, per_device_batch_size=2,
                          warmup_ratio=0.05, save_strategy="no")
    run = forker.run(["train", "--recipe", recipe, "--output-dir", tmp_path / "out"])
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())["steps"] == 1
    warnings = [line for line in run.stderr.splitlines() if "warmup step" in line]
    assert warnings == ["s1kit train: warning: all 1 optimizer step(s) fall within the 1 warmup step(s), so the "
                        "learning rate never reaches learning_rate (the first step's is 0) and the model barely "
                        "learns; train on more data or more steps (max_steps, num_epochs), or lower warmup_ratio"]


@pytest.mark.slow
def test_smollm2_tiny_cpu_recipe_trains_and_generates_from_the_cli(smollm2_dir, tmp_path):
    """The tiny-cpu recipe on the real SmolLM2 through `s1kit train`, then `s1kit generate --model OUT`."""
    from s1kit.cli import app

    data = write_rows(tmp_path / "d.jsonl", make_rows(4))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "train", "--recipe", str(RECIPES / "sft" / "tiny-cpu.yaml"), "--data", str(data), "--output-dir", str(out),
        "global_batch_size=4", "max_steps=2", "learning_rate=1e-4", "lr_scheduler=constant", "warmup_ratio=0",
        "save_strategy=no"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["model"] == "smollm2-135m" and summary["pad_token"] == "<|endoftext|>"
    assert (summary["global_batch_size"], summary["gradient_accumulation_steps"]) == (4, 1)
    assert_trained(summary, weights(smollm2_dir), weights(out))
    generated = CliRunner().invoke(app, ["generate", "What is 2 + 3?", "--model", str(out), "--max-thinking-tokens", "16",
                                         "--max-answer-tokens", "16", "--json"])
    assert generated.exit_code == 0, generated.output
    [g] = json.loads(generated.stdout)
    assert g["thinking_tokens"] <= 16 and g["finish_reason"] in {"stop", "length"}
