"""The output directory of a run: refuse to mix two runs in one, find the checkpoint to resume from.

A run is marked by train_config.yaml, written before the first step, so even a run interrupted
before its first checkpoint is recognised.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from s1kit.errors import S1kitError, require
from s1kit.train.config import RUN_CONTROL, TrainConfig

CONFIG_FILE = "train_config.yaml"
SUMMARY_FILE = "train_summary.json"


def plan_output_dir(config: TrainConfig) -> tuple[str, str | None]:
    """What to do with output_dir: ("new" | "overwrite" | "resume", checkpoint to resume from or None).
    Reads only, so every process can ask and get the same answer."""
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise S1kitError(f"output_dir {out} is a file; pass a directory")
    if not out.exists() or not any(out.iterdir()):
        if config.resume:
            note(f"--resume: {out} holds no run yet; starting a new one")
        return "new", None
    saved = out / CONFIG_FILE
    if not saved.is_file():
        raise S1kitError(f"output_dir {out} is not empty and holds no s1kit training run (no {CONFIG_FILE}); "
                         "choose a new or empty --output-dir")
    if config.overwrite:
        return "overwrite", None
    if not config.resume:
        raise S1kitError(f"output_dir {out} already holds a training run; pass --resume to continue it, "
                         "--overwrite to replace it, or choose another --output-dir")
    differing = config_differences(read_saved_config(saved), config)
    if differing:
        raise S1kitError(f"--resume: the run in {out} was started with other settings ({'; '.join(differing)}); "
                         "resume with the same recipe and overrides, or pass --overwrite to start over")
    checkpoint = last_checkpoint(out)
    if checkpoint is None:
        note(f"--resume: {out} has no checkpoint yet; training from the start")
    return "resume", checkpoint


def last_checkpoint(out: Path) -> str | None:
    """The newest checkpoint-N written to the end: the Trainer writes trainer_state.json last, so a
    checkpoint cut short by an interruption lacks it and is passed over."""
    complete = [(int(d.name[len("checkpoint-"):]), d) for d in out.glob("checkpoint-*")
                if d.name[len("checkpoint-"):].isdigit() and (d / "trainer_state.json").is_file()]
    return str(max(complete)[1]) if complete else None


def read_saved_config(path: Path) -> dict:
    yaml = require("yaml", "train")
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    return values if isinstance(values, dict) else {}


def config_differences(saved: dict, config: TrainConfig) -> list[str]:
    """'key: before there, now here' for each setting that changes what is trained."""
    current = config.to_dict()
    return [f"{key}: {saved.get(key)!r} there, {value!r} now" for key, value in current.items()
            if key not in RUN_CONTROL and saved.get(key) != value]


def prepare_output_dir(config: TrainConfig, action: str) -> None:
    """Main process only: clear a replaced run, then record this run's config."""
    yaml = require("yaml", "train")
    out = Path(config.output_dir)
    if action == "overwrite":
        shutil.rmtree(out)  # only reached when out holds our train_config.yaml (plan_output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_FILE).write_text(
        "# Resolved s1kit train config of this run; reusable as a recipe (s1kit train --recipe THIS_FILE).\n"
        + yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")


def note(message: str) -> None:
    """A line for the user, from the first process only (torchrun and accelerate set RANK)."""
    if os.environ.get("RANK", "0") == "0":
        print(f"s1kit train: {message}", file=sys.stderr, flush=True)
