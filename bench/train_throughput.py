"""How fast `s1kit train` trains SmolLM2-135M on this machine's CPU at block size 512.

Workload: synthetic s1K-shaped rows whose thinking is long enough that every example is cut at
exactly --block-size tokens, so there is no padding and every step sees per-device-batch x
block-size tokens. The whole `s1kit train` spine runs (TRL SFTTrainer, AdamW, loss on the
assistant turn), SmolLM2 from the bundled checkpoint in float32, no gradient checkpointing.

Timed: TRL's count of non-padding tokens over the wall time between two log lines, per optimizer
step. The first step pays one-off costs (allocations, lazy initialisation) and is left out of the
figure; the median of the other steps is printed. `--bf16` measures bf16 autocast instead.
Measured on the project's 2-core CPU machine (torch 2.13, trl 1.16): 110 tokens/s in float32
(steps 100-116), 144 tokens/s with bf16 autocast; a 5-step run takes under 2 minutes.
Last line: ``SmolLM2-135M training: X tokens/s at block size 512 (float32, batch 4, CPU)``.

    python bench/train_throughput.py [--steps 5] [--batch 4] [--block-size 512] [--bf16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from s1kit.train.config import TrainConfig
from s1kit.train.trainer import main


def rows(count: int) -> list[dict]:
    steps = [f"Step {k}: multiply {k + 3} by {k + 7} to get {(k + 3) * (k + 7)}, then check it against the line before."
             for k in range(60)]  # ~1,500 tokens: longer than any block size measured here
    return [{"question": f"Compute the running products, case {i}.", "thinking_trajectories": steps,
             "attempt": f"The last product is {62 * 66}."} for i in range(count)]


def run(args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "rows.jsonl"
        data.write_text("".join(json.dumps(row) + "\n" for row in rows(args.batch * args.steps)))
        summary = main(TrainConfig(
            model="smollm2-135m", data=str(data), output_dir=str(Path(directory) / "out"), format="s1",
            block_size=args.block_size, global_batch_size=args.batch, per_device_batch_size=args.batch,
            max_steps=args.steps, learning_rate=1e-5, lr_scheduler="constant", warmup_ratio=0.0, bf16=args.bf16,
            dtype="float32", gradient_checkpointing=False, save_strategy="no", logging_steps=1))
    assert summary["truncated"] == summary["examples"], "every example must fill the block"
    rates = summary["tokens_per_second_per_log"]
    print("tokens/s per step:", ", ".join(f"{rate:.1f}" for rate in rates))
    return statistics.median(rates[1:] or rates)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4, help="examples per step (one process, no accumulation)")
    parser.add_argument("--block-size", type=int, default=512)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast over float32 weights")
    args = parser.parse_args()
    rate = run(args)
    precision = "bf16 autocast" if args.bf16 else "float32"
    print(f"SmolLM2-135M training: {rate:.1f} tokens/s at block size {args.block_size} "
          f"({precision}, batch {args.batch}, CPU)")


if __name__ == "__main__":
    cli()
