"""The `s1kit train` command. Only typer, the standard library and the config at import time:
`s1kit --help` must not load torch. Every field of TrainConfig is a flag, given as text that the
config reads (``--max-examples null`` works as in a recipe)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from s1kit.options import given, options, with_options
from s1kit.train.config import TrainConfig

CONTEXT_SETTINGS = {"ignore_unknown_options": True}
"""Lets `--learning-rate 2e-5` reach the overrides list instead of failing as an unknown flag."""


@with_options(options(TrainConfig, raw=True, skip=("resume", "overwrite")))
def train(
    ctx: typer.Context,
    recipe: Annotated[Optional[Path], typer.Option(help="YAML recipe, e.g. recipes/sft/s1-32b.yaml (default: the s1 recipe's values).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output-dir from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run in --output-dir.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the libraries' own log lines and progress bars (transformers, datasets, TRL, ...); quiet by default.")] = False,
    overrides: Annotated[Optional[list[str]], typer.Argument(
        help="Recipe keys to override: key=value or --key value, e.g. learning_rate=2e-5 fields={attempt: deepseek_attempt}.",
        show_default=False)] = None,
    **settings,
) -> None:
    """Fine-tune a model on reasoning traces (s1's SFT recipe on TRL; loss on the assistant turn only),
    or with --objective prm train a process reward model's head on labelled steps.

    Settings: built-in defaults (the s1 recipe), then --recipe, then overrides and flags; the resolved config is saved as train_config.yaml next to the model.

    Many GPUs: accelerate launch --config_file recipes/accelerate/fsdp.yaml -m s1kit.train --recipe ...
    """
    from s1kit.chatter import set_library_output

    set_library_output(verbose)
    from s1kit.train.config import load_config, parse_overrides
    from s1kit.train.trainer import main

    values = parse_overrides(list(overrides or []))
    values.update(given(ctx, settings))  # flags typed here; the rest stay the recipe's
    if resume:
        values["resume"] = True
    if overwrite:
        values["overwrite"] = True
    main(load_config(recipe, values))
