"""The smallest training run that checkpoints: a new 1-layer Llama of 74k parameters with the bytes
tokenizer, on s1K-shaped rows about sums. Once torch is imported it trains 6 steps, with a checkpoint
after each, in about half a second."""

from __future__ import annotations

from pathlib import Path

from test_train_data import make_rows, write_rows

MODEL = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
         "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 64, "max_position_embeddings": 256}
TRAINING = dict(model=None, tokenizer="bytes", format="s1", block_size=128, max_steps=6, learning_rate=1e-3,
                lr_scheduler="cosine", warmup_ratio=0.0, global_batch_size=4, per_device_batch_size=4, bf16=False,
                dtype="float32", gradient_checkpointing=False, seed=0, logging_steps=1, save_strategy="steps",
                save_steps=1, save_total_limit=2)


def write_recipe(folder: Path, rows: int = 12, **overrides) -> Path:
    """A recipe for `s1kit train --recipe` in ``folder`` (with its model config and ``rows`` rows)."""
    import yaml

    (folder / "model.yaml").write_text(yaml.safe_dump(MODEL))
    data = write_rows(folder / "rows.jsonl", make_rows(rows))
    recipe = folder / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**TRAINING, "model_config": str(folder / "model.yaml"), "data": str(data),
                                      **overrides}))
    return recipe
