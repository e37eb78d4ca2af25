"""The `s1kit train` command. Only typer and the standard library at import time: `s1kit --help`
must not load torch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

CONTEXT_SETTINGS = {"ignore_unknown_options": True}
"""Lets `--learning-rate 2e-5` reach the overrides list instead of failing as an unknown flag."""


def train(
    recipe: Annotated[Optional[Path], typer.Option(help="YAML recipe, e.g. recipes/sft/s1-32b.yaml (default: the s1 recipe's values).")] = None,
    data: Annotated[Optional[str], typer.Option(help="Rows with question, thinking_trajectories, attempt: JSONL file, directory holding dataset.jsonl, or hub dataset id.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model to fine-tune: built-in alias, local checkpoint directory, or hub id.")] = None,
    output_dir: Annotated[Optional[str], typer.Option(help="Where checkpoints and the final model go.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output-dir from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run in --output-dir.")] = False,
    overrides: Annotated[Optional[list[str]], typer.Argument(
        help="Recipe keys to override: key=value or --key value, e.g. learning_rate=2e-5 --num-epochs 1.",
        show_default=False)] = None,
) -> None:
    """Fine-tune a model on reasoning traces (s1's SFT recipe on TRL; loss on the assistant turn only).

    Settings: built-in defaults (the s1 recipe), then --recipe, then overrides and flags; the resolved config is saved as train_config.yaml next to the model.

    Many GPUs: accelerate launch --config_file recipes/accelerate/fsdp.yaml -m s1kit.train --recipe ...
    """
    from s1kit.train.config import load_config, parse_overrides
    from s1kit.train.trainer import main

    values = parse_overrides(list(overrides or []))
    flags = {"data": data, "model": model, "output_dir": output_dir}
    values.update({key: value for key, value in flags.items() if value is not None})
    if resume:
        values["resume"] = True
    if overwrite:
        values["overwrite"] = True
    main(load_config(recipe, values))
